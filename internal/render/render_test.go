package render

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// px is one expected pixel of a rendered image.
type px struct {
	x, y int
	c    []float64
}

// TestRenderGeometry renders the 200×100 quadrants source (red | green over
// blue | white) and checks the size and where each colour lands.
func TestRenderGeometry(t *testing.T) {
	src := quadrantsPNG(t)
	transparent := []float64{anyV, anyV, anyV, 0}
	tests := []struct {
		modifier string
		w, h     int
		pixels   []px
	}{
		{"", 200, 100, []px{{10, 10, red}, {190, 10, green}, {10, 90, blue}, {190, 90, white}}},
		{"wid=100", 100, 50, []px{{10, 10, red}, {90, 10, green}, {10, 40, blue}}},
		{"hei=50", 100, 50, []px{{10, 10, red}, {90, 40, white}}},
		{"wid=400", 400, 200, []px{{10, 10, red}, {390, 190, white}}},
		{"scl=2", 100, 50, []px{{10, 10, red}, {90, 10, green}}},
		{"scl=0.5", 400, 200, []px{{10, 10, red}, {390, 190, white}}},
		// wid+hei: fit inside, centred, padded with bgc (white by default).
		{"wid=100&hei=100&bgc=000000", 100, 100, []px{{50, 5, black}, {10, 30, red}, {90, 30, green}, {10, 70, blue}, {50, 95, black}}},
		{"wid=100&hei=100", 100, 100, []px{{50, 5, white}, {10, 30, red}}},
		{"wid=100&hei=100&align=0,-1&bgc=0,0,255", 100, 100, []px{{10, 5, red}, {50, 95, blue}}},
		{"wid=100&hei=100&align=0,1&bgc=50g", 100, 100, []px{{50, 5, []float64{127.5, 127.5, 127.5}}, {10, 95, blue}}},
		// fit modes
		{"wid=100&hei=100&fit=crop", 100, 100, []px{{10, 10, red}, {90, 10, green}, {10, 90, blue}, {90, 90, white}}},
		{"wid=100&hei=100&fit=crop&align=-1,0", 100, 100, []px{{10, 10, red}, {90, 10, red}, {90, 90, blue}}},
		{"wid=100&hei=100&fit=crop&align=1,0", 100, 100, []px{{10, 10, green}, {90, 90, white}}},
		{"wid=100&hei=100&fit=constrain", 100, 50, []px{{10, 10, red}}},
		{"wid=100&hei=100&fit=wrap", 200, 100, []px{{10, 10, red}}},
		{"wid=100&hei=100&fit=stretch", 100, 100, []px{{10, 10, red}, {90, 90, white}, {10, 60, blue}}},
		{"wid=50&hei=100&fit=hfit&bgc=000000", 50, 100, []px{{25, 10, black}, {10, 40, red}, {40, 55, white}}},
		{"wid=100&hei=50&fit=vfit", 100, 50, []px{{10, 10, red}, {90, 40, white}}},
		{"wid=400&hei=400&fit=fit,0&bgc=000000", 400, 400, []px{{50, 50, black}, {110, 160, red}, {290, 240, white}}},
		{"wid=400&hei=400&fit=fit,1", 400, 400, []px{{10, 110, red}, {390, 290, white}}},
		{"wid=400&hei=400", 400, 400, []px{{10, 110, red}}},
		// scl with wid/hei crops or pads by align.
		{"scl=1&wid=100&hei=50&align=-1,-1", 100, 50, []px{{10, 10, red}, {90, 40, red}}},
		{"scl=1&wid=100&hei=50&align=1,1", 100, 50, []px{{10, 10, white}}},
		// rgn: the ROI is scaled; outside the composite it is padded.
		{"rgn=0,0,100,50", 100, 50, []px{{10, 10, red}, {90, 40, red}}},
		{"rgn=100,50,100,50&wid=50", 50, 25, []px{{25, 12, white}}},
		{"rgn=150,75,100,50&bgc=0,0,0", 100, 50, []px{{10, 10, white}, {75, 10, black}, {10, 40, black}}},
		{"rgn=50,25,50,50&wid=100&hei=50", 100, 50, []px{{5, 5, red}, {95, 45, white}}},
		// rect: the final reply rectangle, after scaling.
		{"rect=100,50,100,50", 100, 50, []px{{10, 10, white}}},
		{"rect=150,0,100,50&bgc=000000", 100, 50, []px{{10, 10, green}, {75, 10, black}}},
		{"rect=0,0,100,100,0.5&bgc=000000", 100, 100, []px{{10, 10, red}, {90, 10, green}, {10, 40, blue}, {50, 75, black}}},
		{"wid=100&rect=50,0,50,50", 50, 50, []px{{10, 10, green}, {40, 40, white}}},
		// layer 0: crop, size, scale, extend, rotate, flip
		{"crop=0,0,100,50", 100, 50, []px{{10, 10, red}, {90, 40, red}}},
		{"cropN=0.5,0.5,0.5,0.5", 100, 50, []px{{10, 10, white}}},
		{"crop=-50,0,100,50&bgc=000000", 100, 50, []px{{10, 10, black}, {90, 10, red}}},
		{"crop=150,50,100,100&fmt=png-alpha", 100, 100, []px{{10, 10, append(white, 255)}, {75, 10, transparent}, {10, 75, transparent}}},
		{"size=50,50", 50, 25, []px{{5, 5, red}}},
		{"size=0,20", 40, 20, []px{{5, 5, red}}},
		{"size=400,400", 200, 100, []px{{10, 10, red}}},
		{"scale=0.5", 100, 50, []px{{10, 10, red}}},
		{"size=100,0&scale=0.25", 100, 50, []px{{10, 10, red}}},
		{"scale=0.5&wid=50", 50, 25, []px{{5, 5, red}}},
		{"extend=10,10,10,10&bgc=000000", 220, 120, []px{{2, 2, black}, {15, 15, red}, {217, 117, black}}},
		{"extend=10,10,10,10&fmt=png-alpha", 220, 120, []px{{2, 2, transparent}, {15, 15, append(red, 255)}}},
		{"extendN=0.1,0,0.1,0&bgc=000000", 240, 100, []px{{10, 50, black}, {30, 10, red}}},
		{"extend=-50,0,-50,0", 100, 100, []px{{10, 10, red}, {90, 10, green}}},
		{"extend=5,5,5,5&bgColor=255,0,255", 210, 110, []px{{2, 2, []float64{255, 0, 255}}, {10, 10, red}}},
		{"cropN=.25,0,.5,.5&extend=5,5,5,5&bgColor=0,0,255", 110, 60, []px{{2, 2, blue}, {10, 10, red}, {100, 50, green}}},
		{"rotate=90", 100, 200, []px{{90, 10, red}, {10, 10, blue}, {90, 190, green}, {10, 190, white}}},
		{"rotate=-90", 100, 200, []px{{10, 10, green}, {90, 190, blue}}},
		{"rotate=270", 100, 200, []px{{10, 10, green}}},
		{"rotate=180", 200, 100, []px{{10, 10, white}, {190, 90, red}}},
		{"rotate=450", 100, 200, []px{{90, 10, red}}},
		{"flip=lr", 200, 100, []px{{10, 10, green}, {190, 10, red}}},
		{"flip=ud", 200, 100, []px{{10, 10, blue}, {10, 90, red}}},
		{"flip=lrud", 200, 100, []px{{10, 10, white}}},
		// IS order: rotate (layer 0) then flip (composite); bimg does the reverse.
		{"rotate=90&flip=lr", 100, 200, []px{{10, 10, red}, {90, 10, blue}}},
		// Order of layer transforms: crop first, in source pixels.
		{"crop=0,0,100,100&rotate=90", 100, 100, []px{{90, 10, red}, {10, 10, blue}}},
		{"dpr=on,2&wid=50", 100, 50, []px{{10, 10, red}}},
		{"dpr=off&wid=50", 50, 25, []px{{5, 5, red}}},
	}
	for _, tc := range tests {
		t.Run(tc.modifier, func(t *testing.T) {
			// A lossless default; a fmt= in the case comes later and wins.
			res := renderOK(t, src, "fmt=png&"+tc.modifier)
			assert.Equal(t, tc.w, res.decoded.Width, "width")
			assert.Equal(t, tc.h, res.decoded.Height, "height")
			for _, p := range tc.pixels {
				near(t, res.decoded, p.x, p.y, p.c, 3)
			}
		})
	}
}

