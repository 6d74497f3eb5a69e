// Package catalog puts files into the catalogue: it streams them to blob
// storage, hashes and types them, and records them as assets. The admin CLI
// and the UploadFile servlet both use it.
package catalog

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"image"
	_ "image/gif" // registered for DecodeConfig
	_ "image/jpeg"
	_ "image/png"
	"io"
	"path"
	"strings"

	"github.com/ipsexport/ipsd/internal/assettype"
	"github.com/ipsexport/ipsd/internal/blob"
	"github.com/ipsexport/ipsd/internal/store"
)

// ErrEmptyFile is returned for a zero-byte file.
var ErrEmptyFile = errors.New("file is empty")

// ErrTooLarge is returned when a file exceeds the importer's size limit.
var ErrTooLarge = errors.New("file exceeds the size limit")

// Importer turns files into assets.
type Importer struct {
	Store store.Store
	Blob  blob.Store
	// MaxFileBytes bounds one file; 0 means no bound.
	MaxFileBytes int64
}

// File is one file to import.
type File struct {
	CompanyHandle string
	FolderPath    string // relative to the company root, "" = root
	FileName      string // base name with extension
	CreatedBy     string // user handle
	Body          io.Reader
}

// Import streams f to storage and records it as an asset. Nothing is left
// behind when it fails: the blob is removed if the catalogue refuses it.
func (im *Importer) Import(ctx context.Context, f File) (store.Asset, error) {
	name, err := baseName(f.FileName)
	if err != nil {
		return store.Asset{}, fmt.Errorf("import: %w", err)
	}
	folder, err := im.Store.EnsureFolder(ctx, f.CompanyHandle, strings.Trim(f.FolderPath, "/"))
	if err != nil {
		return store.Asset{}, fmt.Errorf("import %s: folder %q: %w", name, f.FolderPath, err)
	}
	file, err := im.put(ctx, f.CompanyHandle, name, f.Body)
	if err != nil {
		return store.Asset{}, err
	}
	a, err := im.Store.CreateAsset(ctx, store.NewAsset{
		CompanyHandle: f.CompanyHandle,
		FolderHandle:  folder.Handle,
		Name:          strings.TrimSuffix(name, path.Ext(name)),
		FileName:      file.FileName,
		Type:          file.Type,
		Size:          file.Size,
		SHA256:        file.SHA256,
		StorageKey:    file.StorageKey,
		Width:         file.Width,
		Height:        file.Height,
		CreatedBy:     f.CreatedBy,
	})
	if err != nil {
		_ = im.Blob.Delete(context.WithoutCancel(ctx), file.StorageKey)
		return store.Asset{}, fmt.Errorf("import %s: %w", name, err)
	}
	return a, nil
}

// Replace streams f to storage as the new file of asset handle, which
// keeps its handle, name, folder and set memberships (an upload with
// overwrite, as IPS replaces an asset). The new file has a key of its own:
// an original is never overwritten in place. The old key is released into
// the blob garbage as the catalogue points at the new one, and its file
// stays readable for the exports that captured it until the Collector
// removes it. When anything fails, the new file is removed and the asset
// is as it was.
func (im *Importer) Replace(ctx context.Context, handle string, f File) (store.Asset, error) {
	name, err := baseName(f.FileName)
	if err != nil {
		return store.Asset{}, fmt.Errorf("replace %s: %w", handle, err)
	}
	file, err := im.put(ctx, f.CompanyHandle, name, f.Body)
	if err != nil {
		return store.Asset{}, err
	}
	_, after, err := im.Store.ReplaceAssetFile(ctx, f.CompanyHandle, handle, file)
	if err != nil {
		_ = im.Blob.Delete(context.WithoutCancel(ctx), file.StorageKey)
		return store.Asset{}, fmt.Errorf("replace %s with %s: %w", handle, name, err)
	}
	return after, nil
}

// SameName finds the assets a file would replace: in the same folder
// (folder is relative to the company root, "" or "a/b" with or without
// slashes), with the same file name and extension, compared
// case-insensitively – IPS's overwrite mode OverwriteFullName, "in the
// current folder with the same base image name and extension" – and a
// file of their own (a set has none). The UploadFile servlet and `ipsd
// admin asset import --overwrite` replace the first and remove the rest.
func (im *Importer) SameName(ctx context.Context, co store.Company, folder, fileName string) ([]store.Asset, error) {
	name, err := baseName(fileName)
	if err != nil {
		return nil, err
	}
	found, err := im.Store.AssetsByNames(ctx, co.Handle, []string{strings.TrimSuffix(name, path.Ext(name))}, nil)
	if err != nil {
		return nil, fmt.Errorf("assets named %s: %w", name, err)
	}
	want := co.RootPath
	if f := strings.Trim(folder, "/"); f != "" {
		want += f + "/"
	}
	var out []store.Asset
	for _, a := range found {
		if a.FolderPath == want && strings.EqualFold(a.FileName, name) && a.StorageKey != "" {
			out = append(out, a)
		}
	}
	return out, nil
}

