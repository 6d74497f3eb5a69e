package render

import (
	"bufio"
	"bytes"
	"context"
	"encoding/ascii85"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ipsexport/ipsd/internal/modifier"
)

// The PDF and EPS we write are checked by decoding them with programs
// nobody here wrote: poppler's pdftoppm and Ghostscript (both installed by
// the Makefile's TEST_PACKAGES).

// rasterize renders a PDF (pdftoppm) or an EPS (gs) at dpi into PNG and
// decodes that.
func rasterize(t *testing.T, data []byte, kind string, dpi int) *decoded {
	t.Helper()
	dir := t.TempDir()
	in := filepath.Join(dir, "in."+kind)
	require.NoError(t, os.WriteFile(in, data, 0o600))
	out := filepath.Join(dir, "out.png")
	var cmd *exec.Cmd
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	switch kind {
	case "pdf":
		cmd = exec.CommandContext(ctx, "pdftoppm", "-r", strconv.Itoa(dpi), "-png", "-singlefile", in, strings.TrimSuffix(out, ".png"))
	case "eps":
		cmd = exec.CommandContext(ctx, "gs", "-q", "-dSAFER", "-dBATCH", "-dNOPAUSE", "-dEPSCrop", "-sDEVICE=png16m",
			"-r"+strconv.Itoa(dpi), "-sOutputFile="+out, in)
	}
	b, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s: %s", cmd.Path, b)
	png, err := os.ReadFile(out)
	require.NoError(t, err)
	d, err := decode(png)
	require.NoError(t, err)
	t.Cleanup(d.Close)
	return d
}

// checkQuadrants compares the four quadrant colours of a decoded 200×100
// rendering with want (in its own order: red, green, blue, white).
func checkQuadrants(t *testing.T, d *decoded, want [4][]float64, tol float64) {
	t.Helper()
	require.Equal(t, 200, d.Width)
	require.Equal(t, 100, d.Height)
	for i, pt := range [][2]int{{50, 25}, {150, 25}, {50, 75}, {150, 75}} {
		near(t, d, pt[0], pt[1], want[i], tol, "quadrant ", i)
	}
}

var rgbQuadrants = [4][]float64{red, green, blue, white}

func TestPDFOutput(t *testing.T) {
	src := quadrantsPNG(t)
	t.Run("lossless by default, decoded by poppler", func(t *testing.T) {
		res := renderRaw(t, src, "fmt=pdf&printRes=72")
		assert.Equal(t, ".pdf", res.Ext)
		assert.Equal(t, "application/pdf", res.MIME)
		assert.True(t, bytes.HasPrefix(res.Data, []byte("%PDF-1.")))
		assert.Contains(t, string(res.Data), "/FlateDecode")
		assert.NotContains(t, string(res.Data), "/DCTDecode")
		checkQuadrants(t, rasterize(t, res.Data, "pdf", 72), rgbQuadrants, 1)
	})
	t.Run("compression zip and none are lossless; jpeg honours qlt", func(t *testing.T) {
		zip := renderRaw(t, src, "fmt=pdf,,zip&printRes=72")
		checkQuadrants(t, rasterize(t, zip.Data, "pdf", 72), rgbQuadrants, 1)
		hi := renderRaw(t, src, "fmt=pdf,rgb,jpeg&qlt=95&printRes=72")
		lo := renderRaw(t, src, "fmt=pdf,rgb,jpeg&qlt=20&printRes=72")
		assert.Contains(t, string(hi.Data), "/DCTDecode")
		assert.Less(t, len(lo.Data), len(hi.Data), "qlt= sets the JPEG quality")
		checkQuadrants(t, rasterize(t, hi.Data, "pdf", 72), rgbQuadrants, 12)
	})
	t.Run("the page is the image at its print resolution", func(t *testing.T) {
		res := renderRaw(t, src, "fmt=pdf&printRes=144")
		assert.Contains(t, string(res.Data), "/MediaBox [0 0 100.00 50.00]")
		checkQuadrants(t, rasterize(t, res.Data, "pdf", 144), rgbQuadrants, 1)
	})
	t.Run("gray", func(t *testing.T) {
		res := renderRaw(t, src, "fmt=pdf,gray&printRes=72")
		assert.Contains(t, string(res.Data), "/DeviceGray")
		d := rasterize(t, res.Data, "pdf", 72)
		p := d.Pixel(50, 25)
		assert.InDelta(t, p[0], p[1], 1, "gray: R = G")
		assert.InDelta(t, 127, p[0], 50, "red as gray")
		near(t, d, 150, 75, white, 1)
	})
	t.Run("cmyk with jpeg compression", func(t *testing.T) {
		res := renderRaw(t, src, "fmt=pdf,cmyk,jpeg&qlt=90&printRes=72")
		assert.Empty(t, res.Warnings)
		assert.Contains(t, string(res.Data), "/DeviceCMYK")
		d := rasterize(t, res.Data, "pdf", 72)
		p := d.Pixel(50, 25) // red comes back reddish from the CMYK separation
		assert.Greater(t, p[0], 180.0, "%v", p)
		assert.Less(t, p[1], 100.0, "%v", p)
		near(t, d, 150, 75, white, 8)
	})
	t.Run("cmyk without jpeg compression warns", func(t *testing.T) {
		res := renderRaw(t, src, "fmt=pdf,cmyk&printRes=72")
		require.Len(t, res.Warnings, 1)
		assert.Contains(t, res.Warnings[0].Message, "quality 100")
		assert.Greater(t, rasterize(t, res.Data, "pdf", 72).Pixel(50, 25)[0], 180.0)
	})
	t.Run("iccEmbed=1: the RGB profile is the output intent", func(t *testing.T) {
		res := renderRaw(t, src, "fmt=pdf&iccEmbed=1&icc=AdobeRGB&printRes=72")
		assert.Contains(t, string(res.Data), "/OutputIntents")
		assert.Contains(t, string(res.Data), "Compatible with Adobe RGB (1998)")
		assert.Empty(t, res.Warnings)
		assert.NotContains(t, string(renderRaw(t, src, "fmt=pdf&printRes=72").Data), "/OutputIntents")
	})
	t.Run("a page is reproducible", func(t *testing.T) {
		assert.Equal(t, renderRaw(t, src, "fmt=pdf").Data, renderRaw(t, src, "fmt=pdf").Data)
	})
}

