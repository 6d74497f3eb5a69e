package render

import (
	"bytes"
	"context"
	"fmt"
	"image"
	_ "image/gif"  // DecodeConfig reads their headers
	_ "image/jpeg" // (see load)
	_ "image/png"
	"math"
	"math/rand/v2"
	"strings"

	"github.com/ipsexport/ipsd/internal/modifier"
)

// job renders one asset. Every step adds libvips operations to one lazy
// image graph; pixels are decoded once, when the encoder pulls them.
//
// Order (docs/rendering.md, "Order", with the reference pages as authority):
// layer 0: crop → size/scale → opac → color → rotate → extend → bgColor;
// composite (layer=comp): flip (after extend, r-flip.md) → op_blur →
// op_brightness/op_contrast → op_colorize → op_saturation/op_hue →
// op_colorbalance → op_invert → op_noise; view: rgn → wid/hei/scl/fit/align
// → rect → op_sharpen/op_usm/op_usmR; then alpha (flatten on bgc), output
// colour (fmt pixel type or icc=), metadata, encode.
type job struct {
	r   *Renderer
	req *modifier.Request
	fi  *modifier.FormatInfo
	p   *pipe

	gray      bool // working space is B_W (gray source), else sRGB
	kernel    string
	keepAlpha bool // -alpha format or req=mask: transparency survives to the end

	// Shrink-on-load: the image is smaller than the logical (full
	// resolution) composite, whose size the view transform must use.
	shrunk         bool
	logicW, logicH int

	viewScale float64 // min(sx, sy) of the view transform, for op_usm
	warnings  []modifier.Warning
}

func (j *job) warn(cmd, msg string) {
	j.warnings = append(j.warnings, modifier.Warning{Command: cmd, Message: msg})
}

func (j *job) run(ctx context.Context, src []byte) (*Output, error) {
	req := j.req
	j.keepAlpha = j.fi.Alpha || req.ReqMask
	j.kernel = map[string]string{"bilin": "linear", "bicub": "cubic", "sharp2": "lanczos3", "bisharp": "cubic", "": "lanczos3"}[req.ResMode]

	var err error
	if isPostScript(src) {
		if src, err = j.rasterizePS(ctx, src); err != nil {
			return nil, err
		}
	}
	x, err := j.load(src)
	if err != nil {
		return nil, err
	}
	if x, err = j.normalize(x); err != nil {
		return nil, err
	}
	steps := []func(vimg) (vimg, error){
		j.crop, j.layerScale, j.opac, j.fill(req.Color), j.rotate, j.extend, j.fill(req.BgColor),
		j.flip, j.blur, j.brightnessContrast, j.colorize, j.saturationHue, j.colorBalance,
		j.invert, j.noise, j.view, j.rect, j.sharpen, j.unsharp(req.USM, true), j.unsharp(req.USMR, false),
		j.alpha, j.outputColour, j.metadata,
	}
	for _, step := range steps {
		if x, err = step(x); err != nil {
			return nil, err
		}
	}
	if x.width() > j.r.maxW || x.height() > j.r.maxH {
		return nil, failf(ErrOutputTooLarge, "the reply would be %d×%d pixels, above the limit of %d×%d",
			x.width(), x.height(), j.r.maxW, j.r.maxH)
	}
	if err := j.checkBytes(x); err != nil {
		return nil, err
	}
	data, err := j.encode(ctx, x)
	if err != nil {
		return nil, err
	}
	return &Output{Data: data, Ext: j.fi.Ext, MIME: j.fi.MIME, Width: x.width(), Height: x.height()}, nil
}

// --- load and colour normalisation ---

func (j *job) load(src []byte) (vimg, error) {
	loader := findLoader(src)
	if loader == "" {
		return vimg{}, failf(ErrUnsupportedSource, "not an image format libvips reads")
	}
	// Some decoders refuse huge headers themselves (libpng stops at a
	// million pixels wide); read the declared size first so a bomb is
	// reported as one.
	if cfg, _, err := image.DecodeConfig(bytes.NewReader(src)); err == nil && int64(cfg.Width)*int64(cfg.Height) > j.r.maxIn {
		return vimg{}, failf(ErrInputTooLarge, "the source declares %d×%d = %.1f megapixels, above the limit of %.1f",
			cfg.Width, cfg.Height, float64(cfg.Width)*float64(cfg.Height)/1e6, float64(j.r.maxIn)/1e6)
	}
	var x vimg
	var err error
	if loader == "pdfload_buffer" {
		x, err = j.p.loadPDF(src, j.r.rasterDPI, false)
	} else {
		x, err = j.p.load(loader, src, 1, 0, false)
	}
	if err != nil {
		kind := ErrCorruptSource
		if strings.HasPrefix(loader, "magickload") {
			// ImageMagick's sniffer claims many non-images (it reads video
			// bytes as TGA): a failure there means "not an image".
			kind = ErrUnsupportedSource
		}
		return vimg{}, &Error{Kind: kind, Msg: "cannot decode " + strings.TrimSuffix(loader, "_buffer"), Err: err}
	}
	w, h := x.width(), x.height()
	if int64(w)*int64(h) > j.r.maxIn {
		return vimg{}, failf(ErrInputTooLarge, "the source is %d×%d = %.1f megapixels, above the limit of %.1f",
			w, h, float64(w)*float64(h)/1e6, float64(j.r.maxIn)/1e6)
	}
	if loader == "pdfload_buffer" {
		n, _ := x.intField("n-pages")
		j.pageWarning(n)
	}
	orient, _ := x.intField("orientation")
	if n := j.loadShrink(loader, w, h, orient); n > 1 {
		y, err := j.p.load(loader, src, n, 1/float64(n), j.streamable(orient))
		if err == nil {
			x = y
			j.shrunk = true
		}
	}
	if orient > 1 {
		if x, err = j.p.op("autorot", x); err != nil {
			return vimg{}, internal("autorot", err)
		}
	}
	return x, nil
}

