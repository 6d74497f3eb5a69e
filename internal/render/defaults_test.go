package render

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ipsexport/ipsd/internal/modifier"
)

// renderWithDefaults renders src with mod and a company's defaults.
func renderWithDefaults(t *testing.T, src []byte, mod string, d modifier.Defaults) result {
	t.Helper()
	req, err := modifier.Parse(mod, nil)
	require.NoError(t, err)
	require.NoError(t, req.ApplyDefaults(d))
	out, err := newTestRenderer(t).Render(context.Background(), src, req)
	require.NoError(t, err)
	dec, err := decode(out.Data)
	require.NoError(t, err)
	t.Cleanup(dec.Close)
	return result{out, dec}
}

// The company's default ICC profiles: the CMYK one converts and is
// embedded for CMYK output without icc=; one of the wrong pixel type is
// passed over with a warning; icc= of the request wins.
func TestCompanyDefaultProfiles(t *testing.T) {
	swop, err := os.ReadFile(filepath.Join(DefaultICCDir, artifexSWOP))
	require.NoError(t, err)
	d := modifier.Defaults{IccProfileCmyk: "CoatedFogra39", IccProfileRgb: "CoatedFogra39"}

	res := renderWithDefaults(t, quadrantsPNG(t), "fmt=tif,cmyk&iccEmbed=1", d)
	assert.Equal(t, "cmyk", res.Interp)
	assert.Equal(t, swop, res.ICC, "the company's CMYK profile, embedded")
	assert.Empty(t, res.Warnings)

	res = renderWithDefaults(t, quadrantsPNG(t), "fmt=png&iccEmbed=1", d)
	assert.Equal(t, 3, res.Bands, "RGB output stays RGB")
	require.Len(t, res.Warnings, 1)
	assert.True(t, strings.Contains(res.Warnings[0].Message, "is a cmyk profile"), res.Warnings[0].Message)
	assert.NotEqual(t, swop, res.ICC)

	res = renderWithDefaults(t, quadrantsPNG(t), "fmt=png&icc=sRGB", modifier.Defaults{IccProfileRgb: "AdobeRGB"})
	assert.Empty(t, res.Warnings, "icc= of the request, not the default")

	res = renderWithDefaults(t, quadrantsPNG(t), "fmt=png", modifier.Defaults{IccProfileRgb: "NoSuchProfile"})
	require.Len(t, res.Warnings, 1)
	assert.Contains(t, res.Warnings[0].Message, "the company's default")
}
