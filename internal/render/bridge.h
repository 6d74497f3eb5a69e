// Thin C helpers over libvips for the render package.
//
// libvips' public API is variadic, which cgo cannot call, so every operation
// goes through ipsd_call: it builds an operation by name and sets its
// optional arguments from strings, exactly as the `vips` CLI does. That keeps
// the C side small and lets Go describe each step.
#ifndef IPSD_BRIDGE_H
#define IPSD_BRIDGE_H

#include <stdlib.h>
#include <vips/vips.h>

// Process-wide libvips settings (concurrency, operation cache, malloc arenas).
void ipsd_configure(int concurrency, int cache_max, size_t cache_mem, int cache_files, int arena_max);

// The name of the loader libvips would use for buf, or NULL.
const char *ipsd_find_loader(const void *buf, size_t len);

// Load the first page of buf with loader (a *_buffer loader).
// shrink > 1 asks the JPEG loader for DCT shrink-on-load; scale < 1 does the
// same for WebP. access is a VipsAccess.
int ipsd_load(const char *loader, const void *buf, size_t len, int shrink, double scale,
	int access, VipsImage **out);

// Build and run operation op. Images are set by name (ins/in_names), other
// arguments from strings. If out_name is set the output image is returned in
// *out; if buf is set the "buffer" blob output (savers) is copied to *buf.
int ipsd_call(const char *op,
	int nin, const char **in_names, VipsImage **ins,
	int nopt, const char **keys, const char **vals,
	const char *out_name, VipsImage **out,
	void **buf, size_t *len);

// Render in fully into memory (for steps that read pixels more than once).
int ipsd_copy_memory(VipsImage *in, VipsImage **out);
// The pixels of in, packed (caller g_frees).
void *ipsd_write_to_memory(VipsImage *in, size_t *len);
int ipsd_bandjoin2(VipsImage *a, VipsImage *b, VipsImage **out);
int ipsd_matrix(int w, int h, const double *coeffs, double scale, VipsImage **out);
int ipsd_from_memory(const void *data, size_t len, int w, int h, int bands, VipsBandFormat fmt, VipsImage **out);
int ipsd_percent(VipsImage *in, double percent, int *threshold);
int ipsd_getpoint(VipsImage *in, int x, int y, double *vals, int max);

// A copy of in whose metadata keeps only the ICC profile (keep_icc) and the
// XMP packet (keep_xmp); EXIF, IPTC, orientation and loader fields are removed.
int ipsd_strip_meta(VipsImage *in, VipsImage **out, int keep_icc, int keep_xmp);
// A copy of in with icc-profile-data set to the given bytes.
int ipsd_set_profile(VipsImage *in, VipsImage **out, const void *data, size_t len);
// Copies a built-in libvips profile ("srgb", "cmyk", "p3") into *data.
int ipsd_builtin_profile(const char *name, void **data, size_t *len);

// The error buffer of this thread's last failure (caller frees), cleared.
char *ipsd_error(void);

int ipsd_has_field(VipsImage *in, const char *name);
int ipsd_get_int(VipsImage *in, const char *name, int *v);
// A metadata field as a string (caller frees), or NULL.
char *ipsd_get_as_string(VipsImage *in, const char *name);
int ipsd_get_blob(VipsImage *in, const char *name, const void **data, size_t *len);

// Drop libvips warnings (tests decode outputs that make libheif chatty).
void ipsd_silence_warnings(void);

#endif
