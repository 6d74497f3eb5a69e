package render

import (
	"context"
	"fmt"
	"math"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ipsexport/ipsd/internal/modifier"
)

// The identifiers and common names of the reference's two tables of
// standard profiles (Image Serving color management), as a client sends them.
var referenceICCNames = map[string][]string{
	"rgb": {
		"AdobeRGB", "AppleRGB", "CIERGB", "ColorMatchRGB", "NTSC", "PAL", "ProPhoto", "ProPhoto RGB", "SMPTE", "sRGB", "WideGamutRGB",
		"Adobe RGB (1998)", "Apple RGB", "CIE RGB", "ColorMatch RGB", "NTSC (1953)", "PAL/SECAM", "SMPTE-C",
		"sRGB IEC61966-2.1", "Wide Gamut RGB",
	},
	"cmyk": {
		"CoatedFogra27", "CoatedFogra39", "CoatedGraCol", "Coated GRACoL 2006 (ISO 12647-2:2004)", "EuropeISOCoated",
		"EuroscaleCoated", "Euroscale Coated v2", "EuroscaleUncoated", "JapanColorCoated", "JapanColorNewspaper",
		"JapanColorUncoated", "JapanColorWebCoated", "Japan Color 2003 Web Coated", "JapanWebCoated", "NewsprintSNAP2007",
		"US Newsprint (SNAP 2007)", "PS4Default", "PS5Default", "SheetfedCoated", "SheetfedUncoated", "UncoatedFogra29",
		"WebCoated", "WebCoatedFogra28", "WebCoatedGrade3", "Web Coated SWOP 2006 Grade 3 Paper", "WebCoatedGrade5",
		"Web Coated SWOP Grade 5 Paper", "WebUncoated",
		"Coated FOGRA27 (ISO 12647-2:2004)", "Coated FOGRA39 (ISO 12647-2:2004)", "Europe ISO Coated FOGRA27",
		"Euroscale Uncoated v2", "Japan Color 2001 Coated", "Japan Color 2002 Newspaper", "Japan Color 2001 Uncoated",
		"Japan Web Coated (Ad)", "Photoshop 4 Default CMYK", "Photoshop 5 Default CMYK", "U.S. Sheetfed Coated v2",
		"U.S. Sheetfed Uncoated v2", "Uncoated FOGRA29 (ISO 12647-2:2004)", "U.S. Web Coated (SWOP) v2",
		"Web Coated FOGRA28 (ISO 12647-2:2004)", "Web Coated SWOP 2006 Grade 5 Paper", "U.S. Web Uncoated v2",
	},
}

// iccParam spells a profile name as it arrives in a modifier string.
func iccParam(name string) string { return strings.ReplaceAll(url.PathEscape(name), ":", "%3A") }

func TestStandardICCNames(t *testing.T) {
	r := newTestRenderer(t)
	src := quadrantsPNG(t)
	for pt, names := range referenceICCNames {
		for _, name := range names {
			p := r.profile(name)
			require.NotNil(t, p, "icc=%s has a profile", name)
			assert.Equal(t, pt, p.pixelType, name)
			f := "jpeg"
			if pt == "cmyk" {
				f = "tif"
			}
			res := renderOK(t, src, "wid=20&iccEmbed=1&fmt="+f+"&icc="+iccParam(name))
			assert.Empty(t, res.Output.Warnings, name)
			assert.Equal(t, p.data, res.ICC, "%s: the mapped profile is embedded", name)
		}
	}
	t.Run("every table entry is reachable by its identifier", func(t *testing.T) {
		for _, s := range standardICCs {
			assert.NotNil(t, r.profile(s.names[0]), s.names[0])
			assert.Contains(t, referenceICCNames[s.pixelType], s.names[0])
		}
	})
}

// The deliverable: a CMYK TIFF through a standard name, decoded.
func TestCMYKTIFFThroughNamedProfile(t *testing.T) {
	want, err := os.ReadFile(filepath.Join(DefaultICCDir, artifexSWOP))
	require.NoError(t, err, "Ghostscript's profiles (libgs-common) are installed by the Makefile")
	res := renderOK(t, quadrantsPNG(t), "fmt=tif,,lzw&icc=CoatedFogra39&iccEmbed=1")
	assert.Equal(t, "tiffload", res.Loader)
	assert.Equal(t, "cmyk", res.Interp)
	assert.Equal(t, 4, res.Bands)
	assert.Equal(t, want, res.ICC, "the embedded profile is the mapped one")
	_, desc, err := iccInfo(res.ICC)
	require.NoError(t, err)
	assert.Equal(t, "Artifex CMYK SWOP Profile", desc)
	c := res.Pixel(20, 20) // red: magenta and yellow, little cyan
	assert.Greater(t, c[1], 180.0, "%v", c)
	assert.Greater(t, c[2], 180.0, "%v", c)
	assert.Less(t, c[0], 60.0, "%v", c)
	w := res.Pixel(180, 80) // white: no ink
	assert.Equal(t, []float64{0, 0, 0, 0}, w)
}

