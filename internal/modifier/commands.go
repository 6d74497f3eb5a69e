package modifier

import (
	"fmt"
	"math"
	"strings"
)

// status is how the renderer treats an IS command (COMMANDS.md lists them all).
type status int

const (
	// rendered: the command changes the output as the reference says.
	rendered status = iota
	// noEffect: valid, and has no effect on a single-image export, so doing
	// nothing is the faithful rendering (cache=, id=, anchor= on layer 0 …).
	noEffect
	// warned: a real IS command that is not rendered; accepted with a warning.
	warned
	// rejected: a real IS command whose omission would give a very different
	// picture (another source, text, a template): a parse error.
	rejected
)

func (s status) String() string {
	return [...]string{"rendered", "rendered (no effect on an export)", "accepted with a warning", "rejected"}[s]
}

// handler parses a command's value into the request; a non-empty warning
// marks a value that is accepted but not rendered exactly.
type handler func(r *Request, v *val) (warning string, err error)

type command struct {
	name   string // spelling in the command reference
	group  string // commands of one group override each other (crop/cropN)
	status status
	note   string
	parse  handler // nil: any value is accepted
}

// commandTable lists every command of the reference's command index
// (c-command-reference.md), with the N / E / A variants their pages define.
var commandTable = []command{
	{name: "align", status: rendered, note: "Aligns the scaled image in the wid×hei view: crop or pad by (h+1)/2, (v+1)/2.", parse: parseAlign},
	{name: "anchor", group: "anchor", status: noEffect, note: "Layer origin and centre of rotation; the canvas of a single-layer export is the layer's bounding box, so nothing moves. Validated.", parse: parseAnchor(false)},
	{name: "anchorN", group: "anchor", status: noEffect, note: "As anchor=, normalised.", parse: parseAnchor(true)},
	{name: "bfc", status: noEffect, note: "Browser format conversion (Smart Imaging) needs a browser; an export has none. Validated on|off.", parse: parseEnumOnly("on", "off")},
	{name: "bgc", status: rendered, note: "View background: padding and the flattening of alpha for formats without alpha (default: the company's BkgColor, else FFFFFF). Ignored for -alpha formats.", parse: parseBgc},
	{name: "bgColor", status: rendered, note: "Layer 0 background, filled after opac, rotate and extend (alpha honoured).", parse: parseLayerColor(false)},
	{name: "blendMode", status: warned, note: "Blending with layers below; layer 0 has none, and layered requests are not rendered."},
	{name: "cache", status: noEffect, note: "HTTP/server caching; nothing is cached in an export."},
	{name: "clipPath", group: "clipPath", status: warned, note: "Clip paths are not rendered."},
	{name: "clipPathE", group: "clipPath", status: warned, note: "Embedded Photoshop paths are not read by libvips."},
	{name: "clipXPath", group: "clipXPath", status: warned, note: "Clip paths are not rendered."},
	{name: "clipXPathE", group: "clipXPath", status: warned, note: "Embedded Photoshop paths are not read by libvips."},
	{name: "color", status: rendered, note: "Fills transparent areas of layer 0 before rotate and extend.", parse: parseLayerColor(true)},
	{name: "crop", group: "crop", status: rendered, note: "Source crop in full-resolution pixels; beyond the edges it extends with transparency.", parse: parseCrop(false)},
	{name: "cropN", group: "crop", status: rendered, note: "As crop=, normalised to the source size.", parse: parseCrop(true)},
	{name: "cropPathE", status: warned, note: "Embedded Photoshop paths are not read by libvips."},
	{name: "defaultImage", status: noEffect, note: "Used only when the image is missing; an export always has its asset."},
	{name: "dpr", status: rendered, note: "on,v multiplies the requested wid/hei (and divides scl) by v; off does nothing.", parse: parseDpr},
	{name: "effect", status: rejected, note: "Starts an effect layer (shadow, glow); its commands would otherwise land on the image."},
	{name: "effectMask", status: noEffect, note: "Applies to effect layers, which a single-image export has none of. Validated 0|1.", parse: parseFlagOnly},
	{name: "extend", group: "extend", status: rendered, note: "Adds (or, negative, removes) margins after crop and rotate; new area transparent or bgColor.", parse: parseExtend(false)},
	{name: "extendN", group: "extend", status: rendered, note: "As extend=, normalised to the layer size.", parse: parseExtend(true)},
	{name: "fit", status: rendered, note: "fit, constrain, crop, wrap, stretch, hfit, vfit with the upscale flag; needs wid= or hei=.", parse: parseFit},
	{name: "flip", status: rendered, note: "lr, ud, lrud on the composite (after extend, as r-flip.md says for layer=comp).", parse: parseFlip},
	{name: "fmt", status: rendered, note: "Format, pixel type and compression; pdf and eps are written around the image; swf*, jpegxr*, f4m, m3u8 parse but each asset fails naming the format.", parse: parseFmt},
	{name: "hei", status: rendered, note: "View height; the aspect ratio is kept; enlarges when no fit= is given.", parse: parseSize(func(r *Request) *int { return &r.Hei })},
	{name: "hide", status: rendered, note: "hide=0 is the default; hide=1 on layer 0 is accepted with a warning and not rendered.", parse: parseHide},
	{name: "icc", status: rendered, note: "Output profile: the standard names (mapped to the closest free profile, docs/formats.md) or a registered one, with intent and black-point compensation; unknown names warn; dither is not available. Without it, the company's IccProfileRgb or IccProfileCmyk for that output.", parse: parseICC},
	{name: "iccEmbed", status: rendered, note: "Embeds the output profile in JPEG, PNG, TIFF and EPS, and an RGB one in PDF (as its output intent).", parse: parseFlag(func(r *Request) *bool { return &r.ICCEmbed })},
	{name: "id", status: noEffect, note: "Cache-busting version; ignored by Image Serving itself."},
	{name: "imageSet", status: noEffect, note: "Used only by req=set responses."},
	{name: "jpegSize", status: rendered, note: "Lowers the JPEG quality until the file fits; error if it cannot.", parse: parseJpegSize},
	{name: "layer", status: rendered, note: "layer=comp (the default) is accepted; layer=0 warns (commands go to the composite); any other layer is rejected.", parse: parseLayer},
	{name: "locale", status: warned, note: "Catalog and text localisation are not rendered."},
	{name: "map", status: noEffect, note: "Image-map data, used only by req=map."},
	{name: "mapA", status: noEffect, note: "Image-map data, used only by req=map."},
	{name: "mask", status: rejected, note: "A separate mask image; ignoring it would change the transparency of the export."},
	{name: "maskUse", status: warned, note: "Mask usage for layer operations is not rendered (operations use the whole image)."},
	{name: "network", status: noEffect, note: "Smart Imaging bandwidth tuning needs a client connection; an export has none."},
	{name: "op_blur", status: rendered, note: "Gaussian blur of the composite, σ = radius (calibration unknown).", parse: parseReal(0, 100, func(r *Request) *float64 { return &r.Blur })},
	{name: "op_brightness", status: rendered, note: "Adds adj×2.55 to R, G and B (formula not documented).", parse: parseInt(-100, 100, func(r *Request) *int { return &r.Brightness })},
	{name: "op_colorbalance", status: rendered, note: "Adds r,g,b ×2.55 per channel.", parse: parseColorBalance},
	{name: "op_colorize", status: rendered, note: "Luminance tinted with the colour (shadows and highlights kept), with norm/off and contrast.", parse: parseColorize},
	{name: "op_contrast", status: rendered, note: "Scales R, G, B about 50 % by (100+adj)/100.", parse: parseInt(-100, 100, func(r *Request) *int { return &r.Contrast })},
	{name: "op_grow", status: warned, note: "Dilate/erode of the image data is not rendered."},
	{name: "op_growMask", status: warned, note: "Dilate/erode of the mask is not rendered."},
	{name: "op_growMaskR", status: warned, note: "Dilate/erode of the mask is not rendered."},
	{name: "op_hue", status: rendered, note: "Rotates the LCh hue by adj degrees.", parse: parseInt(-180, 180, func(r *Request) *int { return &r.Hue })},
	{name: "op_invert", status: rendered, note: "Inverts the colour channels (not alpha).", parse: parseFlag(func(r *Request) *bool { return &r.Invert })},
	{name: "op_noise", status: rendered, note: "Uniform or gaussian noise, colour or monochrome; amount maps to ±amount% of half the range (not calibrated).", parse: parseNoise},
	{name: "op_saturation", status: rendered, note: "Scales LCh chroma by 1+adj/100; -100 removes all colour.", parse: parseInt(-100, 100, func(r *Request) *int { return &r.Saturation })},
	{name: "op_sharpen", status: rendered, note: "A mild 3×3 sharpen of the final view image (and its alpha).", parse: parseFlag(func(r *Request) *bool { return &r.Sharpen })},
	{name: "op_usm", status: rendered, note: "Unsharp mask after scaling; radius scaled by the view scale; per channel or luminance-only.", parse: parseUSM(false)},
	{name: "op_usmR", status: rendered, note: "As op_usm=, radius used as given.", parse: parseUSM(true)},
	{name: "opac", status: rendered, note: "Multiplies the alpha by opacity×fillOpacity/10⁴ (visible after flattening on bgc or in -alpha formats).", parse: parseOpac},
	{name: "origin", group: "origin", status: noEffect, note: "Positions a layer in the canvas; layer 0 is the canvas."},
	{name: "originN", group: "origin", status: noEffect, note: "As origin=."},
	{name: "pathAttr", status: warned, note: "Text-on-path attributes; text is not rendered."},
	{name: "pathEmbed", status: warned, note: "Photoshop paths are not written by libvips."},
	{name: "perspective", group: "perspective", status: warned, note: "Perspective transforms are not rendered."},
	{name: "perspectiveN", group: "perspective", status: warned, note: "Perspective transforms are not rendered."},
	{name: "pos", group: "pos", status: noEffect, note: "Positions a layer relative to layer 0; does not apply to layer 0."},
	{name: "posN", group: "pos", status: noEffect, note: "As pos=."},
	{name: "printRes", status: rendered, note: "Writes the print resolution (dpi) into JPEG, PNG and TIFF, and sizes the PDF page and EPS bounding box; pixel size unchanged.", parse: parsePrintRes},
	{name: "pscan", status: rendered, note: "auto is libjpeg's progressive script; 3, 4 and 5 warn (libvips cannot choose the scan count).", parse: parsePscan},
	{name: "qlt", status: rendered, note: "Quality 1–100 for JPEG (and TIFF-JPEG, WebP, AVIF, JPEG 2000); chroma 1 turns 4:2:0 subsampling off. Without it, the company's JpegQuality, else 80.", parse: parseQlt},
	{name: "quantize", status: rendered, note: "adaptive palette with dither and a power-of-two colour cap; web snaps to web-safe colours; mac and colorList warn.", parse: parseQuantize},
	{name: "rect", status: rendered, note: "Final reply rectangle after scaling (optional scale); outside the view: bgc or transparent.", parse: parseRect},
	{name: "req", status: rendered, note: "img (default) and mask (the alpha as gray) are rendered; every other request type is rejected.", parse: parseReq},
	{name: "res", status: warned, note: "Needs catalog::Resolution, which assets do not carry; not rendered."},
	{name: "resMode", status: rendered, note: "bilin→linear, bicub→cubic, sharp2→lanczos3, bisharp→cubic+sharpen; sharp and trilin warn as aliases. Without it, the company's ResMode, else sharp2.", parse: parseResMode},
	{name: "rgn", status: rendered, note: "Region of interest in composite pixels before the view scaling; outside: bgc.", parse: parseRgn},
	{name: "rotate", status: rendered, note: "Clockwise degrees; exact for multiples of 90, otherwise enlarged canvas with transparent corners.", parse: parseReal(-math.MaxInt32, math.MaxInt32, func(r *Request) *float64 { return &r.Rotate })},
	{name: "scale", status: rendered, note: "Layer 0 scale factor relative to the source; ignored when size= is given.", parse: parseScale},
	{name: "scl", status: rendered, note: "View scale 1/invFactor; with wid/hei the result is cropped or padded by align.", parse: parseScl},
	{name: "size", group: "size", status: rendered, note: "Layer 0 fits within w×h (0 = from the aspect); never enlarges.", parse: parseLayerSize},
	{name: "sizeN", group: "size", status: rejected, note: "Not permitted for layer 0 (r-size-reference.md), the only layer of an export."},
	{name: "src", status: rejected, note: "Another source image; an export converts its own asset."},
	{name: "template", status: rejected, note: "Compositing templates are not rendered."},
	{name: "text", status: rejected, note: "Text layers are not rendered."},
	{name: "textAngle", status: warned, note: "Text attribute; text is not rendered."},
	{name: "textAttr", status: warned, note: "Text attribute; text is not rendered."},
	{name: "textFlowPath", status: warned, note: "Text attribute; text is not rendered."},
	{name: "textFlowXPath", status: warned, note: "Text attribute; text is not rendered."},
	{name: "textPath", status: warned, note: "Text attribute; text is not rendered."},
	{name: "textPs", status: rejected, note: "Text layers are not rendered."},
	{name: "type", status: noEffect, note: "Filter for static content (/is/content)."},
	{name: "wid", status: rendered, note: "View width; the aspect ratio is kept; enlarges when no fit= is given.", parse: parseSize(func(r *Request) *int { return &r.Wid })},
	{name: "xmpEmbed", status: rendered, note: "Keeps the source XMP packet in JPEG and TIFF output.", parse: parseFlag(func(r *Request) *bool { return &r.XMPEmbed })},
}

