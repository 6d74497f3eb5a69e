package render

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ipsexport/ipsd/internal/modifier"
)

func encodeOK(t testing.TB, raw rawImage, saver string, opts ...string) []byte {
	t.Helper()
	b, err := encodeImage(raw, saver, opts...)
	require.NoError(t, err, saver)
	return b
}

// TestSources renders every kind of source the exports meet.
func TestSources(t *testing.T) {
	quad := rawImage{W: 200, H: 100, Bands: 3, Pix: quadrantPixels(200, 100)}
	checkQuadrants := func(t *testing.T, d *decoded, tol float64) {
		t.Helper()
		near(t, d, 20, 20, red, tol)
		near(t, d, 180, 20, green, tol)
		near(t, d, 20, 80, blue, tol)
		near(t, d, 180, 80, white, tol)
	}
	for _, tc := range []struct {
		saver  string
		opts   []string
		loader string
		tol    float64
	}{
		{"jpegsave_buffer", []string{"Q=95"}, "jpegload", 8},
		{"pngsave_buffer", nil, "pngload", 0},
		{"tiffsave_buffer", []string{"compression=lzw"}, "tiffload", 0},
		{"webpsave_buffer", []string{"lossless=true"}, "webpload", 0},
		{"gifsave_buffer", nil, "gifload", 4},
		{"heifsave_buffer", []string{"compression=av1", "effort=1", "Q=90"}, "heifload", 12},
		{"jp2ksave_buffer", []string{"lossless=true"}, "jp2kload", 0},
		{"jxlsave_buffer", []string{"lossless=true"}, "jxlload", 0},
	} {
		t.Run(tc.loader, func(t *testing.T) {
			src := encodeOK(t, quad, tc.saver, tc.opts...)
			in, err := decode(src)
			require.NoError(t, err)
			assert.Equal(t, tc.loader, in.Loader, "fixture")
			in.Close()
			res := renderOK(t, src, "fmt=png")
			assert.Equal(t, 200, res.decoded.Width)
			checkQuadrants(t, res.decoded, tc.tol)
		})
	}

	t.Run("cmyk jpeg", func(t *testing.T) {
		// Pure magenta+yellow ink is red.
		src := encodeOK(t, rawImage{W: 32, H: 32, Bands: 4, Interp: "cmyk", Pix: solidPixels(32, 32, 0, 255, 255, 0)}, "jpegsave_buffer", "Q=95")
		in, err := decode(src)
		require.NoError(t, err)
		assert.Equal(t, "cmyk", in.Interp, "fixture")
		in.Close()
		res := renderOK(t, src, "fmt=png")
		assert.Equal(t, 3, res.Bands)
		p := res.Pixel(16, 16)
		assert.Greater(t, p[0], 200.0, "%v", p)
		assert.Less(t, p[1], 90.0, "%v", p)
		// And back to CMYK on request.
		back := renderOK(t, src, "fmt=tif,cmyk")
		assert.Equal(t, 4, back.Bands)
		assert.Equal(t, "cmyk", back.Interp)
	})
	t.Run("cmyk tiff with an embedded profile", func(t *testing.T) {
		src := encodeOK(t, rawImage{W: 32, H: 32, Bands: 4, Interp: "cmyk", Pix: solidPixels(32, 32, 255, 0, 255, 0), ICC: "cmyk"}, "tiffsave_buffer")
		res := renderOK(t, src, "fmt=png")
		p := res.Pixel(16, 16) // cyan + yellow: green
		assert.Greater(t, p[1], p[0]+50, "%v", p)
		assert.Greater(t, p[1], p[2]+50, "%v", p)
	})
	t.Run("16-bit png", func(t *testing.T) {
		w, h := 64, 16
		pix := make([]uint16, w*h*3)
		for i := 0; i < w*h; i++ {
			x := i % w
			pix[3*i], pix[3*i+1], pix[3*i+2] = uint16(x*1024), 0x8000, 0xFFFF
		}
		src := encodeOK(t, rawImage{W: w, H: h, Bands: 3, Pix16: pix, Interp: "rgb16"}, "pngsave_buffer")
		in, err := decode(src)
		require.NoError(t, err)
		assert.Equal(t, "ushort", in.Format, "fixture")
		in.Close()
		res := renderOK(t, src, "fmt=png")
		assert.Equal(t, "uchar", res.Format)
		near(t, res.decoded, 32, 8, []float64{128, 128, 255}, 1)
		res = renderOK(t, src, "fmt=tif")
		assert.Equal(t, "uchar", res.Format, "8 bits per component in every format")
	})
	t.Run("16-bit gray tiff", func(t *testing.T) {
		src := encodeOK(t, rawImage{W: 16, H: 16, Bands: 1, Pix16: make([]uint16, 256), Interp: "grey16"}, "tiffsave_buffer")
		res := renderOK(t, src, "fmt=png,gray")
		assert.Equal(t, 1, res.Bands)
		assert.Equal(t, "uchar", res.Format)
		res = renderOK(t, src, "fmt=jpeg")
		assert.Equal(t, 3, res.Bands, "default pixel type rgb")
	})
	t.Run("gray jpeg to rgb by default", func(t *testing.T) {
		src := encodeOK(t, rawImage{W: 16, H: 16, Bands: 1, Pix: solidPixels(16, 16, 90), Interp: "b-w"}, "jpegsave_buffer")
		res := renderOK(t, src, "")
		assert.Equal(t, 3, res.Bands)
		near(t, res.decoded, 8, 8, []float64{90, 90, 90}, 2)
	})
	t.Run("exif orientation is applied", func(t *testing.T) {
		// Orientation 6: the stored image must turn 90° clockwise to display.
		src := encodeOK(t, rawImage{W: 200, H: 100, Bands: 3, Pix: quadrantPixels(200, 100), Meta: map[string]int{"orientation": 6}}, "jpegsave_buffer", "Q=95")
		in, err := decode(src)
		require.NoError(t, err)
		assert.Equal(t, 6, in.Orientation, "fixture")
		in.Close()
		res := renderOK(t, src, "fmt=png")
		assert.Equal(t, 100, res.decoded.Width)
		assert.Equal(t, 200, res.decoded.Height)
		near(t, res.decoded, 80, 20, red, 8)
		near(t, res.decoded, 20, 20, blue, 8)
		assert.False(t, res.EXIF)
		assert.Zero(t, res.Orientation)
	})
	t.Run("animated gif: first frame", func(t *testing.T) {
		src := encodeOK(t, rawImage{W: 20, H: 20, Bands: 3, Pix: solidPixels(20, 20, 20, 20, 20), Pages: 3, PageDelta: 100}, "gifsave_buffer")
		in, err := decode(src)
		require.NoError(t, err)
		assert.Equal(t, 3, in.Pages, "fixture")
		in.Close()
		res := renderOK(t, src, "fmt=png")
		assert.Equal(t, 20, res.decoded.Height)
		near(t, res.decoded, 10, 10, []float64{20, 20, 20}, 4)
	})
	t.Run("multi-page tiff: first page", func(t *testing.T) {
		src := encodeOK(t, rawImage{W: 20, H: 20, Bands: 3, Pix: solidPixels(20, 20, 20, 20, 20), Pages: 3, PageDelta: 100}, "tiffsave_buffer")
		in, err := decode(src)
		require.NoError(t, err)
		assert.Equal(t, 3, in.Pages, "fixture")
		in.Close()
		res := renderOK(t, src, "fmt=png")
		assert.Equal(t, 20, res.decoded.Height)
		near(t, res.decoded, 10, 10, []float64{20, 20, 20}, 0)
	})
	t.Run("pdf: first page", func(t *testing.T) {
		src := minimalPDF(200, 100, 2)
		res := renderOK(t, src, "fmt=png")
		assert.Equal(t, 417, res.decoded.Width, "200 points at 150 dpi")
		assert.Equal(t, 208, res.decoded.Height)
		near(t, res.decoded, 40, 40, red, 2, "page 1 is red")
		require.Len(t, res.Output.Warnings, 1)
		assert.Contains(t, res.Output.Warnings[0].Message, "2 pages")
	})
	t.Run("svg", func(t *testing.T) {
		src := []byte(`<svg xmlns="http://www.w3.org/2000/svg" width="40" height="20"><rect width="40" height="20" fill="#00ff00"/></svg>`)
		res := renderOK(t, src, "fmt=png")
		assert.Equal(t, 40, res.decoded.Width)
		near(t, res.decoded, 20, 10, green, 1)
	})
	t.Run("unsupported sources", func(t *testing.T) {
		mp4 := append([]byte("\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom"), make([]byte, 64)...)
		zip := append([]byte("PK\x03\x04"), make([]byte, 64)...)
		for name, src := range map[string][]byte{"video": mp4, "text": []byte("hello, world\n"), "zip": zip, "empty": nil} {
			req, _ := modifier.Parse("fmt=png", nil)
			_, err := newTestRenderer(t).Render(context.Background(), src, req)
			assert.ErrorIs(t, err, ErrUnsupportedSource, name)
			assert.False(t, IsLimit(err))
		}
	})
	t.Run("truncated jpeg", func(t *testing.T) {
		full := quadrantsJPEG(t, 400, 200)
		req, _ := modifier.Parse("fmt=png", nil)
		_, err := newTestRenderer(t).Render(context.Background(), full[:len(full)/2], req)
		if err != nil {
			assert.True(t, errorsIsAny(err, ErrUnsupportedSource, ErrInternal), "%v", err)
		}
	})
}

