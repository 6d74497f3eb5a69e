package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"io"

	"github.com/ipsexport/ipsd/internal/catalog"
	"github.com/ipsexport/ipsd/internal/service"
	"github.com/ipsexport/ipsd/internal/store"
)

// The demo login printed by `make run`.
const (
	demoCompany  = "Demo"
	demoEmail    = "demo@example.com"
	demoPassword = "demo-password"
)

func cmdDemo(ctx context.Context, g *globals, args []string, stdout, stderr io.Writer) error {
	fs := subFlags("admin demo", g, stderr)
	ifNew := fs.Bool("if-new", false, "do nothing when the demo company exists")
	if err := fs.Parse(args); err != nil {
		return err
	}
	st, err := openStore(ctx, g)
	if err != nil {
		return err
	}
	defer st.Close()
	if co, err := st.CompanyByName(ctx, demoCompany); err == nil {
		if !*ifNew {
			return fmt.Errorf("company %q exists already (%s)", demoCompany, co.Handle)
		}
		printDemoLogin(stdout, co.Handle)
		return nil
	} else if !errors.Is(err, store.ErrNotFound) {
		return err
	}
	co, err := st.CreateCompany(ctx, demoCompany)
	if err != nil {
		return err
	}
	hash, err := service.HashPassword(demoPassword)
	if err != nil {
		return err
	}
	u, err := st.CreateUser(ctx, store.NewUser{Email: demoEmail, FirstName: "Demo", LastName: "User", Role: store.RoleIpsUser, PasswordHash: hash})
	if err != nil {
		return err
	}
	if err := st.AddMembership(ctx, u.Handle, co.Handle); err != nil {
		return err
	}
	bl, err := openBlob(g)
	if err != nil {
		return err
	}
	im := &catalog.Importer{Store: st, Blob: bl}
	for _, f := range demoImages() {
		a, err := im.Import(ctx, catalog.File{CompanyHandle: co.Handle, FolderPath: f.folder, FileName: f.name, CreatedBy: u.Handle, Body: bytes.NewReader(f.data)})
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%s\t%s\t%s\n", a.Handle, a.Name, a.Type)
	}
	for name, mod := range map[string]string{"thumb": "wid=200&hei=200&fmt=jpeg&qlt=85", "web": "wid=800&fmt=webp&qlt=80"} {
		if _, err := st.SaveImageFormat(ctx, store.ImageFormat{CompanyHandle: co.Handle, Name: name, URLModifier: mod}); err != nil {
			return err
		}
	}
	printDemoLogin(stdout, co.Handle)
	return nil
}

func printDemoLogin(w io.Writer, companyHandle string) {
	fmt.Fprintf(w, "demo login: user %s, password %s, company %q (%s)\n", demoEmail, demoPassword, demoCompany, companyHandle)
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