var commandIndex = map[string]*command{}

func init() {
	for i := range commandTable {
		c := &commandTable[i]
		if c.group == "" {
			c.group = c.name
		}
		commandIndex[strings.ToLower(c.name)] = c
	}
}

func lookupCommand(name string) *command { return commandIndex[strings.ToLower(name)] }

// --- handlers ---

func parseSize(field func(*Request) *int) handler {
	return func(r *Request, v *val) (string, error) {
		if err := v.count(1, 1); err != nil {
			return "", err
		}
		n, err := v.int(0, 1, math.MaxInt32)
		if err != nil {
			return "", err
		}
		*field(r) = n
		return "", nil
	}
}

func parseInt(min, max int, field func(*Request) *int) handler {
	return func(r *Request, v *val) (string, error) {
		if err := v.count(1, 1); err != nil {
			return "", err
		}
		n, err := v.int(0, min, max)
		if err != nil {
			return "", err
		}
		*field(r) = n
		return "", nil
	}
}

func parseReal(min, max float64, field func(*Request) *float64) handler {
	return func(r *Request, v *val) (string, error) {
		if err := v.count(1, 1); err != nil {
			return "", err
		}
		f, err := v.real(0, min, max)
		if err != nil {
			return "", err
		}
		*field(r) = f
		return "", nil
	}
}

