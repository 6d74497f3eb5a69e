// Package export writes the file of one asset of an export job: the
// original byte for byte (fmt=orig, checked against the catalogue's
// SHA-256) or a rendering of it (fmt=convert). It knows assets, blobs and
// the renderer; the job engine decides which assets and records outcomes.
package export

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"path"
	"slices"
	"strings"
	"sync"

	"github.com/ipsexport/ipsd/internal/assettype"
	"github.com/ipsexport/ipsd/internal/blob"
	"github.com/ipsexport/ipsd/internal/modifier"
	"github.com/ipsexport/ipsd/internal/store"
)

// Formats of an ExportJob.
const (
	FormatOriginal = "orig"
	FormatConvert  = "convert"
)

// Convertible reports whether fmt=convert renders an asset of this IPS type;
// others are exported as originals with a warning, as Dynamic Media
// Classic did: "all others are exported as original" (docs/formats.md).
// The list is assettype's, which names the types.
func Convertible(assetType string) bool { return assettype.Convertible(assetType) }

// ConvertedName replaces the extension of name by ext (".tiff"):
// "fileToExport.jpg" → "fileToExport.tiff".
func ConvertedName(name, ext string) string {
	return strings.TrimSuffix(name, path.Ext(name)) + ext
}

// RelativeFolder turns an asset's folder path ("Acme/shoes/") into the
// job-relative one ("shoes/"); "" for the company root.
func RelativeFolder(folderPath, companyRoot string) string {
	rel := strings.TrimPrefix(folderPath, companyRoot)
	rel = strings.Trim(rel, "/")
	if rel == "" {
		return ""
	}
	return rel + "/"
}

// Task is one asset to export.
type Task struct {
	// Asset is the asset as the job captured it: its StorageKey and
	// SHA256 are the version of the original to read.
	Asset store.Asset
	// Key is the blob key to write.
	Key string
	// Request is the parsed conversion; nil for fmt=orig.
	Request *modifier.Request
	// Budget, when set, admits the file's bytes before they are written:
	// the job's total output bound.
	Budget Budget
}

// Budget admits the bytes of a file before it is written (a job's total
// output). Admit fails with an error that is ErrJobFull (a LimitError)
// when they do not fit; Return gives back what was admitted for a file that was then not
// written.
type Budget interface {
	Admit(ctx context.Context, n int64) error
	Return(ctx context.Context, n int64)
}

// Output limits: a file above Exporter.MaxFileBytes, or one the job's
// Budget refuses, is not written and the asset fails (docs/security.md,
// "Export output").
var (
	ErrFileTooLarge = errors.New("file above the per-file limit")
	ErrJobFull      = errors.New("job output limit reached")
)

// LimitError is a file refused by an output limit: Msg says why, in words
// for the job log, and errors.Is matches Limit (ErrFileTooLarge or
// ErrJobFull).
type LimitError struct {
	Limit error
	Msg   string
}

func (e *LimitError) Error() string { return e.Msg }

// Is reports target as the limit.
func (e *LimitError) Is(target error) bool { return target == e.Limit }

// Result is what happened; Err is nil on success. Warnings are set on a
// success that is not exactly what was asked (a command accepted but not
// rendered, a source exported as original).
type Result struct {
	// Key is where the file was written: Task.Key, or beside it with the
	// original's extension when a conversion fell back to the original.
	Key      string
	Size     int64
	SHA256   string
	Warnings []string
	// Original is set when the original was written (fmt=orig, or a
	// conversion that fell back to it), so the name keeps its extension.
	Original bool
	// Cache is what the rendition cache did for a conversion: CacheHit,
	// CacheMiss, or "" when it had no part in it.
	Cache string
	Err   error
}

// What the rendition cache did for a conversion (Result.Cache).
const (
	CacheHit  = "hit"
	CacheMiss = "miss"
)

// Cache keeps renditions by content (package rendition, docs/rendition-cache.md).
// A nil *rendition.Cache is a Cache that keeps nothing.
type Cache interface {
	// Key is the key of src's rendition as req asks; "" is not cached.
	Key(sourceSHA256 string, req *modifier.Request) string
	// Get opens the rendition under key, ok false when there is none.
	Get(ctx context.Context, key string) (rc io.ReadCloser, r store.Rendition, ok bool)
	// Put keeps a rendition, maybe in the background (data must then not
	// change); Wait returns once the Puts made before it are done.
	Put(ctx context.Context, key string, data []byte, warnings []string)
	Wait()
	// Forget drops a rendition that is not what it should be.
	Forget(ctx context.Context, key string)
}

// Renderer renders one conversion of a source image. The libvips
// renderer (package render) is the real one, adapted where the process is
// wired; the export needs nothing of it but this.
type Renderer interface {
	Render(ctx context.Context, src []byte, req *modifier.Request) (Rendered, error)
}

// Rendered is one rendered image and the warnings of its request and render.
type Rendered struct {
	Data     []byte
	Warnings []modifier.Warning
}

