// Package modifier is the Image Serving modifier language of an export
// (fmt=convert): it parses modifier strings with their macros and
// variables (Parse, ParseExport) into a Request whose exported fields are
// the effective value of every command, and keeps the command table
// (COMMANDS.md lists every command as rendered, accepted with a warning,
// or rejected). It is pure Go: the renderer (package render, libvips)
// reads Requests; the service and the job engine parse and check them
// without cgo.
package modifier

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

	OutFormat   *FormatInfo
	PixelType   string // "" = the format's default
	Compression string // "" = the format's default

	Wid, Hei int     // 0 = not given
	Scl      float64 // 0 = not given
	Fit      *FitSpec
	Align    [2]float64
	Rgn      *IRect
	Rect     *RectSpec
	DPR      float64 // 0 or 1 = off
	// DefaultPix bounds the view (width, height; 0 = unconstrained) when
	// none of wid, hei and scl is given: the catalogue's DefaultPix, set by
	// ApplyDefaults, never by a command.
	DefaultPix [2]int

	Crop      *BoxSpec
	Size      [2]int
	HasSize   bool
	Scale     float64 // 0 = not given
	Rotate    float64
	Flip      string // "", "lr", "ud", "lrud"
	Extend    *BoxSpec
	Color     *ColorValue
	BgColor   *ColorValue
	Opac      [2]int // 100,100 = unchanged
	HasOpac   bool
	Bgc       *ColorValue // nil = the default (Config: white)
	ResMode   string      // "" = default (sharp2)
	Sharpen   bool
	USM, USMR *USMSpec

	Blur         float64
	Brightness   int
	Contrast     int
	Saturation   int
	Hue          int
	Invert       bool
	Colorize     *ColorizeSpec
	ColorBalance [3]int
	Noise        *NoiseSpec

	Qlt      int // 0 = default
	Chroma   bool
	ICC      *ICCSpec
	ICCEmbed bool
	XMPEmbed bool
	Quantize QuantizeSpec
	PrintRes float64 // 0 = keep the source's
	JPEGSize int     // KB, 0 = unconstrained
	ReqMask  bool

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

type FitSpec struct {
	Mode    string // fit, constrain, crop, wrap, stretch, hfit, vfit
	Upscale bool
}

type IRect struct{ X, Y, W, H int }

type RectSpec struct {
	IRect
	Scale float64 // 0 = 1
}

// boxSpec is crop=/cropN= (x,y,w,h) or extend=/extendN= (l,t,r,b).
type BoxSpec struct {
	Norm bool
	V    [4]float64
}

type USMSpec struct {
	Amount, Radius float64
	Threshold      int
	Mono           bool
}

type ColorizeSpec struct {
	Color    ColorValue
	Norm     bool
	Contrast float64
}

type NoiseSpec struct {
	Amount   int
	Gaussian bool
	Mono     bool
}

type ICCSpec struct {
	Name string
	// Default: the profile is the company's default for the output's
	// pixel type (Defaults), not an icc= of the request; one of another
	// pixel type is then passed over with a warning.
	Default bool
	Intent  string // "" = default (perceptual)
	BPC     *bool  // nil = default (on)
	Dither  bool
}

type QuantizeSpec struct {
	Set       bool
	Palette   string // adaptive, web, mac
	Dither    bool
	NumColors int
	Colors    []string
}

// Format is the fmt= format that will be written ("jpeg" when none was given).
func (r *Request) Format() string { return r.FormatInfo().Name }

// Ext is the file extension of the output, with its dot: .jpg, .png, .tiff,
// .gif, .webp, .avif, .heic, .jp2 (docs/rendering.md, "Formats").
func (r *Request) Ext() string { return r.FormatInfo().Ext }

// MIME is the media type of the output.
func (r *Request) MIME() string { return r.FormatInfo().MIME }

// Supported reports whether this server writes the requested format; when it
// does not (pdf, eps, swf*, jpegxr*, f4m, m3u8) every render fails with
// ErrUnsupportedFormat.
func (r *Request) Supported() bool { return r.FormatInfo().Written }

func (r *Request) FormatInfo() *FormatInfo {
	if r.OutFormat == nil {
		return Formats["jpeg"]
	}
	return r.OutFormat
}

// outPixelType is the fmt pixel type, defaulting per the fmt page
// (gray for req=mask, else rgb).
func (r *Request) OutPixelType() string {
	if r.PixelType != "" {
		return r.PixelType
	}
	if r.ReqMask && r.FormatInfo().AllowsPixelType("gray") {
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
	// Field names the asset's stored modifier holding the command
	// ("urlModifier", "urlPostApplyModifier"), if any; Pos is within it.
	Field string `json:",omitempty"`
	// Macro names the image format whose definition holds the command.
	Macro   string
	Message string
}

func (w Warning) String() string {
	loc := fmt.Sprintf("position %d", w.Pos)
	if w.Field != "" {
		loc += " of the asset's " + w.Field
	}
	if w.Macro != "" {
		loc += " (in macro $" + w.Macro + "$)"
	}
	if w.Pos == 0 {
		loc = "render"
	}
	return fmt.Sprintf("%s at %s: %s", w.Command, loc, w.Message)
}
