package render

import (
	"fmt"
	"math"

	"github.com/ipsexport/ipsd/internal/modifier"
)

// roundHalfUp rounds a pixel size or offset; the reference does not say how
// the free side is rounded (docs/rendering.md, "Decisions the reference leaves open": half up).
func roundHalfUp(f float64) int { return int(math.Floor(f + 0.5)) }

// atLeast1 keeps a scaled side from vanishing.
func atLeast1(n int) int { return max(n, 1) }

// viewPlan maps the composite image to the view image (reference
// r-view-transform-for-images.md): the composite is scaled by sx, sy and
// placed with its top-left corner at ox, oy in a w×h view; view pixels the
// composite does not cover are padding (bgc, or transparent for -alpha).
type viewPlan struct {
	sx, sy float64
	// scaled composite size: the exact target of the resize.
	cw, ch int
	ox, oy int
	w, h   int
}

func (v viewPlan) identity(cw, ch int) bool {
	return v.cw == cw && v.ch == ch && v.ox == 0 && v.oy == 0 && v.w == cw && v.h == ch
}

// planView computes the view transform for a composite of cw×ch pixels.
func planView(cw, ch int, r *modifier.Request) (viewPlan, error) {
	wid, hei, scl := r.Wid, r.Hei, r.Scl
	// dpr=on,v delivers v times the requested size (r-dpr.md).
	if r.DPR > 0 && r.DPR != 1 {
		if wid > 0 {
			wid = atLeast1(roundHalfUp(float64(wid) * r.DPR))
		}
		if hei > 0 {
			hei = atLeast1(roundHalfUp(float64(hei) * r.DPR))
		}
		if scl > 0 {
			scl /= r.DPR
		}
	}

	// The region of interest: rgn=, else the whole composite.
	rx, ry, rw, rh := 0.0, 0.0, float64(cw), float64(ch)
	if r.Rgn != nil {
		rx, ry, rw, rh = float64(r.Rgn.X), float64(r.Rgn.Y), float64(r.Rgn.W), float64(r.Rgn.H)
	}

	var sx, sy float64
	var w, h int
	switch {
	case scl > 0:
		// Scale, then crop or pad to wid/hei by align (r-scl.md).
		sx = 1 / scl
		sy = sx
		w, h = wid, hei
		if w == 0 {
			w = atLeast1(roundHalfUp(rw * sx))
		}
		if h == 0 {
			h = atLeast1(roundHalfUp(rh * sy))
		}
	case wid > 0 || hei > 0:
		sx, sy, w, h = fitScale(rw, rh, wid, hei, r.Fit)
	default:
		// No size given: the export keeps the full size, unless the
		// company's DefaultPix bounds it (docs/rendering.md, "Defaults"):
		// scaled down to fit inside, never enlarged, no padding.
		s := 1.0
		if dw := r.DefaultPix[0]; dw > 0 {
			s = math.Min(s, float64(dw)/rw)
		}
		if dh := r.DefaultPix[1]; dh > 0 {
			s = math.Min(s, float64(dh)/rh)
		}
		sx, sy = s, s
		w, h = atLeast1(roundHalfUp(rw*s)), atLeast1(roundHalfUp(rh*s))
	}

	// Where the scaled ROI sits in the view: align h,v in -1…1 maps the
	// slack (positive: padding, negative: crop) from its start to its end.
	dx := (float64(w) - rw*sx) * (r.Align[0] + 1) / 2
	dy := (float64(h) - rh*sy) * (r.Align[1] + 1) / 2
	p := viewPlan{
		sx: sx, sy: sy,
		cw: atLeast1(roundHalfUp(float64(cw) * sx)),
		ch: atLeast1(roundHalfUp(float64(ch) * sy)),
		ox: roundHalfUp(dx - rx*sx),
		oy: roundHalfUp(dy - ry*sy),
		w:  w, h: h,
	}
	if p.cw > maxCoord || p.ch > maxCoord {
		return p, fmt.Errorf("the scaled image would be %d×%d pixels", p.cw, p.ch)
	}
	return p, nil
}

// maxCoord bounds intermediate image sides (libvips' VIPS_MAX_COORD is 10M).
const maxCoord = 10_000_000

// fitScale chooses the view scale and size for wid/hei (reference r-fit.md,
// r-is-http-wid.md). The fit page calls xScale the ratio composite/response
// yet says fit applies "the smaller" of them; here xs is response/composite,
// so the described results hold: fit never crops, crop never pads.
func fitScale(rw, rh float64, wid, hei int, fit *modifier.FitSpec) (sx, sy float64, w, h int) {
	xs, ys := float64(wid)/rw, float64(hei)/rh
	free := func(s float64) (int, int) {
		w, h := wid, hei
		if w == 0 {
			w = atLeast1(roundHalfUp(rw * s))
		}
		if h == 0 {
			h = atLeast1(roundHalfUp(rh * s))
		}
		return w, h
	}
	if wid == 0 || hei == 0 {
		// One side given: the other follows the aspect ratio, whatever the
		// mode ("both … must be specified for the fit modes to behave as described").
		s := xs
		if wid == 0 {
			s = ys
		}
		if fit != nil && !fit.Upscale {
			s = math.Min(s, 1)
		}
		w, h = free(s)
		if fit != nil && (fit.Mode == "constrain" || fit.Mode == "wrap") {
			w, h = atLeast1(roundHalfUp(rw*s)), atLeast1(roundHalfUp(rh*s))
		}
		return s, s, w, h
	}
	if fit == nil {
		// wid and hei without fit=: scaled to fit inside, padded (r-is-http-wid.md).
		// Enlarging is allowed: the 1:1 cap belongs to fit=…,0 (docs/rendering.md, "Decisions the reference leaves open").
		s := math.Min(xs, ys)
		return s, s, wid, hei
	}
	cap1 := func(s float64) float64 {
		if !fit.Upscale {
			return math.Min(s, 1)
		}
		return s
	}
	switch fit.Mode {
	case "constrain":
		s := cap1(math.Min(xs, ys))
		return s, s, atLeast1(roundHalfUp(rw * s)), atLeast1(roundHalfUp(rh * s))
	case "crop":
		s := cap1(math.Max(xs, ys))
		return s, s, wid, hei
	case "wrap":
		s := cap1(math.Max(xs, ys))
		return s, s, atLeast1(roundHalfUp(rw * s)), atLeast1(roundHalfUp(rh * s))
	case "stretch":
		return cap1(xs), cap1(ys), wid, hei
	case "hfit":
		s := cap1(xs)
		return s, s, wid, hei
	case "vfit":
		s := cap1(ys)
		return s, s, wid, hei
	}
	s := cap1(math.Min(xs, ys)) // fit
	return s, s, wid, hei
}
