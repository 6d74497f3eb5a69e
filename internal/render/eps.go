package render

import (
	"bufio"
	"bytes"
	"compress/zlib"
	"encoding/ascii85"
	"fmt"
	"io"
	"math"
	"strings"
)

// fmt=eps: libvips writes no PostScript, so this file does (docs/formats.md,
// "fmt=eps"). The output is a DSC-conformant EPSF-3.0 file holding one
// image: level-2 dictionary image data, Flate-compressed (lossless, as the
// reference's "uncompressed" EPS is) and ASCII85-encoded so the file is
// 7-bit clean. FlateDecode (and ICCBased, for iccEmbed=1) are LanguageLevel
// 3, which the header says.

// epsImage is an image to write as EPS.
type epsImage struct {
	W, H  int
	Bands int    // 1 gray, 3 RGB, 4 CMYK (0 = no ink)
	Pix   []byte // 8-bit samples, band-interleaved, top row first
	DPI   float64
	ICC   []byte // the output profile (iccEmbed=1), or nil
}

func (j *job) saveEPS(x vimg) ([]byte, error) {
	if x.hasAlpha() || x.format() != fmtUchar {
		return nil, failf(ErrInternal, "eps: unexpected %d-band image", x.bands())
	}
	bands := x.bands()
	if bands == 4 && x.interp() != interpCMYK || bands != 1 && bands != 3 && bands != 4 {
		return nil, failf(ErrInternal, "eps: unexpected %d-band image", bands)
	}
	pix, err := pixels(x)
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	err = writeEPS(&b, epsImage{W: x.width(), H: x.height(), Bands: bands, Pix: pix,
		DPI: x.xres() * 25.4, ICC: x.blobField("icc-profile-data")})
	return b.Bytes(), err
}

// printSize is the page size in points of a w×h image at dpi (72 if
// unknown: one pixel per point).
func printSize(w, h int, dpi float64) (float64, float64) {
	if !(dpi > 0) || math.IsInf(dpi, 0) {
		dpi = 72
	}
	return float64(w) * 72 / dpi, float64(h) * 72 / dpi
}

func writeEPS(w io.Writer, img epsImage) error {
	if img.W <= 0 || img.H <= 0 || len(img.Pix) != img.W*img.H*img.Bands {
		return fmt.Errorf("eps: %d bytes for %d×%d×%d", len(img.Pix), img.W, img.H, img.Bands)
	}
	space := map[int]string{1: "DeviceGray", 3: "DeviceRGB", 4: "DeviceCMYK"}[img.Bands]
	if space == "" {
		return fmt.Errorf("eps: %d bands", img.Bands)
	}
	wpt, hpt := printSize(img.W, img.H, img.DPI)
	bw := bufio.NewWriter(w)
	p := func(format string, args ...any) { fmt.Fprintf(bw, format+"\n", args...) }

	p("%%!PS-Adobe-3.0 EPSF-3.0")
	p("%%%%Creator: IPS Export")
	p("%%%%BoundingBox: 0 0 %d %d", int(math.Ceil(wpt-1e-9)), int(math.Ceil(hpt-1e-9)))
	p("%%%%HiResBoundingBox: 0 0 %s %s", psNum(wpt), psNum(hpt))
	p("%%%%LanguageLevel: 3")
	p("%%%%DocumentData: Clean7Bit")
	p("%%%%Pages: 1")
	p("%%%%EndComments")
	p("%%%%BeginProlog")
	p("%%%%EndProlog")
	p("%%%%Page: 1 1")
	p("10 dict begin")
	p("gsave")
	if iccBands(img.ICC) == img.Bands {
		// The profile is read whole into a reusable stream, then named by
		// an ICCBased colour space whose alternate is the device space.
		p("/ipsdProfile currentfile /ASCII85Decode filter /ReusableStreamDecode filter")
		if err := writeASCII85(bw, img.ICC); err != nil {
			return err
		}
		p("def")
		p("[/ICCBased << /N %d /Alternate /%s /DataSource ipsdProfile >>] setcolorspace", img.Bands, space)
	} else {
		p("/%s setcolorspace", space)
	}
	p("%s %s scale", psNum(wpt), psNum(hpt))
	decode := strings.TrimSpace(strings.Repeat("0 1 ", img.Bands))
	// flushfile drains the data to its end marker, so the interpreter
	// resumes after it whatever the image operator left unread.
	p("{ /ipsdData currentfile /ASCII85Decode filter def")
	p("  << /ImageType 1 /Width %d /Height %d /BitsPerComponent 8 /Decode [%s]", img.W, img.H, decode)
	p("     /ImageMatrix [%d 0 0 -%d 0 %d] /DataSource ipsdData /FlateDecode filter >> image", img.W, img.H, img.H)
	p("  ipsdData flushfile } exec")
	var z bytes.Buffer
	zw := zlib.NewWriter(&z)
	if _, err := zw.Write(img.Pix); err != nil {
		return err
	}
	if err := zw.Close(); err != nil {
		return err
	}
	if err := writeASCII85(bw, z.Bytes()); err != nil {
		return err
	}
	p("grestore")
	p("end")
	p("showpage")
	p("%%%%Trailer")
	p("%%%%EOF")
	return bw.Flush()
}

// iccBands is the number of components of an ICC profile's colour space
// (0 if data is not one this writer embeds).
func iccBands(data []byte) int {
	if data == nil {
		return 0
	}
	pt, _, err := iccInfo(data)
	if err != nil {
		return 0
	}
	return map[string]int{"gray": 1, "rgb": 3, "cmyk": 4}[pt]
}

// writeASCII85 writes data ASCII85-encoded in lines of 76 characters and
// the ~> end marker. A line never starts with '%', so no data line reads as
// a DSC comment.
func writeASCII85(w *bufio.Writer, data []byte) error {
	var enc bytes.Buffer
	e := ascii85.NewEncoder(&enc)
	if _, err := e.Write(data); err != nil {
		return err
	}
	if err := e.Close(); err != nil {
		return err
	}
	s := enc.Bytes()
	for len(s) > 0 {
		n := min(len(s), 76)
		if s[0] == '%' {
			w.WriteByte(' ')
		}
		w.Write(s[:n])
		w.WriteByte('\n')
		s = s[n:]
	}
	_, err := w.WriteString("~>\n")
	return err
}

// psNum formats a PostScript real with up to 4 decimals.
func psNum(v float64) string {
	s := strings.TrimRight(fmt.Sprintf("%.4f", v), "0")
	return strings.TrimSuffix(s, ".")
}
