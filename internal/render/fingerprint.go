package render

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
)

// OutputVersion is this package's own version of its output: bump it with
// every change that makes a render of the same source and request give
// other bytes (a default, a pipeline step, an encoder setting). The
// rendition cache keys renditions by it (docs/rendition-cache.md).
const OutputVersion = "1"

// fingerprint is what, besides the source and the request, decides a
// render's bytes: OutputVersion, the libvips version, the ICC profiles by
// name and content, and how vector sources are rasterised.
func (r *Renderer) fingerprint() string {
	h := sha256.New()
	fmt.Fprintf(h, "render %s\x00libvips %s\x00dpi %g\x00gs %s\x00", OutputVersion, vipsVersion(), r.rasterDPI, r.ghostscript)
	keys := make([]string, 0, len(r.profiles))
	for k := range r.profiles {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		p := r.profiles[k]
		sum := sha256.Sum256(p.data)
		fmt.Fprintf(h, "icc %s\x00%s\x00%s\x00%s\x00%x\x00", k, p.name, p.builtin, p.pixelType, sum)
	}
	return "vips" + strings.ReplaceAll(vipsVersion(), ".", "_") + "-r" + OutputVersion + "-" + hex.EncodeToString(h.Sum(nil))[:16]
}

// Version names the renderer's output: two renderers of one Version give
// the same bytes for the same source and request. It is read once, at New.
func (r *Renderer) Version() string { return r.version }
