package modifier

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseExportForOrder(t *testing.T) {
	r, err := ParseExportFor(Stored{URLModifier: "wid=10&qlt=60&fmt=png", URLPostApplyModifier: "fmt=tif&hei=4"},
		"wid=20&fmt=jpeg", "", nil)
	require.NoError(t, err)
	assert.Equal(t, 20, r.Wid, "request over urlModifier")
	assert.Equal(t, 60, r.Qlt, "urlModifier where the request is silent")
	assert.Equal(t, "tif", r.Format(), "urlPostApplyModifier over both")
	assert.Equal(t, 4, r.Hei)

	_, err = ParseExportFor(Stored{URLPostApplyModifier: "wid=1&bogus=2"}, "wid=3", "", nil)
	var pe *ParseError
	require.ErrorAs(t, err, &pe)
	assert.Equal(t, "urlPostApplyModifier", pe.Field)
	assert.Equal(t, 7, pe.Pos, "within the stored modifier")
	assert.Contains(t, pe.Error(), "of the asset's urlPostApplyModifier")

	r, err = ParseExportFor(Stored{URLModifier: "clipPath=M0,0"}, "wid=3", "", nil)
	require.NoError(t, err)
	require.Len(t, r.Warnings, 1)
	assert.Equal(t, "urlModifier", r.Warnings[0].Field)
	assert.Contains(t, r.Warnings[0].String(), "of the asset's urlModifier")

	same, err := ParseExportFor(Stored{}, "wid=3&fmt=png", "", nil)
	require.NoError(t, err)
	plain, err := ParseExport("wid=3&fmt=png", "", nil)
	require.NoError(t, err)
	assert.Equal(t, plain.Canonical(), same.Canonical())
}

func TestDefaults(t *testing.T) {
	d := Defaults{JpegQuality: " 85,1 ", BkgColor: "00ff00", ResMode: "bicub", IccProfileRgb: "AdobeRGB", IccProfileCmyk: "CoatedFogra39", DefaultPix: "800,0"}
	checked, err := d.Check()
	require.NoError(t, err)
	assert.Equal(t, "85,1", checked.JpegQuality)

	r, err := Parse("fmt=jpeg", nil)
	require.NoError(t, err)
	require.NoError(t, r.ApplyDefaults(checked))
	assert.Equal(t, 85, r.Qlt)
	assert.True(t, r.Chroma)
	require.NotNil(t, r.Bgc)
	assert.Equal(t, 255.0, r.Bgc.V[1])
	assert.Equal(t, "bicub", r.ResMode)
	assert.Equal(t, &ICCSpec{Name: "AdobeRGB", Default: true}, r.ICC)
	assert.Equal(t, [2]int{800, 0}, r.DefaultPix)

	// What the request says stays; the CMYK profile goes to CMYK output.
	r, err = Parse("fmt=jpeg,cmyk&qlt=50&bgc=000000&resMode=sharp2", nil)
	require.NoError(t, err)
	require.NoError(t, r.ApplyDefaults(checked))
	assert.Equal(t, 50, r.Qlt)
	assert.False(t, r.Chroma)
	assert.Equal(t, 0.0, r.Bgc.V[1])
	assert.Equal(t, "sharp2", r.ResMode)
	assert.Equal(t, &ICCSpec{Name: "CoatedFogra39", Default: true}, r.ICC)

	r, err = Parse("fmt=png&icc=sRGB", nil)
	require.NoError(t, err)
	require.NoError(t, r.ApplyDefaults(checked))
	assert.Equal(t, "sRGB", r.ICC.Name)
	assert.False(t, r.ICC.Default, "icc= wins")

	for _, bad := range []Defaults{
		{JpegQuality: "0"}, {JpegQuality: "85&src=x"}, {BkgColor: "nocolour"}, {ResMode: "nearest"},
		{IccProfileRgb: "a,relative"}, {DefaultPix: "800"}, {DefaultPix: "-1,5"}, {DefaultPix: "a,b"},
	} {
		_, err := bad.Check()
		assert.Error(t, err, "%+v", bad)
	}
	assert.True(t, Defaults{}.IsZero())
}
