package upload

import (
	"mime"
	"regexp"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/htmlindex"

	"github.com/ipsexport/ipsd/internal/catalog"
	"github.com/ipsexport/ipsd/internal/soap"
	"github.com/ipsexport/ipsd/internal/store"
)

// Limits on names: one segment as most file systems allow, the whole path
// generously. A file's own name is held shorter (catalog.CheckFileName):
// an export writes it under that name, perhaps with a longer extension
// (".tiff" for ".j") and a "-N" suffix that keeps it unique in the job,
// and the result must still fit the 255 bytes a file system allows
// (docs/security.md).
const (
	maxSegmentBytes = 255
	maxPathBytes    = 1024
)

// target is where one file goes.
type target struct {
	Folder string // relative to the company root: "" or "a/b/"
	File   string // the file name with its extension
}

// Path is the folder and file, "a/b/x.jpg".
func (t target) Path() string { return t.Folder + t.File }

var driveLetter = regexp.MustCompile(`^[A-Za-z]:(/|$)`)

// segments splits a client's path into folder names. Backslashes count as
// slashes (Windows clients), empty segments from doubled slashes are
// dropped (the reference's own example sends "Co/dir//file.jpg"). Refused,
// with a 30001 fault naming field: invalid UTF-8, control characters and
// NUL, "." and ".." (a path never leaves the company's folders), overlong
// names, and – unless leadingSlash – absolute paths. A leading slash on a
// destFolder means the company root, as the SOAP operations read folders.
func segments(field, value string, leadingSlash bool) ([]string, *soap.Fault) {
	if !utf8.ValidString(value) {
		return nil, soap.Invalid(field, value, "not valid UTF-8")
	}
	for _, r := range value {
		if r < 0x20 || r == 0x7f {
			return nil, soap.Invalid(field, value, "control characters (NUL included) are not allowed in names")
		}
	}
	if len(value) > maxPathBytes {
		return nil, soap.Invalid(field, value, "path longer than 1024 bytes")
	}
	p := strings.ReplaceAll(value, `\`, "/")
	if driveLetter.MatchString(p) || (!leadingSlash && strings.HasPrefix(p, "/")) {
		return nil, soap.Invalid(field, value, "absolute paths are not allowed: give a path relative to the company root")
	}
	var out []string
	for s := range strings.SplitSeq(p, "/") {
		switch {
		case s == "":
			continue
		case s == "." || s == "..":
			return nil, soap.Invalid(field, value, `"." and ".." are not allowed: files stay inside the company's folders`)
		case len(s) > maxSegmentBytes:
			return nil, soap.Invalid(field, value, "a name in the path is longer than 255 bytes")
		case strings.TrimSpace(s) == "":
			return nil, soap.Invalid(field, value, "a name in the path is blank")
		}
		out = append(out, s)
	}
	return out, nil
}

// resolveTarget joins destFolder and a file's path and makes the result
// relative to the company root. A path that starts with the company's root
// folder name ("Acme/shoes/x.jpg", as IPS folder paths are written) has it
// removed, as the SOAP operations do for folders.
func resolveTarget(co store.Company, destFolder []string, field, name string) (target, *soap.Fault) {
	segs, f := segments(field, name, false)
	if f != nil {
		return target{}, f
	}
	if len(segs) == 0 || strings.HasSuffix(strings.ReplaceAll(name, `\`, "/"), "/") {
		return target{}, soap.Invalid(field, name, "names a folder, not a file")
	}
	all := append(append([]string(nil), destFolder...), segs...)
	root := strings.TrimSuffix(co.RootPath, "/")
	if len(all) > 1 && root != "" && all[0] == root {
		all = all[1:]
	}
	t := target{File: all[len(all)-1]}
	if err := catalog.CheckFileName(t.File); err != nil {
		return target{}, soap.Invalid(field, name, err.Error())
	}
	if len(all) > 1 {
		t.Folder = strings.Join(all[:len(all)-1], "/") + "/"
	}
	if len(t.Path()) > maxPathBytes {
		return target{}, soap.Invalid(field, name, "path longer than 1024 bytes")
	}
	return t, nil
}

// disposition reads a part's form name and file name from its raw
// Content-Disposition. multipart.Part.FileName keeps only the base name,
// but here the folder path in it is wanted. A file name that is not UTF-8
// is decoded from the part's charset, else ISO-8859-1 (Commons HttpClient
// writes file names in the part's charset, ISO-8859-1 in the reference's
// example).
func disposition(header, contentType string) (name, filename string, hasFilename bool) {
	_, params, err := mime.ParseMediaType(header)
	if err != nil {
		params = lenientParams(header)
	}
	name = params["name"]
	filename, hasFilename = params["filename"]
	if !utf8.ValidString(filename) {
		filename = decodeCharset(filename, contentType)
	}
	return name, filename, hasFilename
}

var paramRE = regexp.MustCompile(`(?i)(?:^|;)\s*(name|filename)\s*=\s*(?:"([^"]*)"|([^;]*))`)

// lenientParams picks name and filename out of a Content-Disposition that
// mime.ParseMediaType refuses (unescaped characters, stray semicolons).
func lenientParams(header string) map[string]string {
	out := map[string]string{}
	for _, m := range paramRE.FindAllStringSubmatch(header, -1) {
		k := strings.ToLower(m[1])
		if _, dup := out[k]; dup {
			continue
		}
		v := m[2]
		if v == "" {
			v = strings.TrimSpace(m[3])
		}
		out[k] = v
	}
	return out
}

func decodeCharset(s, contentType string) string {
	if _, params, err := mime.ParseMediaType(contentType); err == nil {
		if cs := params["charset"]; cs != "" {
			if enc, err := htmlindex.Get(cs); err == nil {
				if out, err := enc.NewDecoder().String(s); err == nil && utf8.ValidString(out) {
					return out
				}
			}
		}
	}
	out, err := charmap.ISO8859_1.NewDecoder().String(s)
	if err != nil {
		return s
	}
	return out
}
