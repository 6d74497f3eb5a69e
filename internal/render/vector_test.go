package render

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"testing"
	"time"

	"codeberg.org/go-pdf/fpdf"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ipsexport/ipsd/internal/modifier"
)

// testPDF writes a PDF of pages w×h points, page i filled with colours[i]
// on its left half and white on its right.
func testPDF(t testing.TB, w, h float64, colours ...[3]int) []byte {
	t.Helper()
	pdf := fpdf.NewCustom(&fpdf.InitType{UnitStr: "pt", Size: fpdf.SizeType{Wd: w, Ht: h}})
	pdf.SetAutoPageBreak(false, 0)
	for _, c := range colours {
		pdf.AddPage()
		pdf.SetFillColor(c[0], c[1], c[2])
		pdf.Rect(0, 0, w/2, h, "F")
	}
	var b bytes.Buffer
	require.NoError(t, pdf.Output(&b))
	return b.Bytes()
}

// testEPS is a 144×72-point EPS (bounding box at llx, lly): left half red,
// right half blue.
func testEPS(llx, lly int) []byte {
	return []byte(fmt.Sprintf(`%%!PS-Adobe-3.0 EPSF-3.0
%%%%BoundingBox: %d %d %d %d
%%%%Pages: 1
%%%%EndComments
1 0 0 setrgbcolor %d %d 72 72 rectfill
0 0 1 setrgbcolor %d %d 72 72 rectfill
showpage
%%%%EOF
`, llx, lly, llx+144, lly+72, llx, lly, llx+72, lly))
}

// dosEPS wraps ps in the binary EPS header (no preview).
func dosEPS(ps []byte) []byte {
	h := make([]byte, 30)
	copy(h, dosEPSMagic)
	binary.LittleEndian.PutUint32(h[4:], 30)
	binary.LittleEndian.PutUint32(h[8:], uint32(len(ps)))
	binary.LittleEndian.PutUint16(h[28:], 0xffff)
	return append(h, ps...)
}

func TestPDFSource(t *testing.T) {
	// 144×72 pt at the default 150 dpi: 300×150 pixels.
	src := testPDF(t, 144, 72, [3]int{255, 0, 0}, [3]int{0, 255, 0}, [3]int{0, 0, 255})
	res := renderOK(t, src, "fmt=png")
	assert.Equal(t, 300, res.decoded.Width)
	assert.Equal(t, 150, res.decoded.Height)
	near(t, res.decoded, 40, 75, red, 2, "the first page is converted")
	near(t, res.decoded, 260, 75, white, 2)
	require.Len(t, res.Output.Warnings, 1)
	assert.Contains(t, res.Output.Warnings[0].Message, "3 pages; the first page is converted")
	assert.InDelta(t, 150/25.4, res.XRes, 0.01, "the raster resolution is the print resolution")

	one := renderOK(t, testPDF(t, 144, 72, [3]int{0, 0, 255}), "wid=150&fmt=jpeg")
	assert.Empty(t, one.Output.Warnings, "a one-page PDF converts without a warning")
	assert.Equal(t, 75, one.decoded.Height)
	near(t, one.decoded, 20, 40, blue, 12)

	t.Run("RasterDPI", func(t *testing.T) {
		r, err := New(Config{RasterDPI: 72})
		require.NoError(t, err)
		out, err := r.Render(context.Background(), src, mustParse(t, "fmt=png"))
		require.NoError(t, err)
		assert.Equal(t, 144, out.Width)
		_, err = New(Config{RasterDPI: MaxRasterDPI + 1})
		assert.Error(t, err)
	})
	t.Run("a huge page is a limit error", func(t *testing.T) {
		err := renderErr(t, testPDF(t, 14400, 14400, [3]int{0, 0, 0}), "fmt=png")
		assert.ErrorIs(t, err, ErrInputTooLarge)
	})
	t.Run("a truncated PDF is corrupt", func(t *testing.T) {
		err := renderErr(t, src[:len(src)/3], "fmt=png")
		assert.True(t, errorIsAny(err, ErrCorruptSource, ErrUnsupportedSource), "%v", err)
	})
}

