package app

import (
	"bytes"
	"context"
	"encoding/json"
	"image"
	"image/color"
	_ "image/jpeg"
	"image/png"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ipsexport/ipsd/internal/catalog"
	"github.com/ipsexport/ipsd/internal/store"
)

// halfClearPNG is w×h, its left half opaque black, its right half
// transparent.
func halfClearPNG(t *testing.T, w, h int) []byte {
	t.Helper()
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w / 2 {
			img.SetNRGBA(x, y, color.NRGBA{0, 0, 0, 255})
		}
	}
	var b bytes.Buffer
	require.NoError(t, png.Encode(&b, img))
	return b.Bytes()
}

// jpegQuantTables returns the values of a JPEG's quantisation tables.
func jpegQuantTables(t *testing.T, b []byte) []int {
	t.Helper()
	var out []int
	for i := 2; i+4 <= len(b); {
		require.Equal(t, byte(0xFF), b[i], "marker at %d", i)
		m, n := b[i+1], int(b[i+2])<<8|int(b[i+3])
		if m == 0xDA {
			break // the scan: no tables after it here
		}
		if m == 0xDB {
			seg := b[i+4 : i+2+n]
			for len(seg) > 0 {
				precise := seg[0]>>4 == 1
				seg = seg[1:]
				for k := 0; k < 64; k++ {
					if precise {
						out = append(out, int(seg[0])<<8|int(seg[1]))
						seg = seg[2:]
					} else {
						out = append(out, int(seg[0]))
						seg = seg[1:]
					}
				}
			}
		}
		i += 2 + n
	}
	require.NotEmpty(t, out, "no DQT")
	return out
}

func rgbAt(img image.Image, x, y int) [3]int {
	r, g, b, _ := img.At(x, y).RGBA()
	return [3]int{int(r >> 8), int(g >> 8), int(b >> 8)}
}

func near(t *testing.T, want, got [3]int, msg string) {
	t.Helper()
	for i := range want {
		d := want[i] - got[i]
		if d < -12 || d > 12 {
			t.Errorf("%s: want about %v, got %v", msg, want, got)
			return
		}
	}
}

// TestStoredModifiersAndCompanyDefaults, through the real server: a
// client stores an asset's urlModifier and urlPostApplyModifier with
// setUrlModifier (and reads them back in getAssets' imageInfo); the
// company's Image Serving defaults are set as `ipsd admin company
// set-defaults` sets them; a convert export applies the urlModifier before
// the request's commands, the post modifier after them, and the company's
// JPEG quality, background and DefaultPix where all of them are silent.
func TestStoredModifiersAndCompanyDefaults(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, "")
	acme := e.acme.Handle
	im := &catalog.Importer{Store: e.app.Store, Blob: e.app.Blob}
	mk := func(name string) store.Asset {
		a, err := im.Import(ctx, catalog.File{CompanyHandle: acme, FileName: name, Body: bytes.NewReader(halfClearPNG(t, 40, 20))})
		require.NoError(t, err)
		return a
	}
	withMods, plain, postFmt := mk("mods.png"), mk("plain.png"), mk("post.png")

	q := func(s string) *string { return &s }
	_, err := catalog.SetCompanyDefaults(ctx, e.app.Store, acme, catalog.DefaultsChange{
		JpegQuality: q("100"), BkgColor: q("ff0000"), DefaultPix: q("20,0"),
	})
	require.NoError(t, err)

	setMods := func(user, handle, mod, post string) (int, string) {
		status, _, resp := e.call(user, `<setUrlModifierParam xmlns="`+ns14+`"><companyHandle>`+acme+`</companyHandle><assetHandle>`+handle+
			`</assetHandle><urlModifier>`+mod+`</urlModifier><urlPostApplyModifier>`+post+`</urlPostApplyModifier></setUrlModifierParam>`)
		return status, resp
	}
	status, resp := setMods("alice@acme.test", withMods.Handle, "fmt=png&amp;wid=30", " op_invert=1&amp; ")
	require.Equal(t, 200, status, resp)
	assert.Contains(t, resp, "setUrlModifierReturn")
	status, resp = setMods("alice@acme.test", postFmt.Handle, "", "fmt=png")
	require.Equal(t, 200, status, resp)

	t.Run("faults", func(t *testing.T) {
		status, resp := setMods("alice@acme.test", withMods.Handle, "wid=abc", "")
		assert.Equal(t, 500, status)
		assert.Contains(t, resp, "<code>30001</code>")
		assert.Contains(t, resp, "urlModifier")
		status, resp = setMods("alice@acme.test", withMods.Handle, "", "src=elsewhere")
		assert.Equal(t, 500, status)
		assert.Contains(t, resp, "urlPostApplyModifier")
		status, resp = setMods("alice@acme.test", e.globexAsset.Handle, "wid=1", "")
		assert.Equal(t, 500, status, "another company's asset is not found")
		assert.Contains(t, resp, "no such asset")
		status, resp = setMods("viewer@acme.test", withMods.Handle, "wid=1", "")
		assert.Equal(t, 500, status)
		assert.Contains(t, resp, "<code>20003</code>", "ImagePortalUser may not")
	})

	// Returned where the asset types carry them: imageInfo.
	_, root, resp := e.call("alice@acme.test", `<getAssetsParam xmlns="`+ns14+`"><companyHandle>`+acme+`</companyHandle><assetHandleArray><items>`+
		withMods.Handle+`</items><items>`+plain.Handle+`</items></assetHandleArray></getAssetsParam>`)
	items := root.at("assetArray", "items")
	require.Len(t, items, 2, resp)
	assert.Equal(t, "fmt=png&wid=30", items[0].text("imageInfo", "urlModifier"), "stored trimmed")
	assert.Equal(t, "op_invert=1", items[0].text("imageInfo", "urlPostApplyModifier"))
	assert.Empty(t, items[1].at("imageInfo", "urlModifier"), "none stored, none written")

	e.submit("mods", []string{withMods.Handle, plain.Handle, postFmt.Handle},
		`<fmt>convert</fmt><is_modifier>fmt=jpeg</is_modifier><emailSetting>None</emailSetting>`)
	zipURL, _ := e.awaitArchive("mods")
	_, zipBytes := fetch(t, zipURL, "")
	files := unzip(t, zipBytes)

	// mods: the request's fmt=jpeg over the urlModifier's png; its wid=30
	// (so DefaultPix does not apply); inverted after; the company's red
	// background under the transparent half, at the company's quality 100.
	out, ok := files["mods.jpg"]
	require.True(t, ok, "%v", keys(files))
	img, format, err := image.Decode(bytes.NewReader(out))
	require.NoError(t, err)
	assert.Equal(t, "jpeg", format)
	assert.Equal(t, image.Pt(30, 15), img.Bounds().Size())
	near(t, [3]int{255, 255, 255}, rgbAt(img, 3, 7), "black inverted by the post modifier")
	near(t, [3]int{255, 0, 0}, rgbAt(img, 26, 7), "the company's background")
	for _, v := range jpegQuantTables(t, out) {
		require.Equal(t, 1, v, "quality 100: every quantiser is 1")
	}

	// plain: the job's conversion with the company's defaults: DefaultPix
	// 20 wide.
	img, format, err = image.Decode(bytes.NewReader(files["plain.jpg"]))
	require.NoError(t, err)
	assert.Equal(t, "jpeg", format)
	assert.Equal(t, image.Pt(20, 10), img.Bounds().Size())
	near(t, [3]int{0, 0, 0}, rgbAt(img, 2, 5), "not inverted")
	near(t, [3]int{255, 0, 0}, rgbAt(img, 17, 5), "the company's background")

	// post: the post modifier's fmt=png over the request's: its own name.
	img, format, err = image.Decode(bytes.NewReader(files["post.png"]))
	require.NoError(t, err, "%v", keys(files))
	assert.Equal(t, "png", format)
	assert.Equal(t, image.Pt(20, 10), img.Bounds().Size())
	near(t, [3]int{255, 0, 0}, rgbAt(img, 17, 5), "flattened onto the company's background")
}

