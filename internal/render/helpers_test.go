package render

import (
	"context"
	"fmt"
	"math"
	"os"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ipsexport/ipsd/internal/modifier"
)

func TestMain(m *testing.M) {
	// libvips prints decoder warnings (e.g. "heifload: ignoring nclx
	// profile") when tests decode their outputs; keep test logs readable.
	silenceVipsWarnings()
	os.Exit(m.Run())
}

var (
	rendererOnce sync.Once
	testRenderer *Renderer
	rendererErr  error
)

// newTestRenderer is one Renderer for the package's tests (New applies
// process-wide libvips settings; doing that once is enough).
func newTestRenderer(t testing.TB) *Renderer {
	t.Helper()
	rendererOnce.Do(func() { testRenderer, rendererErr = New(Config{}) })
	require.NoError(t, rendererErr)
	return testRenderer
}

// --- generated sources ---

// Quadrants: 200×100, top-left red, top-right green, bottom-left blue,
// bottom-right white. Solid areas survive resampling and lossy coding, so
// pixel checks stay robust.
var (
	red   = []float64{255, 0, 0}
	green = []float64{0, 255, 0}
	blue  = []float64{0, 0, 255}
	white = []float64{255, 255, 255}
	black = []float64{0, 0, 0}
)

func quadrantPixels(w, h int) []byte {
	pix := make([]byte, w*h*3)
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			var c []float64
			switch {
			case x < w/2 && y < h/2:
				c = red
			case y < h/2:
				c = green
			case x < w/2:
				c = blue
			default:
				c = white
			}
			i := (y*w + x) * 3
			pix[i], pix[i+1], pix[i+2] = byte(c[0]), byte(c[1]), byte(c[2])
		}
	}
	return pix
}

func quadrantsPNG(t testing.TB) []byte {
	t.Helper()
	b, err := encodeImage(rawImage{W: 200, H: 100, Bands: 3, Pix: quadrantPixels(200, 100)}, "pngsave_buffer")
	require.NoError(t, err)
	return b
}

func quadrantsJPEG(t testing.TB, w, h int) []byte {
	t.Helper()
	b, err := encodeImage(rawImage{W: w, H: h, Bands: 3, Pix: quadrantPixels(w, h)}, "jpegsave_buffer", "Q=95")
	require.NoError(t, err)
	return b
}

// gradientPixels: R follows x, G follows y, B constant 64.
func gradientPixels(w, h int) []byte {
	pix := make([]byte, w*h*3)
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			i := (y*w + x) * 3
			pix[i] = byte(x * 255 / max(w-1, 1))
			pix[i+1] = byte(y * 255 / max(h-1, 1))
			pix[i+2] = 64
		}
	}
	return pix
}

func gradientPNG(t testing.TB, w, h int) []byte {
	t.Helper()
	b, err := encodeImage(rawImage{W: w, H: h, Bands: 3, Pix: gradientPixels(w, h)}, "pngsave_buffer")
	require.NoError(t, err)
	return b
}

// alphaPNG: 200×100 RGBA. The left half is opaque red, except rows 40–59
// at alpha 128; the right half is fully transparent (green underneath).
func alphaPNG(t testing.TB) []byte {
	t.Helper()
	w, h := 200, 100
	pix := make([]byte, w*h*4)
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			i := (y*w + x) * 4
			switch {
			case x < 100:
				pix[i], pix[i+1], pix[i+2], pix[i+3] = 255, 0, 0, 255
			default:
				pix[i], pix[i+1], pix[i+2], pix[i+3] = 0, 255, 0, 0
			}
			if y >= 40 && y < 60 && x < 100 {
				pix[i+3] = 128
			}
		}
	}
	b, err := encodeImage(rawImage{W: w, H: h, Bands: 4, Pix: pix}, "pngsave_buffer")
	require.NoError(t, err)
	return b
}

func solidPixels(w, h int, c ...byte) []byte {
	pix := make([]byte, 0, w*h*len(c))
	for i := 0; i < w*h; i++ {
		pix = append(pix, c...)
	}
	return pix
}

// --- rendering and checking ---

type result struct {
	*Output
	*decoded
}

// renderOK renders src with modifier (macros optional) and decodes the output.
func renderOK(t testing.TB, src []byte, mod string, macros ...modifier.MacroMap) result {
	t.Helper()
	var ms modifier.MacroSource
	if len(macros) > 0 {
		ms = macros[0]
	}
	req, err := modifier.Parse(mod, ms)
	require.NoError(t, err, "parse %q", mod)
	out, err := newTestRenderer(t).Render(context.Background(), src, req)
	require.NoError(t, err, "render %q", mod)
	d, err := decode(out.Data)
	require.NoError(t, err, "decode output of %q", mod)
	t.Cleanup(d.Close)
	require.Equal(t, out.Width, d.Width, "Output.Width")
	require.Equal(t, out.Height, d.Height, "Output.Height")
	return result{out, d}
}

// renderErr renders and returns the error (the parse must succeed).
func renderErr(t testing.TB, src []byte, mod string) error {
	t.Helper()
	req, err := modifier.Parse(mod, nil)
	require.NoError(t, err, "parse %q", mod)
	out, err := newTestRenderer(t).Render(context.Background(), src, req)
	require.Error(t, err, "render %q gave %v", mod, out)
	return err
}

// anyV matches any value of a band (the colour of a transparent pixel).
var anyV = math.NaN()

// near checks the pixel at (x, y) against want (per band) within tol.
func near(t testing.TB, d *decoded, x, y int, want []float64, tol float64, msg ...any) {
	t.Helper()
	got := d.Pixel(x, y)
	require.GreaterOrEqual(t, len(got), len(want), "bands at (%d,%d)", x, y)
	for i, w := range want {
		if !math.IsNaN(w) && math.Abs(got[i]-w) > tol {
			t.Fatalf("pixel (%d,%d) = %v, want %v ±%v %s", x, y, got, want, tol, fmt.Sprint(msg...))
		}
	}
}