func TestRotateArbitrary(t *testing.T) {
	src := quadrantsPNG(t)
	// 200×100 turned 45°: a (300/√2)² box, corners transparent.
	res := renderOK(t, src, "rotate=45&fmt=png-alpha")
	assert.InDelta(t, 212, res.decoded.Width, 2)
	assert.InDelta(t, 212, res.decoded.Height, 2)
	near(t, res.decoded, 2, 2, []float64{anyV, anyV, anyV, 0}, 0, "corner transparent")
	near(t, res.decoded, res.decoded.Width/2, res.decoded.Height/2, []float64{0, 0, 0, 255}, 255, "centre")
	assert.Equal(t, 255.0, res.Pixel(res.decoded.Width/2, res.decoded.Height/2)[3], "centre opaque")
	// Clockwise: the red top-left corner moves up and right of the centre.
	near(t, res.decoded, 106, 60, red, 10)

	// Without alpha the corners take bgc.
	res = renderOK(t, src, "rotate=45&bgc=0,0,255&fmt=png")
	near(t, res.decoded, 2, 2, blue, 0)
	res = renderOK(t, src, "rotate=45&color=0,255,0&bgColor=255,0,0&fmt=png")
	near(t, res.decoded, 2, 2, red, 0, "bgColor fills after rotation")
}

