package render

import (
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func solidPNG(t testing.TB, w, h int, c ...byte) []byte {
	t.Helper()
	interp := "srgb"
	if len(c) == 1 {
		interp = "b-w"
	}
	b, err := encodeImage(rawImage{W: w, H: h, Bands: len(c), Pix: solidPixels(w, h, c...), Interp: interp}, "pngsave_buffer")
	require.NoError(t, err)
	return b
}

// stepPNG: 64×32, gray 100 on the left half, 150 on the right.
func stepPNG(t testing.TB) []byte {
	t.Helper()
	w, h := 64, 32
	pix := make([]byte, w*h*3)
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			v := byte(100)
			if x >= w/2 {
				v = 150
			}
			i := (y*w + x) * 3
			pix[i], pix[i+1], pix[i+2] = v, v, v
		}
	}
	b, err := encodeImage(rawImage{W: w, H: h, Bands: 3, Pix: pix}, "pngsave_buffer")
	require.NoError(t, err)
	return b
}

func TestColourEffects(t *testing.T) {
	orange := solidPNG(t, 16, 16, 200, 100, 50)
	tests := []struct {
		modifier string
		want     []float64
		tol      float64
	}{
		{"op_brightness=20", []float64{251, 151, 101}, 1},
		{"op_brightness=-100", []float64{0, 0, 0}, 0},
		{"op_contrast=50", []float64{236, 86, 11}, 1},
		{"op_contrast=-100", []float64{127.5, 127.5, 127.5}, 1},
		{"op_invert=1", []float64{55, 155, 205}, 0},
		{"op_invert=0", []float64{200, 100, 50}, 0},
		{"op_colorbalance=100,0,-100", []float64{255, 100, 0}, 0},
		{"op_colorbalance=-10,10,0", []float64{174.5, 125.5, 50}, 1},
		// brightness then contrast (the colorize example's order)
		{"op_brightness=10&op_contrast=20", []float64{245.1, 125.1, 65.1}, 1},
		{"op_colorize=ff0000,off", nil, 0}, // checked below
	}
	for _, tc := range tests {
		if tc.want == nil {
			continue
		}
		t.Run(tc.modifier, func(t *testing.T) {
			res := renderOK(t, orange, "fmt=png&"+tc.modifier)
			near(t, res.decoded, 8, 8, tc.want, tc.tol)
		})
	}

	t.Run("op_saturation=-100 removes all colour", func(t *testing.T) {
		p := renderOK(t, orange, "fmt=png&op_saturation=-100").Pixel(8, 8)
		assert.InDelta(t, p[0], p[1], 2)
		assert.InDelta(t, p[1], p[2], 2)
	})
	t.Run("op_saturation=60 widens the channel spread", func(t *testing.T) {
		p := renderOK(t, orange, "fmt=png&op_saturation=60").Pixel(8, 8)
		assert.Greater(t, p[0]-p[2], 150.0+10)
	})
	t.Run("op_hue=180 turns orange to blue", func(t *testing.T) {
		p := renderOK(t, orange, "fmt=png&op_hue=180").Pixel(8, 8)
		assert.Greater(t, p[2], p[0], "%v", p)
	})
	t.Run("op_hue on gray changes nothing", func(t *testing.T) {
		res := renderOK(t, solidPNG(t, 8, 8, 120), "fmt=png&op_hue=90&op_saturation=50")
		near(t, res.decoded, 4, 4, []float64{120, 120, 120}, 0)
	})
	t.Run("effects leave alpha alone", func(t *testing.T) {
		res := renderOK(t, alphaPNG(t), "fmt=png-alpha&op_invert=1&op_brightness=50&op_noise=30")
		assert.Equal(t, 0.0, res.Pixel(150, 10)[3])
		assert.Equal(t, 128.0, res.Pixel(20, 50)[3])
	})
}

func TestColorize(t *testing.T) {
	// Without normalisation: mid-gray becomes the colour, black and white stay.
	for _, tc := range []struct {
		gray byte
		want []float64
	}{
		{128, []float64{255, 0, 0}},
		{0, []float64{0, 0, 0}},
		{255, []float64{255, 255, 255}},
		{64, []float64{127.5, 0, 0}},
	} {
		res := renderOK(t, solidPNG(t, 8, 8, tc.gray, tc.gray, tc.gray), "fmt=png&op_colorize=ff0000,off")
		near(t, res.decoded, 4, 4, tc.want, 1.5, "gray ", tc.gray)
	}
	// Always RGB output, even from gray.
	res := renderOK(t, solidPNG(t, 8, 8, 128), "fmt=png&op_colorize=0,0,255,off")
	assert.Equal(t, 3, res.Bands)
	near(t, res.decoded, 4, 4, blue, 1.5)

	// norm moves the median to 50 %: a dark image is brightened to the colour.
	dark := solidPNG(t, 8, 8, 40, 40, 40)
	near(t, renderOK(t, dark, "fmt=png&op_colorize=a0b0c0").decoded, 4, 4, []float64{160, 176, 192}, 1.5)
	near(t, renderOK(t, dark, "fmt=png&op_colorize=a0b0c0,norm,50").decoded, 4, 4, []float64{160, 176, 192}, 1.5)

	// With contrast, a gradient is spread around the colour: dark to light.
	grad := renderOK(t, gradientPNG(t, 64, 64), "fmt=png&op_colorize=0000ff,norm,80")
	tl, br := grad.Pixel(1, 1), grad.Pixel(62, 62)
	assert.Less(t, tl[2], br[2])
	assert.GreaterOrEqual(t, br[2], br[0], "blue dominates")
}

