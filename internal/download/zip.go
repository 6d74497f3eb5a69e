package download

import (
	"archive/zip"
	"compress/flate"
	"context"
	"fmt"
	"io"
	"path"
	"strconv"
	"strings"
	"time"

	kflate "github.com/klauspost/compress/flate"

	"github.com/ipsexport/ipsd/internal/blob"
)

// Zip method: every entry is Deflate (method 8), at one of two levels:
//
//   - flate.NoCompression for formats that are already compressed (JPEG,
//     PNG, GIF, WebP, AVIF, HEIF, JPEG 2000, video, audio, archives, PDF):
//     deflating them again saves under 1 % and costs ~100× the CPU. Level
//     0 emits "stored" deflate blocks, a plain copy with 5 bytes of framing
//     per 64 KiB.
//   - flate.BestSpeed for everything else (uncompressed TIFF – libvips
//     writes TIFF uncompressed –, BMP, PSD, SVG, EPS, text), where it
//     typically saves a quarter to a half of the size. These entries use
//     github.com/klauspost/compress/flate (already linked in for S3, by
//     minio-go): the deflate was the largest item of a CPU profile of an
//     orig export's zip, and its level 1 ran at 1.7–1.9× the standard
//     library's (BenchmarkZipStream/tiff: 125 against 66 MB/s; photo-like
//     TIFF: 145 against 80 MB/s) and compressed a little better (0.70
//     against 0.76 of the size). Its output is plain deflate that every
//     zip reader reads. See PERFORMANCE.md.
//
// Why not method Store for the compressed formats: a streamed entry's CRC
// and sizes are only known after its data, so archive/zip marks every
// entry with a data descriptor (flag bit 3). Java's ZipInputStream – the
// way Java clients such as AEM read a downloaded zip as a stream – rejects
// a Stored entry with a data descriptor ("only DEFLATED entries can have
// EXT descriptor"). Deflate at level 0 costs the same as Store and every
// zip reader accepts it.
//
// ZIP64: archive/zip switches to ZIP64 records by itself for an entry or
// archive past 4 GiB or more than 65,535 entries, so large jobs need
// nothing special here.

// compressionLevel is the deflate level for an entry named name: none
// for already-compressed formats, the fastest otherwise.
func compressionLevel(name string) int {
	switch strings.ToLower(path.Ext(name)) {
	case ".jpg", ".jpeg", ".jpe", ".jfif", ".pjpeg",
		".png", ".gif", ".webp", ".avif", ".heic", ".heif",
		".jp2", ".j2k", ".jpf", ".jpx", ".jxl", ".jxr", ".wdp",
		".mp4", ".m4v", ".mov", ".webm", ".mkv", ".flv", ".f4v",
		".mp3", ".m4a", ".aac", ".ogg", ".oga", ".opus", ".flac",
		".zip", ".gz", ".tgz", ".bz2", ".xz", ".zst", ".7z", ".rar",
		".woff", ".woff2", ".pdf", ".swf":
		return flate.NoCompression
	}
	return flate.BestSpeed
}

// deflaters is a zip.Compressor for one archive that reuses one
// flate.Writer per level across entries (a fresh flate.Writer is ~1 MiB of
// allocations) and picks the level set before each entry.
type deflaters struct {
	level  int
	stored *flate.Writer
	fast   *kflate.Writer
}

func (d *deflaters) compressor(w io.Writer) (io.WriteCloser, error) {
	if d.level == flate.NoCompression {
		if d.stored == nil {
			nw, err := flate.NewWriter(w, flate.NoCompression)
			if err != nil {
				return nil, fmt.Errorf("deflate level %d: %w", d.level, err)
			}
			d.stored = nw
		} else {
			d.stored.Reset(w)
		}
		return d.stored, nil
	}
	if d.fast == nil {
		nw, err := kflate.NewWriter(w, d.level)
		if err != nil {
			return nil, fmt.Errorf("deflate level %d: %w", d.level, err)
		}
		d.fast = nw
	} else {
		d.fast.Reset(w)
	}
	return d.fast, nil
}

