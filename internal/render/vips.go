package render

/*
#cgo pkg-config: vips
#include "bridge.h"
*/
import "C"

import (
	"fmt"
	"strconv"
	"strings"
	"unsafe"
)

// The libvips enum values the pipeline reads back from images.
const (
	interpBW     = C.VIPS_INTERPRETATION_B_W
	interpSRGB   = C.VIPS_INTERPRETATION_sRGB
	interpRGB16  = C.VIPS_INTERPRETATION_RGB16
	interpGrey16 = C.VIPS_INTERPRETATION_GREY16
	interpCMYK   = C.VIPS_INTERPRETATION_CMYK
	interpLab    = C.VIPS_INTERPRETATION_LAB

	fmtUchar  = C.VIPS_FORMAT_UCHAR
	fmtUshort = C.VIPS_FORMAT_USHORT
)

// errVips is a libvips failure: an internal error unless the caller knows better.
type errVips struct {
	op  string
	msg string
}

func (e *errVips) Error() string { return "libvips " + e.op + ": " + e.msg }

func vipsError(op string) error {
	cs := C.ipsd_error()
	defer C.free(unsafe.Pointer(cs))
	msg := strings.TrimSpace(C.GoString(cs))
	if msg == "" {
		msg = "failed"
	}
	return &errVips{op: op, msg: msg}
}

// vimg is a libvips image owned by a pipe.
type vimg struct{ c *C.VipsImage }

func (v vimg) width() int  { return int(C.vips_image_get_width(v.c)) }
func (v vimg) height() int { return int(C.vips_image_get_height(v.c)) }
func (v vimg) bands() int  { return int(C.vips_image_get_bands(v.c)) }
func (v vimg) hasAlpha() bool {
	return C.vips_image_hasalpha(v.c) != 0
}
func (v vimg) format() C.VipsBandFormat { return C.vips_image_get_format(v.c) }

// sampleBytes is the size of one band of one pixel.
func (v vimg) sampleBytes() int { return int(C.vips_format_sizeof(v.format())) }
func (v vimg) interp() C.VipsInterpretation {
	return C.vips_image_get_interpretation(v.c)
}
func (v vimg) xres() float64 { return float64(C.vips_image_get_xres(v.c)) }
func (v vimg) yres() float64 { return float64(C.vips_image_get_yres(v.c)) }

func (v vimg) hasField(name string) bool {
	cn := C.CString(name)
	defer C.free(unsafe.Pointer(cn))
	return C.ipsd_has_field(v.c, cn) != 0
}

func (v vimg) intField(name string) (int, bool) {
	cn := C.CString(name)
	defer C.free(unsafe.Pointer(cn))
	var i C.int
	if C.ipsd_get_int(v.c, cn, &i) != 0 {
		C.vips_error_clear()
		return 0, false
	}
	return int(i), true
}

// stringField renders any metadata field as a string ("" if absent).
func (v vimg) stringField(name string) string {
	cn := C.CString(name)
	defer C.free(unsafe.Pointer(cn))
	cs := C.ipsd_get_as_string(v.c, cn)
	if cs == nil {
		return ""
	}
	defer C.free(unsafe.Pointer(cs))
	return C.GoString(cs)
}

// blobField returns a copy of a blob-valued metadata field.
func (v vimg) blobField(name string) []byte {
	cn := C.CString(name)
	defer C.free(unsafe.Pointer(cn))
	if C.ipsd_has_field(v.c, cn) == 0 {
		return nil
	}
	var p unsafe.Pointer
	var n C.size_t
	if C.ipsd_get_blob(v.c, cn, &p, &n) != 0 {
		C.vips_error_clear()
		return nil
	}
	return C.GoBytes(p, C.int(n))
}

// pipe owns every image made while rendering one asset, so that a single
// release frees them whatever path the render took.
type pipe struct {
	imgs []*C.VipsImage
	cbuf unsafe.Pointer // C copy of the source bytes; libvips reads it lazily
}

func (p *pipe) own(c *C.VipsImage) vimg {
	p.imgs = append(p.imgs, c)
	return vimg{c}
}