// streamable reports whether a shrink-on-load source may be decoded in one
// top-to-bottom pass (libvips' sequential access) instead of into memory
// first (random access, what a load without a hint gets). A render of
// wid=800 from a 3000×2000 JPEG measured 4–9 % faster that way (render's
// BenchmarkRender, jpeg-800). loadShrink has already ruled out what
// addresses source pixels; what is left that reads rows out of order is
// EXIF autorotation, rotate= and flip= ("ud" failed with "out of order
// read"), so those keep random access. Steps that need the pixels twice
// (op_colorize's statistics, jpegSize=) copy the image to memory first,
// which reads it once, in order.
func (j *job) streamable(orient int) bool {
	return orient <= 1 && j.req.Rotate == 0 && j.req.Flip == ""
}

// loadShrink picks a JPEG/WebP shrink-on-load factor when the request is a
// plain view scaling: no step addresses source pixels or depends on the
// resolution before the view transform. Like Image Serving reading the
// pyramid level just above the target size of a PTIFF, it decodes at the
// largest 1/2, 1/4 or 1/8 scale that is still no smaller than the target,
// and the resMode kernel does the rest.
func (j *job) loadShrink(loader string, w, h, orient int) int {
	req := j.req
	if loader != "jpegload_buffer" && loader != "webpload_buffer" {
		return 1
	}
	if req.Crop != nil || req.HasSize || req.Scale > 0 || req.Rgn != nil || req.Extend != nil ||
		req.Blur > 0 || req.Noise != nil || math.Mod(req.Rotate, 90) != 0 || req.ReqMask {
		return 1
	}
	if orient >= 5 {
		w, h = h, w
	}
	if q := math.Mod(math.Abs(req.Rotate), 180); q == 90 {
		w, h = h, w
	}
	plan, err := planView(w, h, req)
	if err != nil {
		return 1
	}
	shrink := 1 / math.Max(plan.sx, plan.sy)
	n := 1
	switch {
	case shrink >= 8:
		n = 8
	case shrink >= 4:
		n = 4
	case shrink >= 2:
		n = 2
	}
	if n > 1 {
		j.logicW, j.logicH = w, h
	}
	return n
}

// normalize brings the source into the working space: 8-bit sRGB, or 8-bit
// gray for gray sources, with alpha kept. Embedded profiles are honoured
// (perceptual intent, black-point compensation: Adobe's template values).
func (j *job) normalize(x vimg) (vimg, error) {
	p := j.p
	profile := x.blobField("icc-profile-data")
	var err error
	switch {
	case profile != nil && !isSRGBProfile(profile):
		y, terr := p.op("icc_transform", x, osv("output_profile", "srgb"), ob("embedded", true),
			osv("intent", "perceptual"), ob("black_point_compensation", true), oi("depth", 8))
		if terr == nil {
			x = y
			break
		}
		// A broken profile: carry on without colour management, as IS does.
		j.warn("icc", "the source's embedded ICC profile is unusable; colours converted without it")
		if x.interp() == interpCMYK {
			if x, err = p.op("icc_transform", x, osv("output_profile", "srgb"), osv("input_profile", "cmyk"),
				ob("embedded", false), osv("intent", "perceptual"), ob("black_point_compensation", true), oi("depth", 8)); err != nil {
				return vimg{}, internal("cmyk to srgb", err)
			}
		}
	case x.interp() == interpCMYK:
		if x, err = p.op("icc_transform", x, osv("output_profile", "srgb"), osv("input_profile", "cmyk"),
			ob("embedded", false), osv("intent", "perceptual"), ob("black_point_compensation", true), oi("depth", 8)); err != nil {
			return vimg{}, internal("cmyk to srgb", err)
		}
	}
	switch x.interp() {
	case interpBW, interpGrey16:
		if x.bands() <= 2 {
			j.gray = true
			if x.interp() != interpBW || x.format() != fmtUchar {
				if x, err = p.op("colourspace", x, osv("space", "b-w")); err != nil {
					return vimg{}, internal("colourspace", err)
				}
			}
			break
		}
		fallthrough
	default:
		if x.interp() != interpSRGB || x.format() != fmtUchar {
			y, err := p.op("colourspace", x, osv("space", "srgb"))
			if err != nil {
				return vimg{}, &Error{Kind: ErrUnsupportedSource, Msg: "unsupported colour layout", Err: err}
			}
			x = y
		}
	}
	if x.format() != fmtUchar {
		// 16-bit data left tagged as 8-bit spaces: keep the high byte.
		opts := []opt{osv("format", "uchar")}
		if x.format() == fmtUshort {
			opts = append(opts, ob("shift", true))
		}
		if x, err = p.op("cast", x, opts...); err != nil {
			return vimg{}, internal("cast", err)
		}
	}
	if x.bands() < 3 && !j.gray {
		// One- or two-band data in an RGB space: make it real RGB.
		if x, err = p.op("colourspace", x, osv("space", "srgb")); err != nil {
			return vimg{}, internal("colourspace", err)
		}
	}
	return x, nil
}

// --- band helpers ---

// working is the interpretation of the working space.
func (j *job) working() string {
	if j.gray {
		return "b-w"
	}
	return "srgb"
}

func (j *job) addAlpha(x vimg) (vimg, error) {
	if x.hasAlpha() {
		return x, nil
	}
	y, err := j.p.op("bandjoin_const", x, oa("c", []float64{255}))
	if err != nil {
		return vimg{}, internal("add alpha", err)
	}
	return y, nil
}

