package render

import (
	"bytes"
	"encoding/binary"
)

// libvips 8.14 rebuilds an EXIF block (resolution, orientation, pixel
// dimensions) on every JPEG and WebP it writes, even from an image without
// one and, for WebP, even with strip set. IS writes no EXIF, so these
// remove it from the encoded container: no pixel is re-encoded.

// jpegDropExif replaces the APP1 "Exif" segment of a JPEG file by a JFIF
// header carrying the print resolution (dpi). libvips writes no JFIF header
// and keeps the resolution in EXIF only. A CMYK JPEG (Adobe APP14, where
// JFIF does not belong) keeps its EXIF block: the resolution's only home.
func jpegDropExif(b []byte, xdpi, ydpi float64) []byte {
	if len(b) < 4 || b[0] != 0xFF || b[1] != 0xD8 {
		return b
	}
	type segment struct{ start, end int }
	var segs []segment
	hasJFIF, hasAdobe := false, false
	i := 2
	for i+4 <= len(b) {
		if b[i] != 0xFF {
			return b // not a marker where one must be: leave the file alone
		}
		marker := b[i+1]
		if marker == 0xDA { // start of scan: the rest is entropy-coded data
			break
		}
		n := int(binary.BigEndian.Uint16(b[i+2:]))
		if n < 2 || i+2+n > len(b) {
			return b
		}
		hasJFIF = hasJFIF || marker == 0xE0 && bytes.HasPrefix(b[i+4:], []byte("JFIF\x00"))
		hasAdobe = hasAdobe || marker == 0xEE && bytes.HasPrefix(b[i+4:], []byte("Adobe"))
		segs = append(segs, segment{i, i + 2 + n})
		i += 2 + n
	}
	if hasAdobe {
		return b
	}
	out := make([]byte, 0, len(b)+18)
	out = append(out, b[:2]...)
	if !hasJFIF {
		out = append(out, 0xFF, 0xE0, 0, 16, 'J', 'F', 'I', 'F', 0, 1, 1, 0, 0, 1, 0, 1, 0, 0)
		if xdpi > 0 && ydpi > 0 {
			out[2+11] = 1 // dots per inch
			binary.BigEndian.PutUint16(out[2+12:], clampDensity(xdpi))
			binary.BigEndian.PutUint16(out[2+14:], clampDensity(ydpi))
		}
	}
	for _, s := range segs {
		seg := b[s.start:s.end]
		if seg[1] == 0xE1 && bytes.HasPrefix(seg[4:], []byte("Exif\x00")) {
			continue
		}
		out = append(out, seg...)
	}
	return append(out, b[i:]...)
}

func clampDensity(dpi float64) uint16 {
	return uint16(min(max(roundHalfUp(dpi), 1), 65535))
}

// webpDropExif removes the EXIF chunk of an extended WebP file and clears
// its flag in the VP8X header.
func webpDropExif(b []byte) []byte {
	if len(b) < 12 || string(b[0:4]) != "RIFF" || string(b[8:12]) != "WEBP" {
		return b
	}
	out := make([]byte, 0, len(b))
	out = append(out, b[:12]...)
	vp8x := -1
	for i := 12; i+8 <= len(b); {
		n := int(binary.LittleEndian.Uint32(b[i+4:]))
		end := i + 8 + n + n&1
		if n < 0 || end > len(b) {
			if i+8+n == len(b) { // unpadded last chunk
				end = len(b)
			} else {
				return b
			}
		}
		switch string(b[i : i+4]) {
		case "EXIF":
		case "VP8X":
			vp8x = len(out)
			out = append(out, b[i:end]...)
		default:
			out = append(out, b[i:end]...)
		}
		i = end
	}
	if vp8x >= 0 {
		out[vp8x+8] &^= 0x08 // the EXIF flag
	}
	binary.LittleEndian.PutUint32(out[4:], uint32(len(out)-8))
	return out
}
