package modifier

import "fmt"

// formatInfo describes one fmt= value (reference r-is-http-fmt.md; docs/rendering.md, "Formats").
type FormatInfo struct {
	Name  string
	Ext   string
	MIME  string
	Alpha bool // an -alpha format: never flattened, always written with alpha
	// pixel types the reference allows; the first is the default.
	PixelTypes []string
	// compression values the reference allows (empty: none may be given).
	Compressions []string
	// iccEmbed is honoured (the fmt table's "Embed ICC profile" column).
	EmbedICC bool
	// xmpEmbed is honoured (formats listing xmpEmbed= among their options).
	EmbedXMP bool
	// written is false for formats this server does not write: a per-asset
	// error naming the format (docs/rendering.md, "Formats").
	Written bool
}

var Formats = map[string]*FormatInfo{}

func init() {
	for _, f := range []FormatInfo{
		{Name: "jpeg", Ext: ".jpg", MIME: "image/jpeg", PixelTypes: []string{"rgb", "gray", "cmyk"}, EmbedICC: true, EmbedXMP: true, Written: true},
		{Name: "jpg", Ext: ".jpg", MIME: "image/jpeg", PixelTypes: []string{"rgb", "gray", "cmyk"}, EmbedICC: true, EmbedXMP: true, Written: true},
		{Name: "pjpeg", Ext: ".jpg", MIME: "image/jpeg", PixelTypes: []string{"rgb", "gray", "cmyk"}, EmbedICC: true, EmbedXMP: true, Written: true},
		{Name: "png", Ext: ".png", MIME: "image/png", PixelTypes: []string{"rgb", "gray"}, EmbedICC: true, Written: true},
		{Name: "png-alpha", Ext: ".png", MIME: "image/png", Alpha: true, PixelTypes: []string{"rgb", "gray"}, EmbedICC: true, Written: true},
		{Name: "png8", Ext: ".png", MIME: "image/png", PixelTypes: []string{"rgb"}, EmbedICC: true, Written: true},
		{Name: "png8-alpha", Ext: ".png", MIME: "image/png", Alpha: true, PixelTypes: []string{"rgb"}, EmbedICC: true, Written: true},
		{Name: "gif", Ext: ".gif", MIME: "image/gif", PixelTypes: []string{"rgb", "gray"}, Written: true},
		{Name: "gif-alpha", Ext: ".gif", MIME: "image/gif", Alpha: true, PixelTypes: []string{"rgb", "gray"}, Written: true},
		{Name: "tif", Ext: ".tiff", MIME: "image/tiff", PixelTypes: []string{"rgb", "gray", "cmyk"}, Compressions: []string{"none", "lzw", "zip", "jpeg"}, EmbedICC: true, EmbedXMP: true, Written: true},
		{Name: "tif-alpha", Ext: ".tiff", MIME: "image/tiff", Alpha: true, PixelTypes: []string{"rgb", "gray", "cmyk"}, Compressions: []string{"none", "lzw", "zip"}, EmbedICC: true, EmbedXMP: true, Written: true},
		{Name: "webp", Ext: ".webp", MIME: "image/webp", PixelTypes: []string{"rgb"}, Compressions: []string{"lossy", "lossless"}, Written: true},
		{Name: "webp-alpha", Ext: ".webp", MIME: "image/webp", Alpha: true, PixelTypes: []string{"rgb"}, Compressions: []string{"lossy", "lossless"}, Written: true},
		{Name: "avif", Ext: ".avif", MIME: "image/avif", PixelTypes: []string{"rgb"}, Compressions: []string{"lossy", "lossless"}, Written: true},
		{Name: "avif-alpha", Ext: ".avif", MIME: "image/avif", Alpha: true, PixelTypes: []string{"rgb"}, Compressions: []string{"lossy", "lossless"}, Written: true},
		// "Lossless HEIC": lossless is its only mode, so accept it spelled out.
		{Name: "heic", Ext: ".heic", MIME: "image/heic", PixelTypes: []string{"rgb"}, Compressions: []string{"lossless"}, Written: true},
		{Name: "jpeg2000", Ext: ".jp2", MIME: "image/jp2", PixelTypes: []string{"rgb", "gray"}, Compressions: []string{"lossy", "lossless"}, Written: true},
		{Name: "jpeg2000-alpha", Ext: ".jp2", MIME: "image/jp2", Alpha: true, PixelTypes: []string{"rgb", "gray"}, Compressions: []string{"lossy", "lossless"}, Written: true},
		// No libvips saver: written by render's pdf.go and eps.go.
		{Name: "pdf", Ext: ".pdf", MIME: "application/pdf", PixelTypes: []string{"rgb", "gray", "cmyk"}, Compressions: []string{"none", "zip", "jpeg"}, EmbedICC: true, Written: true},
		{Name: "eps", Ext: ".eps", MIME: "image/eps", PixelTypes: []string{"rgb", "gray", "cmyk"}, EmbedICC: true, Written: true},
		// Valid IS formats this server does not write (no libvips saver).
		{Name: "jpegxr", Ext: ".jxr", MIME: "image/vnd.ms-photo", PixelTypes: []string{"rgb"}, Compressions: []string{"lossy", "lossless"}},
		{Name: "jpegxr-alpha", Ext: ".jxr", MIME: "image/vnd.ms-photo", Alpha: true, PixelTypes: []string{"rgb"}, Compressions: []string{"lossy", "lossless"}},
		{Name: "swf", Ext: ".swf", MIME: "application/x-shockwave-flash", PixelTypes: []string{"rgb", "gray"}},
		{Name: "swf-alpha", Ext: ".swf", MIME: "application/x-shockwave-flash", Alpha: true, PixelTypes: []string{"rgb", "gray"}},
		{Name: "swf3", Ext: ".swf", MIME: "application/x-shockwave-flash", PixelTypes: []string{"rgb", "gray"}},
		{Name: "swf3-alpha", Ext: ".swf", MIME: "application/x-shockwave-flash", Alpha: true, PixelTypes: []string{"rgb", "gray"}},
		{Name: "f4m", Ext: ".f4m", MIME: "application/f4m+xml"},
		{Name: "m3u8", Ext: ".m3u8", MIME: "application/vnd.apple.mpegurl"},
	} {
		Formats[f.Name] = &f
	}
	// The fmt page lists "web-alpha", a typo for webp-alpha (docs/rendering.md, "Formats").
	Formats["web-alpha"] = Formats["webp-alpha"]
}

