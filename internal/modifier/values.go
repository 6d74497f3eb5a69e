package modifier

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// val is a command value after variable substitution and %-decoding, split
// into its comma-separated arguments (an encoded comma separates too:
// reference r-icc.md, "may not include ',' characters, even if HTTP-encoded").
type val struct {
	s    string
	args []string
}

func newVal(s string) *val {
	return &val{s: s, args: strings.Split(s, ",")}
}

// n is the number of arguments; an empty value has none.
func (v *val) n() int {
	if v.s == "" {
		return 0
	}
	return len(v.args)
}

// has reports whether argument i is present and not empty ("fmt=tif,,lzw").
func (v *val) has(i int) bool { return i < v.n() && v.args[i] != "" }

func (v *val) count(min, max int) error {
	n := v.n()
	switch {
	case n < min && min == 1:
		return fmt.Errorf("a value is required")
	case n < min:
		return fmt.Errorf("needs at least %d values, got %d", min, n)
	case n > max:
		return fmt.Errorf("takes at most %d values, got %d", max, n)
	}
	return nil
}

func (v *val) arg(i int) string {
	if i < len(v.args) {
		return v.args[i]
	}
	return ""
}

func (v *val) int(i, min, max int) (int, error) {
	a := v.arg(i)
	n, err := strconv.Atoi(strings.TrimSpace(a))
	if err != nil {
		return 0, fmt.Errorf("%q is not an integer", a)
	}
	if n < min || n > max {
		return 0, fmt.Errorf("%d is outside %d…%d", n, min, max)
	}
	return n, nil
}

// real parses a decimal number; hex floats, "inf" and "nan" are not IS reals.
func (v *val) real(i int, min, max float64) (float64, error) {
	a := strings.TrimSpace(v.arg(i))
	if a == "" || strings.Trim(a, "0123456789+-.eE") != "" {
		return 0, fmt.Errorf("%q is not a number", v.arg(i))
	}
	f, err := strconv.ParseFloat(a, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, fmt.Errorf("%q is not a number", v.arg(i))
	}
	if f < min || f > max {
		return 0, fmt.Errorf("%s is outside %s…%s", a, fmtNum(min), fmtNum(max))
	}
	return f, nil
}

// enum matches argument i against choices case-insensitively (the reference
// is silent on enum case; docs/rendering.md, "Decisions the reference leaves open", decides lenient) and returns the
// canonical spelling.
func (v *val) enum(i int, choices ...string) (string, error) {
	a := strings.TrimSpace(v.arg(i))
	for _, c := range choices {
		if strings.EqualFold(a, c) {
			return c, nil
		}
	}
	return "", fmt.Errorf("%q is not one of %s", v.arg(i), strings.Join(choices, ", "))
}

func (v *val) flag(i int) (bool, error) {
	n, err := v.int(i, 0, 1)
	return n == 1, err
}

func fmtNum(f float64) string {
	if f >= math.MaxInt32 {
		return "∞"
	}
	if f <= -math.MaxInt32 {
		return "-∞"
	}
	return strconv.FormatFloat(f, 'g', -1, 64)
}

// percentDecode decodes %xx escapes only: '+' stays '+' (docs/rendering.md, "Decisions the reference leaves open").
func percentDecode(s string) (string, error) {
	if !strings.Contains(s, "%") {
		return s, nil
	}
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '%' {
			b.WriteByte(c)
			continue
		}
		if i+2 >= len(s) || !isHex(s[i+1]) || !isHex(s[i+2]) {
			end := min(i+3, len(s))
			return "", fmt.Errorf("bad escape %q", s[i:end])
		}
		b.WriteByte(unhex(s[i+1])<<4 | unhex(s[i+2]))
		i += 2
	}
	return b.String(), nil
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case '0' <= c && c <= '9':
		return c - '0'
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10
	}
	return c - 'A' + 10
}

// escapeValue writes a decoded value back so that parsing it again yields
// the same value: the separators and the characters that would start a
// variable reference or an escape are encoded, as are spaces and controls.
func escapeValue(s string) string {
	const hexDigits = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '%' || c == '&' || c == '=' || c == '$' || c == '#' || c <= ' ' || c >= 0x7f:
			b.WriteByte('%')
			b.WriteByte(hexDigits[c>>4])
			b.WriteByte(hexDigits[c&15])
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// validName reports whether s is a macro or variable name: ASCII letters,
// digits, '-', '_' and '.' (r-is-http-command-macros.md).
func validName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}
