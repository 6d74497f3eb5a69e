package modifier

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// referenceIndex is the command list of the reference's command index,
// kept in testdata.
func referenceIndex(t *testing.T) []string {
	b, err := os.ReadFile(filepath.Join("testdata", "reference-commands.txt"))
	require.NoError(t, err)
	var names []string
	for _, line := range strings.Split(string(b), "\n") {
		if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "#") {
			names = append(names, line)
		}
	}
	return names
}

func TestCommandTableCoversTheReference(t *testing.T) {
	names := referenceIndex(t)
	require.Len(t, names, 79, "the reference's index lists 79 commands")
	for _, name := range names {
		c := lookupCommand(name)
		if assert.NotNil(t, c, name) {
			assert.Equal(t, name, c.name, "spelling")
			assert.NotEmpty(t, c.note, name)
		}
	}
}

func TestCommandStatusesBehave(t *testing.T) {
	for _, c := range commandTable {
		if c.parse != nil {
			continue
		}
		_, err := Parse(c.name+"=1", nil)
		switch c.status {
		case rejected:
			var pe *ParseError
			if assert.ErrorAs(t, err, &pe, c.name) {
				assert.True(t, pe.Rejected, c.name)
			}
		case warned:
			r, err := Parse(c.name+"=1", nil)
			require.NoError(t, err, c.name)
			require.Len(t, r.Warnings, 1, c.name)
			assert.Equal(t, c.name, r.Warnings[0].Command)
		case noEffect, rendered:
			r, err := Parse(c.name+"=1", nil)
			require.NoError(t, err, c.name)
			assert.Empty(t, r.Warnings, c.name)
		}
	}
}

// TestCommandsDoc keeps COMMANDS.md in step with the command table.
// Regenerate with: UPDATE_COMMANDS_MD=1 go test -run TestCommandsDoc ./internal/modifier/
func TestCommandsDoc(t *testing.T) {
	want := commandsMarkdown()
	update := os.Getenv("UPDATE_COMMANDS_MD") != ""
	if update {
		require.NoError(t, os.WriteFile("COMMANDS.md", []byte(want), 0o644))
	}
	got, err := os.ReadFile("COMMANDS.md")
	require.NoError(t, err)
	assert.Equal(t, want, string(got), "COMMANDS.md is stale: UPDATE_COMMANDS_MD=1 go test -run TestCommandsDoc ./internal/modifier/")

	// The README lists every command by status, between two markers.
	const begin, end = "<!-- commands:begin -->\n", "<!-- commands:end -->"
	readme, err := os.ReadFile("../../README.md")
	require.NoError(t, err)
	i, j := strings.Index(string(readme), begin), strings.Index(string(readme), end)
	require.True(t, i >= 0 && j > i, "README.md has no commands markers")
	section := commandsReadme()
	if update {
		readme = []byte(string(readme[:i+len(begin)]) + section + string(readme[j:]))
		require.NoError(t, os.WriteFile("../../README.md", readme, 0o644))
		j = strings.Index(string(readme), end)
	}
	assert.Equal(t, section, string(readme[i+len(begin):j]), "README.md's command list is stale: UPDATE_COMMANDS_MD=1 go test -run TestCommandsDoc ./internal/modifier/")
}

// commandsReadme lists the commands by status, for the README.
func commandsReadme() string {
	byStatus := map[status][]string{}
	for _, c := range commandTable {
		byStatus[c.status] = append(byStatus[c.status], "`"+c.name+"`")
	}
	var b strings.Builder
	for _, st := range []struct {
		s     status
		label string
	}{
		{rendered, "Rendered"},
		{noEffect, "Accepted, no effect on an export (delivery, caching, other layers)"},
		{warned, "Accepted with a per-asset warning, not rendered"},
		{rejected, "Rejected (30001 at submitJob)"},
	} {
		names := byStatus[st.s]
		sort.Slice(names, func(i, j int) bool { return strings.ToLower(names[i]) < strings.ToLower(names[j]) })
		fmt.Fprintf(&b, "- **%s** (%d): %s\n", st.label, len(names), strings.Join(names, ", "))
	}
	return b.String()
}

func commandsMarkdown() string {
	var b strings.Builder
	count := map[status]int{}
	for _, c := range commandTable {
		count[c.status]++
	}
	b.WriteString(`# Image Serving commands in the export renderer

Generated from the command table in ` + "`commands.go`" + ` by ` + "`TestCommandsDoc`" + `
(` + "`UPDATE_COMMANDS_MD=1 go test -run TestCommandsDoc ./internal/modifier/`" + `).
Every command of the reference's command index
(` + "`reference/is-protocol/c-command-reference/`" + `) is listed, with the variants its page
defines (` + "`cropN`, `extendN`" + ` …).

- **rendered** – the output follows the command's reference page.
- **rendered (no effect on an export)** – valid, validated, and without effect on a
  single-image export (delivery, caching, other layers), so doing nothing is faithful.
- **accepted with a warning** – a real IS command that is not rendered: ` + "`Parse`" + ` accepts it
  and ` + "`Request.Warnings`" + ` names it (the export's per-asset warning).
- **rejected** – a real IS command whose omission would give a very different picture:
  ` + "`Parse`" + ` returns a ` + "`*ParseError`" + ` with ` + "`Rejected`" + ` set.

An unknown name is a ` + "`*ParseError`" + ` (` + "`unknown command`" + `), as is a malformed value.
Some rendered commands warn for particular values (e.g. ` + "`pscan=3`" + `,
` + "`quantize=mac`" + `, ` + "`resMode=sharp`" + `, an ` + "`icc=`" + ` name that is not registered); the notes say which.

`)
	fmt.Fprintf(&b, "%d entries: %d rendered, %d rendered with no effect on an export, %d accepted with a warning, %d rejected.\n\n",
		len(commandTable), count[rendered], count[noEffect], count[warned], count[rejected])
	b.WriteString("| command | status | note |\n|---|---|---|\n")
	rows := append([]command(nil), commandTable...)
	sort.SliceStable(rows, func(i, j int) bool { return strings.ToLower(rows[i].name) < strings.ToLower(rows[j].name) })
	for _, c := range rows {
		fmt.Fprintf(&b, "| `%s` | %s | %s |\n", c.name, c.status, strings.ReplaceAll(c.note, "|", "\\|"))
	}
	b.WriteString(commandsDecisions)
	return b.String()
}