func (f *FormatInfo) AllowsPixelType(t string) bool {
	for _, p := range f.PixelTypes {
		if p == t {
			return true
		}
	}
	return false
}

func (f *FormatInfo) AllowsCompression(c string) bool {
	for _, p := range f.Compressions {
		if p == c {
			return true
		}
	}
	return false
}

// palette reports a format written with a colour palette (quantize= applies).
func (f *FormatInfo) Palette() bool {
	switch f.Name {
	case "png8", "png8-alpha", "gif", "gif-alpha":
		return true
	}
	return false
}

func (f *FormatInfo) IsJPEG() bool {
	return f.Name == "jpeg" || f.Name == "jpg" || f.Name == "pjpeg"
}

// QuantizeWarnings are the approximations of quantize= for the palette
// format requested (checked once the whole request is known).
func QuantizeWarnings(q QuantizeSpec, f *FormatInfo) []string {
	if !q.Set || !f.Palette() {
		return nil
	}
	var w []string
	switch q.Palette {
	case "web":
		w = append(w, "the web palette is approximated by snapping colours to the 216 web-safe values")
	case "mac":
		w = append(w, "the mac palette is not available; an adaptive palette is used")
	}
	if len(q.Colors) > 0 {
		w = append(w, "forced palette colours are not available; an adaptive palette is used")
	}
	n := 1 << BitsFor(q.NumColors)
	if f.Name == "png8" || f.Name == "png8-alpha" {
		switch {
		case n > 4 && n <= 16:
			n = 16
		case n > 16:
			n = 256
		}
	}
	if n != q.NumColors {
		w = append(w, fmt.Sprintf("libvips cannot make a palette of exactly %d colours; up to %d are used", q.NumColors, n))
	}
	return w
}