// split separates the colour bands from alpha (alpha.c is nil without one).
func (j *job) split(x vimg) (colour, alpha vimg, err error) {
	if !x.hasAlpha() {
		return x, vimg{}, nil
	}
	n := x.bands()
	if colour, err = j.p.op("extract_band", x, oi("band", 0), oi("n", n-1)); err != nil {
		return vimg{}, vimg{}, internal("extract_band", err)
	}
	if alpha, err = j.p.op("extract_band", x, oi("band", n-1)); err != nil {
		return vimg{}, vimg{}, internal("extract_band", err)
	}
	return colour, alpha, nil
}

func (j *job) join(colour, alpha vimg) (vimg, error) {
	if alpha.c == nil {
		return colour, nil
	}
	y, err := j.p.bandjoin(colour, alpha)
	if err != nil {
		return vimg{}, internal("bandjoin", err)
	}
	return y, nil
}

// onColour applies f to the colour bands only, never to alpha.
func (j *job) onColour(x vimg, f func(vimg) (vimg, error)) (vimg, error) {
	c, a, err := j.split(x)
	if err != nil {
		return vimg{}, err
	}
	if c, err = f(c); err != nil {
		return vimg{}, err
	}
	return j.join(c, a)
}

// toRGB leaves the gray working space for operations that need colour
// (op_colorize, op_colorbalance: "converted to RGB" by the reference).
func (j *job) toRGB(x vimg) (vimg, error) {
	if !j.gray {
		return x, nil
	}
	y, err := j.p.op("colourspace", x, osv("space", "srgb"))
	if err != nil {
		return vimg{}, internal("colourspace", err)
	}
	j.gray = false
	return y, nil
}

func (j *job) uchar(x vimg) (vimg, error) {
	if x.format() == fmtUchar {
		return x, nil
	}
	y, err := j.p.op("cast", x, osv("format", "uchar"))
	if err != nil {
		return vimg{}, internal("cast", err)
	}
	return y, nil
}

// premultiplied runs a resampling step on premultiplied alpha, so that
// transparent pixels do not bleed their colour into the edges.
func (j *job) premultiplied(x vimg, f func(vimg) (vimg, error)) (vimg, error) {
	if !x.hasAlpha() {
		return f(x)
	}
	pm, err := j.p.op("premultiply", x)
	if err != nil {
		return vimg{}, internal("premultiply", err)
	}
	y, err := f(pm)
	if err != nil {
		return vimg{}, err
	}
	if y, err = j.p.op("unpremultiply", y); err != nil {
		return vimg{}, internal("unpremultiply", err)
	}
	return j.uchar(y)
}

// resizeTo scales x to exactly w×h with the resMode kernel.
func (j *job) resizeTo(x vimg, w, h int) (vimg, error) {
	if x.width() == w && x.height() == h {
		return x, nil
	}
	hs, vs := float64(w)/float64(x.width()), float64(h)/float64(x.height())
	y, err := j.premultiplied(x, func(x vimg) (vimg, error) {
		y, err := j.p.op("resize", x, of("scale", hs), of("vscale", vs), osv("kernel", j.kernel))
		if err != nil {
			return vimg{}, internal("resize", err)
		}
		return y, nil
	})
	if err != nil {
		return vimg{}, err
	}
	if y.width() != w || y.height() != h {
		// Rounding inside vips_resize: fix the last row or column.
		if y, err = j.p.op("embed", y, oi("x", 0), oi("y", 0), oi("width", w), oi("height", h), osv("extend", "copy")); err != nil {
			return vimg{}, internal("embed", err)
		}
	}
	if j.req.ResMode == "bisharp" && (hs < 1 || vs < 1) {
		// Photoshop's "bicubic sharper": bicubic, then a light sharpen.
		return j.convSharpen(y)
	}
	return y, nil
}

// place puts x at (ox, oy) on a w×h canvas; uncovered area is transparent
// when alpha survives (or x already has it), else bgc.
func (j *job) place(x vimg, ox, oy, w, h int) (vimg, error) {
	if ox == 0 && oy == 0 && w == x.width() && h == x.height() {
		return x, nil
	}
	pads := ox > 0 || oy > 0 || ox+x.width() < w || oy+x.height() < h
	var bg []float64
	var err error
	if pads {
		if j.keepAlpha || x.hasAlpha() {
			if x, err = j.addAlpha(x); err != nil {
				return vimg{}, err
			}
			bg = make([]float64, x.bands())
		} else {
			bg = j.bgcWorking()
		}
	} else {
		bg = make([]float64, x.bands())
	}
	y, err := j.p.op("embed", x, oi("x", ox), oi("y", oy), oi("width", w), oi("height", h),
		osv("extend", "background"), oa("background", bg))
	if err != nil {
		return vimg{}, internal("embed", err)
	}
	return y, nil
}

// bgcWorking is bgc in the working space.
func (j *job) bgcWorking() []float64 {
	c := defaultBgc
	if j.req.Bgc != nil {
		c = *j.req.Bgc
	}
	if j.gray {
		return []float64{c.Gray()}
	}
	rgb := c.RGB()
	return rgb[:]
}

// --- layer 0 ---

func (j *job) crop(x vimg) (vimg, error) {
	c := j.req.Crop
	if c == nil {
		return x, nil
	}
	W, H := float64(x.width()), float64(x.height())
	v := c.V
	if c.Norm {
		v = [4]float64{v[0] * W, v[1] * H, v[2] * W, v[3] * H}
	}
	x0, y0 := roundHalfUp(v[0]), roundHalfUp(v[1])
	w, h := atLeast1(roundHalfUp(v[2])), atLeast1(roundHalfUp(v[3]))
	if w > maxCoord || h > maxCoord {
		return vimg{}, failf(ErrOutputTooLarge, "crop= makes a %d×%d layer", w, h)
	}
	if x0 >= 0 && y0 >= 0 && x0+w <= x.width() && y0+h <= x.height() {
		y, err := j.p.extract(x, x0, y0, w, h)
		if err != nil {
			return vimg{}, internal("crop", err)
		}
		return y, nil
	}
	// Beyond the edges the crop extends the image, fully transparent (r-crop.md).
	x, err := j.addAlpha(x)
	if err != nil {
		return vimg{}, err
	}
	y, err := j.p.op("embed", x, oi("x", -x0), oi("y", -y0), oi("width", w), oi("height", h),
		osv("extend", "background"), oa("background", make([]float64, x.bands())))
	if err != nil {
		return vimg{}, internal("crop", err)
	}
	return y, nil
}

