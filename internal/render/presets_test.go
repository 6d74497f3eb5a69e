package render

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ipsexport/ipsd/internal/modifier"
)

// TestPresets renders the modifier strings that real integrations and the
// reference's own examples use, the way an export combines them.
func TestPresets(t *testing.T) {
	photo := quadrantsJPEG(t, 1200, 600)
	transparent := alphaPNG(t)
	macros := modifier.MacroMap{
		// The saveImageFormat example (its qlt=750 typo mended) and the
		// Scene7 FAQ default preset.
		"thumb":   "wid=400&hei=400&fmt=jpeg&qlt=75,0&op_sharpen=0&resMode=bicub&op_usm=0.0,0.0,0,0&iccEmbed=0",
		"zoom":    "wid=1000&fmt=jpeg&qlt=85&op_usm=1.1,0.5,1,0&resMode=sharp2",
		"view":    "wid=240&fmt=jpeg&qlt=85&op_usm=5,2&bgc=200,200,200&align=-1,-1",
		"swatch":  "crop=0,0,100,100&wid=50&hei=50&fmt=png",
		"print":   "fmt=tif,cmyk,lzw&iccEmbed=1&printRes=300",
		"web":     "$base$&fmt=webp&qlt=80",
		"base":    "wid=$w$&hei=$w$&fit=constrain",
		"product": "wid=300&hei=300&fmt=png-alpha&op_sharpen=1",
		"test":    "fmt=tif",
	}
	tests := []struct {
		name, modifier string
		src            []byte
		format         string
		w, h, bands    int
		pixels         []px
	}{
		{"FAQ thumbnail: fit into 400×400, padded white", "$thumb$", photo, "jpegload", 400, 400, 3,
			[]px{{200, 20, white}, {40, 150, red}, {360, 150, green}, {40, 250, blue}}},
		{"zoom preset with USM", "$zoom$", photo, "jpegload", 1000, 500, 3, []px{{100, 100, red}, {900, 400, white}}},
		{"view macro overridden after the call", "$view$&wid=480", photo, "jpegload", 480, 240, 3, []px{{40, 40, red}}},
		{"view macro with hei: top-left aligned on gray", "$view$&hei=240", photo, "jpegload", 240, 240, 3,
			[]px{{20, 20, red}, {120, 200, []float64{200, 200, 200}}}},
		{"swatch crop", "$swatch$", photo, "pngload", 50, 50, 3, []px{{25, 25, red}}},
		{"print preset: CMYK TIFF with profile", "$print$", photo, "tiffload", 1200, 600, 4, nil},
		{"nested macros and a variable", "$w=128&$web$", photo, "webpload", 128, 64, 3, []px{{10, 10, red}}},
		{"product shot keeps transparency", "$product$", transparent, "pngload", 300, 300, 4,
			[]px{{10, 100, []float64{255, 0, 0, 255}}, {250, 100, []float64{anyV, anyV, anyV, 0}}, {150, 20, []float64{anyV, anyV, anyV, 0}}}},
		// ExportJob conversions: is_modifier & $macro$.
		{"the ExportJob example: is_modifier png + $test$ tif", "&fmt=png&$test$", photo, "tiffload", 1200, 600, 3, nil},
		// The macro comes last, so its wid/hei replace is_modifier's (docs/exports.md, "Conversion").
		{"is_modifier size + macro: the macro wins", "wid=100&op_invert=1&$thumb$", photo, "jpegload", 400, 400, 3,
			[]px{{40, 150, []float64{0, 255, 255}}}},
		{"fmt page: gray preview", "fmt=jpeg,gray&qlt=60&wid=200", photo, "jpegload", 200, 100, 1, nil},
		{"fmt page: png-alpha", "fmt=png-alpha&wid=300", transparent, "pngload", 300, 150, 4, nil},
		{"fmt page: alpha channel as gray tiff", "req=mask&fmt=tif,gray&wid=300", transparent, "tiffload", 300, 150, 1,
			[]px{{20, 20, []float64{255}}, {250, 20, []float64{0}}}},
		{"fmt page: cmyk tiff", "fmt=tif,cmyk&wid=300", photo, "tiffload", 300, 150, 4, nil},
		{"fmt page: tiff with jpeg compression", "fmt=tif,,jpeg&qlt=95&wid=300", photo, "tiffload", 300, 150, 3, nil},
		{"fmt page: bi-tonal gif", "fmt=gif-alpha&wid=100&quantize=adaptive,off,2,000000,ffffff", transparent, "gifload", 100, 50, 4, nil},
		{"fmt page: lossy webp", "wid=300&fmt=webp&qlt=80", photo, "webpload", 300, 150, 3, nil},
		{"fmt page: lossless webp with alpha", "wid=300&fmt=webp-alpha,,lossless", transparent, "webpload", 300, 150, 4, nil},
		{"fmt page: jpeg2000", "wid=300&fmt=jpeg2000&qlt=80", photo, "jp2kload", 300, 150, 3, nil},
		{"fmt page: lossless jpeg2000 with alpha", "wid=300&fmt=jpeg2000-alpha,,lossless", transparent, "jp2kload", 300, 150, 4, nil},
		{"qlt page: high quality, no chroma subsampling", "qlt=95,1&wid=300", photo, "jpegload", 300, 150, 3, nil},
		{"op_sharpen page", "qlt=90,1&op_sharpen=1&wid=500", photo, "jpegload", 500, 250, 3, nil},
		{"high-key look (op_saturation page)", "op_saturation=-60&op_brightness=45&op_contrast=-35&wid=200", photo, "jpegload", 200, 100, 3, nil},
		{"jpegSize page", "qlt=60&wid=300&jpegSize=10", photo, "jpegload", 300, 150, 3, nil},
		{"align page", "wid=200&hei=200&align=0,-1", photo, "jpegload", 200, 200, 3, []px{{50, 10, red}, {100, 190, white}}},
		// cropN is x,y,w,h: .3+.9 reaches below the image, and bgColor fills
		// that extension as well as the border.
		{"extend page: crop and a red border", "cropN=.2,.3,.8,.9&extend=5,5,5,5&bgColor=255,0,0&fmt=png", photo, "pngload", 970, 550, 3,
			[]px{{2, 2, red}, {100, 100, red}, {900, 400, white}, {900, 540, red}}},
		{"resMode page", "fmt=tif-alpha,,lzw&resMode=sharp2&wid=1800", transparent, "tiffload", 1800, 900, 4, nil},
		{"is_modifier with layer=comp and ignorable commands", "layer=comp&wid=100&cache=off&id=42&.comment", photo, "jpegload", 100, 50, 3, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res := renderOK(t, tc.src, tc.modifier, macros)
			assert.Equal(t, tc.format, res.Loader)
			assert.Equal(t, tc.w, res.decoded.Width)
			assert.Equal(t, tc.h, res.decoded.Height)
			assert.Equal(t, tc.bands, res.Bands)
			for _, p := range tc.pixels {
				near(t, res.decoded, p.x, p.y, p.c, 10)
			}
			for _, w := range res.Output.Warnings {
				t.Logf("warning: %s", w)
			}
		})
	}
	t.Run("print preset details", func(t *testing.T) {
		res := renderOK(t, photo, "$print$", macros)
		assert.Equal(t, "cmyk", res.Interp)
		assert.NotEmpty(t, res.ICC)
		assert.InDelta(t, 300/25.4, res.XRes, 0.01)
		assert.Equal(t, uint16(5), tiffTag(t, res.Data, 259), "LZW")
	})
	t.Run("jpegSize preset fits", func(t *testing.T) {
		res := renderOK(t, photo, "qlt=60&wid=300&jpegSize=10")
		require.LessOrEqual(t, len(res.Data), 10*1024)
	})
}