// Remove deletes an asset from the catalogue; its file's key is released
// into the blob garbage with it, and the Collector removes the file once no
// export needs it. An asset already gone is not an error.
func (im *Importer) Remove(ctx context.Context, companyHandle string, a store.Asset) error {
	if err := im.Store.DeleteAsset(ctx, companyHandle, a.Handle); err != nil && !errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("delete asset %s: %w", a.Handle, err)
	}
	return nil
}

// MaxFileNameBytes bounds an asset's file name. An export writes the file
// under that name, perhaps with a longer extension (".tiff" for ".j") and
// a "-N" suffix that keeps it unique in the job, and the result must
// still fit the 255 bytes a file system allows (docs/security.md, "Names
// and messages").
const MaxFileNameBytes = 240

// ErrNameTooLong is a file name longer than MaxFileNameBytes.
var ErrNameTooLong = errors.New("file name too long")

// nameTooLong says how long a refused name is; it is ErrNameTooLong.
type nameTooLong struct{ bytes int }

func (e nameTooLong) Error() string {
	return fmt.Sprintf("the file name is %d bytes long; at most %d are allowed, so that exported copies (with a new extension or a -N suffix) still fit the 255 bytes file systems allow",
		e.bytes, MaxFileNameBytes)
}

func (nameTooLong) Is(target error) bool { return target == ErrNameTooLong }

// CheckFileName refuses a file name (with its extension, without folders)
// longer than MaxFileNameBytes, saying why (errors.Is ErrNameTooLong).
// UploadFile and `ipsd admin asset import` both apply it, through Import
// and Replace; UploadFile before it reads the file.
func CheckFileName(name string) error {
	if len(name) > MaxFileNameBytes {
		return nameTooLong{len(name)}
	}
	return nil
}

// baseName is the file name an asset takes from a file's name.
func baseName(fileName string) (string, error) {
	name := path.Base(fileName)
	if name == "" || name == "." || name == "/" {
		return "", fmt.Errorf("invalid file name %q", fileName)
	}
	if err := CheckFileName(name); err != nil {
		return "", err
	}
	return name, nil
}

// put streams body to a new blob under the company, hashing and typing it
// on the way, and describes it. An empty or oversized body leaves no blob.
func (im *Importer) put(ctx context.Context, companyHandle, name string, body io.Reader) (store.AssetFile, error) {
	br := bufio.NewReaderSize(body, 64<<10)
	// Peek returns what is there when the file is shorter than the buffer.
	head, _ := br.Peek(64 << 10)
	kind := assettype.Detect(head[:min(len(head), assettype.SniffLen)], name)
	var width, height int
	if cfg, _, err := image.DecodeConfig(bytes.NewReader(head)); err == nil {
		width, height = cfg.Width, cfg.Height
	}

	var r io.Reader = br
	limited := &limitReader{r: br, n: im.MaxFileBytes}
	if im.MaxFileBytes > 0 {
		r = limited
	}
	key := "originals/" + safeSegment(companyHandle) + "/" + randomID()
	info, err := im.Blob.Put(ctx, key, r)
	if err != nil {
		if limited.exceeded {
			return store.AssetFile{}, fmt.Errorf("import %s: %w (%d bytes)", name, ErrTooLarge, im.MaxFileBytes)
		}
		return store.AssetFile{}, fmt.Errorf("import %s: %w", name, err)
	}
	if info.Size == 0 {
		_ = im.Blob.Delete(context.WithoutCancel(ctx), key)
		return store.AssetFile{}, fmt.Errorf("import %s: %w", name, ErrEmptyFile)
	}
	return store.AssetFile{
		FileName: name, Type: kind.Type, Size: info.Size, SHA256: info.SHA256,
		StorageKey: key, Width: width, Height: height,
	}, nil
}

type limitReader struct {
	r        io.Reader
	n        int64
	read     int64
	exceeded bool
}

func (l *limitReader) Read(p []byte) (int, error) {
	n, err := l.r.Read(p)
	l.read += int64(n)
	if l.read > l.n {
		l.exceeded = true
		return n, ErrTooLarge
	}
	return n, err
}

func safeSegment(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' {
			return r
		}
		return '_'
	}, s)
}

func randomID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