func errorsIsAny(err error, kinds ...error) bool {
	for _, k := range kinds {
		if errors.Is(err, k) {
			return true
		}
	}
	return false
}

// minimalPDF writes a PDF of pages w×h points, the first filled red, the
// others blue.
func minimalPDF(w, h, pages int) []byte {
	var b bytes.Buffer
	var offsets []int
	obj := func(s string) {
		offsets = append(offsets, b.Len())
		fmt.Fprintf(&b, "%d 0 obj\n%s\nendobj\n", len(offsets), s)
	}
	b.WriteString("%PDF-1.4\n")
	kids := make([]string, pages)
	for i := range kids {
		kids[i] = fmt.Sprintf("%d 0 R", 3+2*i)
	}
	obj("<< /Type /Catalog /Pages 2 0 R >>")
	obj(fmt.Sprintf("<< /Type /Pages /Kids [%s] /Count %d >>", strings.Join(kids, " "), pages))
	for i := 0; i < pages; i++ {
		colour := "1 0 0"
		if i > 0 {
			colour = "0 0 1"
		}
		content := fmt.Sprintf("%s rg 0 0 %d %d re f", colour, w, h)
		obj(fmt.Sprintf("<< /Type /Page /Parent 2 0 R /MediaBox [0 0 %d %d] /Contents %d 0 R >>", w, h, 4+2*i))
		obj(fmt.Sprintf("<< /Length %d >>\nstream\n%s\nendstream", len(content), content))
	}
	xref := b.Len()
	fmt.Fprintf(&b, "xref\n0 %d\n0000000000 65535 f \n", len(offsets)+1)
	for _, o := range offsets {
		fmt.Fprintf(&b, "%010d 00000 n \n", o)
	}
	fmt.Fprintf(&b, "trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n", len(offsets)+1, xref)
	return b.Bytes()
}

