package render

import (
	"fmt"
	"runtime"
	"strings"
)

// This file decodes and builds images with libvips for the package's tests
// (cgo is not available in _test.go files) and for diagnostics.

// decoded is an image decoded by libvips: its header, metadata and pixels.
type decoded struct {
	Loader        string
	Width, Height int
	Bands         int
	Interp        string // libvips interpretation: srgb, b-w, cmyk, …
	Format        string // band format: uchar, ushort, …
	HasAlpha      bool
	ICC           []byte
	XMP, EXIF     bool
	XRes, YRes    float64 // pixels per millimetre
	Pages         int
	Orientation   int

	p   *pipe
	img vimg
	pix []byte // uchar samples, for fast Pixel
}

// decode fully decodes data (random access) so pixels can be sampled.
// Close it when done. It locks the calling goroutine to its thread until
// Close, as Render does.
func decode(data []byte) (*decoded, error) {
	runtime.LockOSThread()
	p := &pipe{}
	fail := func(err error) (*decoded, error) {
		p.release()
		runtime.UnlockOSThread()
		return nil, err
	}
	loader := findLoader(data)
	if loader == "" {
		return fail(fmt.Errorf("decode: no libvips loader for %d bytes", len(data)))
	}
	x, err := p.load(loader, data, 1, 0, false)
	if err != nil {
		return fail(err)
	}
	d := &decoded{
		Loader:   strings.TrimSuffix(loader, "_buffer"),
		Width:    x.width(),
		Height:   x.height(),
		Bands:    x.bands(),
		Interp:   interpString(x),
		Format:   formatString(x),
		HasAlpha: x.hasAlpha(),
		ICC:      x.blobField("icc-profile-data"),
		XMP:      x.hasField("xmp-data"),
		EXIF:     x.hasField("exif-data"),
		XRes:     x.xres(),
		YRes:     x.yres(),
		p:        p,
		img:      x,
	}
	// Sample from memory: fast, and some loaders (jp2k in 8.14) fail when
	// asked for the same tile twice.
	if d.img, err = p.copyMemory(x); err != nil {
		return fail(err)
	}
	if d.Format == "uchar" {
		if d.pix, err = pixels(d.img); err != nil {
			return fail(err)
		}
	}
	d.Pages, _ = x.intField("n-pages")
	d.Orientation, _ = x.intField("orientation")
	return d, nil
}

// Field is a metadata field as a string ("" if absent).
func (d *decoded) Field(name string) string { return d.img.stringField(name) }

// Pixel returns the band values at (x, y).
func (d *decoded) Pixel(x, y int) []float64 {
	if d.pix != nil {
		if x < 0 || y < 0 || x >= d.Width || y >= d.Height {
			panic(fmt.Sprintf("pixel (%d,%d) outside %d×%d", x, y, d.Width, d.Height))
		}
		i := (y*d.Width + x) * d.Bands
		v := make([]float64, d.Bands)
		for b := range v {
			v[b] = float64(d.pix[i+b])
		}
		return v
	}
	v, err := getpoint(d.img, x, y)
	if err != nil {
		panic(err)
	}
	return v
}

func (d *decoded) Close() {
	d.p.release()
	threadShutdown()
	runtime.UnlockOSThread()
}

func interpString(x vimg) string {
	switch x.interp() {
	case interpBW:
		return "b-w"
	case interpSRGB:
		return "srgb"
	case interpRGB16:
		return "rgb16"
	case interpGrey16:
		return "grey16"
	case interpCMYK:
		return "cmyk"
	case interpLab:
		return "lab"
	}
	return fmt.Sprintf("interpretation-%d", int(x.interp()))
}

func formatString(x vimg) string {
	switch x.format() {
	case fmtUchar:
		return "uchar"
	case fmtUshort:
		return "ushort"
	}
	return fmt.Sprintf("format-%d", int(x.format()))
}

// rawImage describes pixels to encode with encodeImage.
type rawImage struct {
	W, H, Bands int
	Pix         []byte   // 8-bit samples, or
	Pix16       []uint16 // 16-bit samples
	Interp      string   // srgb, b-w, cmyk, rgb16, grey16
	// Pages stacks this many copies vertically as pages (multi-page TIFF,
	// animated GIF), each page's pixels shifted by PageDelta levels.
	Pages     int
	PageDelta int
	// Meta sets integer metadata (orientation, …) before saving.
	Meta map[string]int
	// ICC attaches a profile ("cmyk", "srgb" built-ins).
	ICC string
	// XMP attaches an XMP packet.
	XMP []byte
	// DPI sets the resolution (0: libvips' default of 1 pixel/mm).
	DPI float64
}

// encodeImage builds raw pixels into an image and saves it with a libvips
// saver ("jpegsave_buffer", …) and its options ("Q=90", …).
func encodeImage(raw rawImage, saver string, options ...string) ([]byte, error) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	defer threadShutdown()
	p := &pipe{}
	defer p.release()

	page := func(delta int) (vimg, error) {
		if raw.Pix16 != nil {
			px := make([]uint16, len(raw.Pix16))
			for i, v := range raw.Pix16 {
				px[i] = uint16(min(max(int(v)+delta*257, 0), 65535))
			}
			return p.fromUint16(px, raw.W, raw.H, raw.Bands)
		}
		px := make([]byte, len(raw.Pix))
		for i, v := range raw.Pix {
			px[i] = byte(min(max(int(v)+delta, 0), 255))
		}
		return p.fromBytes(px, raw.W, raw.H, raw.Bands)
	}
	x, err := page(0)
	if err != nil {
		return nil, err
	}
	pages := max(raw.Pages, 1)
	for i := 1; i < pages; i++ {
		y, err := page(i * raw.PageDelta)
		if err != nil {
			return nil, err
		}
		if x, err = p.op2("join", "in1", x, "in2", y, osv("direction", "vertical")); err != nil {
			return nil, err
		}
	}
	interp := raw.Interp
	if interp == "" {
		interp = "srgb"
	}
	copyOpts := []opt{osv("interpretation", interp)}
	if raw.DPI > 0 {
		copyOpts = append(copyOpts, of("xres", raw.DPI/25.4), of("yres", raw.DPI/25.4))
	}
	if x, err = p.op("copy", x, copyOpts...); err != nil {
		return nil, err
	}
	if pages > 1 || len(raw.Meta) > 0 || raw.ICC != "" || raw.XMP != nil {
		if x, err = p.stripMeta(x, false, false); err != nil {
			return nil, err
		}
		if pages > 1 {
			setInt(x, "page-height", raw.H)
		}
		for k, v := range raw.Meta {
			setInt(x, k, v)
		}
		if raw.XMP != nil {
			setBlob(x, "xmp-data", raw.XMP)
		}
		if raw.ICC != "" {
			prof, err := builtinProfile(raw.ICC)
			if err != nil {
				return nil, err
			}
			if x, err = p.setProfile(x, prof); err != nil {
				return nil, err
			}
		}
	}
	var opts []opt
	for _, o := range options {
		k, v, _ := strings.Cut(o, "=")
		opts = append(opts, opt{k, v})
	}
	return p.save(saver, x, opts...)
}
