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
	name := path.Base(f.FileName)
	if name == "" || name == "." || name == "/" {
		return store.Asset{}, fmt.Errorf("import: invalid file name %q", f.FileName)
	}
	folder, err := im.Store.EnsureFolder(ctx, f.CompanyHandle, strings.Trim(f.FolderPath, "/"))
	if err != nil {
		return store.Asset{}, fmt.Errorf("import %s: folder %q: %w", name, f.FolderPath, err)
	}
	br := bufio.NewReaderSize(f.Body, 64<<10)
	// Peek returns what is there when the file is shorter than the buffer.
	head, _ := br.Peek(64 << 10)
	kind := assettype.Detect(head[:min(len(head), assettype.SniffLen)], name)
	var width, height int
	if cfg, _, err := image.DecodeConfig(bytes.NewReader(head)); err == nil {
		width, height = cfg.Width, cfg.Height
	}

	var body io.Reader = br
	limited := &limitReader{r: br, n: im.MaxFileBytes}
	if im.MaxFileBytes > 0 {
		body = limited
	}
	key := "originals/" + safeSegment(f.CompanyHandle) + "/" + randomID()
	info, err := im.Blob.Put(ctx, key, body)
	if err != nil {
		if limited.exceeded {
			return store.Asset{}, fmt.Errorf("import %s: %w (%d bytes)", name, ErrTooLarge, im.MaxFileBytes)
		}
		return store.Asset{}, fmt.Errorf("import %s: %w", name, err)
	}
	if info.Size == 0 {
		_ = im.Blob.Delete(context.WithoutCancel(ctx), key)
		return store.Asset{}, fmt.Errorf("import %s: %w", name, ErrEmptyFile)
	}
	a, err := im.Store.CreateAsset(ctx, store.NewAsset{
		CompanyHandle: f.CompanyHandle,
		FolderHandle:  folder.Handle,
		Name:          strings.TrimSuffix(name, path.Ext(name)),
		FileName:      name,
		Type:          kind.Type,
		Size:          info.Size,
		SHA256:        info.SHA256,
		StorageKey:    key,
		Width:         width,
		Height:        height,
		CreatedBy:     f.CreatedBy,
	})
	if err != nil {
		_ = im.Blob.Delete(context.WithoutCancel(ctx), key)
		return store.Asset{}, fmt.Errorf("import %s: %w", name, err)
	}
	return a, nil
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