func (p *pipe) release() {
	for i := len(p.imgs) - 1; i >= 0; i-- {
		C.g_object_unref(C.gpointer(p.imgs[i]))
	}
	p.imgs = nil
	if p.cbuf != nil {
		C.free(p.cbuf)
		p.cbuf = nil
	}
}

// opt is one optional operation argument, written as the vips CLI would.
type opt struct{ k, v string }

func oi(k string, v int) opt       { return opt{k, strconv.Itoa(v)} }
func of(k string, v float64) opt   { return opt{k, strconv.FormatFloat(v, 'g', -1, 64)} }
func osv(k, v string) opt          { return opt{k, v} }
func ob(k string, v bool) opt      { return opt{k, strconv.FormatBool(v)} }
func oa(k string, v []float64) opt { return opt{k, floatList(v)} }

func floatList(v []float64) string {
	s := make([]string, len(v))
	for i, f := range v {
		s[i] = strconv.FormatFloat(f, 'g', -1, 64)
	}
	return strings.Join(s, " ")
}

// in names an input image of an operation.
type in struct {
	name string
	img  vimg
}

// cstrings allocates C copies of ss; free them with freeAll.
func cstrings(ss []string) []*C.char {
	out := make([]*C.char, len(ss))
	for i, s := range ss {
		out[i] = C.CString(s)
	}
	return out
}

func freeAll(cs []*C.char) {
	for _, c := range cs {
		C.free(unsafe.Pointer(c))
	}
}

// run builds operation name with the given inputs and options. With
// wantBuffer it returns the saver's output bytes, otherwise the "out" image.
func (p *pipe) run(name string, ins []in, opts []opt, wantBuffer bool) (vimg, []byte, error) {
	cname := C.CString(name)
	defer C.free(unsafe.Pointer(cname))

	inNames := make([]string, len(ins))
	for i, x := range ins {
		inNames[i] = x.name
	}
	cin := cstrings(inNames)
	defer freeAll(cin)
	// C arrays: cgo forbids passing Go memory holding Go pointers, and these
	// hold C pointers only, but keep them in C memory for clarity.
	nin := len(ins)
	var pin **C.char
	var pimg **C.VipsImage
	if nin > 0 {
		pin = (**C.char)(C.malloc(C.size_t(nin) * C.size_t(unsafe.Sizeof(uintptr(0)))))
		defer C.free(unsafe.Pointer(pin))
		pimg = (**C.VipsImage)(C.malloc(C.size_t(nin) * C.size_t(unsafe.Sizeof(uintptr(0)))))
		defer C.free(unsafe.Pointer(pimg))
		sn := unsafe.Slice(pin, nin)
		si := unsafe.Slice(pimg, nin)
		for i := range ins {
			sn[i] = cin[i]
			si[i] = ins[i].img.c
		}
	}

	keys := make([]string, len(opts))
	vals := make([]string, len(opts))
	for i, o := range opts {
		keys[i], vals[i] = o.k, o.v
	}
	ck, cv := cstrings(keys), cstrings(vals)
	defer freeAll(ck)
	defer freeAll(cv)
	nopt := len(opts)
	var pk, pv **C.char
	if nopt > 0 {
		pk = (**C.char)(C.malloc(C.size_t(nopt) * C.size_t(unsafe.Sizeof(uintptr(0)))))
		defer C.free(unsafe.Pointer(pk))
		pv = (**C.char)(C.malloc(C.size_t(nopt) * C.size_t(unsafe.Sizeof(uintptr(0)))))
		defer C.free(unsafe.Pointer(pv))
		sk, sv := unsafe.Slice(pk, nopt), unsafe.Slice(pv, nopt)
		for i := range opts {
			sk[i], sv[i] = ck[i], cv[i]
		}
	}

	if wantBuffer {
		var buf unsafe.Pointer
		var n C.size_t
		if C.ipsd_call(cname, C.int(nin), pin, pimg, C.int(nopt), pk, pv, nil, nil, &buf, &n) != 0 {
			return vimg{}, nil, vipsError(name)
		}
		defer C.free(buf)
		return vimg{}, C.GoBytes(buf, C.int(n)), nil
	}
	outName := C.CString("out")
	defer C.free(unsafe.Pointer(outName))
	var out *C.VipsImage
	if C.ipsd_call(cname, C.int(nin), pin, pimg, C.int(nopt), pk, pv, outName, &out, nil, nil) != 0 {
		return vimg{}, nil, vipsError(name)
	}
	return p.own(out), nil, nil
}