// layerScale applies size= (fit within, never enlarging) or else scale=.
func (j *job) layerScale(x vimg) (vimg, error) {
	req := j.req
	W, H := float64(x.width()), float64(x.height())
	s := 1.0
	switch {
	case req.HasSize && (req.Size[0] > 0 || req.Size[1] > 0):
		s = math.Inf(1)
		if req.Size[0] > 0 {
			s = float64(req.Size[0]) / W
		}
		if req.Size[1] > 0 {
			s = math.Min(s, float64(req.Size[1])/H)
		}
		// "scaled to be no larger than size=": a constraint, not a target.
		s = math.Min(s, 1)
	case !req.HasSize && req.Scale > 0:
		s = req.Scale
	}
	if s == 1 {
		return x, nil
	}
	w, h := atLeast1(roundHalfUp(W*s)), atLeast1(roundHalfUp(H*s))
	if w > maxCoord || h > maxCoord {
		return vimg{}, failf(ErrOutputTooLarge, "scale= makes a %d×%d layer", w, h)
	}
	return j.resizeTo(x, w, h)
}

// opac scales the layer's alpha by opacity×fillOpacity (r-opac.md); it
// runs before the color=/bgColor= fills, which it never changes.
func (j *job) opac(x vimg) (vimg, error) {
	if !j.req.HasOpac {
		return x, nil
	}
	k := float64(j.req.Opac[0]) * float64(j.req.Opac[1]) / 1e4
	if k == 1 {
		return x, nil
	}
	x, err := j.addAlpha(x)
	if err != nil {
		return vimg{}, err
	}
	a := make([]float64, x.bands())
	for i := range a {
		a[i] = 1
	}
	a[len(a)-1] = k
	y, err := j.p.op("linear", x, oa("a", a), oa("b", make([]float64, len(a))), ob("uchar", true))
	if err != nil {
		return vimg{}, internal("opac", err)
	}
	return y, nil
}

// fill puts the layer over a colour (color= before rotate, bgColor= after
// extend): transparent and semi-opaque areas take the colour.
func (j *job) fill(c *modifier.ColorValue) func(vimg) (vimg, error) {
	return func(x vimg) (vimg, error) {
		if c == nil || !x.hasAlpha() || c.A == 0 {
			return x, nil
		}
		bg := j.colourWorking(*c)
		if c.A >= 255 {
			y, err := j.p.op("flatten", x, oa("background", bg))
			if err != nil {
				return vimg{}, internal("fill", err)
			}
			return y, nil
		}
		// A translucent fill: composite the layer over a plain colour layer.
		base, err := j.p.create("black", oi("width", x.width()), oi("height", x.height()), oi("bands", x.bands()))
		if err != nil {
			return vimg{}, internal("fill", err)
		}
		if base, err = j.p.op("linear", base, oa("a", []float64{0}), oa("b", append(bg, c.A)), ob("uchar", true)); err != nil {
			return vimg{}, internal("fill", err)
		}
		if base, err = j.p.op("copy", base, osv("interpretation", j.working())); err != nil {
			return vimg{}, internal("fill", err)
		}
		y, err := j.p.op2("composite2", "base", base, "overlay", x, osv("mode", "over"))
		if err != nil {
			return vimg{}, internal("fill", err)
		}
		if y, err = j.uchar(y); err != nil {
			return vimg{}, err
		}
		return j.p.op("copy", y, osv("interpretation", j.working()))
	}
}

// colourWorking converts a colour value to the working space, naively.
func (j *job) colourWorking(c modifier.ColorValue) []float64 {
	if j.gray {
		return []float64{c.Gray()}
	}
	rgb := c.RGB()
	return rgb[:]
}

func (j *job) rotate(x vimg) (vimg, error) {
	a := math.Mod(j.req.Rotate, 360)
	if a < 0 {
		a += 360
	}
	if a == 0 {
		return x, nil
	}
	if math.Mod(a, 90) == 0 {
		y, err := j.p.op("rot", x, osv("angle", fmt.Sprintf("d%d", int(a))))
		if err != nil {
			return vimg{}, internal("rotate", err)
		}
		return y, nil
	}
	// The layer grows to hold the rotated image; the corners are
	// transparent (color= fills before, bgColor= after: r-rotate.md).
	x, err := j.addAlpha(x)
	if err != nil {
		return vimg{}, err
	}
	interp := "bicubic"
	if j.req.ResMode == "bilin" {
		interp = "bilinear"
	}
	return j.premultiplied(x, func(x vimg) (vimg, error) {
		y, err := j.p.op("rotate", x, of("angle", a), osv("interpolate", interp),
			oa("background", make([]float64, x.bands())))
		if err != nil {
			return vimg{}, internal("rotate", err)
		}
		return y, nil
	})
}