func parseFlag(field func(*Request) *bool) handler {
	return func(r *Request, v *val) (string, error) {
		if err := v.count(1, 1); err != nil {
			return "", err
		}
		b, err := v.flag(0)
		if err != nil {
			return "", err
		}
		*field(r) = b
		return "", nil
	}
}

func parseFlagOnly(_ *Request, v *val) (string, error) {
	if err := v.count(1, 1); err != nil {
		return "", err
	}
	_, err := v.flag(0)
	return "", err
}

func parseEnumOnly(choices ...string) handler {
	return func(_ *Request, v *val) (string, error) {
		if err := v.count(1, 1); err != nil {
			return "", err
		}
		_, err := v.enum(0, choices...)
		return "", err
	}
}

func parseAlign(r *Request, v *val) (string, error) {
	if err := v.count(2, 2); err != nil {
		return "", err
	}
	for i := 0; i < 2; i++ {
		f, err := v.real(i, -1, 1)
		if err != nil {
			return "", err
		}
		r.Align[i] = f
	}
	return "", nil
}

func parseAnchor(norm bool) handler {
	return func(_ *Request, v *val) (string, error) {
		if err := v.count(2, 2); err != nil {
			return "", err
		}
		for i := 0; i < 2; i++ {
			var err error
			if norm {
				_, err = v.real(i, -math.MaxInt32, math.MaxInt32)
			} else {
				// Values beyond 2^31 are parse errors in IS (known issues page).
				_, err = v.int(i, math.MinInt32, math.MaxInt32)
			}
			if err != nil {
				return "", err
			}
		}
		return "", nil
	}
}

