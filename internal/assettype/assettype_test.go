package assettype

import (
	"bytes"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"testing"

	"github.com/stretchr/testify/assert"
)

func encoded(t *testing.T, enc func(*bytes.Buffer, image.Image) error) []byte {
	img := image.NewRGBA(image.Rect(0, 0, 4, 4))
	img.Set(1, 1, color.RGBA{255, 0, 0, 255})
	var b bytes.Buffer
	if err := enc(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestDetect(t *testing.T) {
	jpg := encoded(t, func(b *bytes.Buffer, i image.Image) error { return jpeg.Encode(b, i, nil) })
	pngb := encoded(t, func(b *bytes.Buffer, i image.Image) error { return png.Encode(b, i) })
	gifb := encoded(t, func(b *bytes.Buffer, i image.Image) error { return gif.Encode(b, i, nil) })
	tests := []struct {
		name string
		head []byte
		file string
		typ  string
		conv bool
	}{
		{"jpeg", jpg, "a.jpg", "Image", true},
		{"jpeg misnamed", jpg, "a.png", "Image", true},
		{"png", pngb, "a.png", "Image", true},
		{"gif", gifb, "a.gif", "Image", true},
		{"tiff", []byte("II*\x00\x08\x00\x00\x00"), "a.tif", "Image", true},
		{"webp", []byte("RIFF\x00\x00\x00\x00WEBPVP8 "), "a.webp", "Image", true},
		{"pdf", []byte("%PDF-1.7\n"), "a.pdf", "Pdf", true},
		{"mp4", []byte("\x00\x00\x00\x18ftypisom\x00\x00"), "a.mp4", "Video", false},
		{"mov", []byte("\x00\x00\x00\x14ftypqt  \x00\x00"), "a.mov", "Video", false},
		{"avif", []byte("\x00\x00\x00\x1cftypavif\x00\x00"), "a.avif", "Image", true},
		{"eps", []byte("%!PS-Adobe-3.0 EPSF-3.0"), "a.eps", "PostScript", true},
		{"eps with a binary header", []byte("\xc5\xd0\xd3\xc6\x1e\x00\x00\x00"), "a.eps", "PostScript", true},
		{"illustrator", []byte("%PDF-1.5"), "a.ai", "Illustrator", true},
		{"illustrator 8 (PostScript)", []byte("%!PS-Adobe-3.0 \n%%Creator: Adobe Illustrator(R) 8.0"), "a.ai", "Illustrator", true},
		{"zip", []byte("PK\x03\x04"), "a.zip", "Zip", false},
		{"docx", []byte("PK\x03\x04"), "a.docx", "Word", false},
		{"svg", []byte(`<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"/>`), "a.svg", "Svg", false},
		{"xml", []byte(`<catalog/>`), "a.xml", "Xml", false},
		{"font", []byte("\x00\x01\x00\x00\x00\x10"), "a.ttf", "Font", false},
		{"unknown", []byte("hello world"), "a.txt", "Asset", false},
		{"empty", nil, "a", "Asset", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			k := Detect(tc.head, tc.file)
			assert.Equal(t, tc.typ, k.Type)
			assert.Equal(t, tc.conv, k.Convertible)
		})
	}
}
