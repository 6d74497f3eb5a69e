package jobs

import (
	"bytes"
	"context"
	"image"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ipsexport/ipsd/internal/catalog"
	"github.com/ipsexport/ipsd/internal/modifier"
	"github.com/ipsexport/ipsd/internal/store"
)

func strp(s string) *string { return &s }

// TestConversionResolutionOrder: a convert export renders, per asset, the
// asset's urlModifier, then the request's commands, then its
// urlPostApplyModifier (each later command winning), with the company's
// defaults where all of them leave a command open; all of it resolved at
// submit, so later edits of the asset or the company change nothing of the
// job. An asset whose stored modifiers no longer parse fails alone.
func TestConversionResolutionOrder(t *testing.T) {
	ctx := context.Background()
	env := newWorkerEnv(t)
	_, err := catalog.SetCompanyDefaults(ctx, env.st, env.co.Handle, catalog.DefaultsChange{
		JpegQuality: strp("85"), BkgColor: strp("ff0000"), ResMode: strp("bilin"),
		IccProfileRgb: strp("AdobeRGB"), DefaultPix: strp("100,50"),
	})
	require.NoError(t, err)
	_, err = env.st.SaveImageFormat(ctx, store.ImageFormat{CompanyHandle: env.co.Handle, Name: "tall", URLModifier: "hei=7"})
	require.NoError(t, err)

	a := env.importFile(t, "a.png", solidPNG(t, 8, 6))
	b := env.importFile(t, "b.png", solidPNG(t, 8, 6))
	c := env.importFile(t, "c.png", solidPNG(t, 8, 6))
	d := env.importFile(t, "d.png", solidPNG(t, 8, 6))
	// Catalogue first: its fmt and wid lose to the request's, its qlt stays
	// (the request has none) and wins over the company's; the post modifier,
	// through a macro, comes last.
	_, err = env.st.SetURLModifiers(ctx, env.co.Handle, a.Handle, "fmt=png&wid=10&qlt=60", "$tall$&op_invert=1")
	require.NoError(t, err)
	// The post modifier's fmt wins over the request's: b gets its own format
	// and so its own extension.
	_, err = env.st.SetURLModifiers(ctx, env.co.Handle, b.Handle, "", "fmt=png")
	require.NoError(t, err)
	// Stored unchecked (a macro deleted since, say): d alone fails.
	_, err = env.st.SetURLModifiers(ctx, env.co.Handle, d.Handle, "$gone$", "")
	require.NoError(t, err)

	j := env.submit(t, "fmt=jpeg&wid=20", a, b, c, d)

	// Edits after the submit change nothing of the job.
	_, err = env.st.SetURLModifiers(ctx, env.co.Handle, a.Handle, "", "fmt=png&qlt=5")
	require.NoError(t, err)
	_, err = catalog.SetCompanyDefaults(ctx, env.st, env.co.Handle, catalog.DefaultsChange{JpegQuality: strp("10"), DefaultPix: strp("")})
	require.NoError(t, err)
	_, err = env.st.SaveImageFormat(ctx, store.ImageFormat{CompanyHandle: env.co.Handle, Name: "tall", URLModifier: "hei=99"})
	require.NoError(t, err)

	env.work(t, j, 0, 4)
	got := env.job(t, j.Handle)
	assert.Equal(t, store.JobCompleted, got.State)
	assert.Equal(t, []int{3, 1}, []int{got.Succeeded, got.Errors})
	rows := env.logged(t, j)
	require.Len(t, rows, 4)
	assert.Equal(t, []string{"a.jpg", "b.png", "c.jpg", "d.jpg"},
		[]string{rows[0].OutputPath, rows[1].OutputPath, rows[2].OutputPath, rows[3].OutputPath})
	assert.Equal(t, store.OutcomeError, rows[3].Outcome)
	assert.Contains(t, rows[3].Message, "urlModifier")
	assert.Contains(t, rows[3].Message, "$gone$")

	reqs := env.renderer.requests
	require.Len(t, reqs, 3, "d is never rendered")
	ra, rb, rc := reqs[0], reqs[1], reqs[2]

	assert.Equal(t, "jpeg", ra.Format(), "the request's fmt over the urlModifier's")
	assert.Equal(t, 20, ra.Wid, "the request's wid over the urlModifier's")
	assert.Equal(t, 60, ra.Qlt, "the urlModifier's qlt over the company's")
	assert.Equal(t, 7, ra.Hei, "the post modifier's macro, as it was at submit")
	assert.True(t, ra.Invert, "the post modifier")
	require.NotNil(t, ra.Bgc)
	assert.Equal(t, [4]float64{255, 0, 0, 0}, ra.Bgc.V, "the company's background")
	assert.Equal(t, "bilin", ra.ResMode)
	require.NotNil(t, ra.ICC)
	assert.Equal(t, modifier.ICCSpec{Name: "AdobeRGB", Default: true}, *ra.ICC)

	assert.Equal(t, "png", rb.Format(), "the post modifier's fmt over the request's")
	assert.Equal(t, 20, rb.Wid)
	cfg, format, err := image.DecodeConfig(bytes.NewReader(env.output(t, j, "b.png")))
	require.NoError(t, err)
	assert.Equal(t, "png", format)
	assert.Positive(t, cfg.Width)

	assert.Equal(t, "jpeg", rc.Format(), "no stored modifier: the job's conversion")
	assert.Equal(t, 85, rc.Qlt, "the company's JpegQuality, as it was at submit")
	assert.Equal(t, [2]int{100, 50}, rc.DefaultPix, "the company's DefaultPix, as it was at submit")
	assert.False(t, rc.Invert)
}

// TestAssetConversionOnlyWhereNeeded: an asset with no stored modifier, a
// fmt=orig export and an unconverted type keep the job's conversion (no
// per-asset copy is stored).
func TestAssetConversionOnlyWhereNeeded(t *testing.T) {
	ctx := context.Background()
	env := newWorkerEnv(t)
	spec, err := ResolveConversion(ctx, env.st, env.co.Handle, ExportSpec{Fmt: "convert", IsModifier: "wid=5"})
	require.NoError(t, err)
	assert.Nil(t, spec.Conversion.Defaults, "a company without defaults")
	plain := &store.Asset{Type: "Image"}
	assert.Nil(t, AssetConversion(ctx, env.st, env.co.Handle, spec, plain))
	mod := &store.Asset{Type: "Image", URLModifier: "hei=3"}
	own := AssetConversion(ctx, env.st, env.co.Handle, spec, mod)
	require.NotNil(t, own)
	assert.Equal(t, "hei=3&wid=5", own.Modifier)
	video := &store.Asset{Type: "Video", URLModifier: "hei=3"}
	assert.Nil(t, AssetConversion(ctx, env.st, env.co.Handle, spec, video))
	orig, err := ResolveConversion(ctx, env.st, env.co.Handle, ExportSpec{Fmt: "orig"})
	require.NoError(t, err)
	assert.Nil(t, AssetConversion(ctx, env.st, env.co.Handle, orig, mod))
}