func parseBgc(r *Request, v *val) (string, error) {
	if v.s == "" {
		return "", fmt.Errorf("a colour is required")
	}
	c, err := parseColor(v.s)
	if err != nil {
		return "", err
	}
	// "Any alpha value specified with color is ignored" (r-bgc.md).
	c.A = 255
	r.Bgc = &c
	return "", nil
}

func parseLayerColor(isColor bool) handler {
	return func(r *Request, v *val) (string, error) {
		if v.s == "" {
			return "", fmt.Errorf("a colour is required")
		}
		c, err := parseColor(v.s)
		if err != nil {
			return "", err
		}
		if isColor {
			r.Color = &c
		} else {
			r.BgColor = &c
		}
		return "", nil
	}
}

func parseCrop(norm bool) handler {
	return func(r *Request, v *val) (string, error) {
		if err := v.count(4, 4); err != nil {
			return "", err
		}
		b := &BoxSpec{Norm: norm}
		for i := 0; i < 4; i++ {
			var f float64
			var err error
			if norm {
				f, err = v.real(i, -1e6, 1e6)
			} else {
				var n int
				n, err = v.int(i, math.MinInt32, math.MaxInt32)
				f = float64(n)
			}
			if err != nil {
				return "", err
			}
			b.V[i] = f
		}
		if b.V[2] <= 0 || b.V[3] <= 0 {
			return "", fmt.Errorf("the crop size must be positive")
		}
		r.Crop = b
		return "", nil
	}
}