// The generated matrix profiles are checked against profiles of the same
// spaces that Debian ships: the math that builds AppleRGB, ColorMatch …
// builds these too.
func TestGeneratedProfilesMatchShippedOnes(t *testing.T) {
	adobe := rgbSpace{desc: "Adobe RGB (1998)", white: whiteD65, r: [2]float64{0.64, 0.33}, g: [2]float64{0.21, 0.71}, b: [2]float64{0.15, 0.06}, gammaU8Fixed8: gamma22}
	prophoto := *standardICCs[6].space
	require.Equal(t, "ProPhoto RGB", prophoto.desc)
	romm, err := os.ReadFile(filepath.Join(DefaultICCDir, "ghostscript/rommrgb.icc"))
	require.NoError(t, err)
	reg, err := New(Config{ICCProfileData: map[string][]byte{"GenAdobe": matrixProfile(adobe), "ROMM": romm}})
	require.NoError(t, err)
	src := gradientPNG(t, 64, 64)
	render := func(mod string) *decoded {
		req, err := modifier.Parse(mod, nil)
		require.NoError(t, err)
		out, err := reg.Render(context.Background(), src, req)
		require.NoError(t, err)
		d, err := decode(out.Data)
		require.NoError(t, err)
		t.Cleanup(d.Close)
		return d
	}
	for _, pair := range [][2]string{{"GenAdobe", "AdobeRGB"}, {"ProPhoto", "ROMM"}} {
		a, b := render("fmt=png&icc="+pair[0]), render("fmt=png&icc="+pair[1])
		worst := 0.0
		for y := 4; y < 64; y += 8 {
			for x := 4; x < 64; x += 8 {
				pa, pb := a.Pixel(x, y), b.Pixel(x, y)
				for i := range pa {
					worst = math.Max(worst, math.Abs(pa[i]-pb[i]))
				}
			}
		}
		t.Logf("%s against %s: largest difference %.0f levels", pair[0], pair[1], worst)
		assert.LessOrEqual(t, worst, 2.0, "%s against %s: largest difference in levels", pair[0], pair[1])
		// And the conversion did something: sRGB values change in these spaces.
		assert.NotEqual(t, render("fmt=png").Pixel(60, 4), a.Pixel(60, 4), pair[0])
	}
}

func TestRegisteredProfileReplacesStandardName(t *testing.T) {
	r := newTestRenderer(t)
	reg, err := New(Config{ICCProfileData: map[string][]byte{"coatedfogra39": r.cmyk}})
	require.NoError(t, err)
	for _, name := range []string{"CoatedFogra39", "Coated FOGRA39 (ISO 12647-2:2004)"} {
		p := reg.profile(name)
		require.NotNil(t, p, name)
		assert.Equal(t, r.cmyk, p.data, "%s follows the registered profile", name)
	}
	assert.NotEqual(t, r.cmyk, reg.profile("CoatedFogra27").data, "other names keep their mapping")
	req, err := modifier.Parse("fmt=tif&icc=Coated%20FOGRA39%20(ISO%2012647-2%3A2004)&iccEmbed=1", nil)
	require.NoError(t, err)
	out, err := reg.Render(context.Background(), quadrantsPNG(t), req)
	require.NoError(t, err)
	d, err := decode(out.Data)
	require.NoError(t, err)
	defer d.Close()
	assert.Equal(t, r.cmyk, d.ICC)
}

func TestStandardNamesWithoutProfileFiles(t *testing.T) {
	reg, err := New(Config{ICCDir: t.TempDir()})
	require.NoError(t, err)
	assert.Nil(t, reg.profile("CoatedFogra39"), "no file: the name stays unknown")
	assert.NotNil(t, reg.profile("AppleRGB"), "built-in definitions need no file")
	assert.NotNil(t, reg.profile("sRGB"))
	req, err := modifier.Parse("fmt=tif&icc=CoatedFogra39", nil)
	require.NoError(t, err)
	out, err := reg.Render(context.Background(), quadrantsPNG(t), req)
	require.NoError(t, err)
	require.Len(t, out.Warnings, 1)
	assert.Equal(t, "icc", out.Warnings[0].Command)
	assert.Contains(t, out.Warnings[0].Message, "CoatedFogra39")
}

func TestMatrixProfileHeader(t *testing.T) {
	for _, s := range standardICCs {
		if s.space == nil {
			continue
		}
		b := matrixProfile(*s.space)
		pt, desc, err := iccInfo(b)
		require.NoError(t, err, s.names[0])
		assert.Equal(t, "rgb", pt)
		assert.Equal(t, s.space.desc, desc)
		assert.Equal(t, len(b), int(uint32(b[0])<<24|uint32(b[1])<<16|uint32(b[2])<<8|uint32(b[3])), "declared size")
		assert.Equal(t, b, matrixProfile(*s.space), "deterministic")
	}
}

// TestICCNamesDoc keeps the README's table of standard profile names in
// step with standardICCs.
func TestICCNamesDoc(t *testing.T) {
	const begin, end = "<!-- icc:begin -->\n", "<!-- icc:end -->"
	var b strings.Builder
	b.WriteString("| `icc=` | also accepted | profile used | how close |\n|---|---|---|---|\n")
	for _, s := range standardICCs {
		var also []string
		for _, n := range s.names[1:] {
			also = append(also, "`"+n+"`")
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s | %s |\n", s.names[0], strings.Join(also, ", "), s.used, s.closeness)
	}
	section := b.String()
	readme, err := os.ReadFile("../../README.md")
	require.NoError(t, err)
	i, j := strings.Index(string(readme), begin), strings.Index(string(readme), end)
	require.True(t, i >= 0 && j > i, "README.md has no icc markers")
	if os.Getenv("UPDATE_COMMANDS_MD") != "" {
		readme = []byte(string(readme[:i+len(begin)]) + section + string(readme[j:]))
		require.NoError(t, os.WriteFile("../../README.md", readme, 0o644))
		j = strings.Index(string(readme), end)
	}
	assert.Equal(t, section, string(readme[i+len(begin):j]), "README.md's ICC table is stale: UPDATE_COMMANDS_MD=1 go test -run 'TestCommandsDoc|TestICCNamesDoc' ./internal/render/")
}