// ErrNotConvertible is wrapped by a Renderer's error when the source is
// not an image it reads (video, fonts, archives): the export keeps the
// original with a warning.
var ErrNotConvertible = errors.New("source cannot be converted")

// Exporter writes exported files.
type Exporter struct {
	Blob     blob.Store
	Renderer Renderer
	// MaxFileBytes bounds every file written, an original or a rendering,
	// before its first byte reaches storage; 0 or less is no bound. A
	// Renderer may refuse earlier, from the output's size and format.
	MaxFileBytes int64
	// Cache, when set, reuses renditions of the same original bytes and
	// conversion: a reused file is written, and limited, as a rendered one.
	Cache Cache
}

// ErrChecksum is an original whose bytes no longer match the catalogue.
var ErrChecksum = errors.New("checksum mismatch")

// Export writes t's file under t.Key. Nothing is left under the key when
// it fails: blob.Put is atomic.
func (x *Exporter) Export(ctx context.Context, t Task) Result {
	if t.Request == nil {
		return x.original(ctx, t)
	}
	if !Convertible(t.Asset.Type) {
		r := x.original(ctx, t)
		r.Warnings = append(r.Warnings, fmt.Sprintf("asset type %s cannot be converted: exported as original", t.Asset.Type))
		return r
	}
	return x.convert(ctx, t)
}

func (x *Exporter) original(ctx context.Context, t Task) Result {
	src, srcInfo, err := x.Blob.Open(ctx, t.Asset.StorageKey)
	if err != nil {
		return Result{Err: fmt.Errorf("open original of %s: %w", t.Asset.Handle, err)}
	}
	defer src.Close()
	info, err := x.write(ctx, t, "the original", src, srcInfo.Size)
	if err != nil {
		return Result{Err: err}
	}
	if t.Asset.SHA256 != "" && !strings.EqualFold(info.SHA256, t.Asset.SHA256) {
		_ = x.Blob.Delete(context.WithoutCancel(ctx), t.Key)
		if t.Budget != nil {
			t.Budget.Return(context.WithoutCancel(ctx), srcInfo.Size)
		}
		return Result{Err: fmt.Errorf("original of %s: %w (catalogue %s, stored %s)", t.Asset.Handle, ErrChecksum, t.Asset.SHA256, info.SHA256)}
	}
	return Result{Key: t.Key, Size: info.Size, SHA256: info.SHA256, Original: true}
}

func (x *Exporter) convert(ctx context.Context, t Task) Result {
	var key string
	if x.Cache != nil {
		key = x.Cache.Key(t.Asset.SHA256, t.Request)
	}
	if key != "" {
		if r, ok := x.reuse(ctx, t, key); ok {
			return r
		}
	}
	src, srcInfo, err := x.Blob.Open(ctx, t.Asset.StorageKey)
	if err != nil {
		return Result{Err: fmt.Errorf("open original of %s: %w", t.Asset.Handle, err)}
	}
	data, err := readAll(src, srcInfo.Size)
	src.Close()
	if err != nil {
		return Result{Err: fmt.Errorf("read original of %s: %w", t.Asset.Handle, err)}
	}
	if key != "" {
		// Only bytes that are the version the key names are cached under it.
		if sum := sha256.Sum256(data); !strings.EqualFold(hex.EncodeToString(sum[:]), t.Asset.SHA256) {
			key = ""
		}
	}
	out, err := x.Renderer.Render(ctx, data, t.Request)
	// Render copies the source into C memory and keeps no reference to it.
	recycle(data)
	if errors.Is(err, ErrNotConvertible) {
		t.Key = ConvertedName(t.Key, path.Ext(t.Asset.FileName))
		r := x.original(ctx, t)
		r.Warnings = append(r.Warnings, fmt.Sprintf("cannot be converted (%v): exported as original", err))
		return r
	}
	if err != nil {
		return Result{Err: err}
	}
	info, err := x.write(ctx, t, "the converted file", bytes.NewReader(out.Data), int64(len(out.Data)))
	if err != nil {
		return Result{Err: err}
	}
	r := Result{Key: t.Key, Size: info.Size, SHA256: info.SHA256}
	for _, w := range out.Warnings {
		r.Warnings = append(r.Warnings, w.String())
	}
	if key != "" {
		// The request's own warnings name positions in the string this job
		// was given, which another job's spelling of the same conversion
		// places elsewhere: only the render's are kept (reuse adds the
		// request's). A render that does not give the request's first is
		// not kept.
		if n := len(t.Request.Warnings); len(out.Warnings) >= n && slices.Equal(out.Warnings[:n], t.Request.Warnings) {
			x.Cache.Put(ctx, key, out.Data, r.Warnings[n:])
			r.Cache = CacheMiss
		}
	}
	return r
}