func parseExtend(norm bool) handler {
	return func(r *Request, v *val) (string, error) {
		if err := v.count(4, 4); err != nil {
			return "", err
		}
		b := &BoxSpec{Norm: norm}
		for i := 0; i < 4; i++ {
			var f float64
			var err error
			if norm {
				f, err = v.real(i, -1e6, 1e6)
			} else {
				var n int
				n, err = v.int(i, -1<<24, 1<<24)
				f = float64(n)
			}
			if err != nil {
				return "", err
			}
			b.V[i] = f
		}
		r.Extend = b
		return "", nil
	}
}

func parseDpr(r *Request, v *val) (string, error) {
	if err := v.count(1, 2); err != nil {
		return "", err
	}
	mode, err := v.enum(0, "off", "on")
	if err != nil {
		return "", err
	}
	r.DPR = 0
	if mode == "off" {
		if v.n() > 1 {
			return "", fmt.Errorf("dpr=off takes no value")
		}
		return "", nil
	}
	if v.n() == 2 {
		f, err := v.real(1, 1e-6, 100)
		if err != nil {
			return "", err
		}
		r.DPR = f
	}
	return "", nil
}

func parseFit(r *Request, v *val) (string, error) {
	if err := v.count(1, 2); err != nil {
		return "", err
	}
	mode, err := v.enum(0, "fit", "constrain", "crop", "wrap", "stretch", "hfit", "vfit")
	if err != nil {
		return "", err
	}
	f := &FitSpec{Mode: mode}
	if v.n() == 2 {
		if f.Upscale, err = v.flag(1); err != nil {
			return "", err
		}
	}
	r.Fit = f
	return "", nil
}

func parseFlip(r *Request, v *val) (string, error) {
	if err := v.count(1, 1); err != nil {
		return "", err
	}
	f, err := v.enum(0, "lr", "ud", "lrud")
	if err != nil {
		return "", err
	}
	r.Flip = f
	return "", nil
}

func parseFmt(r *Request, v *val) (string, error) {
	if err := v.count(1, 3); err != nil {
		return "", err
	}
	name := strings.ToLower(strings.TrimSpace(v.arg(0)))
	f, ok := Formats[name]
	if !ok {
		return "", fmt.Errorf("%q is not an IS format", v.arg(0))
	}
	r.OutFormat, r.PixelType, r.Compression = f, "", ""
	if v.has(1) {
		pt, err := v.enum(1, "rgb", "gray", "cmyk")
		if err != nil {
			return "", err
		}
		if !f.AllowsPixelType(pt) {
			return "", fmt.Errorf("pixel type %s is not available for %s", pt, f.Name)
		}
		r.PixelType = pt
	}
	if v.has(2) {
		c, err := v.enum(2, "jpeg", "lossy", "lossless", "lzw", "none", "zip")
		if err != nil {
			return "", err
		}
		if !f.AllowsCompression(c) {
			if len(f.Compressions) == 0 {
				return "", fmt.Errorf("%s takes no compression", f.Name)
			}
			return "", fmt.Errorf("compression %s is not available for %s (%s)", c, f.Name, strings.Join(f.Compressions, ", "))
		}
		r.Compression = c
	}
	return "", nil
}