func TestShrinkOnLoadFactor(t *testing.T) {
	tests := []struct {
		loader, modifier string
		want             int
	}{
		{"jpegload_buffer", "wid=200", 8},  // 3200 → 200: 16×
		{"jpegload_buffer", "wid=800", 4},  // 4×
		{"jpegload_buffer", "wid=1000", 2}, // 3.2×
		{"jpegload_buffer", "wid=2000", 1}, // 1.6×
		{"webpload_buffer", "wid=400", 8},  // libwebp scales on load too
		{"pngload_buffer", "wid=200", 1},   // PNG cannot
		{"jpegload_buffer", "wid=200&crop=0,0,100,100", 1},
		{"jpegload_buffer", "wid=200&rgn=0,0,100,100", 1},
		{"jpegload_buffer", "wid=200&op_blur=2", 1},
		{"jpegload_buffer", "wid=200&rotate=45", 1},
		{"jpegload_buffer", "wid=200&rotate=90", 8}, // turned: 1600 wide → 200
		{"jpegload_buffer", "wid=200&op_usm=1,1,0,0&fmt=webp", 8},
	}
	for _, tc := range tests {
		req, err := modifier.Parse(tc.modifier, nil)
		require.NoError(t, err)
		j := &job{req: req}
		assert.Equal(t, tc.want, j.loadShrink(tc.loader, 3200, 1600, 1), "%s %s", tc.loader, tc.modifier)
	}
}