func (j *job) extend(x vimg) (vimg, error) {
	e := j.req.Extend
	if e == nil {
		return x, nil
	}
	W, H := x.width(), x.height()
	v := e.V
	if e.Norm {
		v = [4]float64{v[0] * float64(W), v[1] * float64(H), v[2] * float64(W), v[3] * float64(H)}
	}
	l, t, r, b := roundHalfUp(v[0]), roundHalfUp(v[1]), roundHalfUp(v[2]), roundHalfUp(v[3])
	w, h := W+l+r, H+t+b
	if w < 1 || h < 1 {
		return vimg{}, failf(ErrUnrenderable, "extend= removes the whole %d×%d image", W, H)
	}
	if w > maxCoord || h > maxCoord {
		return vimg{}, failf(ErrOutputTooLarge, "extend= makes a %d×%d layer", w, h)
	}
	if l > 0 || t > 0 || r > 0 || b > 0 {
		// New margins are transparent until bgColor= fills them (r-extend.md).
		var err error
		if x, err = j.addAlpha(x); err != nil {
			return vimg{}, err
		}
	}
	y, err := j.p.op("embed", x, oi("x", l), oi("y", t), oi("width", w), oi("height", h),
		osv("extend", "background"), oa("background", make([]float64, x.bands())))
	if err != nil {
		return vimg{}, internal("extend", err)
	}
	return y, nil
}

// --- composite ---

func (j *job) flip(x vimg) (vimg, error) {
	var y vimg
	var err error
	switch j.req.Flip {
	case "lr":
		y, err = j.p.op("flip", x, osv("direction", "horizontal"))
	case "ud":
		y, err = j.p.op("flip", x, osv("direction", "vertical"))
	case "lrud":
		y, err = j.p.op("rot", x, osv("angle", "d180"))
	default:
		return x, nil
	}
	if err != nil {
		return vimg{}, internal("flip", err)
	}
	return y, nil
}

// blur: σ = radius (Photoshop's convention; IS documents no kernel).
func (j *job) blur(x vimg) (vimg, error) {
	if j.req.Blur <= 0 {
		return x, nil
	}
	return j.premultiplied(x, func(x vimg) (vimg, error) {
		y, err := j.p.op("gaussblur", x, of("sigma", j.req.Blur))
		if err != nil {
			return vimg{}, internal("op_blur", err)
		}
		return y, nil
	})
}

// brightnessContrast: out = a·(in + 2.55·brightness) + 127.5·(1 − a), with
// a = (100 + contrast)/100, on the colour bands (formulas not documented).
func (j *job) brightnessContrast(x vimg) (vimg, error) {
	br, ct := j.req.Brightness, j.req.Contrast
	if br == 0 && ct == 0 {
		return x, nil
	}
	a := float64(100+ct) / 100
	b := a*float64(br)*2.55 + 127.5*(1-a)
	return j.onColour(x, func(c vimg) (vimg, error) {
		y, err := j.p.op("linear", c, oa("a", []float64{a}), oa("b", []float64{b}), ob("uchar", true))
		if err != nil {
			return vimg{}, internal("op_brightness/op_contrast", err)
		}
		return y, nil
	})
}

// colorize tints the (naive) luminance with the colour, keeping black and
// white: below mid-gray it scales towards black, above it towards white.
// norm moves the median luminance to 50 %; contrast > 0 stretches the
// 1st–99th percentile range to contrast % of the full range (r-op-colorize.md).
func (j *job) colorize(x vimg) (vimg, error) {
	cz := j.req.Colorize
	if cz == nil {
		return x, nil
	}
	p := j.p
	var err error
	if cz.Norm {
		// The statistics need pixels: materialise the composite once so
		// that the source is still decoded only once. scale= can make the
		// composite far larger than the source: bound what is held.
		limit := max(j.r.maxIn, int64(j.r.maxW)*int64(j.r.maxH))
		if int64(x.width())*int64(x.height()) > limit {
			return vimg{}, failf(ErrOutputTooLarge, "op_colorize needs the %d×%d composite in memory, above the limit of %.1f megapixels",
				x.width(), x.height(), float64(limit)/1e6)
		}
		if x, err = p.copyMemory(x); err != nil {
			return vimg{}, internal("op_colorize", err)
		}
	}
	c, alpha, err := j.split(x)
	if err != nil {
		return vimg{}, err
	}
	lum := c
	if !j.gray {
		m, err := p.matrix(3, 1, []float64{0.299, 0.587, 0.114}, 1)
		if err != nil {
			return vimg{}, internal("op_colorize", err)
		}
		if lum, _, err = p.run("recomb", []in{{"in", c}, {"m", m}}, nil, false); err != nil {
			return vimg{}, internal("op_colorize", err)
		}
	}
	if cz.Norm {
		l8, err := j.uchar(lum)
		if err != nil {
			return vimg{}, err
		}
		median, err := percent(l8, 50)
		if err != nil {
			return vimg{}, internal("op_colorize", err)
		}
		a, b := 1.0, 128-float64(median)
		if cz.Contrast > 0 {
			lo, err1 := percent(l8, 1)
			hi, err2 := percent(l8, 99)
			if err1 != nil || err2 != nil {
				return vimg{}, internal("op_colorize", fmt.Errorf("percentiles"))
			}
			if hi > lo {
				a = cz.Contrast / 100 * 255 / float64(hi-lo)
				b = 128 - a*float64(median)
			}
		}
		if lum, err = p.op("linear", lum, oa("a", []float64{a}), oa("b", []float64{b})); err != nil {
			return vimg{}, internal("op_colorize", err)
		}
	}
	col := cz.Color.RGB()
	aLo, aHi, bHi := make([]float64, 3), make([]float64, 3), make([]float64, 3)
	for i, v := range col {
		aLo[i] = v / 128
		aHi[i] = (255 - v) / 127
		bHi[i] = v - 128*aHi[i]
	}
	lo, err := p.op("linear", lum, oa("a", aLo), oa("b", []float64{0, 0, 0}))
	if err != nil {
		return vimg{}, internal("op_colorize", err)
	}
	hi, err := p.op("linear", lum, oa("a", aHi), oa("b", bHi))
	if err != nil {
		return vimg{}, internal("op_colorize", err)
	}
	cond, err := p.op("relational_const", lum, osv("relational", "less"), oa("c", []float64{128}))
	if err != nil {
		return vimg{}, internal("op_colorize", err)
	}
	out, _, err := p.run("ifthenelse", []in{{"cond", cond}, {"in1", lo}, {"in2", hi}}, nil, false)
	if err != nil {
		return vimg{}, internal("op_colorize", err)
	}
	if out, err = j.uchar(out); err != nil {
		return vimg{}, err
	}
	if out, err = p.op("copy", out, osv("interpretation", "srgb")); err != nil {
		return vimg{}, internal("op_colorize", err)
	}
	j.gray = false // "op_colorize always outputs RGB data"
	return j.join(out, alpha)
}