func parseHide(_ *Request, v *val) (string, error) {
	if err := v.count(1, 1); err != nil {
		return "", err
	}
	hide, err := v.flag(0)
	if err != nil {
		return "", err
	}
	if hide {
		return "hiding layer 0 is not rendered", nil
	}
	return "", nil
}

func parseICC(r *Request, v *val) (string, error) {
	if err := v.count(1, 4); err != nil {
		return "", err
	}
	if !v.has(0) {
		return "", fmt.Errorf("a profile name is required")
	}
	spec := &ICCSpec{Name: v.arg(0)}
	var warn string
	if v.has(1) {
		intent, err := v.enum(1, "perceptual", "relative", "saturation", "absolute")
		if err != nil {
			return "", err
		}
		spec.Intent = intent
	}
	if v.has(2) {
		b, err := v.flag(2)
		if err != nil {
			return "", err
		}
		spec.BPC = &b
	}
	if v.has(3) {
		d, err := v.flag(3)
		if err != nil {
			return "", err
		}
		spec.Dither = d
		if d {
			warn = "dithering of the colour conversion is not available; converted without"
		}
	}
	r.ICC = spec
	return warn, nil
}

func parseJpegSize(r *Request, v *val) (string, error) {
	if err := v.count(1, 1); err != nil {
		return "", err
	}
	n, err := v.int(0, 0, math.MaxInt32)
	if err != nil {
		return "", err
	}
	r.JPEGSize = n
	return "", nil
}

func parseLayer(_ *Request, v *val) (string, error) {
	if err := v.count(1, 2); err != nil {
		return "", err
	}
	switch strings.ToLower(strings.TrimSpace(v.arg(0))) {
	case "comp":
		return "", nil
	case "0":
		return "layer=0 commands are applied to the composite", nil
	}
	return "", errRejected("layered requests are not rendered (only layer=comp)")
}

func parseColorBalance(r *Request, v *val) (string, error) {
	if err := v.count(3, 3); err != nil {
		return "", err
	}
	for i := 0; i < 3; i++ {
		n, err := v.int(i, -100, 100)
		if err != nil {
			return "", err
		}
		r.ColorBalance[i] = n
	}
	return "", nil
}

func parseColorize(r *Request, v *val) (string, error) {
	if v.s == "" {
		return "", fmt.Errorf("a colour is required")
	}
	// The colour may itself hold commas (r,g,b): it ends where off|norm starts.
	n := v.n()
	k := n
	for i := 0; i < n; i++ {
		a := strings.ToLower(strings.TrimSpace(v.args[i]))
		if a == "off" || a == "norm" {
			k = i
			break
		}
	}
	c, err := parseColor(strings.Join(v.args[:k], ","))
	if err != nil {
		return "", err
	}
	if c.Kind != ColorRGB {
		return "", fmt.Errorf("the colour must be RGB")
	}
	spec := &ColorizeSpec{Color: c, Norm: true}
	rest := v.args[k:]
	if len(rest) > 2 {
		return "", fmt.Errorf("takes a colour, off|norm and a contrast")
	}
	if len(rest) >= 1 {
		spec.Norm = strings.EqualFold(strings.TrimSpace(rest[0]), "norm")
	}
	if len(rest) == 2 {
		cv := newVal(rest[1])
		f, err := cv.real(0, 0, 100)
		if err != nil {
			return "", err
		}
		spec.Contrast = f
	}
	r.Colorize = spec
	return "", nil
}