func TestShrinkOnLoad(t *testing.T) {
	// A large JPEG reduced 16×: loaded at 1/8 and finished by resizing.
	src := quadrantsJPEG(t, 3200, 1600)
	for _, tc := range []struct {
		modifier string
		w, h     int
		pixels   []px
	}{
		{"wid=200", 200, 100, []px{{20, 20, red}, {180, 20, green}, {20, 80, blue}, {180, 80, white}}},
		{"wid=200&hei=200&bgc=000000", 200, 200, []px{{100, 20, black}, {20, 70, red}, {180, 130, white}}},
		{"hei=100&rotate=90", 50, 100, []px{{40, 10, red}, {10, 10, blue}}},
		{"wid=150&hei=150&fit=crop&flip=lr", 150, 150, []px{{20, 20, green}, {130, 20, red}}},
	} {
		t.Run(tc.modifier, func(t *testing.T) {
			res := renderOK(t, src, "fmt=png&"+tc.modifier)
			assert.Equal(t, tc.w, res.decoded.Width)
			assert.Equal(t, tc.h, res.decoded.Height)
			for _, p := range tc.pixels {
				near(t, res.decoded, p.x, p.y, p.c, 10)
			}
		})
	}
	// EXIF-rotated and shrunk: the logical size follows the orientation.
	rot := encodeOK(t, rawImage{W: 1600, H: 800, Bands: 3, Pix: quadrantPixels(1600, 800), Meta: map[string]int{"orientation": 6}}, "jpegsave_buffer", "Q=95")
	res := renderOK(t, rot, "fmt=png&hei=200")
	assert.Equal(t, 100, res.decoded.Width)
	assert.Equal(t, 200, res.decoded.Height)
	near(t, res.decoded, 80, 20, red, 10)
}

func TestICC(t *testing.T) {
	src := quadrantsPNG(t)
	r := newTestRenderer(t)

	t.Run("no profile by default", func(t *testing.T) {
		for _, f := range []string{"jpeg", "png", "tif"} {
			assert.Empty(t, renderOK(t, src, "fmt="+f).ICC, f)
		}
	})
	t.Run("iccEmbed=1 embeds the output profile", func(t *testing.T) {
		for _, f := range []string{"jpeg", "png", "tif", "png8"} {
			res := renderOK(t, src, "iccEmbed=1&fmt="+f)
			assert.Equal(t, r.srgb, res.ICC, f)
			pt, desc, err := iccInfo(res.ICC)
			require.NoError(t, err)
			assert.Equal(t, "rgb", pt)
			assert.Contains(t, strings.ToLower(desc), "srgb")
		}
	})
	t.Run("iccEmbed is ignored where the format cannot embed", func(t *testing.T) {
		for _, f := range []string{"webp", "avif", "gif", "jpeg2000"} {
			assert.Empty(t, renderOK(t, src, "iccEmbed=1&fmt="+f).ICC, f)
		}
	})
	t.Run("cmyk output embeds the cmyk profile", func(t *testing.T) {
		res := renderOK(t, src, "iccEmbed=1&fmt=jpeg,cmyk")
		pt, _, err := iccInfo(res.ICC)
		require.NoError(t, err)
		assert.Equal(t, "cmyk", pt)
	})
	t.Run("gray output has no profile to embed", func(t *testing.T) {
		assert.Empty(t, renderOK(t, src, "iccEmbed=1&fmt=png,gray").ICC)
	})
	t.Run("icc=sRGB", func(t *testing.T) {
		res := renderOK(t, src, "icc=srgb&iccEmbed=1&fmt=jpeg")
		assert.Equal(t, r.srgb, res.ICC)
		assert.Empty(t, res.Output.Warnings)
	})
	t.Run("unknown profile: a warning, default conversion", func(t *testing.T) {
		res := renderOK(t, src, "icc=NoSuchProfile&fmt=png")
		require.Len(t, res.Output.Warnings, 1)
		assert.Equal(t, "icc", res.Output.Warnings[0].Command)
		assert.Contains(t, res.Output.Warnings[0].Message, "NoSuchProfile")
		assert.Equal(t, 3, res.Bands)
	})

	t.Run("an embedded source profile is honoured, alpha kept", func(t *testing.T) {
		// A Display P3 orange is more saturated in sRGB terms.
		pix := solidPixels(16, 16, 200, 100, 50, 128)
		p3 := encodeOK(t, rawImage{W: 16, H: 16, Bands: 4, Pix: pix, ICC: "p3"}, "pngsave_buffer")
		res := renderOK(t, p3, "fmt=png-alpha")
		p := res.Pixel(8, 8)
		assert.Equal(t, 128.0, p[3], "alpha")
		assert.Greater(t, p[0], 200.0, "%v", p)
		assert.Less(t, p[2], 50.0, "%v", p)
		plain := renderOK(t, encodeOK(t, rawImage{W: 16, H: 16, Bands: 4, Pix: pix}, "pngsave_buffer"), "fmt=png-alpha")
		assert.NotEqual(t, plain.Pixel(8, 8), p, "the profile changed the colours")
	})

	// A registered CMYK profile (libvips' own, written to a file).
	dir := t.TempDir()
	path := filepath.Join(dir, "webcoated.icc")
	require.NoError(t, os.WriteFile(path, r.cmyk, 0o600))
	reg, err := New(Config{ICCProfiles: map[string]string{"WebCoated": path}})
	require.NoError(t, err)
	renderWith := func(t *testing.T, mod string) (*Output, error) {
		req, err := modifier.Parse(mod, nil)
		require.NoError(t, err)
		return reg.Render(context.Background(), src, req)
	}
	t.Run("registered profile decides the pixel type", func(t *testing.T) {
		// The rect example of r-rect.md: a printable CMYK TIFF.
		out, err := renderWith(t, "scl=1&op_usm=.9,2&bgc=ffffff&fmt=tif&icc=WebCoated&iccEmbed=1")
		require.NoError(t, err)
		d, err := decode(out.Data)
		require.NoError(t, err)
		defer d.Close()
		assert.Equal(t, "cmyk", d.Interp)
		assert.Equal(t, 4, d.Bands)
		assert.Equal(t, r.cmyk, d.ICC)
		p := d.Pixel(20, 20) // red: magenta and yellow
		assert.Greater(t, p[1], 150.0)
		assert.Greater(t, p[2], 150.0)
	})
	t.Run("names are case-insensitive; intent and bpc accepted", func(t *testing.T) {
		_, err := renderWith(t, "fmt=jpeg&icc=webcoated,relative,0")
		require.NoError(t, err)
	})
	t.Run("a profile type the format cannot hold is an error", func(t *testing.T) {
		_, err := renderWith(t, "fmt=png&icc=WebCoated")
		assert.ErrorIs(t, err, ErrUnrenderable)
		assert.Contains(t, err.Error(), "WebCoated")
	})
	t.Run("bad registry entries fail New", func(t *testing.T) {
		_, err := New(Config{ICCProfiles: map[string]string{"x": filepath.Join(dir, "missing.icc")}})
		assert.Error(t, err)
		notICC := filepath.Join(dir, "not.icc")
		require.NoError(t, os.WriteFile(notICC, []byte("hello"), 0o600))
		_, err = New(Config{ICCProfiles: map[string]string{"x": notICC}})
		assert.Error(t, err)
	})
}

