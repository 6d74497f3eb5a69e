package download

import (
	"archive/zip"
	"context"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"path"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	kflate "github.com/klauspost/compress/flate"
	"golang.org/x/sync/semaphore"

	"github.com/ipsexport/ipsd/internal/blob"
)

// How a zip download is written:
//
// Entries are read in order by one goroutine, in pieces of up to
// pieceSize, and their CRC-32 is computed as they are read. Pieces of
// entries that compress are deflated by a pool of workers, several pieces
// (of one entry or of the next ones) at once, while the response sends
// the ones before them; the response only ever copies finished bytes with
// zip.Writer.CreateRaw. Every piece is deflated on its own and ends with a
// sync flush, so the pieces of one entry concatenate into one deflate
// stream, which a final empty block closes. The memory held for pieces
// read and compressed ahead is bounded by ZipOptions.ReadAheadBytes.
//
// Entry methods:
//
//   - An entry of at most ReadAheadBytes/4 is held whole before its
//     header is written, so its local header carries its CRC and sizes
//     and it has no data descriptor. It is Stored when its format is
//     already compressed (JPEG, PNG, WebP, … see worthDeflating) or when
//     deflate did not make it smaller, else Deflated.
//   - A larger entry is streamed: its header goes out before its CRC is
//     known, so it carries a data descriptor (flag bit 3) and is Deflated
//     – for an already compressed format at level 0, "stored" deflate
//     blocks, a plain copy with 5 bytes of framing per 64 KiB. It is not
//     Stored because stream readers reject a Stored entry with a data
//     descriptor (docs/clients.md, "Zip entries").
//
// Compressible entries use github.com/klauspost/compress/flate level 1,
// 1.7–1.9× the standard library's speed (see PERFORMANCE.md).
//
// ZIP64: a streamed entry of 4 GiB or more gets 8-byte sizes in its data
// descriptor and a ZIP64 record in the central directory; archive/zip
// writes ZIP64 central-directory records for offsets past 4 GiB and more
// than 65,535 entries by itself.

const (
	// pieceSize is the most of an entry deflated as one unit of work.
	pieceSize = 1 << 20
	// DefaultZipReadAhead is ZipOptions.ReadAheadBytes when zero.
	DefaultZipReadAhead = 32 << 20
	// minZipReadAhead is the least ReadAheadBytes honoured: room for a
	// few pieces.
	minZipReadAhead = 4 * (pieceSize + pieceSize/4)
)

// ZipOptions tune WriteZip.
type ZipOptions struct {
	// ReadAheadBytes bounds the memory one zip download holds for entry
	// pieces read and compressed ahead of the bytes being sent; entries
	// up to a quarter of it are written with their sizes in the local
	// header. Zero means DefaultZipReadAhead; less than 5 MiB is raised
	// to 5 MiB.
	ReadAheadBytes int64
	// Workers is how many pieces are deflated at once; zero means
	// GOMAXPROCS.
	Workers int
}

func (o ZipOptions) withDefaults() ZipOptions {
	if o.ReadAheadBytes <= 0 {
		o.ReadAheadBytes = DefaultZipReadAhead
	}
	o.ReadAheadBytes = max(o.ReadAheadBytes, minZipReadAhead)
	if o.Workers <= 0 {
		o.Workers = runtime.GOMAXPROCS(0)
	}
	return o
}

// worthDeflating reports whether the entry named name is worth deflating:
// false for formats that are already compressed, where deflate saves
// under 1 % and costs ~100× the CPU of a copy.
func worthDeflating(name string) bool {
	switch strings.ToLower(path.Ext(name)) {
	case ".jpg", ".jpeg", ".jpe", ".jfif", ".pjpeg",
		".png", ".gif", ".webp", ".avif", ".heic", ".heif",
		".jp2", ".j2k", ".jpf", ".jpx", ".jxl", ".jxr", ".wdp",
		".mp4", ".m4v", ".mov", ".webm", ".mkv", ".flv", ".f4v",
		".mp3", ".m4a", ".aac", ".ogg", ".oga", ".opus", ".flac",
		".zip", ".gz", ".tgz", ".bz2", ".xz", ".zst", ".7z", ".rar",
		".woff", ".woff2", ".pdf", ".swf":
		return false
	}
	return true
}

// finalBlock is an empty, final deflate block of type "stored": it ends a
// stream whose pieces each ended with a sync flush (byte-aligned).
var finalBlock = [...]byte{0x01, 0x00, 0x00, 0xff, 0xff}

// piece is up to pieceSize bytes of one entry, read (raw) and, for an
// entry that is deflated, compressed (out) by a worker; done is closed
// when out is ready.
type piece struct {
	raw      []byte
	out      []byte
	deflate  bool
	level    int
	reserved int64
	done     chan struct{}
}

