package render

/*
#cgo pkg-config: vips
#include "vector.h"
*/
import "C"

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
	"unsafe"
)

// Vector sources (docs/formats.md, "Source types"): PDF and PDF-compatible
// Illustrator files are rasterised by libvips' pdfload (poppler);
// PostScript, EPS and PostScript-based Illustrator files by Ghostscript,
// run as a subprocess. The first page is converted, at Config.RasterDPI.

const (
	// DefaultRasterDPI is the resolution vector sources are rasterised at
	// (docs/formats.md, "Resolution": the reference gives no default).
	DefaultRasterDPI = 150
	// MaxRasterDPI bounds Config.RasterDPI.
	MaxRasterDPI = 2400
	// DefaultRasterTimeout bounds one Ghostscript run.
	DefaultRasterTimeout = time.Minute
)

// loadPDF loads the first page of a PDF at dpi.
func (p *pipe) loadPDF(src []byte, dpi float64, sequential bool) (vimg, error) {
	if p.cbuf == nil {
		p.cbuf = C.CBytes(src)
	}
	access := C.VIPS_ACCESS_RANDOM
	if sequential {
		access = C.VIPS_ACCESS_SEQUENTIAL
	}
	var out *C.VipsImage
	if C.ipsd_load_pdf(unsafe.Pointer(p.cbuf), C.size_t(len(src)), C.double(dpi), C.int(access), &out) != 0 {
		return vimg{}, vipsError("pdfload_buffer")
	}
	return p.own(out), nil
}

// pageWarning tells that only the first of n pages is converted.
func (j *job) pageWarning(n int) {
	if n > 1 {
		j.warn("fmt", fmt.Sprintf("the source has %d pages; the first page is converted", n))
	}
}

// dosEPSMagic starts an EPS with a binary header (a TIFF or WMF preview
// beside the PostScript).
const dosEPSMagic = "\xc5\xd0\xd3\xc6"

// isPostScript reports PostScript (EPS, PS, PostScript Illustrator) data.
func isPostScript(src []byte) bool {
	src = bytes.TrimPrefix(src, []byte{0x04}) // a leading ^D from old drivers
	return bytes.HasPrefix(src, []byte("%!PS")) || bytes.HasPrefix(src, []byte(dosEPSMagic))
}

// dscInfo is what the DSC comments of a PostScript file say.
type dscInfo struct {
	eps   bool
	bbox  [4]float64 // llx lly urx ury, points
	bound bool
	pages int
}

// scanDSC reads the header comments (and the trailer, for "(atend)").
func scanDSC(ps []byte) dscInfo {
	var d dscInfo
	d.eps = bytes.Contains(firstLine(ps), []byte("EPSF-"))
	read := func(block []byte) {
		for _, line := range strings.Split(string(block), "\n") {
			line = strings.TrimRight(line, "\r")
			if v, ok := strings.CutPrefix(line, "%%BoundingBox:"); ok && !d.bound {
				f := strings.Fields(v)
				if len(f) == 4 {
					var b [4]float64
					okAll := true
					for i, s := range f {
						n, err := strconv.ParseFloat(s, 64)
						if err != nil || math.IsNaN(n) || math.IsInf(n, 0) {
							okAll = false
						}
						b[i] = n
					}
					if okAll && b[2] > b[0] && b[3] > b[1] {
						d.bbox, d.bound = b, true
					}
				}
			}
			if v, ok := strings.CutPrefix(line, "%%Pages:"); ok && d.pages == 0 {
				if f := strings.Fields(v); len(f) > 0 {
					d.pages, _ = strconv.Atoi(f[0])
				}
			}
		}
	}
	const window = 64 << 10
	read(ps[:min(len(ps), window)])
	if len(ps) > window {
		read(ps[len(ps)-window:])
	}
	return d
}

func firstLine(b []byte) []byte {
	if i := bytes.IndexAny(b, "\r\n"); i >= 0 {
		return b[:i]
	}
	return b
}

