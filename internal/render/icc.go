package render

import (
	"encoding/binary"
	"fmt"
	"os"
	"strings"
	"unicode/utf16"
)

// iccProfile is a registered output profile (docs/rendering.md, "Decisions the reference leaves open": `ipsd admin icc add
// NAME FILE`, plus the built-in sRGB).
type iccProfile struct {
	name      string
	path      string // "" for libvips built-ins
	builtin   string // libvips built-in name ("srgb", "cmyk")
	data      []byte
	pixelType string // rgb, gray, cmyk: what the profile converts to
}

// iccInfo reads what the renderer needs from an ICC profile header.
func iccInfo(data []byte) (pixelType, desc string, err error) {
	if len(data) < 132 || string(data[36:40]) != "acsp" {
		return "", "", fmt.Errorf("not an ICC profile")
	}
	switch string(data[16:20]) {
	case "RGB ":
		pixelType = "rgb"
	case "GRAY":
		pixelType = "gray"
	case "CMYK":
		pixelType = "cmyk"
	default:
		return "", "", fmt.Errorf("ICC colour space %q is not RGB, gray or CMYK", strings.TrimSpace(string(data[16:20])))
	}
	return pixelType, iccDescription(data), nil
}

// iccDescription is the profile's 'desc' text (v2 'desc' or v4 'mluc'), or "".
func iccDescription(data []byte) string {
	if len(data) < 132 {
		return ""
	}
	n := int(binary.BigEndian.Uint32(data[128:]))
	for i := 0; i < n && 132+12*i+12 <= len(data); i++ {
		e := data[132+12*i:]
		if string(e[0:4]) != "desc" {
			continue
		}
		off, size := int(binary.BigEndian.Uint32(e[4:])), int(binary.BigEndian.Uint32(e[8:]))
		if off < 0 || size < 12 || off+size > len(data) || off+size < off {
			return ""
		}
		t := data[off : off+size]
		switch string(t[0:4]) {
		case "desc":
			l := int(binary.BigEndian.Uint32(t[8:]))
			if l <= 0 || 12+l > len(t) {
				return ""
			}
			return strings.TrimRight(string(t[12:12+l]), "\x00")
		case "mluc":
			if len(t) < 28 {
				return ""
			}
			l, o := int(binary.BigEndian.Uint32(t[20:])), int(binary.BigEndian.Uint32(t[24:]))
			if o < 0 || l < 0 || o+l > len(t) || o+l < o {
				return ""
			}
			u := make([]uint16, l/2)
			for j := range u {
				u[j] = binary.BigEndian.Uint16(t[o+2*j:])
			}
			return string(utf16.Decode(u))
		}
	}
	return ""
}

// isSRGBProfile reports a profile that describes sRGB, so that sources
// carrying one need no colour transform (a common case worth the shortcut).
func isSRGBProfile(data []byte) bool {
	pt, desc, err := iccInfo(data)
	if err != nil || pt != "rgb" {
		return false
	}
	d := strings.ToLower(desc)
	return strings.Contains(d, "srgb") && !strings.Contains(d, "linear")
}

func loadProfile(name, path string) (*iccProfile, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("icc profile %q: %w", name, err)
	}
	pt, _, err := iccInfo(data)
	if err != nil {
		return nil, fmt.Errorf("icc profile %q (%s): %w", name, path, err)
	}
	return &iccProfile{name: name, path: path, data: data, pixelType: pt}, nil
}
