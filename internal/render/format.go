package render

// formatInfo describes one fmt= value (reference r-is-http-fmt.md, SPEC §2/§7).
type formatInfo struct {
	name  string
	ext   string
	mime  string
	alpha bool // an -alpha format: never flattened, always written with alpha
	// pixel types the reference allows; the first is the default.
	pixelTypes []string
	// compression values the reference allows (empty: none may be given).
	compressions []string
	// iccEmbed is honoured (the fmt table's "Embed ICC profile" column).
	embedICC bool
	// xmpEmbed is honoured (formats listing xmpEmbed= among their options).
	embedXMP bool
	// written is false for formats this server does not write: a per-asset
	// error naming the format (SPEC §7).
	written bool
}

var formats = map[string]*formatInfo{}

func init() {
	for _, f := range []formatInfo{
		{name: "jpeg", ext: ".jpg", mime: "image/jpeg", pixelTypes: []string{"rgb", "gray", "cmyk"}, embedICC: true, embedXMP: true, written: true},
		{name: "jpg", ext: ".jpg", mime: "image/jpeg", pixelTypes: []string{"rgb", "gray", "cmyk"}, embedICC: true, embedXMP: true, written: true},
		{name: "pjpeg", ext: ".jpg", mime: "image/jpeg", pixelTypes: []string{"rgb", "gray", "cmyk"}, embedICC: true, embedXMP: true, written: true},
		{name: "png", ext: ".png", mime: "image/png", pixelTypes: []string{"rgb", "gray"}, embedICC: true, written: true},
		{name: "png-alpha", ext: ".png", mime: "image/png", alpha: true, pixelTypes: []string{"rgb", "gray"}, embedICC: true, written: true},
		{name: "png8", ext: ".png", mime: "image/png", pixelTypes: []string{"rgb"}, embedICC: true, written: true},
		{name: "png8-alpha", ext: ".png", mime: "image/png", alpha: true, pixelTypes: []string{"rgb"}, embedICC: true, written: true},
		{name: "gif", ext: ".gif", mime: "image/gif", pixelTypes: []string{"rgb", "gray"}, written: true},
		{name: "gif-alpha", ext: ".gif", mime: "image/gif", alpha: true, pixelTypes: []string{"rgb", "gray"}, written: true},
		{name: "tif", ext: ".tiff", mime: "image/tiff", pixelTypes: []string{"rgb", "gray", "cmyk"}, compressions: []string{"none", "lzw", "zip", "jpeg"}, embedICC: true, embedXMP: true, written: true},
		{name: "tif-alpha", ext: ".tiff", mime: "image/tiff", alpha: true, pixelTypes: []string{"rgb", "gray", "cmyk"}, compressions: []string{"none", "lzw", "zip"}, embedICC: true, embedXMP: true, written: true},
		{name: "webp", ext: ".webp", mime: "image/webp", pixelTypes: []string{"rgb"}, compressions: []string{"lossy", "lossless"}, written: true},
		{name: "webp-alpha", ext: ".webp", mime: "image/webp", alpha: true, pixelTypes: []string{"rgb"}, compressions: []string{"lossy", "lossless"}, written: true},
		{name: "avif", ext: ".avif", mime: "image/avif", pixelTypes: []string{"rgb"}, compressions: []string{"lossy", "lossless"}, written: true},
		{name: "avif-alpha", ext: ".avif", mime: "image/avif", alpha: true, pixelTypes: []string{"rgb"}, compressions: []string{"lossy", "lossless"}, written: true},
		// "Lossless HEIC": lossless is its only mode, so accept it spelled out.
		{name: "heic", ext: ".heic", mime: "image/heic", pixelTypes: []string{"rgb"}, compressions: []string{"lossless"}, written: true},
		{name: "jpeg2000", ext: ".jp2", mime: "image/jp2", pixelTypes: []string{"rgb", "gray"}, compressions: []string{"lossy", "lossless"}, written: true},
		{name: "jpeg2000-alpha", ext: ".jp2", mime: "image/jp2", alpha: true, pixelTypes: []string{"rgb", "gray"}, compressions: []string{"lossy", "lossless"}, written: true},
		// No libvips saver: written by pdf.go and eps.go.
		{name: "pdf", ext: ".pdf", mime: "application/pdf", pixelTypes: []string{"rgb", "gray", "cmyk"}, compressions: []string{"none", "zip", "jpeg"}, embedICC: true, written: true},
		{name: "eps", ext: ".eps", mime: "image/eps", pixelTypes: []string{"rgb", "gray", "cmyk"}, embedICC: true, written: true},
		// Valid IS formats this server does not write (no libvips saver).
		{name: "jpegxr", ext: ".jxr", mime: "image/vnd.ms-photo", pixelTypes: []string{"rgb"}, compressions: []string{"lossy", "lossless"}},
		{name: "jpegxr-alpha", ext: ".jxr", mime: "image/vnd.ms-photo", alpha: true, pixelTypes: []string{"rgb"}, compressions: []string{"lossy", "lossless"}},
		{name: "swf", ext: ".swf", mime: "application/x-shockwave-flash", pixelTypes: []string{"rgb", "gray"}},
		{name: "swf-alpha", ext: ".swf", mime: "application/x-shockwave-flash", alpha: true, pixelTypes: []string{"rgb", "gray"}},
		{name: "swf3", ext: ".swf", mime: "application/x-shockwave-flash", pixelTypes: []string{"rgb", "gray"}},
		{name: "swf3-alpha", ext: ".swf", mime: "application/x-shockwave-flash", alpha: true, pixelTypes: []string{"rgb", "gray"}},
		{name: "f4m", ext: ".f4m", mime: "application/f4m+xml"},
		{name: "m3u8", ext: ".m3u8", mime: "application/vnd.apple.mpegurl"},
	} {
		formats[f.name] = &f
	}
	// The fmt page lists "web-alpha", a typo for webp-alpha (IS-NOTES §3.1).
	formats["web-alpha"] = formats["webp-alpha"]
}

func (f *formatInfo) allowsPixelType(t string) bool {
	for _, p := range f.pixelTypes {
		if p == t {
			return true
		}
	}
	return false
}

func (f *formatInfo) allowsCompression(c string) bool {
	for _, p := range f.compressions {
		if p == c {
			return true
		}
	}
	return false
}

// palette reports a format written with a colour palette (quantize= applies).
func (f *formatInfo) palette() bool {
	switch f.name {
	case "png8", "png8-alpha", "gif", "gif-alpha":
		return true
	}
	return false
}

func (f *formatInfo) isJPEG() bool {
	return f.name == "jpeg" || f.name == "jpg" || f.name == "pjpeg"
}
