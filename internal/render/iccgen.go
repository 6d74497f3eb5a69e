package render

import (
	"encoding/binary"
	"math"
)

// rgbSpace is an RGB working space defined by its published numbers:
// chromaticities of the primaries, the white point and a pure gamma. A
// matrix/TRC ICC profile built from them describes the same space as the
// vendor's file (Apple RGB, ColorMatch RGB, …), which Debian does not ship.
type rgbSpace struct {
	desc          string
	white         [3]float64 // XYZ, Y = 1
	r, g, b       [2]float64 // xy chromaticities
	gammaU8Fixed8 uint16     // the TRC as ICC stores it: 0x01CD is 1.8, 0x0233 is 2.2
}

// Illuminants as XYZ (Y = 1).
var (
	whiteD50 = [3]float64{0.96422, 1, 0.82521}
	whiteD65 = [3]float64{0.95047, 1, 1.08883}
	whiteC   = [3]float64{0.98074, 1, 1.18232}
	whiteE   = [3]float64{1, 1, 1}
)

// Gamma values as Photoshop writes them in its profiles.
const (
	gamma18 = 0x01CD // 1.80078
	gamma22 = 0x0233 // 2.19922
)

// matrixProfile builds an ICC v2 display profile (matrix/TRC) for s: the
// colourants are Bradford-adapted to the D50 connection space, as the ICC
// specification asks, and wtpt is the space's own white.
func matrixProfile(s rgbSpace) []byte {
	m := rgbToXYZ(s)
	// Adapt each primary's XYZ to D50.
	var cols [3][3]float64
	for c := 0; c < 3; c++ {
		cols[c] = bradford([3]float64{m[0][c], m[1][c], m[2][c]}, s.white, whiteD50)
	}

	type tag struct {
		sig  string
		data []byte
	}
	trc := curvGamma(s.gammaU8Fixed8)
	tags := []tag{
		{"desc", descTag(s.desc)},
		{"cprt", textTag("No copyright, use freely. Built by IPS Export from the published definition of " + s.desc + ".")},
		{"wtpt", xyzTag(s.white)},
		{"rXYZ", xyzTag(cols[0])},
		{"gXYZ", xyzTag(cols[1])},
		{"bXYZ", xyzTag(cols[2])},
		{"rTRC", trc},
		{"gTRC", trc},
		{"bTRC", trc},
	}
	off := 128 + 4 + 12*len(tags)
	var body []byte
	table := make([]byte, 4+12*len(tags))
	binary.BigEndian.PutUint32(table, uint32(len(tags)))
	for i, t := range tags {
		for len(body)%4 != 0 {
			body = append(body, 0)
		}
		e := table[4+12*i:]
		copy(e[0:4], t.sig)
		binary.BigEndian.PutUint32(e[4:], uint32(off+len(body)))
		binary.BigEndian.PutUint32(e[8:], uint32(len(t.data)))
		body = append(body, t.data...)
	}
	for len(body)%4 != 0 {
		body = append(body, 0)
	}
	h := make([]byte, 128)
	size := 128 + len(table) + len(body)
	binary.BigEndian.PutUint32(h[0:], uint32(size))
	binary.BigEndian.PutUint32(h[8:], 0x02100000) // version 2.1
	copy(h[12:], "mntr")
	copy(h[16:], "RGB ")
	copy(h[20:], "XYZ ")
	// Creation date: fixed, so the profile is the same bytes every time.
	for i, v := range []uint16{2000, 1, 1, 0, 0, 0} {
		binary.BigEndian.PutUint16(h[24+2*i:], v)
	}
	copy(h[36:], "acsp")
	putXYZ(h[68:], whiteD50) // the PCS illuminant
	out := append(append(h, table...), body...)
	return out
}

// rgbToXYZ is the matrix whose columns are the primaries' XYZ, scaled so
// that R = G = B = 1 is the white point.
func rgbToXYZ(s rgbSpace) [3][3]float64 {
	xyz := func(c [2]float64) [3]float64 { return [3]float64{c[0] / c[1], 1, (1 - c[0] - c[1]) / c[1]} }
	pr, pg, pb := xyz(s.r), xyz(s.g), xyz(s.b)
	p := [3][3]float64{{pr[0], pg[0], pb[0]}, {pr[1], pg[1], pb[1]}, {pr[2], pg[2], pb[2]}}
	sv := mulVec(invert3(p), s.white)
	var m [3][3]float64
	for r := 0; r < 3; r++ {
		for c := 0; c < 3; c++ {
			m[r][c] = p[r][c] * sv[c]
		}
	}
	return m
}

var bradfordM = [3][3]float64{
	{0.8951, 0.2664, -0.1614},
	{-0.7502, 1.7135, 0.0367},
	{0.0389, -0.0685, 1.0296},
}

// bradford adapts xyz from white src to white dst.
func bradford(xyz, src, dst [3]float64) [3]float64 {
	s, d := mulVec(bradfordM, src), mulVec(bradfordM, dst)
	c := mulVec(bradfordM, xyz)
	for i := range c {
		c[i] *= d[i] / s[i]
	}
	return mulVec(invert3(bradfordM), c)
}

func mulVec(m [3][3]float64, v [3]float64) [3]float64 {
	var o [3]float64
	for r := 0; r < 3; r++ {
		o[r] = m[r][0]*v[0] + m[r][1]*v[1] + m[r][2]*v[2]
	}
	return o
}

func invert3(m [3][3]float64) [3][3]float64 {
	a, b, c := m[0][0], m[0][1], m[0][2]
	d, e, f := m[1][0], m[1][1], m[1][2]
	g, h, i := m[2][0], m[2][1], m[2][2]
	det := a*(e*i-f*h) - b*(d*i-f*g) + c*(d*h-e*g)
	return [3][3]float64{
		{(e*i - f*h) / det, (c*h - b*i) / det, (b*f - c*e) / det},
		{(f*g - d*i) / det, (a*i - c*g) / det, (c*d - a*f) / det},
		{(d*h - e*g) / det, (b*g - a*h) / det, (a*e - b*d) / det},
	}
}

func s15Fixed16(v float64) uint32 { return uint32(int32(math.Round(v * 65536))) }

func putXYZ(b []byte, v [3]float64) {
	for i, x := range v {
		binary.BigEndian.PutUint32(b[4*i:], s15Fixed16(x))
	}
}

func xyzTag(v [3]float64) []byte {
	b := make([]byte, 20)
	copy(b, "XYZ ")
	putXYZ(b[8:], v)
	return b
}

func curvGamma(g uint16) []byte {
	b := make([]byte, 14)
	copy(b, "curv")
	binary.BigEndian.PutUint32(b[8:], 1)
	binary.BigEndian.PutUint16(b[12:], g)
	return b
}

func textTag(s string) []byte {
	b := make([]byte, 8, 8+len(s)+1)
	copy(b, "text")
	return append(append(b, s...), 0)
}

// descTag is a v2 textDescriptionType with the ASCII description only.
func descTag(s string) []byte {
	b := make([]byte, 12, 12+len(s)+1+4+4+2+1+67)
	copy(b, "desc")
	binary.BigEndian.PutUint32(b[8:], uint32(len(s)+1))
	b = append(append(b, s...), 0)
	// Unicode language code and count, ScriptCode code, count and filler.
	return append(b, make([]byte, 4+4+2+1+67)...)
}
