package render

import (
	"fmt"
	"strings"
)

// Request is a parsed, macro-expanded Image Serving modifier string: the
// effective value of every command after last-wins. Build one with Parse.
type Request struct {
	// Warnings name the real IS commands (or argument values) that this
	// renderer accepts but does not render faithfully.
	Warnings []Warning

	format      *formatInfo
	pixelType   string // "" = the format's default
	compression string // "" = the format's default

	wid, hei int     // 0 = not given
	scl      float64 // 0 = not given
	fit      *fitSpec
	align    [2]float64
	rgn      *irect
	rect     *rectSpec
	dpr      float64 // 0 or 1 = off

	crop      *boxSpec
	size      [2]int
	hasSize   bool
	scale     float64 // 0 = not given
	rotate    float64
	flip      string // "", "lr", "ud", "lrud"
	extend    *boxSpec
	color     *colorValue
	bgColor   *colorValue
	opac      [2]int // 100,100 = unchanged
	hasOpac   bool
	bgc       *colorValue // nil = the default (Config: white)
	resMode   string      // "" = default (sharp2)
	sharpen   bool
	usm, usmR *usmSpec

	blur         float64
	brightness   int
	contrast     int
	saturation   int
	hue          int
	invert       bool
	colorize     *colorizeSpec
	colorbalance [3]int
	noise        *noiseSpec

	qlt      int // 0 = default
	chroma   bool
	icc      *iccSpec
	iccEmbed bool
	xmpEmbed bool
	quantize quantizeSpec
	printRes float64 // 0 = keep the source's
	jpegSize int     // KB, 0 = unconstrained
	reqMask  bool

	// effective commands in canonical form (see Canonical).
	effective map[string]effectiveCmd
	// value-level warnings per command group; reset when the group is set again.
	groupWarnings map[string][]Warning
	// positions of the effective occurrences, for errors found after parsing.
	where map[string]origin
}

type effectiveCmd struct {
	name  string // canonical spelling of the command as written (crop or cropN)
	value string // decoded value
	set   bool   // written with '='
}

type fitSpec struct {
	mode    string // fit, constrain, crop, wrap, stretch, hfit, vfit
	upscale bool
}

type irect struct{ x, y, w, h int }

type rectSpec struct {
	irect
	scale float64 // 0 = 1
}

// boxSpec is crop=/cropN= (x,y,w,h) or extend=/extendN= (l,t,r,b).
type boxSpec struct {
	norm bool
	v    [4]float64
}

type usmSpec struct {
	amount, radius float64
	threshold      int
	mono           bool
}

type colorizeSpec struct {
	color    colorValue
	norm     bool
	contrast float64
}

type noiseSpec struct {
	amount   int
	gaussian bool
	mono     bool
}

type iccSpec struct {
	name   string
	intent string // "" = default (perceptual)
	bpc    *bool  // nil = default (on)
	dither bool
}

type quantizeSpec struct {
	set       bool
	palette   string // adaptive, web, mac
	dither    bool
	numColors int
	colors    []string
}

// Format is the fmt= format that will be written ("jpeg" when none was given).
func (r *Request) Format() string { return r.fmtInfo().name }

// Ext is the file extension of the output, with its dot: .jpg, .png, .tiff,
// .gif, .webp, .avif, .heic, .jp2 (SPEC §2).
func (r *Request) Ext() string { return r.fmtInfo().ext }

// MIME is the media type of the output.
func (r *Request) MIME() string { return r.fmtInfo().mime }

// Supported reports whether this server writes the requested format; when it
// does not (pdf, eps, swf*, jpegxr*, f4m, m3u8) every render fails with
// ErrUnsupportedFormat.
func (r *Request) Supported() bool { return r.fmtInfo().written }

func (r *Request) fmtInfo() *formatInfo {
	if r.format == nil {
		return formats["jpeg"]
	}
	return r.format
}

// outPixelType is the fmt pixel type, defaulting per the fmt page
// (gray for req=mask, else rgb).
func (r *Request) outPixelType() string {
	if r.pixelType != "" {
		return r.pixelType
	}
	if r.reqMask && r.fmtInfo().allowsPixelType("gray") {
		return "gray"
	}
	return "rgb"
}

// Canonical is the request as a modifier string with macros expanded,
// variables substituted and overridden commands dropped, in a fixed order.
// Parsing it again gives an equal Request, so a job can keep it as a
// snapshot that later edits of an image format do not change.
func (r *Request) Canonical() string {
	var parts []string
	for _, d := range commandTable {
		e, ok := r.effective[d.group]
		if !ok || e.name != d.name {
			continue
		}
		if e.set {
			parts = append(parts, e.name+"="+escapeValue(e.value))
		} else {
			parts = append(parts, e.name)
		}
	}
	return strings.Join(parts, "&")
}

// String is Canonical.
func (r *Request) String() string { return r.Canonical() }

// Warning is a command accepted but not rendered (or not rendered exactly).
type Warning struct {
	Command string
	// Pos is the 1-based byte position of the command in the modifier string
	// (of the macro invocation when the command comes from a macro).
	Pos int
	// Macro names the image format whose definition holds the command.
	Macro   string
	Message string
}

func (w Warning) String() string {
	loc := fmt.Sprintf("position %d", w.Pos)
	if w.Macro != "" {
		loc += " (in macro $" + w.Macro + "$)"
	}
	if w.Pos == 0 {
		loc = "render"
	}
	return fmt.Sprintf("%s at %s: %s", w.Command, loc, w.Message)
}