// reuse writes the rendition cached under key as t's file. ok is false
// when there is none, or it was not what the index said (then forgotten,
// and nothing is left under t.Key): the caller renders. A limit that
// refuses it is final, as it would be for the rendered file.
func (x *Exporter) reuse(ctx context.Context, t Task, key string) (Result, bool) {
	rc, c, ok := x.Cache.Get(ctx, key)
	if !ok {
		return Result{}, false
	}
	defer rc.Close()
	info, err := x.write(ctx, t, "the converted file", rc, c.Size)
	var limit *LimitError
	if errors.As(err, &limit) {
		return Result{Err: err}, true
	}
	if err == nil && (info.Size != c.Size || !strings.EqualFold(info.SHA256, c.SHA256)) {
		ctx := context.WithoutCancel(ctx)
		_ = x.Blob.Delete(ctx, t.Key)
		if t.Budget != nil {
			t.Budget.Return(ctx, c.Size)
		}
		err = fmt.Errorf("%d bytes of SHA-256 %s, not %d of %s", info.Size, info.SHA256, c.Size, c.SHA256)
	}
	if err != nil {
		if ctx.Err() != nil {
			return Result{Err: err}, true
		}
		x.Cache.Forget(ctx, key)
		return Result{}, false
	}
	r := Result{Key: t.Key, Size: info.Size, SHA256: info.SHA256, Cache: CacheHit}
	for _, w := range t.Request.Warnings {
		r.Warnings = append(r.Warnings, w.String())
	}
	r.Warnings = append(r.Warnings, c.Warnings...)
	return r, true
}

// write stores the size bytes of r under t.Key, once they are within the
// per-file limit and the job's budget has admitted them: a file that does
// not fit never reaches storage. r may not yield more than size bytes.
func (x *Exporter) write(ctx context.Context, t Task, what string, r io.Reader, size int64) (blob.Info, error) {
	if x.MaxFileBytes > 0 && size > x.MaxFileBytes {
		return blob.Info{}, &LimitError{Limit: ErrFileTooLarge, Msg: fmt.Sprintf("%s is %s, above the limit of %s per exported file",
			what, ByteSize(size), ByteSize(x.MaxFileBytes))}
	}
	if t.Budget != nil {
		if err := t.Budget.Admit(ctx, size); err != nil {
			return blob.Info{}, fmt.Errorf("%s of %s: %w", what, ByteSize(size), err)
		}
	}
	info, err := x.Blob.Put(ctx, t.Key, &capped{r: r, left: size})
	if err != nil {
		if t.Budget != nil {
			t.Budget.Return(context.WithoutCancel(ctx), size)
		}
		return blob.Info{}, fmt.Errorf("write %s: %w", t.Key, err)
	}
	return info, nil
}

// errGrew is a source that held more bytes than it said.
var errGrew = errors.New("source is longer than its stored size")

// capped reads at most left bytes of r and fails if r has more: a write
// never goes past what was admitted.
type capped struct {
	r    io.Reader
	left int64
}

func (c *capped) Read(p []byte) (int, error) {
	if c.left <= 0 {
		var one [1]byte
		n, err := c.r.Read(one[:])
		if n > 0 {
			return 0, errGrew
		}
		return 0, err
	}
	if int64(len(p)) > c.left {
		p = p[:c.left]
	}
	n, err := c.r.Read(p)
	c.left -= int64(n)
	return n, err
}

// ByteSize writes n for a log message: "201326592 bytes (192.0 MiB)".
func ByteSize(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d bytes", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit && exp < 4; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%d bytes (%.1f %ciB)", n, float64(n)/float64(div), "KMGTP"[exp])
}

// srcBufs recycles source buffers between conversions (*[]byte). A CPU
// profile of a convert export showed a fresh multi-megabyte buffer per
// image costing page faults, zeroing and the scavenger's madvise (a few
// per cent of the export's CPU); a recycled one costs none of that.
var srcBufs sync.Pool

// maxRecycled bounds the buffers kept: a rare huge source is left to GC.
const maxRecycled = 64 << 20

// readAll reads r to the end into one buffer sized from the stored size
// (io.ReadAll would regrow a 3 MB original a dozen times), recycled when
// one is at hand. A size that is wrong only costs a regrowth.
func readAll(r io.Reader, size int64) ([]byte, error) {
	if size <= 0 || size > 1<<30 {
		return io.ReadAll(r)
	}
	need := int(size) + bytes.MinRead
	var b []byte
	if p, ok := srcBufs.Get().(*[]byte); ok && cap(*p) >= need {
		b = (*p)[:0]
	} else {
		b = make([]byte, 0, need)
	}
	buf := bytes.NewBuffer(b)
	_, err := buf.ReadFrom(r)
	return buf.Bytes(), err
}

// recycle hands a buffer from readAll back for the next conversion; the
// caller must not use it afterwards.
func recycle(b []byte) {
	if cap(b) == 0 || cap(b) > maxRecycled {
		return
	}
	b = b[:0]
	srcBufs.Put(&b)
}