// rasterizePS renders the first page of PostScript src to PNG with
// Ghostscript: -dSAFER (no file access beyond its input and output, no
// device changes), a bounded page size checked against MaxInputPixels
// before it runs, a private temporary directory, no inherited environment
// (GS_OPTIONS could undo the flags), and Config.RasterTimeout.
func (j *job) rasterizePS(ctx context.Context, src []byte) ([]byte, error) {
	ps := bytes.TrimPrefix(src, []byte{0x04})
	if bytes.HasPrefix(ps, []byte(dosEPSMagic)) {
		if len(ps) < 30 {
			return nil, failf(ErrCorruptSource, "truncated EPS binary header")
		}
		off, n := binary.LittleEndian.Uint32(ps[4:]), binary.LittleEndian.Uint32(ps[8:])
		if uint64(off)+uint64(n) > uint64(len(ps)) || n == 0 {
			return nil, failf(ErrCorruptSource, "EPS binary header points outside the file")
		}
		ps = ps[off : off+n]
	}
	dsc := scanDSC(ps)
	j.pageWarning(dsc.pages)

	r := j.r
	dpi := r.rasterDPI
	args := []string{"-q", "-dSAFER", "-dBATCH", "-dNOPAUSE", "-dNOPROMPT", "-sDEVICE=pngalpha",
		"-r" + strconv.FormatFloat(dpi, 'f', -1, 64), "-dTextAlphaBits=4", "-dGraphicsAlphaBits=4",
		"-dFirstPage=1", "-dLastPage=1"}
	var wpt, hpt float64
	if dsc.eps && dsc.bound {
		// The page is the bounding box.
		args = append(args, "-dEPSCrop")
		wpt, hpt = dsc.bbox[2]-dsc.bbox[0], dsc.bbox[3]-dsc.bbox[1]
	} else {
		// A fixed page the document cannot enlarge: its bounding box from
		// the origin, or US Letter, Ghostscript's default.
		wpt, hpt = 612, 792
		if dsc.bound && dsc.bbox[2] > 0 && dsc.bbox[3] > 0 {
			wpt, hpt = math.Ceil(dsc.bbox[2]), math.Ceil(dsc.bbox[3])
		}
		args = append(args, "-dFIXEDMEDIA", "-dDEVICEWIDTHPOINTS="+strconv.FormatFloat(wpt, 'f', -1, 64),
			"-dDEVICEHEIGHTPOINTS="+strconv.FormatFloat(hpt, 'f', -1, 64))
	}
	w, h := math.Ceil(wpt*dpi/72), math.Ceil(hpt*dpi/72)
	if w*h > float64(r.maxIn) {
		return nil, failf(ErrInputTooLarge, "the page would be %.0f×%.0f pixels at %g dpi, above the limit of %.1f megapixels",
			w, h, dpi, float64(r.maxIn)/1e6)
	}

	gs, err := exec.LookPath(r.ghostscript)
	if err != nil {
		return nil, &Error{Kind: ErrUnsupportedSource, Msg: "PostScript needs Ghostscript, which is not installed", Err: err}
	}
	dir, err := os.MkdirTemp("", "ipsd-ps-")
	if err != nil {
		return nil, internal("ghostscript", err)
	}
	defer os.RemoveAll(dir)
	in := filepath.Join(dir, "source.ps")
	if err := os.WriteFile(in, ps, 0o600); err != nil {
		return nil, internal("ghostscript", err)
	}
	args = append(args, "-sOutputFile="+filepath.Join(dir, "page-%d.png"), "-f", in)

	rctx, cancel := context.WithTimeout(ctx, r.rasterTimeout)
	defer cancel()
	cmd := exec.CommandContext(rctx, gs, args...)
	cmd.Dir = dir
	cmd.Env = []string{"TMPDIR=" + dir}
	out := &tailBuffer{max: 2048}
	cmd.Stdout, cmd.Stderr = out, out
	cmd.WaitDelay = 5 * time.Second
	runErr := cmd.Run()
	switch {
	case ctx.Err() != nil:
		return nil, ctx.Err()
	case errors.Is(rctx.Err(), context.DeadlineExceeded):
		return nil, failf(ErrUnrenderable, "Ghostscript took longer than %s to rasterise the PostScript", r.rasterTimeout)
	case runErr != nil:
		return nil, &Error{Kind: ErrCorruptSource, Msg: "Ghostscript cannot render the PostScript: " + out.String(), Err: runErr}
	}
	png, err := os.ReadFile(filepath.Join(dir, "page-1.png"))
	if err != nil {
		return nil, &Error{Kind: ErrCorruptSource, Msg: "the PostScript has no page: " + out.String(), Err: err}
	}
	return png, nil
}

// tailBuffer keeps the last max bytes written to it (a subprocess's
// messages, which a hostile file could make endless).
type tailBuffer struct {
	max int
	b   []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.b = append(t.b, p...)
	if len(t.b) > t.max {
		t.b = append(t.b[:0], t.b[len(t.b)-t.max:]...)
	}
	return len(p), nil
}

func (t *tailBuffer) String() string { return strings.TrimSpace(string(t.b)) }