// saturationHue works in LCh: chroma × (1 + saturation/100), hue + degrees.
func (j *job) saturationHue(x vimg) (vimg, error) {
	sat, hue := j.req.Saturation, j.req.Hue
	if (sat == 0 && hue == 0) || j.gray {
		return x, nil // gray has neither chroma nor hue
	}
	return j.onColour(x, func(c vimg) (vimg, error) {
		lch, err := j.p.op("colourspace", c, osv("space", "lch"))
		if err != nil {
			return vimg{}, internal("op_saturation/op_hue", err)
		}
		if lch, err = j.p.op("linear", lch, oa("a", []float64{1, 1 + float64(sat)/100, 1}), oa("b", []float64{0, 0, float64(hue)})); err != nil {
			return vimg{}, internal("op_saturation/op_hue", err)
		}
		y, err := j.p.op("colourspace", lch, osv("space", "srgb"))
		if err != nil {
			return vimg{}, internal("op_saturation/op_hue", err)
		}
		return j.uchar(y)
	})
}

func (j *job) colorBalance(x vimg) (vimg, error) {
	cb := j.req.ColorBalance
	if cb == [3]int{} {
		return x, nil
	}
	x, err := j.toRGB(x)
	if err != nil {
		return vimg{}, err
	}
	return j.onColour(x, func(c vimg) (vimg, error) {
		b := []float64{float64(cb[0]) * 2.55, float64(cb[1]) * 2.55, float64(cb[2]) * 2.55}
		y, err := j.p.op("linear", c, oa("a", []float64{1, 1, 1}), oa("b", b), ob("uchar", true))
		if err != nil {
			return vimg{}, internal("op_colorbalance", err)
		}
		return y, nil
	})
}

func (j *job) invert(x vimg) (vimg, error) {
	if !j.req.Invert {
		return x, nil
	}
	return j.onColour(x, func(c vimg) (vimg, error) {
		y, err := j.p.op("invert", c)
		if err != nil {
			return vimg{}, internal("op_invert", err)
		}
		return y, nil
	})
}

// noise adds zero-mean noise to the colour bands: uniform within
// ±1.275·amount levels, or gaussian with σ of half that (not calibrated).
// The noise is seeded the same way on every render, so exports repeat.
func (j *job) noise(x vimg) (vimg, error) {
	nz := j.req.Noise
	if nz == nil || nz.Amount == 0 {
		return x, nil
	}
	half := 1.275 * float64(nz.Amount)
	return j.onColour(x, func(c vimg) (vimg, error) {
		bands := c.bands()
		nb := bands
		if nz.Mono {
			nb = 1
		}
		var n vimg
		var err error
		if nz.Gaussian {
			for b := 0; b < nb; b++ {
				g, err := j.p.create("gaussnoise", oi("width", c.width()), oi("height", c.height()),
					of("sigma", half/2), of("mean", 0), oi("seed", 7+b))
				if err != nil {
					return vimg{}, internal("op_noise", err)
				}
				if b == 0 {
					n = g
				} else if n, err = j.p.bandjoin(n, g); err != nil {
					return vimg{}, internal("op_noise", err)
				}
			}
		} else if n, err = j.uniformNoise(c.width(), c.height(), nb, half); err != nil {
			return vimg{}, err
		}
		sum, err := j.p.op2("add", "left", c, "right", n)
		if err != nil {
			return vimg{}, internal("op_noise", err)
		}
		return j.uchar(sum)
	})
}

// uniformNoise tiles a 256×256 block of uniform noise in ±half (libvips has
// no uniform noise generator).
func (j *job) uniformNoise(w, h, bands int, half float64) (vimg, error) {
	const tile = 256
	rng := rand.New(rand.NewPCG(7, 11))
	buf := make([]byte, tile*tile*bands)
	for i := range buf {
		buf[i] = byte(rng.IntN(256))
	}
	t, err := j.p.fromBytes(buf, tile, tile, bands)
	if err != nil {
		return vimg{}, internal("op_noise", err)
	}
	if t, err = j.p.op("replicate", t, oi("across", (w+tile-1)/tile), oi("down", (h+tile-1)/tile)); err != nil {
		return vimg{}, internal("op_noise", err)
	}
	if t, err = j.p.extract(t, 0, 0, w, h); err != nil {
		return vimg{}, internal("op_noise", err)
	}
	// bytes 0…255 → -half…+half
	t, err = j.p.op("linear", t, oa("a", []float64{2 * half / 255}), oa("b", []float64{-half}))
	if err != nil {
		return vimg{}, internal("op_noise", err)
	}
	return t, nil
}

// --- view ---

