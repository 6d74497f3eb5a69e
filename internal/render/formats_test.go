package render

import (
	"bytes"
	"encoding/binary"
	"image/gif"
	"image/jpeg"
	"image/png"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ipsexport/ipsd/internal/modifier"
)

func TestRenderFormats(t *testing.T) {
	opaque := quadrantsPNG(t)
	withAlpha := alphaPNG(t)
	tests := []struct {
		modifier string
		src      []byte
		loader   string
		bands    int
		interp   string
		check    func(t *testing.T, data []byte)
	}{
		{"fmt=jpeg", opaque, "jpegload", 3, "srgb", jpegSOF(0xC0)},
		{"fmt=jpg", opaque, "jpegload", 3, "srgb", jpegSOF(0xC0)},
		{"fmt=pjpeg", opaque, "jpegload", 3, "srgb", jpegSOF(0xC2)},
		{"fmt=jpeg,gray", opaque, "jpegload", 1, "b-w", nil},
		{"fmt=jpeg,cmyk", opaque, "jpegload", 4, "cmyk", nil},
		{"fmt=png", withAlpha, "pngload", 3, "srgb", pngColourType(2, false)},
		{"fmt=png-alpha", opaque, "pngload", 4, "srgb", pngColourType(6, false)},
		{"fmt=png,gray", opaque, "pngload", 1, "b-w", pngColourType(0, false)},
		{"fmt=png-alpha,gray", withAlpha, "pngload", 2, "b-w", pngColourType(4, false)},
		{"fmt=png8", opaque, "pngload", 3, "srgb", pngColourType(3, false)},
		{"fmt=png8-alpha", withAlpha, "pngload", 4, "srgb", pngColourType(3, true)},
		// libvips' GIF loader always returns RGBA.
		{"fmt=gif", opaque, "gifload", 4, "srgb", goGIF},
		{"fmt=gif,gray", opaque, "gifload", 4, "srgb", goGIF},
		{"fmt=gif-alpha", withAlpha, "gifload", 4, "srgb", goGIF},
		{"fmt=tif", opaque, "tiffload", 3, "srgb", tiffCompression(1)},
		{"fmt=tif,,lzw", opaque, "tiffload", 3, "srgb", tiffCompression(5)},
		{"fmt=tif,,zip", opaque, "tiffload", 3, "srgb", tiffCompression(8)},
		{"fmt=tif,,jpeg&qlt=90", opaque, "tiffload", 3, "srgb", tiffCompression(7)},
		{"fmt=tif,cmyk,lzw", opaque, "tiffload", 4, "cmyk", tiffCompression(5)},
		{"fmt=tif,gray", opaque, "tiffload", 1, "b-w", tiffCompression(1)},
		{"fmt=tif-alpha,,zip", withAlpha, "tiffload", 4, "srgb", tiffCompression(8)},
		{"fmt=tif-alpha,cmyk", withAlpha, "tiffload", 5, "cmyk", nil},
		{"fmt=webp", opaque, "webpload", 3, "srgb", riff("VP8 ")},
		{"fmt=webp,,lossless", opaque, "webpload", 3, "srgb", riff("VP8L")},
		{"fmt=webp-alpha", withAlpha, "webpload", 4, "srgb", nil},
		{"fmt=avif", opaque, "heifload", 3, "srgb", ftyp("avif")},
		{"fmt=avif-alpha", withAlpha, "heifload", 4, "srgb", ftyp("avif")},
		{"fmt=heic", opaque, "heifload", 3, "srgb", ftyp("heic")},
		{"fmt=jpeg2000", opaque, "jp2kload", 3, "srgb", nil},
		{"fmt=jpeg2000,gray", opaque, "jp2kload", 1, "b-w", nil},
		{"fmt=jpeg2000-alpha,,lossless", withAlpha, "jp2kload", 4, "srgb", nil},
	}
	for _, tc := range tests {
		t.Run(tc.modifier, func(t *testing.T) {
			res := renderOK(t, tc.src, tc.modifier+"&wid=100")
			assert.Equal(t, tc.loader, res.Loader)
			assert.Equal(t, 100, res.decoded.Width)
			assert.Equal(t, 50, res.decoded.Height)
			assert.Equal(t, tc.bands, res.Bands)
			assert.Equal(t, tc.interp, res.Interp)
			assert.Equal(t, "uchar", res.Format, "8 bits per component")
			assert.Empty(t, res.ICC, "no profile without iccEmbed=1")
			if !(res.Loader == "jpegload" && res.Interp == "cmyk") {
				// A CMYK JPEG keeps libvips' EXIF block for its resolution.
				assert.False(t, res.EXIF)
			}
			r, _ := modifier.Parse(tc.modifier, nil)
			assert.Equal(t, r.Ext(), res.Ext)
			assert.Equal(t, r.MIME(), res.MIME)
			if tc.check != nil {
				tc.check(t, res.Data)
			}
		})
	}

	t.Run("lossless jpeg2000 and webp keep pixels exactly", func(t *testing.T) {
		for _, m := range []string{"fmt=jpeg2000,,lossless", "fmt=webp,,lossless", "fmt=tif,,lzw", "fmt=png"} {
			res := renderOK(t, opaque, m)
			near(t, res.decoded, 10, 10, red, 0, m)
			near(t, res.decoded, 150, 10, green, 0, m)
			near(t, res.decoded, 10, 90, blue, 0, m)
			near(t, res.decoded, 150, 90, white, 0, m)
		}
	})

	t.Run("lossy formats keep colours", func(t *testing.T) {
		for _, m := range []string{"fmt=jpeg", "fmt=webp", "fmt=avif", "fmt=jpeg2000", "fmt=heic", "fmt=gif", "fmt=png8"} {
			res := renderOK(t, opaque, m)
			near(t, res.decoded, 20, 20, red, 12, m)
			near(t, res.decoded, 180, 20, green, 12, m)
			near(t, res.decoded, 20, 80, blue, 12, m)
			near(t, res.decoded, 180, 80, white, 12, m)
		}
	})

	t.Run("cmyk output has the inks of red", func(t *testing.T) {
		res := renderOK(t, opaque, "fmt=jpeg,cmyk")
		px := res.Pixel(20, 20) // red: no cyan, full magenta and yellow
		assert.Less(t, px[0], 40.0, "C %v", px)
		assert.Greater(t, px[1], 180.0, "M %v", px)
		assert.Greater(t, px[2], 180.0, "Y %v", px)
	})

	t.Run("formats not written fail per asset, naming the format", func(t *testing.T) {
		for _, f := range []string{"swf", "swf3-alpha", "jpegxr", "jpegxr-alpha", "f4m", "m3u8"} {
			r, err := modifier.Parse("fmt="+f, nil)
			require.NoError(t, err)
			assert.False(t, r.Supported())
			err = renderErr(t, opaque, "fmt="+f)
			assert.ErrorIs(t, err, ErrUnsupportedFormat)
			assert.Contains(t, err.Error(), "fmt="+f)
		}
	})
}