func TestNoise(t *testing.T) {
	gray := solidPNG(t, 64, 64, 128, 128, 128)
	stats := func(d *decoded, band int) (mean, sd float64, colourDiff bool) {
		var sum, sq float64
		n := 0
		for y := 0; y < d.Height; y++ {
			for x := 0; x < d.Width; x++ {
				p := d.Pixel(x, y)
				sum += p[band]
				sq += p[band] * p[band]
				n++
				if p[0] != p[1] || p[1] != p[2] {
					colourDiff = true
				}
			}
		}
		mean = sum / float64(n)
		return mean, math.Sqrt(sq/float64(n) - mean*mean), colourDiff
	}
	for _, tc := range []struct {
		modifier  string
		colourful bool
	}{
		{"op_noise=40", true},
		{"op_noise=40,gaussian", true},
		{"op_noise=40,uniform,1", false},
		{"op_noise=40,gaussian,1", false},
	} {
		t.Run(tc.modifier, func(t *testing.T) {
			a := renderOK(t, gray, "fmt=png&"+tc.modifier)
			mean, sd, colourful := stats(a.decoded, 0)
			assert.InDelta(t, 128, mean, 6, "zero-mean noise")
			assert.Greater(t, sd, 10.0)
			assert.Equal(t, tc.colourful, colourful)
			b := renderOK(t, gray, "fmt=png&"+tc.modifier)
			assert.Equal(t, a.Data, b.Data, "noise repeats between renders")
		})
	}
	// Stronger noise, wider spread.
	_, sd20, _ := stats(renderOK(t, gray, "fmt=png&op_noise=20").decoded, 0)
	_, sd60, _ := stats(renderOK(t, gray, "fmt=png&op_noise=60").decoded, 0)
	assert.Greater(t, sd60, sd20*2)
	near(t, renderOK(t, gray, "fmt=png&op_noise=0").decoded, 5, 5, []float64{128, 128, 128}, 0)
}

func TestBlurAndSharpen(t *testing.T) {
	step := stepPNG(t)
	plain := renderOK(t, step, "fmt=png")
	near(t, plain.decoded, 31, 16, []float64{100}, 0)
	near(t, plain.decoded, 32, 16, []float64{150}, 0)

	blur := renderOK(t, step, "fmt=png&op_blur=3")
	l, r := blur.Pixel(31, 16)[0], blur.Pixel(32, 16)[0]
	assert.Greater(t, l, 110.0, "blur mixes the edge")
	assert.Less(t, r, 140.0)
	near(t, blur.decoded, 3, 16, []float64{100}, 1, "far from the edge")

	// Sharpening overshoots on both sides of the edge.
	for _, m := range []string{"op_sharpen=1", "op_usm=2,2,0,0", "op_usmR=2,2,0,0", "op_usm=2,2,0,1"} {
		res := renderOK(t, step, "fmt=png&"+m)
		assert.Less(t, res.Pixel(31, 16)[0], 95.0, m)
		assert.Greater(t, res.Pixel(32, 16)[0], 155.0, m)
		near(t, res.decoded, 3, 16, []float64{100}, 1, m)
	}
	// A threshold above the edge contrast leaves it alone.
	res := renderOK(t, step, "fmt=png&op_usm=2,2,60,0")
	near(t, res.decoded, 31, 16, []float64{100}, 0)
	// op_usm=1 alone has radius 0: nothing to do.
	assert.Equal(t, plain.Data, renderOK(t, step, "fmt=png&op_usm=1").Data)

	// op_usm's radius is scaled down with the image, op_usmR's is not: after
	// a 4× reduction, usmR=…,8 reaches 4 px from the edge, usm=…,8 does not.
	big := gradientStep(t, 256, 64)
	usm := renderOK(t, big, "fmt=png&wid=64&op_usm=3,8,0,0&resMode=bilin")
	usmR := renderOK(t, big, "fmt=png&wid=64&op_usmR=3,8,0,0&resMode=bilin")
	base := renderOK(t, big, "fmt=png&wid=64&resMode=bilin")
	b, u, ur := base.Pixel(27, 8)[0], usm.Pixel(27, 8)[0], usmR.Pixel(27, 8)[0]
	assert.InDelta(t, b, u, 3, "op_usm radius 8 scaled to 2")
	assert.Greater(t, math.Abs(ur-b), 8.0, "op_usmR radius 8 unscaled")
}

// gradientStep is a w×h step image (gray 100 | 150 at w/2).
func gradientStep(t testing.TB, w, h int) []byte {
	t.Helper()
	pix := make([]byte, w*h)
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			pix[y*w+x] = 100
			if x >= w/2 {
				pix[y*w+x] = 150
			}
		}
	}
	b, err := encodeImage(rawImage{W: w, H: h, Bands: 1, Pix: pix, Interp: "b-w"}, "pngsave_buffer")
	require.NoError(t, err)
	return b
}

func TestResMode(t *testing.T) {
	src := gradientStep(t, 256, 32)
	out := map[string][]byte{}
	for _, m := range []string{"bilin", "bicub", "sharp2", "bisharp"} {
		res := renderOK(t, src, "fmt=png&wid=100&resMode="+m)
		assert.Equal(t, 100, res.decoded.Width)
		out[m] = res.Data
	}
	// Each kernel gives a different picture; sharp2 is the default.
	assert.NotEqual(t, out["bilin"], out["bicub"])
	assert.NotEqual(t, out["bicub"], out["sharp2"])
	assert.NotEqual(t, out["bicub"], out["bisharp"])
	assert.Equal(t, out["sharp2"], renderOK(t, src, "fmt=png&wid=100").Data)
	// resMode=sharp renders as sharp2, with a warning.
	sharp := renderOK(t, src, "fmt=png&wid=100&resMode=sharp")
	assert.Equal(t, out["sharp2"], sharp.Data)
	require.Len(t, sharp.Output.Warnings, 1)
}