const commandsDecisions = `
## Formats (` + "`fmt=`" + `)

| fmt | written as | extension | notes |
|---|---|---|---|
| ` + "`jpeg`, `jpg`, `pjpeg`" + ` | JPEG (progressive for pjpeg), rgb/gray/cmyk | .jpg | qlt (default 80), chroma flag (0 = 4:2:0 always, 1 = 4:4:4), jpegSize |
| ` + "`png`, `png-alpha`" + ` | 8-bit PNG, rgb/gray | .png | |
| ` + "`png8`, `png8-alpha`" + ` | palette PNG (tRNS for -alpha) | .png | quantize |
| ` + "`gif`, `gif-alpha`" + ` | GIF, key-colour transparency for -alpha | .gif | quantize |
| ` + "`tif`, `tif-alpha`" + ` | TIFF rgb/gray/cmyk; compression none, lzw, zip, jpeg (not for -alpha) | .tiff | |
| ` + "`webp`, `webp-alpha`" + ` | WebP lossy or lossless | .webp | |
| ` + "`avif`, `avif-alpha`" + ` | AVIF (libheif, AV1), lossy or lossless, 8-bit | .avif | |
| ` + "`heic`" + ` | lossless HEIC (libheif, HEVC) | .heic | |
| ` + "`jpeg2000`, `jpeg2000-alpha`" + ` | JPEG 2000, lossy or lossless, rgb/gray | .jp2 | |
| ` + "`pdf`" + ` | one-page PDF (fpdf), the page the image at its print resolution; compression none and zip: Flate (lossless), jpeg: DCT at qlt; rgb/gray/cmyk | .pdf | cmyk without jpeg compression: JPEG at quality 100 with a warning; iccEmbed: an RGB profile as the output intent |
| ` + "`eps`" + ` | EPSF-3.0 (our writer), bounding box the image at its print resolution; image data Flate + ASCII85 (lossless, 7-bit); rgb/gray/cmyk | .eps | iccEmbed: an ICCBased colour space |
| ` + "`swf*`, `jpegxr*`, `f4m`, `m3u8`" + ` | not written | | parse; each asset fails with ` + "`ErrUnsupportedFormat`" + ` naming the format |

## Decisions where the reference is silent

- No ` + "`wid`/`hei`/`scl`/`size`" + `: full source size (docs/rendering.md, "Defaults"; no DefaultPix). Defaults: qlt 80,
  bgc FFFFFF, resMode sharp2, fmt jpeg,rgb.
- ` + "`wid`+`hei`" + ` without ` + "`fit=`" + ` enlarge; ` + "`fit=mode`" + ` without the upscale flag does not
  (the page's default ` + "`fit=fit,0`" + `). ` + "`size=`" + ` never enlarges ("no larger than").
- Order: crop → size/scale → opac → color → rotate → extend → bgColor (layer 0); flip after
  extend (r-flip.md for layer=comp); op_blur, op_brightness/op_contrast, op_colorize,
  op_saturation/op_hue, op_colorbalance, op_invert, op_noise on the composite; then rgn,
  wid/hei/scl/fit/align, rect; then op_sharpen, op_usm, op_usmR; then alpha flattening on bgc,
  the output pixel type or icc= profile, metadata, encoding.
- EXIF orientation is applied (the reference is silent; uploads to Scene7 were normalised).
- PDF, Illustrator and PostScript sources: the first page, rasterised at 150 dpi
  (` + "`--rasterize-dpi`" + `; the reference gives no default); a source with more pages converts with a warning.
- Colour: sources are converted to sRGB through their embedded profile (perceptual intent,
  black-point compensation: Adobe's template values); CMYK without a profile through libvips'
  built-in CMYK profile; gray stays gray until an RGB operation or the output needs RGB.
  16-bit sources are reduced to 8 bits ("8 bits per pixel component are returned").
- Metadata: EXIF, IPTC and XMP are dropped; the output profile only with ` + "`iccEmbed=1`" + ` (JPEG,
  PNG, TIFF, EPS; PDF for RGB); XMP only with ` + "`xmpEmbed=1`" + ` (JPEG, TIFF); the print resolution is the source's
  (libvips reads 72 dpi when a file has none) unless ` + "`printRes=`" + ` sets it.
- Rounding of a free side: half up. Enum values are case-insensitive. ` + "`+`" + ` is not a space.
- ` + "`op_*`" + ` formulas are not documented: the notes give the ones used (uncalibrated).
- PDF and multi-page sources render their first page (PDF at 72 dpi, through poppler).
`