func TestPostScriptSource(t *testing.T) {
	check := func(t *testing.T, src []byte, modifier string) result {
		t.Helper()
		res := renderOK(t, src, modifier)
		assert.Equal(t, 300, res.decoded.Width)
		assert.Equal(t, 150, res.decoded.Height)
		near(t, res.decoded, 40, 75, red, 2)
		near(t, res.decoded, 260, 75, blue, 2)
		return res
	}
	t.Run("EPS: the bounding box is the page", func(t *testing.T) {
		res := check(t, testEPS(0, 0), "fmt=png")
		assert.Empty(t, res.Output.Warnings)
		check(t, testEPS(300, 500), "fmt=png")
	})
	t.Run("EPS with a binary header", func(t *testing.T) {
		check(t, dosEPS(testEPS(10, 10)), "fmt=png")
	})
	t.Run("an EPS we wrote comes back", func(t *testing.T) {
		eps := renderRaw(t, quadrantsPNG(t), "fmt=eps&printRes=150").Data
		res := renderOK(t, eps, "fmt=png")
		assert.Equal(t, 200, res.decoded.Width)
		near(t, res.decoded, 50, 25, red, 2)
		near(t, res.decoded, 150, 75, white, 2)
	})
	t.Run("multi-page PostScript: the first page, a warning", func(t *testing.T) {
		ps := []byte("%!PS-Adobe-3.0\n%%BoundingBox: 0 0 144 72\n%%Pages: 3\n%%EndComments\n" +
			"%%Page: 1 1\n1 0 0 setrgbcolor 0 0 72 72 rectfill 0 0 1 setrgbcolor 72 0 72 72 rectfill showpage\n" +
			"%%Page: 2 2\n0 1 0 setrgbcolor 0 0 144 72 rectfill showpage\n" +
			"%%Page: 3 3\n0 0 0 setrgbcolor 0 0 144 72 rectfill showpage\n%%EOF\n")
		res := check(t, ps, "fmt=png")
		require.Len(t, res.Output.Warnings, 1)
		assert.Contains(t, res.Output.Warnings[0].Message, "3 pages")
	})
	t.Run("alpha outside the drawing in -alpha formats", func(t *testing.T) {
		ps := []byte("%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 144 72\n%%EndComments\n1 0 0 setrgbcolor 0 0 72 72 rectfill\n%%EOF\n")
		res := renderOK(t, ps, "fmt=png-alpha")
		assert.Equal(t, 255.0, res.Pixel(40, 75)[3])
		assert.Equal(t, 0.0, res.Pixel(260, 75)[3])
		near(t, renderOK(t, ps, "fmt=png&bgc=00ff00").decoded, 260, 75, green, 2, "flattened on bgc")
	})
	t.Run("Ghostscript runs with -dSAFER", func(t *testing.T) {
		ps := []byte("%!PS-Adobe-3.0\n(/etc/passwd) (r) file 100 string readstring pop print showpage\n")
		err := renderErr(t, ps, "fmt=png")
		assert.ErrorIs(t, err, ErrCorruptSource)
		assert.Contains(t, err.Error(), "invalidfileaccess")
		assert.NotContains(t, err.Error(), "root:")
	})
	t.Run("a huge bounding box is refused before Ghostscript runs", func(t *testing.T) {
		ps := []byte("%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 100000 100000\n%%EndComments\nshowpage\n")
		assert.ErrorIs(t, renderErr(t, ps, "fmt=png"), ErrInputTooLarge)
	})
	t.Run("an endless program is stopped by RasterTimeout", func(t *testing.T) {
		r, err := New(Config{RasterTimeout: time.Second})
		require.NoError(t, err)
		_, err = r.Render(context.Background(), []byte("%!PS-Adobe-3.0\n{} loop\n"), mustParse(t, "fmt=png"))
		assert.ErrorIs(t, err, ErrUnrenderable)
		assert.Contains(t, err.Error(), "longer than 1s")
	})
	t.Run("no Ghostscript: not convertible", func(t *testing.T) {
		r, err := New(Config{Ghostscript: "/nonexistent/gs"})
		require.NoError(t, err)
		_, err = r.Render(context.Background(), testEPS(0, 0), mustParse(t, "fmt=png"))
		assert.ErrorIs(t, err, ErrUnsupportedSource)
	})
	t.Run("a cancelled context stops it", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		defer cancel()
		req := mustParse(t, "fmt=png")
		_, err := newTestRenderer(t).Render(ctx, []byte("%!PS-Adobe-3.0\n{} loop\n"), req)
		assert.ErrorIs(t, err, context.DeadlineExceeded)
	})
}

func TestScanDSC(t *testing.T) {
	d := scanDSC([]byte("%!PS-Adobe-3.0 EPSF-3.0\r\n%%BoundingBox: (atend)\r\n%%Pages: (atend)\r\n%%EndComments\r\nshowpage\r\n%%Trailer\r\n%%BoundingBox: 1 2 30 40\r\n%%Pages: 2\r\n"))
	assert.True(t, d.eps)
	assert.True(t, d.bound)
	assert.Equal(t, [4]float64{1, 2, 30, 40}, d.bbox)
	assert.Equal(t, 2, d.pages)
	d = scanDSC([]byte("%!PS\n%%BoundingBox: 10 10 5 5\n"))
	assert.False(t, d.eps)
	assert.False(t, d.bound, "an empty box is ignored")
}

func mustParse(t testing.TB, mod string) *modifier.Request {
	t.Helper()
	req, err := modifier.Parse(mod, nil)
	require.NoError(t, err, mod)
	return req
}

func errorIsAny(err error, kinds ...error) bool {
	for _, k := range kinds {
		if errors.Is(err, k) {
			return true
		}
	}
	return false
}