// WriteZip writes a zip archive of files to w, reading them one at a time
// from store, in order. Memory stays constant in the files' sizes; per
// file only the entry's central-directory record (name, sizes, CRC) is
// kept until the end, as the format requires.
//
// Entry names are the files' paths made safe by EntryName; two files whose
// safe names collide are told apart with " (2)", " (3)", … before the
// extension. A file that cannot be read ends the archive with an error: w
// then holds a truncated archive and the caller must make the failure
// visible (the handler aborts the response).
func WriteZip(ctx context.Context, w io.Writer, store blob.Store, files []File) error {
	zw := zip.NewWriter(w)
	d := &deflaters{}
	zw.RegisterCompressor(zip.Deflate, d.compressor)
	buf := make([]byte, 64<<10)
	used := make(map[string]struct{}, len(files))
	for i, f := range files {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("zip: %w", err)
		}
		name := uniqueName(used, EntryName(f.Path, i))
		if err := writeEntry(ctx, zw, d, store, f, name, buf); err != nil {
			return err
		}
	}
	if err := zw.Close(); err != nil {
		return fmt.Errorf("zip: finish: %w", err)
	}
	return nil
}

func writeEntry(ctx context.Context, zw *zip.Writer, d *deflaters, store blob.Store, f File, name string, buf []byte) error {
	rc, info, err := store.Open(ctx, f.BlobKey)
	if err != nil {
		return fmt.Errorf("zip: open %q (%s): %w", f.Path, f.BlobKey, err)
	}
	defer rc.Close()
	mod := info.Modified
	if mod.IsZero() {
		mod = time.Now()
	}
	d.level = compressionLevel(name)
	hdr := &zip.FileHeader{Name: name, Method: zip.Deflate, Modified: mod}
	hdr.SetMode(0o644)
	ew, err := zw.CreateHeader(hdr)
	if err != nil {
		return fmt.Errorf("zip: entry %q: %w", name, err)
	}
	// onlyReader hides the reader's WriteTo (*os.File has one), which
	// would allocate its own 32 KiB buffer per file.
	if _, err := io.CopyBuffer(ew, onlyReader{rc}, buf); err != nil {
		return fmt.Errorf("zip: copy %q: %w", f.Path, err)
	}
	return nil
}

type onlyReader struct{ io.Reader }

// EntryName turns a job-relative path into a zip entry name that cannot
// escape the directory it is extracted into: backslashes become slashes,
// and empty, "." and ".." segments, a leading drive ("C:") and control
// characters are dropped, so the name is relative and never climbs. A path
// with nothing left becomes "file-<i+1>".
func EntryName(p string, i int) string {
	p = strings.ReplaceAll(p, `\`, "/")
	segs := make([]string, 0, strings.Count(p, "/")+1)
	for seg := range strings.SplitSeq(p, "/") {
		seg = strings.Map(func(r rune) rune {
			if r < 0x20 || r == 0x7f {
				return -1
			}
			return r
		}, seg)
		seg = strings.TrimSpace(seg)
		if seg == "" || seg == "." || seg == ".." {
			continue
		}
		if len(segs) == 0 && len(seg) == 2 && seg[1] == ':' {
			continue // a Windows drive: "C:"
		}
		segs = append(segs, seg)
	}
	if len(segs) == 0 {
		return "file-" + strconv.Itoa(i+1)
	}
	return strings.Join(segs, "/")
}

// uniqueName returns name, or name with " (n)" before its extension, that
// is not yet in used, and records it.
func uniqueName(used map[string]struct{}, name string) string {
	key := strings.ToLower(name) // case-insensitive file systems
	if _, dup := used[key]; !dup {
		used[key] = struct{}{}
		return name
	}
	ext := path.Ext(name)
	if strings.Contains(ext, "/") {
		ext = ""
	}
	stem := strings.TrimSuffix(name, ext)
	for n := 2; ; n++ {
		cand := stem + " (" + strconv.Itoa(n) + ")" + ext
		key := strings.ToLower(cand)
		if _, dup := used[key]; !dup {
			used[key] = struct{}{}
			return cand
		}
	}
}