func parseNoise(r *Request, v *val) (string, error) {
	if err := v.count(1, 3); err != nil {
		return "", err
	}
	amount, err := v.int(0, 0, 100)
	if err != nil {
		return "", err
	}
	spec := &NoiseSpec{Amount: amount}
	if v.has(1) {
		d, err := v.enum(1, "uniform", "gaussian")
		if err != nil {
			return "", err
		}
		spec.Gaussian = d == "gaussian"
	}
	if v.has(2) {
		if spec.Mono, err = v.flag(2); err != nil {
			return "", err
		}
	}
	r.Noise = spec
	return "", nil
}

func parseUSM(unscaled bool) handler {
	return func(r *Request, v *val) (string, error) {
		if err := v.count(1, 4); err != nil {
			return "", err
		}
		s := &USMSpec{}
		var err error
		if s.Amount, err = v.real(0, 0, 5); err != nil {
			return "", err
		}
		// Missing trailing arguments take their defaults (0): docs/rendering.md, "Decisions the reference leaves open".
		if v.has(1) {
			if s.Radius, err = v.real(1, 0, 250); err != nil {
				return "", err
			}
		}
		if v.has(2) {
			if s.Threshold, err = v.int(2, 0, 255); err != nil {
				return "", err
			}
		}
		if v.has(3) {
			if s.Mono, err = v.flag(3); err != nil {
				return "", err
			}
		}
		if unscaled {
			r.USMR = s
		} else {
			r.USM = s
		}
		return "", nil
	}
}

func parseOpac(r *Request, v *val) (string, error) {
	if err := v.count(1, 2); err != nil {
		return "", err
	}
	o, err := v.int(0, 0, 100)
	if err != nil {
		return "", err
	}
	fill := 100
	if v.has(1) {
		if fill, err = v.int(1, 0, 100); err != nil {
			return "", err
		}
	}
	r.Opac = [2]int{o, fill}
	r.HasOpac = true
	return "", nil
}

func parsePrintRes(r *Request, v *val) (string, error) {
	if err := v.count(1, 1); err != nil {
		return "", err
	}
	f, err := v.real(0, 1e-3, 1e6)
	if err != nil {
		return "", err
	}
	r.PrintRes = f
	return "", nil
}

func parsePscan(_ *Request, v *val) (string, error) {
	if err := v.count(1, 1); err != nil {
		return "", err
	}
	p, err := v.enum(0, "auto", "3", "4", "5")
	if err != nil {
		return "", err
	}
	if p != "auto" {
		return "libvips cannot choose the number of progressive scans; libjpeg's default script is used", nil
	}
	return "", nil
}

func parseQlt(r *Request, v *val) (string, error) {
	if err := v.count(1, 2); err != nil {
		return "", err
	}
	q, err := v.int(0, 1, 100)
	if err != nil {
		return "", err
	}
	r.Qlt, r.Chroma = q, false
	if v.has(1) {
		if r.Chroma, err = v.flag(1); err != nil {
			return "", err
		}
	}
	return "", nil
}

func parseQuantize(r *Request, v *val) (string, error) {
	if err := v.count(1, 3+256); err != nil {
		return "", err
	}
	q := QuantizeSpec{Set: true, Palette: "adaptive", Dither: true, NumColors: 256}
	var err error
	if q.Palette, err = v.enum(0, "adaptive", "web", "mac"); err != nil {
		return "", err
	}
	if v.has(1) {
		d, err := v.enum(1, "diffuse", "off")
		if err != nil {
			return "", err
		}
		q.Dither = d == "diffuse"
	}
	if v.has(2) {
		if q.NumColors, err = v.int(2, 2, 256); err != nil {
			return "", err
		}
	}
	for i := 3; i < v.n(); i++ {
		c := strings.TrimSpace(v.arg(i))
		if len(c) != 6 || strings.Trim(strings.ToLower(c), "0123456789abcdef") != "" {
			return "", fmt.Errorf("forced colour %q is not hex6 RGB", v.arg(i))
		}
		q.Colors = append(q.Colors, strings.ToLower(c))
	}
	r.Quantize = q
	return "", nil
}

// bitsFor is the palette bit depth that holds n colours.
func BitsFor(n int) int {
	b := 1
	for 1<<b < n {
		b++
	}
	return b
}