func TestQualityAndChroma(t *testing.T) {
	src := gradientPNG(t, 256, 256)
	def := renderOK(t, src, "")
	q80 := renderOK(t, src, "qlt=80")
	q30 := renderOK(t, src, "qlt=30")
	assert.Equal(t, def.Data, q80.Data, "the default quality is 80 (docs/rendering.md, Defaults)")
	assert.Less(t, len(q30.Data), len(q80.Data))

	// chroma 0 = normal 4:2:0 even at high quality (libvips' auto would not).
	assert.Equal(t, "4:2:0", renderOK(t, src, "qlt=95").Field("jpeg-chroma-subsample"))
	assert.Equal(t, "4:2:0", renderOK(t, src, "qlt=95,0").Field("jpeg-chroma-subsample"))
	assert.Equal(t, "4:4:4", renderOK(t, src, "qlt=95,1").Field("jpeg-chroma-subsample"))
	// qlt drives WebP, AVIF and JPEG 2000 too.
	for _, f := range []string{"webp", "avif", "jpeg2000", "tif,,jpeg"} {
		hi := renderOK(t, src, "fmt="+f+"&qlt=95")
		lo := renderOK(t, src, "fmt="+f+"&qlt=20")
		assert.Less(t, len(lo.Data), len(hi.Data), f)
	}
}

func TestJpegSize(t *testing.T) {
	src := noiseJPEG(t, 400, 300)
	free := renderOK(t, src, "qlt=95")
	require.Greater(t, len(free.Data), 20*1024)
	res := renderOK(t, src, "qlt=95&jpegSize=20")
	assert.LessOrEqual(t, len(res.Data), 20*1024)
	assert.Equal(t, 400, res.decoded.Width)
	// A limit the file already meets changes nothing.
	same := renderOK(t, src, "qlt=95&jpegSize=100000")
	assert.Equal(t, free.Data, same.Data)
	// Ignored for other formats.
	png := renderOK(t, src, "fmt=png&jpegSize=1")
	assert.Greater(t, len(png.Data), 1024)

	err := renderErr(t, src, "jpegSize=1")
	assert.ErrorIs(t, err, ErrUnrenderable)
	assert.Contains(t, err.Error(), "jpegSize=1")
}

func noiseJPEG(t testing.TB, w, h int) []byte {
	t.Helper()
	pix := make([]byte, w*h*3)
	s := uint32(1)
	for i := range pix {
		s = s*1664525 + 1013904223
		pix[i] = byte(s >> 24)
	}
	b, err := encodeImage(rawImage{W: w, H: h, Bands: 3, Pix: pix}, "pngsave_buffer")
	require.NoError(t, err)
	return b
}