// op runs an operation whose main input is "in".
func (p *pipe) op(name string, x vimg, opts ...opt) (vimg, error) {
	out, _, err := p.run(name, []in{{"in", x}}, opts, false)
	return out, err
}

// op2 runs an operation on two named inputs.
func (p *pipe) op2(name string, n1 string, a vimg, n2 string, b vimg, opts ...opt) (vimg, error) {
	out, _, err := p.run(name, []in{{n1, a}, {n2, b}}, opts, false)
	return out, err
}

// extract cuts a rectangle out of x (vips_extract_area names its input "input").
func (p *pipe) extract(x vimg, left, top, width, height int) (vimg, error) {
	out, _, err := p.run("extract_area", []in{{"input", x}},
		[]opt{oi("left", left), oi("top", top), oi("width", width), oi("height", height)}, false)
	return out, err
}

func (p *pipe) create(name string, opts ...opt) (vimg, error) {
	out, _, err := p.run(name, nil, opts, false)
	return out, err
}

func (p *pipe) save(name string, x vimg, opts ...opt) ([]byte, error) {
	_, b, err := p.run(name, []in{{"in", x}}, opts, true)
	return b, err
}

func (p *pipe) bandjoin(a, b vimg) (vimg, error) {
	var out *C.VipsImage
	if C.ipsd_bandjoin2(a.c, b.c, &out) != 0 {
		return vimg{}, vipsError("bandjoin")
	}
	return p.own(out), nil
}

// copyMemory evaluates x into memory, so that later reads do not pull the
// pixels through the graph (and the decoder) again.
func (p *pipe) copyMemory(x vimg) (vimg, error) {
	var out *C.VipsImage
	if C.ipsd_copy_memory(x.c, &out) != 0 {
		return vimg{}, vipsError("copy_memory")
	}
	return p.own(out), nil
}

func (p *pipe) matrix(w, h int, coeffs []float64, scale float64) (vimg, error) {
	var out *C.VipsImage
	if C.ipsd_matrix(C.int(w), C.int(h), (*C.double)(unsafe.Pointer(&coeffs[0])), C.double(scale), &out) != 0 {
		return vimg{}, vipsError("matrix")
	}
	return p.own(out), nil
}

// fromBytes wraps a copy of raw 8-bit pixels as an image.
func (p *pipe) fromBytes(data []byte, w, h, bands int) (vimg, error) {
	var out *C.VipsImage
	if C.ipsd_from_memory(unsafe.Pointer(&data[0]), C.size_t(len(data)), C.int(w), C.int(h), C.int(bands), C.VIPS_FORMAT_UCHAR, &out) != 0 {
		return vimg{}, vipsError("new_from_memory")
	}
	return p.own(out), nil
}

func (p *pipe) fromUint16(data []uint16, w, h, bands int) (vimg, error) {
	var out *C.VipsImage
	if C.ipsd_from_memory(unsafe.Pointer(&data[0]), C.size_t(len(data)*2), C.int(w), C.int(h), C.int(bands), C.VIPS_FORMAT_USHORT, &out) != 0 {
		return vimg{}, vipsError("new_from_memory")
	}
	return p.own(out), nil
}

// percent is the pixel value below which pct percent of a one-band uchar image lies.
func percent(x vimg, pct float64) (int, error) {
	var t C.int
	if C.ipsd_percent(x.c, C.double(pct), &t) != 0 {
		return 0, vipsError("percent")
	}
	return int(t), nil
}

func getpoint(x vimg, px, py int) ([]float64, error) {
	var v [16]C.double
	n := C.ipsd_getpoint(x.c, C.int(px), C.int(py), &v[0], 16)
	if n < 0 {
		return nil, vipsError("getpoint")
	}
	out := make([]float64, int(n))
	for i := range out {
		out[i] = float64(v[i])
	}
	return out, nil
}