func TestAlpha(t *testing.T) {
	src := alphaPNG(t) // left red (rows 40–59 half transparent), right transparent
	halfRedOnWhite := []float64{255, 127, 127}
	tests := []struct {
		modifier string
		bands    int
		pixels   []px
	}{
		// Formats without alpha flatten onto bgc, white by default.
		{"fmt=jpeg", 3, []px{{20, 10, red}, {150, 10, white}, {20, 50, halfRedOnWhite}}},
		{"fmt=png", 3, []px{{20, 10, red}, {150, 10, white}}},
		// bgc=black must flatten too (bimg skips flattening on black).
		{"fmt=png&bgc=000000", 3, []px{{150, 10, black}, {20, 50, []float64{128, 0, 0}}}},
		{"fmt=tif&bgc=0,0,255", 3, []px{{150, 10, blue}}},
		{"fmt=webp&bgc=0,255,0", 3, []px{{150, 10, green}}},
		// -alpha formats keep transparency; bgc is ignored.
		{"fmt=png-alpha&bgc=000000", 4, []px{{20, 10, []float64{255, 0, 0, 255}}, {150, 10, []float64{anyV, anyV, anyV, 0}}, {20, 50, []float64{255, 0, 0, 128}}}},
		{"fmt=tif-alpha", 4, []px{{150, 10, []float64{anyV, anyV, anyV, 0}}, {20, 50, []float64{255, 0, 0, 128}}}},
		{"fmt=webp-alpha,,lossless", 4, []px{{150, 10, []float64{anyV, anyV, anyV, 0}}}},
		// Padding is transparent for -alpha formats.
		{"fmt=png-alpha&wid=100&hei=100", 4, []px{{50, 10, []float64{anyV, anyV, anyV, 0}}, {10, 30, []float64{255, 0, 0, 255}}}},
		// color= fills transparent areas of the layer; bgColor= too.
		{"fmt=png-alpha&color=0,0,255", 4, []px{{150, 10, []float64{0, 0, 255, 255}}, {20, 50, []float64{128, 0, 127, 255}}}},
		{"fmt=png-alpha&bgColor=0,0,255,128", 4, []px{{150, 10, []float64{0, 0, 255, 128}}}},
		// opac scales alpha: on an opaque source it makes it translucent.
		{"fmt=png-alpha&opac=50", 4, []px{{20, 10, []float64{255, 0, 0, 128}}, {20, 50, []float64{255, 0, 0, 64}}}},
		{"fmt=jpeg&opac=50", 3, []px{{20, 10, halfRedOnWhite}}},
		{"fmt=png-alpha&opac=50,50", 4, []px{{20, 10, []float64{255, 0, 0, 64}}}},
		// opac never changes what color= filled.
		{"fmt=png-alpha&opac=50&color=0,0,255", 4, []px{{150, 10, []float64{0, 0, 255, 255}}}},
		// req=mask: the alpha as gray.
		{"req=mask&fmt=png", 1, []px{{20, 10, []float64{255}}, {150, 10, []float64{0}}, {20, 50, []float64{128}}}},
		{"req=mask&fmt=tif,gray&wid=100", 1, []px{{10, 5, []float64{255}}, {75, 5, []float64{0}}}},
	}
	for _, tc := range tests {
		t.Run(tc.modifier, func(t *testing.T) {
			res := renderOK(t, src, tc.modifier)
			assert.Equal(t, tc.bands, res.Bands)
			for _, p := range tc.pixels {
				tol := 2.0
				if res.Loader == "jpegload" || res.Loader == "webpload" {
					tol = 8
				}
				near(t, res.decoded, p.x, p.y, p.c, tol)
			}
		})
	}
	t.Run("req=mask of an opaque image is white", func(t *testing.T) {
		res := renderOK(t, quadrantsPNG(t), "req=mask&fmt=png")
		assert.Equal(t, 1, res.Bands)
		near(t, res.decoded, 10, 10, []float64{255}, 0)
	})
	t.Run("resampling does not bleed transparent colour", func(t *testing.T) {
		// The transparent half is green underneath; premultiplied resizing
		// keeps green out of the red edge.
		res := renderOK(t, src, "fmt=png-alpha&wid=37")
		for y := 0; y < 18; y += 3 {
			for x := 0; x < res.decoded.Width; x++ {
				p := res.Pixel(x, y)
				if p[3] > 10 {
					assert.Less(t, p[1], 20.0, "green bled at (%d,%d): %v", x, y, p)
				}
			}
		}
	})
}