// item is what the reader hands the writer, in archive order: the start
// of an entry, one of its pieces, or its end; or an error that ends the
// archive.
type item struct {
	start *entry
	piece *piece
	end   *entry
	err   error
}

// entry is one file of the archive. The reader fills crc and size before
// it sends the entry's end item.
type entry struct {
	name    string
	path    string
	mod     time.Time
	deflate bool // compressible content
	whole   bool // held whole before its header is written
	crc     uint32
	size    int64
}

// WriteZip writes a zip archive of files to w, reading them from store in
// order (see the comment at the top of this file for how).
//
// Entry names are the files' paths made safe by EntryName; two files whose
// safe names collide are told apart with " (2)", " (3)", … before the
// extension. A file that cannot be read ends the archive with an error: w
// then holds a truncated archive and the caller must make the failure
// visible (the handler aborts the response). WriteZip returns only once
// every goroutine it started has ended.
func WriteZip(ctx context.Context, w io.Writer, store blob.Store, files []File, o ZipOptions) error {
	o = o.withDefaults()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	z := &zipper{
		store:  store,
		budget: semaphore.NewWeighted(o.ReadAheadBytes),
		whole:  o.ReadAheadBytes / 4,
		items:  make(chan item, 8*o.Workers+4),
		tasks:  make(chan *piece, 2*o.Workers),
		bufs:   make(chan []byte, o.ReadAheadBytes/pieceSize),
		outs:   make(chan []byte, o.ReadAheadBytes/pieceSize),
	}
	var wg sync.WaitGroup
	for range o.Workers {
		wg.Go(func() { z.deflater(ctx) })
	}
	wg.Go(func() {
		defer close(z.items)
		z.read(ctx, files)
	})
	err := z.write(ctx, w)
	cancel()
	wg.Wait()
	return err
}

type zipper struct {
	store  blob.Store
	budget *semaphore.Weighted
	whole  int64
	items  chan item
	tasks  chan *piece
	// Free full-size buffers for raw and for deflated pieces (a sync.Pool
	// would drop them at every GC; these stay bounded by the budget).
	bufs, outs chan []byte
}

// send hands it to the writer; false once the archive is abandoned.
func (z *zipper) send(ctx context.Context, it item) bool {
	select {
	case z.items <- it:
		return true
	case <-ctx.Done():
		return false
	}
}

// read is the reader: it opens the files in order, reads them in pieces
// within the read-ahead budget, computes each entry's CRC-32, and hands
// pieces to be deflated to the workers.
func (z *zipper) read(ctx context.Context, files []File) {
	defer close(z.tasks)
	used := make(map[string]struct{}, len(files))
	for i, f := range files {
		if ctx.Err() != nil {
			return
		}
		name := uniqueName(used, EntryName(f.Path, i))
		if err := z.readEntry(ctx, f, name); err != nil {
			z.send(ctx, item{err: err})
			return
		}
	}
}

func (z *zipper) readEntry(ctx context.Context, f File, name string) error {
	rc, info, err := z.store.Open(ctx, f.BlobKey)
	if err != nil {
		return fmt.Errorf("zip: open %q (%s): %w", f.Path, f.BlobKey, err)
	}
	defer rc.Close()
	e := &entry{name: name, path: f.Path, mod: info.Modified, deflate: worthDeflating(name)}
	if e.mod.IsZero() {
		e.mod = time.Now()
	}
	e.whole = info.Size <= z.whole
	level := kflate.NoCompression
	if e.deflate {
		level = kflate.BestSpeed
	}
	if !z.send(ctx, item{start: e}) {
		return ctx.Err()
	}
	crc := crc32.NewIEEE()
	for {
		// A whole entry may turn out Stored; a streamed one is always
		// Deflated, at level 0 when its format is compressed already.
		deflate := e.deflate || !e.whole
		// A piece holds what is left of the recorded size and one byte
		// more (to see the end), at most pieceSize.
		want := pieceSize
		if rem := info.Size - e.size + 1; rem >= 1 && rem < pieceSize {
			want = int(rem)
		}
		// Pieces of 64 KiB and more use full-size buffers, reused from
		// piece to piece (and counted at their full size).
		size := want
		if want >= pooledPiece {
			size = pieceSize
		}
		reserve := int64(size)
		if deflate {
			reserve += deflateBound(size)
		}
		if err := z.budget.Acquire(ctx, reserve); err != nil {
			return err
		}
		p := &piece{raw: z.buf(want), deflate: deflate, level: level, reserved: reserve, done: make(chan struct{})}
		n, err := io.ReadFull(rc, p.raw)
		p.raw = p.raw[:n]
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			err = nil
		} else if err == nil {
			err = errMore
		}
		if err != nil && err != errMore {
			z.release(p)
			return fmt.Errorf("zip: read %q: %w", f.Path, err)
		}
		if n == 0 {
			z.release(p)
			break
		}
		crc.Write(p.raw)
		e.size += int64(n)
		if e.whole && e.size > z.whole {
			z.release(p)
			return fmt.Errorf("zip: %q is larger than its recorded size %d", f.Path, info.Size)
		}
		if !z.send(ctx, item{piece: p}) {
			z.release(p)
			return ctx.Err()
		}
		if deflate {
			select {
			case z.tasks <- p:
			case <-ctx.Done():
				return ctx.Err()
			}
		} else {
			p.out = p.raw
			close(p.done)
		}
		if err != errMore {
			break
		}
	}
	e.crc = crc.Sum32()
	if !z.send(ctx, item{end: e}) {
		return ctx.Err()
	}
	return nil
}