// TestInteropSetUrlModifier: PHP's SoapClient, in WSDL mode, stores an
// asset's modifiers with setUrlModifier in the 4.0-and-later versions
// that declare it (its empty answer parsed), reads them back from
// getAssets' imageInfo, and gets a refused modifier as a SoapFault.
func TestInteropSetUrlModifier(t *testing.T) {
	if testing.Short() {
		t.Skip("starts PHP")
	}
	e := newEnv(t, "")
	hero := e.assets["/hero.png"]
	script := filepath.Join(repoRoot(t), "testdata", "interop", "php_urlmodifier.php")
	for _, name := range []string{"2012-02-14", "2014-04-03", "2023-01-15"} {
		t.Run(name, func(t *testing.T) {
			v := mustVersion(t, name)
			mod, post := "wid=40&fmt=png&$v="+name, "op_invert=1"
			out := runToolkit(t, time.Minute, "php", script, map[string]any{
				"wsdl": e.srv.URL + "/scene7/webservice/" + v.WSDLFile, "ns": v.Namespace,
				"user": "alice@acme.test", "password": password, "companyHandle": e.acme.Handle,
				"assetHandle": hero.Handle, "urlModifier": mod, "urlPostApplyModifier": post,
				"badModifier": "wid=-5",
			})
			var r struct {
				Functions            []string `json:"functions"`
				SetRequest           string   `json:"setRequest"`
				URLModifier          string   `json:"urlModifier"`
				URLPostApplyModifier string   `json:"urlPostApplyModifier"`
				Fault                *struct {
					Faultcode, Faultstring, Detail string
				} `json:"fault"`
			}
			require.NoError(t, json.Unmarshal(out, &r), string(out))
			require.NotEmpty(t, r.Functions, "the WSDL declares setUrlModifier (once per port)")
			assert.Contains(t, r.Functions[0], "setUrlModifierReturn setUrlModifier(setUrlModifierParam")
			assert.Contains(t, r.SetRequest, v.Namespace, "sent in the version's namespace")
			assert.Equal(t, mod, r.URLModifier, "read back from imageInfo")
			assert.Equal(t, post, r.URLPostApplyModifier)
			got, err := e.app.Store.AssetsByHandles(t.Context(), e.acme.Handle, []string{hero.Handle})
			require.NoError(t, err)
			require.Len(t, got, 1)
			assert.Equal(t, mod, got[0].URLModifier, "stored")
			if assert.NotNil(t, r.Fault, "wid=-5 is refused") {
				assert.Contains(t, r.Fault.Faultstring+r.Fault.Detail, "urlModifier")
				assert.Contains(t, r.Fault.Detail, "30001")
			}
		})
	}
}
