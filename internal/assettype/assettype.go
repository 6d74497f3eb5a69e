// Package assettype tells the IPS asset type of a file from its first bytes
// (and, where content is ambiguous, its extension).
package assettype

import (
	"bytes"
	"path/filepath"
	"strings"
)

// SniffLen is how many leading bytes Detect looks at.
const SniffLen = 512

// Kind is what Detect found.
type Kind struct {
	Type string // IPS asset type (string-constants/r-asset-types.md)
	MIME string
	// Convertible tells whether fmt=convert renders it (Convertible(Type)).
	Convertible bool
}

// Convertible reports whether fmt=convert renders an asset of this IPS
// type: the types Dynamic Media Classic's export converts (images, PDF
// with its pages, PostScript) and Illustrator files, which are PDF or
// PostScript inside. Others are exported as originals (docs/formats.md).
func Convertible(assetType string) bool {
	switch assetType {
	case "Image", "Pdf", "Illustrator", "PostScript":
		return true
	}
	return false
}

func imageKind(mime string) Kind { return Kind{"Image", mime, true} }
func other(t, mime string) Kind  { return Kind{t, mime, Convertible(t)} }

// Read-only lookup tables.
var (
	byMagic = []struct {
		offset int
		magic  []byte
		kind   Kind
	}{
		{0, []byte("\xff\xd8\xff"), imageKind("image/jpeg")},
		{0, []byte("\x89PNG\r\n\x1a\n"), imageKind("image/png")},
		{0, []byte("GIF87a"), imageKind("image/gif")},
		{0, []byte("GIF89a"), imageKind("image/gif")},
		{0, []byte("II*\x00"), imageKind("image/tiff")},
		{0, []byte("MM\x00*"), imageKind("image/tiff")},
		{0, []byte("BM"), imageKind("image/bmp")},
		{0, []byte("8BPS"), imageKind("image/vnd.adobe.photoshop")},
		{0, []byte("\x00\x00\x00\x0cjP  \r\n\x87\n"), imageKind("image/jp2")},
		{0, []byte("\xff\x4f\xff\x51"), imageKind("image/jp2")},
		{0, []byte("%PDF-"), other("Pdf", "application/pdf")},
		{0, []byte("%!PS"), other("PostScript", "application/postscript")},
		{0, []byte("\xc5\xd0\xd3\xc6"), other("PostScript", "application/postscript")},
		{0, []byte("\x1aE\xdf\xa3"), other("Video", "video/webm")},
		{0, []byte("ID3"), other("Audio", "audio/mpeg")},
		{0, []byte("OggS"), other("Audio", "audio/ogg")},
		{0, []byte("\x00\x01\x00\x00\x00"), other("Font", "font/ttf")},
		{0, []byte("OTTO"), other("Font", "font/otf")},
		{0, []byte("PK\x03\x04"), other("Zip", "application/zip")},
		{0, []byte("{\\rtf"), other("Rtf", "application/rtf")},
	}
	byExt = map[string]Kind{
		".ai":   other("Illustrator", "application/postscript"),
		".indd": other("InDesign", "application/x-indesign"),
		".docx": other("Word", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
		".doc":  other("Word", "application/msword"),
		".xlsx": other("Excel", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
		".xls":  other("Excel", "application/vnd.ms-excel"),
		".pptx": other("PowerPoint", "application/vnd.openxmlformats-officedocument.presentationml.presentation"),
		".ppt":  other("PowerPoint", "application/vnd.ms-powerpoint"),
		".swf":  other("Flash", "application/x-shockwave-flash"),
		".icc":  other("IccProfile", "application/vnd.iccprofile"),
		".icm":  other("IccProfile", "application/vnd.iccprofile"),
		".xsl":  other("Xsl", "application/xslt+xml"),
	}
)

// Detect classifies a file from its head (up to SniffLen bytes) and name.
func Detect(head []byte, name string) Kind {
	ext := strings.ToLower(filepath.Ext(name))
	if k, ok := byExt[ext]; ok && (ext != ".ai" || bytes.HasPrefix(head, []byte("%PDF")) || bytes.HasPrefix(head, []byte("%!PS"))) {
		return k
	}
	for _, m := range byMagic {
		if len(head) >= m.offset+len(m.magic) && bytes.Equal(head[m.offset:m.offset+len(m.magic)], m.magic) {
			return m.kind
		}
	}
	if len(head) >= 12 && string(head[0:4]) == "RIFF" {
		switch string(head[8:12]) {
		case "WEBP":
			return imageKind("image/webp")
		case "AVI ":
			return other("Video", "video/x-msvideo")
		case "WAVE":
			return other("Audio", "audio/wav")
		}
	}
	if len(head) >= 12 && string(head[4:8]) == "ftyp" {
		switch brand := string(head[8:12]); brand {
		case "avif", "avis":
			return imageKind("image/avif")
		case "heic", "heix", "mif1", "msf1", "hevc":
			return imageKind("image/heic")
		case "M4A ":
			return other("Audio", "audio/mp4")
		case "qt  ":
			return other("Video", "video/quicktime")
		default:
			return other("Video", "video/mp4")
		}
	}
	if len(head) >= 4 && (bytes.Equal(head[:4], []byte("\x00\x00\x01\xba")) || bytes.Equal(head[:4], []byte("\x00\x00\x01\xb3"))) {
		return other("Video", "video/mpeg")
	}
	trimmed := bytes.TrimLeft(head, " \t\r\n\xef\xbb\xbf")
	if bytes.HasPrefix(trimmed, []byte("<")) {
		if bytes.Contains(head, []byte("<svg")) {
			return other("Svg", "image/svg+xml")
		}
		return other("Xml", "application/xml")
	}
	return other("Asset", "application/octet-stream")
}