var errMore = errors.New("more to read")

// deflateBound is the most deflate's output of n bytes may take (stored
// blocks of 64 KiB with 5 bytes each, a sync flush, slack).
func deflateBound(n int) int64 { return int64(n + n/64 + 1024) }

// pooledPiece is the smallest piece given a reused full-size buffer.
const pooledPiece = 64 << 10

// buf is a buffer of n bytes for a raw piece; from pooledPiece on, it is
// a reused full-size one.
func (z *zipper) buf(n int) []byte {
	if n < pooledPiece {
		return make([]byte, n)
	}
	select {
	case b := <-z.bufs:
		return b[:n]
	default:
		return make([]byte, n, pieceSize)
	}
}

// outBuf is an empty buffer for the deflated form of n raw bytes.
func (z *zipper) outBuf(n int) []byte {
	if n < pooledPiece {
		return make([]byte, 0, deflateBound(n))
	}
	select {
	case b := <-z.outs:
		return b[:0]
	default:
		return make([]byte, 0, deflateBound(pieceSize))
	}
}

// release returns p's buffers and its share of the budget.
func (z *zipper) release(p *piece) {
	if cap(p.raw) == pieceSize {
		recycle(z.bufs, p.raw)
	}
	if p.deflate && cap(p.out) == int(deflateBound(pieceSize)) {
		recycle(z.outs, p.out)
	}
	p.raw, p.out = nil, nil
	z.budget.Release(p.reserved)
}

func recycle(free chan []byte, b []byte) {
	select {
	case free <- b:
	default:
	}
}

// deflater is a worker: it deflates pieces, each on its own and ending
// with a sync flush.
func (z *zipper) deflater(ctx context.Context) {
	var fws [2]*kflate.Writer // by level: 0, 1
	out := &sliceWriter{}
	for p := range z.tasks {
		if ctx.Err() != nil {
			close(p.done)
			continue
		}
		out.b = z.outBuf(len(p.raw))
		fw := fws[p.level]
		if fw == nil {
			fw, _ = kflate.NewWriter(out, p.level) // levels 0 and 1 are valid
			fws[p.level] = fw
		} else {
			fw.Reset(out)
		}
		_, _ = fw.Write(p.raw) // a sliceWriter does not fail
		_ = fw.Flush()
		p.out = out.b
		close(p.done)
	}
}

type sliceWriter struct{ b []byte }

func (s *sliceWriter) Write(p []byte) (int, error) {
	s.b = append(s.b, p...)
	return len(p), nil
}