func (p *pipe) stripMeta(x vimg, keepICC, keepXMP bool) (vimg, error) {
	var out *C.VipsImage
	if C.ipsd_strip_meta(x.c, &out, cbool(keepICC), cbool(keepXMP)) != 0 {
		return vimg{}, vipsError("copy")
	}
	return p.own(out), nil
}

func (p *pipe) setProfile(x vimg, profile []byte) (vimg, error) {
	var out *C.VipsImage
	if C.ipsd_set_profile(x.c, &out, unsafe.Pointer(&profile[0]), C.size_t(len(profile))) != 0 {
		return vimg{}, vipsError("copy")
	}
	return p.own(out), nil
}

func cbool(b bool) C.int {
	if b {
		return 1
	}
	return 0
}

// load decodes the header of src (copied into C memory owned by p) with the
// named loader; pixels are decoded on demand by the operations that follow.
func (p *pipe) load(loader string, src []byte, shrink int, scale float64, sequential bool) (vimg, error) {
	if p.cbuf == nil {
		p.cbuf = C.CBytes(src)
	}
	cl := C.CString(loader)
	defer C.free(unsafe.Pointer(cl))
	access := C.VIPS_ACCESS_RANDOM
	if sequential {
		access = C.VIPS_ACCESS_SEQUENTIAL
	}
	var out *C.VipsImage
	if C.ipsd_load(cl, p.cbuf, C.size_t(len(src)), C.int(shrink), C.double(scale), C.int(access), &out) != 0 {
		return vimg{}, vipsError(loader)
	}
	return p.own(out), nil
}

// findLoader names the libvips loader for src ("jpegload_buffer", ...), or "".
func findLoader(src []byte) string {
	if len(src) == 0 {
		return ""
	}
	cs := C.ipsd_find_loader(unsafe.Pointer(&src[0]), C.size_t(len(src)))
	if cs == nil {
		return ""
	}
	return C.GoString(cs)
}

func builtinProfile(name string) ([]byte, error) {
	cn := C.CString(name)
	defer C.free(unsafe.Pointer(cn))
	var data unsafe.Pointer
	var n C.size_t
	if C.ipsd_builtin_profile(cn, &data, &n) != 0 {
		return nil, vipsError("profile_load")
	}
	defer C.free(data)
	return C.GoBytes(data, C.int(n)), nil
}

func configureVips(concurrency, cacheMax int, cacheMem int64, cacheFiles, arenaMax int) {
	C.ipsd_configure(C.int(concurrency), C.int(cacheMax), C.size_t(cacheMem), C.int(cacheFiles), C.int(arenaMax))
}

// threadShutdown frees libvips' per-thread buffers of the calling OS thread.
func threadShutdown() { C.vips_thread_shutdown() }

// setKill asks libvips to abandon any evaluation of x (context cancelled).
func setKill(x vimg) { C.vips_image_set_kill(x.c, C.gboolean(1)) }

func vipsVersion() string {
	return fmt.Sprintf("%d.%d.%d", C.vips_version(0), C.vips_version(1), C.vips_version(2))
}

// setInt sets integer metadata on a fresh copy (never on a shared image).
func setInt(x vimg, name string, v int) {
	cn := C.CString(name)
	defer C.free(unsafe.Pointer(cn))
	C.vips_image_set_int(x.c, cn, C.int(v))
}

// setBlob sets blob metadata on a fresh copy (never on a shared image).
func setBlob(x vimg, name string, data []byte) {
	cn := C.CString(name)
	defer C.free(unsafe.Pointer(cn))
	C.vips_image_set_blob_copy(x.c, cn, unsafe.Pointer(&data[0]), C.size_t(len(data)))
}

// pixels returns x's samples, packed band-interleaved.
func pixels(x vimg) ([]byte, error) {
	var n C.size_t
	p := C.ipsd_write_to_memory(x.c, &n)
	if p == nil {
		return nil, vipsError("write_to_memory")
	}
	defer C.g_free(C.gpointer(p))
	return C.GoBytes(p, C.int(n)), nil
}

// silenceVipsWarnings drops libvips' warning log (libvips reads the
// VIPS_WARNING variable only at vips_init, which bimg's init has run).
func silenceVipsWarnings() { C.ipsd_silence_warnings() }
