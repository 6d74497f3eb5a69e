package app

import (
	"bytes"
	"context"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"

	"github.com/ipsexport/ipsd/internal/blob"
	"github.com/ipsexport/ipsd/internal/catalog"
	"github.com/ipsexport/ipsd/internal/service"
	"github.com/ipsexport/ipsd/internal/store"
)

// The demo login that `ipsd admin demo` seeds and `make run` prints. The
// SoapUI project under testdata/soapui uses it as its defaults.
const (
	DemoCompany  = "Demo"
	DemoEmail    = "demo@example.com"
	DemoPassword = "demo-password"
)

// SeedDemo creates the demo company, its user (an IpsUser with the demo
// login), three drawn images ("sunrise.jpg", "products/shoe.png",
// "products/red/shoe.jpg") and two image formats ("thumb", "web"). Each
// imported asset is passed to imported when it is not nil. The caller checks
// first that the company does not exist.
func SeedDemo(ctx context.Context, st store.Store, files blob.Store, imported func(store.Asset)) (store.Company, error) {
	co, err := st.CreateCompany(ctx, DemoCompany)
	if err != nil {
		return store.Company{}, err
	}
	hash, err := service.HashPassword(DemoPassword)
	if err != nil {
		return store.Company{}, err
	}
	u, err := st.CreateUser(ctx, store.NewUser{Email: DemoEmail, FirstName: "Demo", LastName: "User", Role: store.RoleIpsUser, PasswordHash: hash})
	if err != nil {
		return store.Company{}, err
	}
	if err := st.AddMembership(ctx, u.Handle, co.Handle); err != nil {
		return store.Company{}, err
	}
	im := &catalog.Importer{Store: st, Blob: files}
	for _, f := range demoImages() {
		a, err := im.Import(ctx, catalog.File{CompanyHandle: co.Handle, FolderPath: f.folder, FileName: f.name, CreatedBy: u.Handle, Body: bytes.NewReader(f.data)})
		if err != nil {
			return store.Company{}, err
		}
		if imported != nil {
			imported(a)
		}
	}
	for name, mod := range map[string]string{"thumb": "wid=200&hei=200&fmt=jpeg&qlt=85", "web": "wid=800&fmt=webp&qlt=80"} {
		if _, err := st.SaveImageFormat(ctx, store.ImageFormat{CompanyHandle: co.Handle, Name: name, URLModifier: mod}); err != nil {
			return store.Company{}, err
		}
	}
	return co, nil
}

type demoFile struct {
	folder, name string
	data         []byte
}

// demoImages draws a few images, so the demo needs no files of its own.
func demoImages() []demoFile {
	gradient := func(w, h int, alpha bool) image.Image {
		img := image.NewNRGBA(image.Rect(0, 0, w, h))
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				a := uint8(255)
				if alpha {
					a = uint8(255 * x / w)
				}
				img.SetNRGBA(x, y, color.NRGBA{uint8(255 * x / w), uint8(255 * y / h), 160, a})
			}
		}
		return img
	}
	enc := func(img image.Image, asPNG bool) []byte {
		var b bytes.Buffer
		if asPNG {
			_ = png.Encode(&b, img)
		} else {
			_ = jpeg.Encode(&b, img, &jpeg.Options{Quality: 90})
		}
		return b.Bytes()
	}
	return []demoFile{
		{"", "sunrise.jpg", enc(gradient(1600, 1000, false), false)},
		{"products", "shoe.png", enc(gradient(800, 800, true), true)},
		{"products/red", "shoe.jpg", enc(gradient(1200, 900, false), false)},
	}
}