func (j *job) view(x vimg) (vimg, error) {
	cw, ch := x.width(), x.height()
	if j.shrunk {
		cw, ch = j.logicW, j.logicH
	}
	plan, err := planView(cw, ch, j.req)
	if err != nil {
		return vimg{}, failf(ErrOutputTooLarge, "%v", err)
	}
	j.viewScale = math.Min(plan.sx, plan.sy)
	if plan.w > maxCoord || plan.h > maxCoord {
		return vimg{}, failf(ErrOutputTooLarge, "the view would be %d×%d pixels", plan.w, plan.h)
	}
	if x, err = j.resizeTo(x, plan.cw, plan.ch); err != nil {
		return vimg{}, err
	}
	return j.place(x, plan.ox, plan.oy, plan.w, plan.h)
}

// rect cuts the final reply rectangle out of the view, optionally rescaled;
// outside the view it is padded like the view (r-rect.md).
func (j *job) rect(x vimg) (vimg, error) {
	rc := j.req.Rect
	if rc == nil {
		return x, nil
	}
	var err error
	if rc.Scale > 0 && rc.Scale != 1 {
		w := atLeast1(roundHalfUp(float64(x.width()) * rc.Scale))
		h := atLeast1(roundHalfUp(float64(x.height()) * rc.Scale))
		if w > maxCoord || h > maxCoord {
			return vimg{}, failf(ErrOutputTooLarge, "rect= scales the view to %d×%d", w, h)
		}
		if x, err = j.resizeTo(x, w, h); err != nil {
			return vimg{}, err
		}
	}
	return j.place(x, -rc.X, -rc.Y, rc.W, rc.H)
}

func (j *job) sharpen(x vimg) (vimg, error) {
	if !j.req.Sharpen {
		return x, nil
	}
	return j.convSharpen(x)
}

// convSharpen is a mild 3×3 Laplacian sharpen (centre 2, edges −¼), on
// every band: "the mask is sharpened as well" (r-op-sharpen.md).
func (j *job) convSharpen(x vimg) (vimg, error) {
	m, err := j.p.matrix(3, 3, []float64{0, -1, 0, -1, 8, -1, 0, -1, 0}, 4)
	if err != nil {
		return vimg{}, internal("op_sharpen", err)
	}
	y, _, err := j.p.run("conv", []in{{"in", x}, {"mask", m}}, []opt{osv("precision", "float")}, false)
	if err != nil {
		return vimg{}, internal("op_sharpen", err)
	}
	return j.uchar(y)
}

// unsharp applies op_usm (radius scaled by the view scale: "scaled down when
// processing a downsampled image") or op_usmR (radius as given).
func (j *job) unsharp(u *modifier.USMSpec, scaled bool) func(vimg) (vimg, error) {
	return func(x vimg) (vimg, error) {
		if u == nil || u.Amount == 0 || u.Radius == 0 {
			return x, nil
		}
		sigma := u.Radius
		if scaled && j.viewScale > 0 && j.viewScale < 1 {
			sigma *= j.viewScale
		}
		if sigma < 0.2 {
			return x, nil // a kernel under a pixel wide does nothing
		}
		c, a, err := j.split(x)
		if err != nil {
			return vimg{}, err
		}
		if c, err = j.usmBands(c, sigma, u, u.Mono && c.bands() >= 3); err != nil {
			return vimg{}, err
		}
		if a.c != nil {
			if a, err = j.usmBands(a, sigma, u, false); err != nil {
				return vimg{}, err
			}
		}
		return j.join(c, a)
	}
}

// usmBands: out = in + amount·(in − blur) where |in − blur| > threshold; on
// the luminance only (added equally to every band) when mono.
func (j *job) usmBands(x vimg, sigma float64, u *modifier.USMSpec, mono bool) (vimg, error) {
	p := j.p
	src := x
	if mono {
		m, err := p.matrix(3, 1, []float64{0.299, 0.587, 0.114}, 1)
		if err != nil {
			return vimg{}, internal("op_usm", err)
		}
		if src, _, err = p.run("recomb", []in{{"in", x}, {"m", m}}, nil, false); err != nil {
			return vimg{}, internal("op_usm", err)
		}
	}
	blur, err := p.op("gaussblur", src, of("sigma", sigma), osv("precision", "float"))
	if err != nil {
		return vimg{}, internal("op_usm", err)
	}
	d, err := p.op2("subtract", "left", src, "right", blur)
	if err != nil {
		return vimg{}, internal("op_usm", err)
	}
	if u.Threshold > 0 {
		ad, err := p.op("abs", d)
		if err != nil {
			return vimg{}, internal("op_usm", err)
		}
		mask, err := p.op("relational_const", ad, osv("relational", "more"), oa("c", []float64{float64(u.Threshold)}))
		if err != nil {
			return vimg{}, internal("op_usm", err)
		}
		if d, err = p.op2("multiply", "left", d, "right", mask); err != nil {
			return vimg{}, internal("op_usm", err)
		}
		if d, err = p.op("linear", d, oa("a", []float64{u.Amount / 255}), oa("b", []float64{0})); err != nil {
			return vimg{}, internal("op_usm", err)
		}
	} else if d, err = p.op("linear", d, oa("a", []float64{u.Amount}), oa("b", []float64{0})); err != nil {
		return vimg{}, internal("op_usm", err)
	}
	out, err := p.op2("add", "left", x, "right", d)
	if err != nil {
		return vimg{}, internal("op_usm", err)
	}
	if out, err = j.uchar(out); err != nil {
		return vimg{}, err
	}
	return p.op("copy", out, osv("interpretation", interpName(x)))
}

func interpName(x vimg) string {
	switch x.interp() {
	case interpBW:
		return "b-w"
	case interpSRGB:
		return "srgb"
	}
	return "multiband"
}

// --- output ---

