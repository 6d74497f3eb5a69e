package jobs

import (
	"path"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/ipsexport/ipsd/internal/export"
	"github.com/ipsexport/ipsd/internal/store"
)

// Namer names the files of a job, one asset at a time in job order
// (docs/exports.md, "Output names"): each asset's folder path (relative to
// the company root) and file name, with the extension of the format
// written for a conversion. Names stay unique within the job, compared
// case-insensitively: a second "a.jpg" in the same folder becomes
// "a-2.jpg", a third "a-3.jpg".
//
// A file name is at most 255 bytes, as file systems allow: a longer one
// (an old asset's, with a longer extension and a suffix) loses the end of
// its base name, never its extension or suffix.
//
// It runs in time linear in the number of names: each name that collides
// resumes counting where the last collision of that name stopped, so a job
// of 10,000 copies of one asset takes 10,000 steps, not 50 million.
type Namer struct {
	root string
	ext  string // conversion's extension; "" keeps the original's
	// taken holds every name given, lower-cased.
	taken map[string]bool
	// next is, per colliding name (lower-cased), the next suffix to try.
	next map[string]int
}

// NewNamer names files for a job of about size assets; ext is the
// extension of a conversion's output (".jpg"), "" for fmt=orig.
func NewNamer(companyRoot, ext string, size int) *Namer {
	return &Namer{root: companyRoot, ext: ext, taken: make(map[string]bool, size), next: map[string]int{}}
}

// Name returns the next asset's job-relative output path.
func (n *Namer) Name(a store.Asset) string { return n.NameAs(a, n.ext) }

// NameAs is Name for an asset converted to a format of its own, whose
// extension is ext (its stored modifiers chose it).
func (n *Namer) NameAs(a store.Asset, convExt string) string {
	name := a.FileName
	if name == "" {
		name = a.Name
	}
	if convExt != "" && export.Convertible(a.Type) {
		name = export.ConvertedName(name, convExt)
	}
	folder := export.RelativeFolder(a.FolderPath, n.root)
	ext := path.Ext(name)
	stem := strings.TrimSuffix(name, ext)
	p := folder + fitName(stem, "", ext)
	key := strings.ToLower(p)
	if n.taken[key] {
		i := max(n.next[key], 2)
		for {
			c := folder + fitName(stem, "-"+strconv.Itoa(i), ext)
			i++
			if !n.taken[strings.ToLower(c)] {
				p = c
				break
			}
		}
		n.next[key] = i
	}
	n.taken[strings.ToLower(p)] = true
	return p
}

// maxNameBytes is the longest file name most file systems allow.
const maxNameBytes = 255

// fitName is stem+suffix+ext, with stem cut (on a character boundary) so
// that the name is at most maxNameBytes bytes. An extension that leaves no
// room counts as part of the stem.
func fitName(stem, suffix, ext string) string {
	if len(stem)+len(suffix)+len(ext) <= maxNameBytes {
		return stem + suffix + ext
	}
	if len(suffix)+len(ext) >= maxNameBytes {
		stem, ext = stem+ext, ""
	}
	cut := max(maxNameBytes-len(suffix)-len(ext), 0)
	for cut > 0 && !utf8.RuneStart(stem[cut]) {
		cut--
	}
	return stem[:cut] + suffix + ext
}