func TestQuantize(t *testing.T) {
	src := gradientPNG(t, 64, 64)
	colours := func(d *decoded) map[[3]float64]bool {
		set := map[[3]float64]bool{}
		for y := 0; y < d.Height; y++ {
			for x := 0; x < d.Width; x++ {
				p := d.Pixel(x, y)
				set[[3]float64{p[0], p[1], p[2]}] = true
			}
		}
		return set
	}
	tests := []struct {
		modifier string
		max      int
	}{
		{"fmt=gif", 256},
		{"fmt=gif&quantize=adaptive,off,2", 2},
		{"fmt=gif&quantize=adaptive,diffuse,16", 16},
		{"fmt=png8&quantize=adaptive,off,4", 4},
		{"fmt=png8&quantize=adaptive,off,16", 16},
		{"fmt=gif-alpha&quantize=adaptive,off,2,000000,ffffff", 2},
	}
	for _, tc := range tests {
		res := renderOK(t, src, tc.modifier)
		n := len(colours(res.decoded))
		assert.LessOrEqual(t, n, tc.max, tc.modifier)
		assert.GreaterOrEqual(t, n, 2, tc.modifier)
	}
	t.Run("png8 bit depth follows numColors", func(t *testing.T) {
		res := renderOK(t, src, "fmt=png8&quantize=adaptive,off,16")
		assert.Equal(t, byte(4), res.Data[24], "IHDR bit depth")
	})
	t.Run("web palette uses web-safe colours", func(t *testing.T) {
		res := renderOK(t, src, "fmt=gif&quantize=web,off")
		for c := range colours(res.decoded) {
			for _, v := range c {
				assert.Zero(t, int(v)%51, "colour %v", c)
			}
		}
		require.NotEmpty(t, res.Warnings)
		assert.Equal(t, "quantize", res.Warnings[0].Command)
	})
	t.Run("dither off gives flat areas", func(t *testing.T) {
		off := colours(renderOK(t, src, "fmt=gif&quantize=adaptive,off,4").decoded)
		assert.LessOrEqual(t, len(off), 4)
	})
}

// --- byte-level checks of encoded files ---

func jpegSOF(marker byte) func(*testing.T, []byte) {
	return func(t *testing.T, b []byte) {
		t.Helper()
		assert.True(t, bytes.Contains(b, []byte{0xFF, marker}), "JPEG SOF marker %#x", marker)
		_, err := jpeg.Decode(bytes.NewReader(b))
		assert.NoError(t, err, "Go's decoder reads it")
	}
}

func pngColourType(ct byte, trns bool) func(*testing.T, []byte) {
	return func(t *testing.T, b []byte) {
		t.Helper()
		require.Greater(t, len(b), 26)
		assert.Equal(t, ct, b[25], "IHDR colour type")
		assert.Equal(t, trns, bytes.Contains(b, []byte("tRNS")), "tRNS chunk")
		_, err := png.Decode(bytes.NewReader(b))
		assert.NoError(t, err, "Go's decoder reads it")
	}
}

func goGIF(t *testing.T, b []byte) {
	t.Helper()
	_, err := gif.Decode(bytes.NewReader(b))
	assert.NoError(t, err, "Go's decoder reads it")
}

func riff(chunk string) func(*testing.T, []byte) {
	return func(t *testing.T, b []byte) {
		t.Helper()
		require.Greater(t, len(b), 16)
		assert.Equal(t, "RIFF", string(b[0:4]))
		assert.Equal(t, "WEBP", string(b[8:12]))
		assert.True(t, bytes.Contains(b[:64], []byte(chunk)), "chunk %q", chunk)
	}
}

func ftyp(brand string) func(*testing.T, []byte) {
	return func(t *testing.T, b []byte) {
		t.Helper()
		require.Greater(t, len(b), 12)
		assert.Equal(t, "ftyp", string(b[4:8]))
		assert.Equal(t, brand, string(b[8:12]), "major brand")
	}
}

// tiffCompression checks tag 259 of the first IFD.
func tiffCompression(want uint16) func(*testing.T, []byte) {
	return func(t *testing.T, b []byte) {
		t.Helper()
		assert.Equal(t, want, tiffTag(t, b, 259), "TIFF compression")
	}
}

func tiffTag(t *testing.T, b []byte, tag uint16) uint16 {
	t.Helper()
	require.Greater(t, len(b), 8)
	var bo binary.ByteOrder = binary.LittleEndian
	if string(b[0:2]) == "MM" {
		bo = binary.BigEndian
	}
	off := int(bo.Uint32(b[4:]))
	n := int(bo.Uint16(b[off:]))
	for i := 0; i < n; i++ {
		e := b[off+2+12*i:]
		if bo.Uint16(e) == tag {
			return bo.Uint16(e[8:])
		}
	}
	t.Fatalf("TIFF tag %d missing", tag)
	return 0
}
