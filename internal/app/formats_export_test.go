package app

import (
	"bytes"
	"context"
	"fmt"
	"image"
	_ "image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"codeberg.org/go-pdf/fpdf"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// vectorPDF writes a PDF of pages w×h points, page i's left half filled
// with colours[i]; creator names the program that "made" it.
func vectorPDF(t *testing.T, w, h float64, creator string, colours ...[3]int) []byte {
	t.Helper()
	pdf := fpdf.NewCustom(&fpdf.InitType{UnitStr: "pt", Size: fpdf.SizeType{Wd: w, Ht: h}})
	pdf.SetCreator(creator, false)
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

// vectorEPS is a w×h-point EPS whose left half is red.
func vectorEPS(w, h int) string {
	return fmt.Sprintf("%%!PS-Adobe-3.0 EPSF-3.0\n%%%%BoundingBox: 0 0 %d %d\n%%%%EndComments\n"+
		"1 0 0 setrgbcolor 0 0 %d %d rectfill\nshowpage\n%%%%EOF\n", w, h, w/2, h)
}

func decodePNG(t *testing.T, b []byte) image.Image {
	t.Helper()
	img, format, err := image.Decode(bytes.NewReader(b))
	require.NoError(t, err)
	require.Equal(t, "png", format)
	return img
}

// Illustrator, EPS and a three-page PDF arrive through UploadFile, carry
// the reference's asset types, and convert through the real server: the
// first page at 150 dpi, a warning naming the pages left out.
func TestExportVectorSources(t *testing.T) {
	e := newEnv(t, "")
	params := `<uploadPostParam xmlns="` + ns14 + `"><companyHandle>` + e.acme.Handle + `</companyHandle><jobName>vector-upload</jobName>` +
		`<destFolder>print/</destFolder><endJob>true</endJob><uploadParams><overwrite>true</overwrite></uploadParams></uploadPostParam>`
	status, resp := e.uploadPOST(params, [][2]string{
		{"artwork.ai", string(vectorPDF(t, 288, 144, "Adobe Illustrator 27.0", [3]int{255, 0, 0}))},
		{"logo.eps", vectorEPS(144, 72)},
		{"catalogue.pdf", string(vectorPDF(t, 144, 216, "InDesign", [3]int{255, 0, 0}, [3]int{0, 255, 0}, [3]int{0, 0, 255}))},
	})
	require.Equal(t, 200, status, resp)

	_, found, resp := e.call("alice@acme.test", `<getAssetsByNameParam xmlns="`+ns14+`"><companyHandle>`+e.acme.Handle+`</companyHandle><nameArray><items>artwork</items><items>logo</items><items>catalogue</items></nameArray></getAssetsByNameParam>`)
	items := found.at("assetArray", "items")
	require.Len(t, items, 3, resp)
	types := map[string]string{}
	var handles []string
	for _, it := range items {
		types[it.text("name")] = it.text("type")
		handles = append(handles, it.text("assetHandle"))
	}
	assert.Equal(t, map[string]string{"artwork": "Illustrator", "logo": "PostScript", "catalogue": "Pdf"}, types)

	e.submit("vector-png", handles, `<fmt>convert</fmt><is_modifier>fmt=png</is_modifier><emailSetting>None</emailSetting>`)
	zipURL, root := e.awaitArchive("vector-png")
	log := root.at("jobLogArray", "items")[0]
	assert.Equal(t, "3", log.text("totalFileCount"))
	assert.Equal(t, "3", log.text("fileSuccessCount"))
	assert.Equal(t, "1", log.text("fileWarningCount"), "the three-page PDF warns")
	var warned string
	for _, d := range log.at("detailArray", "items") {
		if d.text("logType") == "ExportWarning" {
			warned = d.text("assetName") + ": " + d.text("logMessage")
		}
	}
	assert.Contains(t, warned, "catalogue")
	assert.Contains(t, warned, "3 pages; the first page is converted")

	_, zipBytes := fetch(t, zipURL, "")
	files := unzip(t, zipBytes)
	want := map[string][2]int{ // points × 150/72
		"print/artwork.png":   {600, 300},
		"print/logo.png":      {300, 150},
		"print/catalogue.png": {300, 450},
	}
	for name, size := range want {
		b, ok := files[name]
		require.True(t, ok, "%s in %v", name, keys(files))
		img := decodePNG(t, b)
		assert.Equal(t, size, [2]int{img.Bounds().Dx(), img.Bounds().Dy()}, name)
		r, g, bl, _ := img.At(size[0]/4, size[1]/2).RGBA()
		assert.Equal(t, [3]uint32{0xffff, 0, 0}, [3]uint32{r, g, bl}, "%s: the left half is red (page 1)", name)
		r, g, bl, _ = img.At(size[0]*3/4, size[1]/2).RGBA()
		assert.Equal(t, [3]uint32{0xffff, 0xffff, 0xffff}, [3]uint32{r, g, bl}, "%s: the right half is white", name)
	}

	// The same sources as PDF and EPS, decoded by poppler and Ghostscript.
	e.submit("vector-pdf", handles[:2], `<fmt>convert</fmt><is_modifier>fmt=pdf&amp;wid=100</is_modifier><emailSetting>None</emailSetting>`)
	zipURL, _ = e.awaitArchive("vector-pdf")
	_, zipBytes = fetch(t, zipURL, "")
	files = unzip(t, zipBytes)
	pdf, ok := files["print/artwork.pdf"]
	require.True(t, ok, "files: %v", keys(files))
	img := decodePNG(t, rasterizeWith(t, "pdftoppm", pdf, 150))
	assert.Equal(t, [2]int{100, 50}, [2]int{img.Bounds().Dx(), img.Bounds().Dy()}, "wid=100 at the source's 150 dpi")

	e.submit("vector-eps", handles[2:], `<fmt>convert</fmt><is_modifier>fmt=eps,cmyk&amp;icc=CoatedFogra39&amp;iccEmbed=1</is_modifier><emailSetting>None</emailSetting>`)
	zipURL, _ = e.awaitArchive("vector-eps")
	_, zipBytes = fetch(t, zipURL, "")
	files = unzip(t, zipBytes)
	eps, ok := files["print/catalogue.eps"]
	require.True(t, ok, "files: %v", keys(files))
	assert.True(t, strings.HasPrefix(string(eps), "%!PS-Adobe-3.0 EPSF-3.0\n"))
	assert.Contains(t, string(eps), "[/ICCBased << /N 4")
	img = decodePNG(t, rasterizeWith(t, "gs", eps, 150))
	assert.Equal(t, [2]int{300, 450}, [2]int{img.Bounds().Dx(), img.Bounds().Dy()})
	r, g, _, _ := img.At(75, 225).RGBA()
	assert.Greater(t, r>>8, uint32(180), "red through CMYK")
	assert.Less(t, g>>8, uint32(100))
}

// rasterizeWith renders a PDF (pdftoppm) or EPS (gs) page to PNG at dpi.
func rasterizeWith(t *testing.T, tool string, data []byte, dpi int) []byte {
	t.Helper()
	dir := t.TempDir()
	in, out := filepath.Join(dir, "in"), filepath.Join(dir, "out.png")
	require.NoError(t, os.WriteFile(in, data, 0o600))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	args := []string{"-r", fmt.Sprint(dpi), "-png", "-singlefile", in, strings.TrimSuffix(out, ".png")}
	if tool == "gs" {
		args = []string{"-q", "-dSAFER", "-dBATCH", "-dNOPAUSE", "-dEPSCrop", "-sDEVICE=png16m", fmt.Sprintf("-r%d", dpi), "-sOutputFile=" + out, in}
	}
	b, err := exec.CommandContext(ctx, tool, args...).CombinedOutput()
	require.NoError(t, err, "%s: %s", tool, b)
	png, err := os.ReadFile(out)
	require.NoError(t, err)
	return png
}

// A profile registered under a standard name (`ipsd admin icc add
// CoatedFogra39 FILE` writes DATA/icc/CoatedFogra39.icc) replaces the
// mapped one, under its common name too.
func TestRegisteredProfileOverStandardName(t *testing.T) {
	exact, err := os.ReadFile("/usr/share/color/icc/ghostscript/ps_cmyk.icc")
	require.NoError(t, err, "Ghostscript's profiles are installed by the Makefile")
	e := newEnv(t, "", func(c *Config) {
		dir := filepath.Join(c.DataDir, "icc")
		require.NoError(t, os.MkdirAll(dir, 0o750))
		require.NoError(t, os.WriteFile(filepath.Join(dir, "CoatedFogra39.icc"), exact, 0o600))
	})
	e.submit("fogra", e.handles("/hero.png"), `<fmt>convert</fmt><is_modifier>fmt=tif&amp;icc=Coated%20FOGRA39%20(ISO%2012647-2%3A2004)&amp;iccEmbed=1</is_modifier><emailSetting>None</emailSetting>`)
	zipURL, root := e.awaitArchive("fogra")
	assert.Equal(t, "0", root.at("jobLogArray", "items")[0].text("fileWarningCount"))
	_, zipBytes := fetch(t, zipURL, "")
	tiff := unzip(t, zipBytes)["hero.tiff"]
	require.NotNil(t, tiff)
	assert.Equal(t, exact, tiffTag(t, tiff, 34675), "the embedded ICC profile is the registered one")
	assert.Equal(t, []byte{4, 0}, tiffTag(t, tiff, 277)[:2], "four samples per pixel: CMYK")
}

// tiffTag returns the raw value bytes of a tag of a little-endian TIFF's
// first IFD.
func tiffTag(t *testing.T, b []byte, tag int) []byte {
	t.Helper()
	require.Equal(t, "II*\x00", string(b[:4]), "libvips writes little-endian TIFF")
	u16 := func(o int) int { return int(b[o]) | int(b[o+1])<<8 }
	u32 := func(o int) int { return u16(o) | u16(o+2)<<16 }
	size := map[int]int{1: 1, 2: 1, 3: 2, 4: 4, 7: 1}
	ifd := u32(4)
	for i := range u16(ifd) {
		e := ifd + 2 + 12*i
		if u16(e) != tag {
			continue
		}
		n := size[u16(e+2)] * u32(e+4)
		if n <= 4 {
			return b[e+8 : e+8+n]
		}
		return b[u32(e+8) : u32(e+8)+n]
	}
	t.Fatalf("no tag %d", tag)
	return nil
}
