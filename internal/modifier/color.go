package modifier

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// ColorKind is the pixel type a colour value was written in.
type ColorKind int

const (
	ColorGray ColorKind = iota
	ColorRGB
	ColorCMYK
)

// colorValue is an Image Serving colour value (reference c-data-types/r-is-http-color.md).
type ColorValue struct {
	Kind ColorKind
	// V holds gray (V[0]), RGB (V[0..2]) or CMYK (V[0..3]) components, each
	// in 0…255 whatever the notation (percent values are scaled).
	V [4]float64
	// A is the alpha, 0…255; 255 when the value does not give one.
	A float64
	// Source marks the 's' suffix (value in the source colour space).
	Source bool
}

// RGB converts the colour to 8-bit RGB the naive way, as IS does between
// pixel types (r-bgc.md: "converted using naïve conversion").
func (c ColorValue) RGB() [3]float64 {
	switch c.Kind {
	case ColorGray:
		return [3]float64{c.V[0], c.V[0], c.V[0]}
	case ColorCMYK:
		k := 1 - c.V[3]/255
		return [3]float64{
			255 * (1 - c.V[0]/255) * k,
			255 * (1 - c.V[1]/255) * k,
			255 * (1 - c.V[2]/255) * k,
		}
	}
	return [3]float64{c.V[0], c.V[1], c.V[2]}
}

// Gray converts the colour to an 8-bit gray level (Rec. 601 luma for RGB).
func (c ColorValue) Gray() float64 {
	if c.Kind == ColorGray {
		return c.V[0]
	}
	rgb := c.RGB()
	return 0.299*rgb[0] + 0.587*rgb[1] + 0.114*rgb[2]
}

var errColor = errors.New("not a colour value")

// parseColor parses the colour grammar:
//
//	{gray[,alpha][g]} | {r,g,b[,a][r]} | {c,m,y,k[,a]k} |
//	{0x{hex2|hex4}[g]} | {[0x]{hex6|hex8}[r]} | {[0x]{hex8|hex10}k}  [s]
//
// Values, prefixes and suffixes are case-insensitive.
func parseColor(s string) (ColorValue, error) {
	c := ColorValue{A: 255}
	t := strings.ToLower(s)
	if strings.HasSuffix(t, "s") {
		c.Source = true
		t = t[:len(t)-1]
	}
	suffix := byte(0)
	if n := len(t); n > 0 && (t[n-1] == 'g' || t[n-1] == 'r' || t[n-1] == 'k') {
		suffix = t[n-1]
		t = t[:n-1]
	}
	if t == "" {
		return c, fmt.Errorf("%w: %q", errColor, s)
	}
	if strings.Contains(t, ",") {
		return parseDecimalColor(c, s, t, suffix)
	}
	hasPrefix := strings.HasPrefix(t, "0x")
	h := strings.TrimPrefix(t, "0x")
	isHex := h != "" && strings.Trim(h, "0123456789abcdef") == ""
	if hasPrefix || (isHex && (len(h) == 6 || len(h) == 8 || len(h) == 10)) {
		if !isHex {
			return c, fmt.Errorf("%w: %q has non-hex digits", errColor, s)
		}
		return parseHexColor(c, s, h, hasPrefix, suffix)
	}
	// A single decimal value is a gray percentage ("100S" in the reference).
	return parseDecimalColor(c, s, t, suffix)
}

func parseHexColor(c ColorValue, s, h string, prefixed bool, suffix byte) (ColorValue, error) {
	byteAt := func(i int) float64 {
		v, _ := strconv.ParseUint(h[2*i:2*i+2], 16, 8)
		return float64(v)
	}
	switch {
	case suffix == 'k' && (len(h) == 8 || len(h) == 10):
		c.Kind = ColorCMYK
		for i := 0; i < 4; i++ {
			c.V[i] = byteAt(i)
		}
		if len(h) == 10 {
			c.A = byteAt(4)
		}
	case suffix != 'k' && suffix != 'r' && (len(h) == 2 || len(h) == 4):
		if !prefixed {
			return c, fmt.Errorf("%w: hex gray %q needs the 0x prefix", errColor, s)
		}
		c.Kind = ColorGray
		c.V[0] = byteAt(0)
		if len(h) == 4 {
			c.A = byteAt(1)
		}
	case suffix != 'k' && suffix != 'g' && (len(h) == 6 || len(h) == 8):
		c.Kind = ColorRGB
		for i := 0; i < 3; i++ {
			c.V[i] = byteAt(i)
		}
		if len(h) == 8 {
			c.A = byteAt(3)
		}
	default:
		return c, fmt.Errorf("%w: %q has %d hex digits", errColor, s, len(h))
	}
	return c, nil
}

func parseDecimalColor(c ColorValue, s, t string, suffix byte) (ColorValue, error) {
	parts := strings.Split(t, ",")
	nums := make([]int, len(parts))
	for i, p := range parts {
		n, err := strconv.Atoi(strings.TrimSpace(p))
		if err != nil || p == "" {
			return c, fmt.Errorf("%w: %q: component %q is not an integer", errColor, s, p)
		}
		nums[i] = n
	}
	inRange := func(max int) error {
		for _, n := range nums {
			if n < 0 || n > max {
				return fmt.Errorf("%w: %q: component %d outside 0…%d", errColor, s, n, max)
			}
		}
		return nil
	}
	pct := func(n int) float64 { return float64(n) * 255 / 100 }
	switch {
	case suffix == 'k' && (len(nums) == 4 || len(nums) == 5):
		if err := inRange(100); err != nil {
			return c, err
		}
		c.Kind = ColorCMYK
		for i := 0; i < 4; i++ {
			c.V[i] = pct(nums[i])
		}
		if len(nums) == 5 {
			c.A = pct(nums[4])
		}
	case suffix != 'k' && suffix != 'r' && (len(nums) == 1 || len(nums) == 2):
		if err := inRange(100); err != nil {
			return c, err
		}
		c.Kind = ColorGray
		c.V[0] = pct(nums[0])
		if len(nums) == 2 {
			c.A = pct(nums[1])
		}
	case suffix != 'k' && suffix != 'g' && (len(nums) == 3 || len(nums) == 4):
		if err := inRange(255); err != nil {
			return c, err
		}
		c.Kind = ColorRGB
		for i := 0; i < 3; i++ {
			c.V[i] = float64(nums[i])
		}
		if len(nums) == 4 {
			c.A = float64(nums[3])
		}
	default:
		return c, fmt.Errorf("%w: %q", errColor, s)
	}
	return c, nil
}