func TestEPSOutput(t *testing.T) {
	src := quadrantsPNG(t)
	t.Run("DSC EPSF-3.0, 7-bit, decoded by Ghostscript without loss", func(t *testing.T) {
		res := renderRaw(t, src, "fmt=eps&printRes=72")
		assert.Equal(t, ".eps", res.Ext)
		assert.Equal(t, "image/eps", res.MIME)
		lines := strings.Split(string(res.Data), "\n")
		assert.Equal(t, "%!PS-Adobe-3.0 EPSF-3.0", lines[0])
		assert.Contains(t, lines, "%%BoundingBox: 0 0 200 100")
		assert.Contains(t, lines, "%%EndComments")
		assert.Equal(t, "%%EOF", lines[len(lines)-2])
		for i, l := range lines {
			require.LessOrEqual(t, len(l), 255, "line %d", i)
			for _, c := range []byte(l) {
				require.Less(t, c, byte(128), "line %d is 7-bit", i)
			}
		}
		checkQuadrants(t, rasterize(t, res.Data, "eps", 72), rgbQuadrants, 0)
	})
	t.Run("the bounding box is the image at its print resolution", func(t *testing.T) {
		res := renderRaw(t, src, "fmt=eps&printRes=144")
		assert.Contains(t, string(res.Data), "\n%%BoundingBox: 0 0 100 50\n")
		checkQuadrants(t, rasterize(t, res.Data, "eps", 144), rgbQuadrants, 0)
	})
	t.Run("gray", func(t *testing.T) {
		res := renderRaw(t, src, "fmt=eps,gray&printRes=72")
		assert.Contains(t, string(res.Data), "/DeviceGray setcolorspace")
		d := rasterize(t, res.Data, "eps", 72)
		p := d.Pixel(50, 25)
		assert.InDelta(t, p[0], p[2], 1)
		near(t, d, 150, 75, white, 0)
	})
	t.Run("cmyk, and an embedded CMYK profile", func(t *testing.T) {
		for _, m := range []string{"fmt=eps,cmyk", "fmt=eps&icc=WebCoated&iccEmbed=1"} {
			res := renderRaw(t, src, m+"&printRes=72")
			assert.Empty(t, res.Warnings, m)
			d := rasterize(t, res.Data, "eps", 72)
			p := d.Pixel(50, 25)
			assert.Greater(t, p[0], 180.0, "%s: %v", m, p)
			assert.Less(t, p[1], 100.0, "%s: %v", m, p)
			near(t, d, 150, 75, white, 8, m)
		}
		assert.Contains(t, string(renderRaw(t, src, "fmt=eps&icc=WebCoated&iccEmbed=1").Data), "[/ICCBased << /N 4")
	})
	t.Run("alpha sources are flattened on bgc", func(t *testing.T) {
		res := renderRaw(t, alphaPNG(t), "fmt=eps&bgc=0000ff&printRes=72")
		d := rasterize(t, res.Data, "eps", 72)
		near(t, d, 150, 20, blue, 0)
		near(t, d, 50, 20, red, 0)
	})
}

// renderRaw renders without decoding the output (libvips reads no EPS,
// and reads a PDF through poppler, which rasterize uses directly).
func renderRaw(t *testing.T, src []byte, mod string) *Output {
	t.Helper()
	req, err := modifier.Parse(mod, nil)
	require.NoError(t, err, mod)
	out, err := newTestRenderer(t).Render(context.Background(), src, req)
	require.NoError(t, err, mod)
	return out
}

func TestWriteASCII85NeverStartsALineWithPercent(t *testing.T) {
	// Bytes that encode to a run of '%' characters.
	data := make([]byte, 4*200)
	n, _, err := ascii85.Decode(data, bytes.Repeat([]byte("%"), 5*200), true)
	require.NoError(t, err)
	require.Equal(t, len(data), n)
	var b bytes.Buffer
	w := bufio.NewWriter(&b)
	require.NoError(t, writeASCII85(w, data))
	require.NoError(t, w.Flush())
	for _, l := range strings.Split(b.String(), "\n") {
		assert.False(t, strings.HasPrefix(l, "%"), l)
	}
}