func parseRect(r *Request, v *val) (string, error) {
	if err := v.count(4, 5); err != nil {
		return "", err
	}
	var s RectSpec
	p := [4]*int{&s.X, &s.Y, &s.W, &s.H}
	for i := 0; i < 4; i++ {
		n, err := v.int(i, math.MinInt32, math.MaxInt32)
		if err != nil {
			return "", err
		}
		*p[i] = n
	}
	if s.W <= 0 || s.H <= 0 {
		return "", fmt.Errorf("the rectangle size must be positive")
	}
	if v.has(4) {
		f, err := v.real(4, 1e-6, 1e6)
		if err != nil {
			return "", err
		}
		s.Scale = f
	}
	r.Rect = &s
	return "", nil
}

func parseReq(r *Request, v *val) (string, error) {
	if v.n() < 1 {
		return "", fmt.Errorf("a value is required")
	}
	switch strings.ToLower(strings.TrimSpace(v.arg(0))) {
	case "img":
		if v.n() > 1 {
			return "", fmt.Errorf("req=img takes no options")
		}
		r.ReqMask = false
		return "", nil
	case "mask":
		if v.n() > 1 {
			return "", fmt.Errorf("req=mask takes no options")
		}
		r.ReqMask = true
		return "", nil
	case "catalogprops", "exists", "imageprops", "imageset", "loadcache", "map", "mbrset", "message",
		"props", "resolve", "savetofile", "set", "targets", "tmb", "userdata", "validate", "xlate", "xmp":
		return "", errRejected(fmt.Sprintf("req=%s does not return the image; an export renders req=img", v.arg(0)))
	}
	return "", fmt.Errorf("%q is not an IS request type", v.arg(0))
}

func parseResMode(r *Request, v *val) (string, error) {
	if err := v.count(1, 1); err != nil {
		return "", err
	}
	m, err := v.enum(0, "bilin", "bicub", "sharp2", "bisharp", "sharp", "trilin")
	if err != nil {
		return "", err
	}
	// Old spellings still sent by integrations (docs/rendering.md, "Decisions the reference leaves open").
	switch m {
	case "sharp":
		r.ResMode = "sharp2"
		return "resMode=sharp is deprecated; rendered as sharp2", nil
	case "trilin":
		r.ResMode = "bilin"
		return "resMode=trilin is not documented; rendered as bilin", nil
	}
	r.ResMode = m
	return "", nil
}

func parseRgn(r *Request, v *val) (string, error) {
	if err := v.count(4, 4); err != nil {
		return "", err
	}
	var g IRect
	p := [4]*int{&g.X, &g.Y, &g.W, &g.H}
	for i := 0; i < 4; i++ {
		n, err := v.int(i, math.MinInt32, math.MaxInt32)
		if err != nil {
			return "", err
		}
		*p[i] = n
	}
	if g.W <= 0 || g.H <= 0 {
		return "", fmt.Errorf("the region size must be positive")
	}
	r.Rgn = &g
	return "", nil
}

func parseScale(r *Request, v *val) (string, error) {
	if err := v.count(1, 1); err != nil {
		return "", err
	}
	f, err := v.real(0, 0, 1e6)
	if err != nil {
		return "", err
	}
	if f <= 0 {
		return "", fmt.Errorf("the scale must be greater than 0")
	}
	r.Scale = f
	return "", nil
}

func parseScl(r *Request, v *val) (string, error) {
	if err := v.count(1, 1); err != nil {
		return "", err
	}
	f, err := v.real(0, 0, 1e6)
	if err != nil {
		return "", err
	}
	if f <= 0 {
		return "", fmt.Errorf("the scale must be greater than 0")
	}
	r.Scl = f
	return "", nil
}

func parseLayerSize(r *Request, v *val) (string, error) {
	if err := v.count(2, 2); err != nil {
		return "", err
	}
	for i := 0; i < 2; i++ {
		n, err := v.int(i, 0, math.MaxInt32)
		if err != nil {
			return "", err
		}
		r.Size[i] = n
	}
	r.HasSize = true
	return "", nil
}

// rejectedError marks a valid IS value this server refuses (as opposed to a
// malformed one); both are parse errors.
type rejectedError struct{ reason string }

func (e *rejectedError) Error() string { return e.reason }

func errRejected(reason string) error { return &rejectedError{reason} }