// alpha: -alpha formats keep (or gain, opaque) an alpha band; the others are
// flattened onto bgc (r-view-transform-for-images.md); req=mask returns
// the alpha itself as gray.
func (j *job) alpha(x vimg) (vimg, error) {
	p := j.p
	var err error
	switch {
	case j.req.ReqMask:
		var a vimg
		if x.hasAlpha() {
			if a, err = p.op("extract_band", x, oi("band", x.bands()-1)); err != nil {
				return vimg{}, internal("req=mask", err)
			}
		} else {
			// No alpha: the whole image is opaque.
			if a, err = p.create("black", oi("width", x.width()), oi("height", x.height())); err != nil {
				return vimg{}, internal("req=mask", err)
			}
			if a, err = p.op("linear", a, oa("a", []float64{1}), oa("b", []float64{255}), ob("uchar", true)); err != nil {
				return vimg{}, internal("req=mask", err)
			}
		}
		if a, err = p.op("copy", a, osv("interpretation", "b-w")); err != nil {
			return vimg{}, internal("req=mask", err)
		}
		j.gray = true
		if j.fi.Alpha {
			return j.addAlpha(a)
		}
		return a, nil
	case j.fi.Alpha:
		return j.addAlpha(x)
	case x.hasAlpha():
		y, err := p.op("flatten", x, oa("background", j.bgcWorking()))
		if err != nil {
			return vimg{}, internal("flatten", err)
		}
		return j.uchar(y)
	}
	return x, nil
}

// outputColour converts to the output pixel type: icc= when it names a
// known profile (whose type then decides), else fmt's pixel type with the
// default profiles (sRGB, libvips' built-in CMYK).
func (j *job) outputColour(x vimg) (vimg, error) {
	req, p := j.req, j.p
	pt := req.OutPixelType()
	var prof *iccProfile
	if req.ICC != nil {
		prof = j.r.profile(req.ICC.Name)
		switch {
		case prof == nil && req.ICC.Default:
			j.warn("icc", fmt.Sprintf("unknown ICC profile %q (the company's default %s profile); converted to the server's", req.ICC.Name, pt))
		case prof == nil:
			j.warn("icc", fmt.Sprintf("unknown ICC profile %q; converted to the default %s profile", req.ICC.Name, pt))
		case req.ICC.Default && prof.pixelType != pt:
			j.warn("icc", fmt.Sprintf("the company's default %s profile %q is a %s profile; converted to the server's", pt, req.ICC.Name, prof.pixelType))
			prof = nil
		}
	}
	intent, bpc := "perceptual", true
	if req.ICC != nil {
		if req.ICC.Intent != "" {
			intent = req.ICC.Intent
		}
		if req.ICC.BPC != nil {
			bpc = *req.ICC.BPC
		}
	}
	var err error
	if prof != nil {
		pt = prof.pixelType
		if !j.fi.AllowsPixelType(pt) {
			return vimg{}, failf(ErrUnrenderable, "icc=%s is a %s profile; fmt=%s cannot be %s", req.ICC.Name, pt, j.fi.Name, pt)
		}
		if prof.builtin == "srgb" {
			if !j.gray {
				return x, nil // the working space is sRGB already
			}
			return j.toRGB(x)
		}
		if x, err = j.toRGB(x); err != nil {
			return vimg{}, err
		}
		y, err := p.op("icc_transform", x, osv("output_profile", prof.path), osv("input_profile", "srgb"),
			ob("embedded", false), osv("intent", intent), ob("black_point_compensation", bpc), oi("depth", 8))
		if err != nil {
			return vimg{}, internal("icc="+req.ICC.Name, err)
		}
		j.gray = pt == "gray"
		return y, nil
	}
	switch pt {
	case "gray":
		if j.gray {
			return x, nil
		}
		y, err := p.op("colourspace", x, osv("space", "b-w"))
		if err != nil {
			return vimg{}, internal("colourspace", err)
		}
		j.gray = true
		return y, nil
	case "cmyk":
		if x, err = j.toRGB(x); err != nil {
			return vimg{}, err
		}
		y, err := p.op("icc_transform", x, osv("output_profile", "cmyk"), osv("input_profile", "srgb"),
			ob("embedded", false), osv("intent", intent), ob("black_point_compensation", bpc), oi("depth", 8))
		if err != nil {
			return vimg{}, internal("cmyk", err)
		}
		return y, nil
	}
	return j.toRGB(x)
}

// outProfile is the output profile icc= names, or the company's default
// one when it is of the output's pixel type; nil when there is none.
func (j *job) outProfile() *iccProfile {
	req := j.req
	if req.ICC == nil {
		return nil
	}
	prof := j.r.profile(req.ICC.Name)
	if prof != nil && req.ICC.Default && prof.pixelType != req.OutPixelType() {
		return nil
	}
	return prof
}

// metadata keeps only what IS writes: the output profile with iccEmbed=1
// (formats that embed one), the source XMP with xmpEmbed=1, and printRes.
func (j *job) metadata(x vimg) (vimg, error) {
	req := j.req
	var profile []byte
	if req.ICCEmbed && j.fi.EmbedICC {
		switch {
		case req.ICC != nil && j.outProfile() != nil:
			profile = j.outProfile().data
		case x.interp() == interpCMYK:
			profile = j.r.cmyk
		case !j.gray:
			profile = j.r.srgb
		}
		// Gray output with no icc=: no profile is available, so iccEmbed is
		// "ignored if no profile is available for embedding".
	}
	y, err := j.p.stripMeta(x, false, req.XMPEmbed && j.fi.EmbedXMP)
	if err != nil {
		return vimg{}, internal("metadata", err)
	}
	if profile != nil {
		if y, err = j.p.setProfile(y, profile); err != nil {
			return vimg{}, internal("metadata", err)
		}
	}
	if req.PrintRes > 0 {
		res := req.PrintRes / 25.4 // libvips keeps pixels per millimetre
		if y, err = j.p.op("copy", y, of("xres", res), of("yres", res)); err != nil {
			return vimg{}, internal("printRes", err)
		}
	}
	return y, nil
}