func TestMetadata(t *testing.T) {
	xmp := []byte(`<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"/></x:xmpmeta>`)
	src := encodeOK(t, rawImage{W: 64, H: 32, Bands: 3, Pix: quadrantPixels(64, 32), XMP: xmp, DPI: 300,
		Meta: map[string]int{"orientation": 1}}, "jpegsave_buffer", "Q=95")
	in, err := decode(src)
	require.NoError(t, err)
	require.True(t, in.XMP && in.EXIF, "fixture has XMP and EXIF")
	in.Close()

	for _, f := range []string{"jpeg", "png", "tif"} {
		res := renderOK(t, src, "fmt="+f)
		assert.False(t, res.XMP, f)
		assert.False(t, res.EXIF, f)
		assert.InDelta(t, 300/25.4, res.XRes, 0.05, "%s keeps the source's print resolution", f)
		res = renderOK(t, src, "printRes=150&fmt="+f)
		assert.InDelta(t, 150/25.4, res.XRes, 0.05, f)
		assert.InDelta(t, 150/25.4, res.YRes, 0.05, f)
		assert.Equal(t, 64, res.decoded.Width, "printRes keeps the pixel size")
	}
	for _, f := range []string{"jpeg", "tif"} {
		assert.True(t, renderOK(t, src, "xmpEmbed=1&fmt="+f).XMP, f)
	}
	assert.False(t, renderOK(t, src, "xmpEmbed=1&fmt=png").XMP, "png does not take xmpEmbed")
	// CMYK JPEG: libvips' EXIF block is the only home of the resolution.
	res := renderOK(t, src, "fmt=jpeg,cmyk&printRes=200")
	assert.InDelta(t, 200/25.4, res.XRes, 0.05)
}