// write is the response side: it writes the items in order.
func (z *zipper) write(ctx context.Context, w io.Writer) error {
	zw := zip.NewWriter(w)
	var (
		cur     *entry
		held    []*piece // the pieces of a whole entry
		hdr     *zip.FileHeader
		ew      io.Writer
		written int64
	)
	wait := func(p *piece) error {
		select {
		case <-p.done:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	emit := func(p *piece) error {
		_, err := ew.Write(p.out)
		written += int64(len(p.out))
		z.release(p)
		if err != nil {
			return fmt.Errorf("zip: write %q: %w", cur.path, err)
		}
		return nil
	}
	for it := range z.items {
		switch {
		case it.err != nil:
			return it.err
		case it.start != nil:
			cur, held, written = it.start, held[:0], 0
			if !cur.whole {
				hdr = newHeader(cur.name, cur.mod, zip.Deflate)
				hdr.Flags |= 0x8 // sizes and CRC follow the data
				var err error
				if ew, err = zw.CreateRaw(hdr); err != nil {
					return fmt.Errorf("zip: entry %q: %w", cur.name, err)
				}
			}
		case it.piece != nil:
			if cur.whole {
				held = append(held, it.piece)
				continue
			}
			if err := wait(it.piece); err != nil {
				return err
			}
			if err := emit(it.piece); err != nil {
				return err
			}
		case it.end != nil:
			if cur.whole {
				if err := z.writeWhole(zw, cur, held, wait); err != nil {
					return err
				}
				held = held[:0]
				continue
			}
			if _, err := ew.Write(finalBlock[:]); err != nil {
				return fmt.Errorf("zip: write %q: %w", cur.path, err)
			}
			written += int64(len(finalBlock))
			setSizes(hdr, cur.crc, written, cur.size)
		}
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := zw.Close(); err != nil {
		return fmt.Errorf("zip: finish: %w", err)
	}
	return nil
}

// writeWhole writes an entry held whole: Stored, or Deflated when that
// made it smaller, with its CRC and sizes in the local header.
func (z *zipper) writeWhole(zw *zip.Writer, e *entry, pieces []*piece, wait func(*piece) error) error {
	var deflated int64
	for _, p := range pieces {
		if err := wait(p); err != nil {
			return err
		}
		deflated += int64(len(p.out))
	}
	method := zip.Store
	if e.deflate && deflated+int64(len(finalBlock)) < e.size {
		method = zip.Deflate
	}
	hdr := newHeader(e.name, e.mod, method)
	if method == zip.Deflate {
		setSizes(hdr, e.crc, deflated+int64(len(finalBlock)), e.size)
	} else {
		setSizes(hdr, e.crc, e.size, e.size)
	}
	ew, err := zw.CreateRaw(hdr)
	if err != nil {
		return fmt.Errorf("zip: entry %q: %w", e.name, err)
	}
	for _, p := range pieces {
		data := p.raw
		if method == zip.Deflate {
			data = p.out
		}
		_, err := ew.Write(data)
		z.release(p)
		if err != nil {
			return fmt.Errorf("zip: write %q: %w", e.path, err)
		}
	}
	if method == zip.Deflate {
		if _, err := ew.Write(finalBlock[:]); err != nil {
			return fmt.Errorf("zip: write %q: %w", e.path, err)
		}
	}
	return nil
}

// newHeader is what zip.Writer.CreateHeader would fill in for a regular
// file with mode 0644: versions, the UTF-8 flag, the MS-DOS time and the
// extended timestamp Info-ZIP writes. CreateRaw leaves all of it to the
// caller.
func newHeader(name string, mod time.Time, method uint16) *zip.FileHeader {
	h := &zip.FileHeader{Name: name, Method: method, Modified: mod}
	if utf8.ValidString(name) && !isASCII(name) {
		h.Flags |= 0x800
	}
	h.SetMode(0o644) // sets the Unix creator in CreatorVersion's high byte
	h.CreatorVersion = h.CreatorVersion&0xff00 | 20
	h.ReaderVersion = 20
	h.ModifiedDate, h.ModifiedTime = msDosTime(mod)
	var x [9]byte
	x[0], x[1] = 0x55, 0x54 // "UT", extended timestamp
	x[2], x[3] = 5, 0
	x[4] = 1 // modification time present
	t := uint32(mod.Unix())
	x[5], x[6], x[7], x[8] = byte(t), byte(t>>8), byte(t>>16), byte(t>>24)
	h.Extra = x[:]
	return h
}

// setSizes records an entry's CRC and sizes in its header. For a streamed
// entry this happens after CreateRaw; archive/zip reads them when it
// writes the data descriptor and the central directory.
func setSizes(h *zip.FileHeader, crc uint32, compressed, uncompressed int64) {
	const max32 = 1<<32 - 1
	h.CRC32 = crc
	h.CompressedSize64, h.UncompressedSize64 = uint64(compressed), uint64(uncompressed)
	if compressed >= max32 || uncompressed >= max32 {
		h.CompressedSize, h.UncompressedSize = max32, max32
		h.ReaderVersion = 45 // ZIP64
	} else {
		h.CompressedSize, h.UncompressedSize = uint32(compressed), uint32(uncompressed)
	}
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// msDosTime is t as an MS-DOS date and time (local to t's zone, 2-second
// resolution), as archive/zip writes them.
func msDosTime(t time.Time) (date, tm uint16) {
	if t.Year() < 1980 {
		t = time.Date(1980, 1, 1, 0, 0, 0, 0, t.Location())
	}
	date = uint16(t.Day() + int(t.Month())<<5 + (t.Year()-1980)<<9)
	tm = uint16(t.Second()/2 + t.Minute()<<5 + t.Hour()<<11)
	return date, tm
}

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
