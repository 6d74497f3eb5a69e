#include <malloc.h>
#include <string.h>

#include "bridge.h"

void
ipsd_configure(int concurrency, int cache_max, size_t cache_mem, int cache_files, int arena_max)
{
	if (concurrency > 0)
		vips_concurrency_set(concurrency);
	if (cache_max >= 0) {
		vips_cache_set_max(cache_max);
		vips_cache_set_max_mem(cache_mem);
		vips_cache_set_max_files(cache_files);
	}
	if (arena_max > 0)
		mallopt(M_ARENA_MAX, arena_max);
}

const char *
ipsd_find_loader(const void *buf, size_t len)
{
	// vips_foreign_find_load_buffer answers the class name
	// ("VipsForeignLoadJpegBuffer"); callers want the nickname.
	const char *name = vips_foreign_find_load_buffer(buf, len);
	if (!name) {
		vips_error_clear();
		return NULL;
	}
	return vips_nickname_find(g_type_from_name(name));
}

int
ipsd_copy_memory(VipsImage *in, VipsImage **out)
{
	*out = vips_image_copy_memory(in);
	return *out ? 0 : -1;
}

static int
has_arg(VipsOperation *op, const char *name)
{
	return g_object_class_find_property(G_OBJECT_GET_CLASS(op), name) != NULL;
}

int
ipsd_load(const char *loader, const void *buf, size_t len, int shrink, double scale,
	int access, VipsImage **out)
{
	VipsOperation *op;
	VipsBlob *blob;

	*out = NULL;
	if (!(op = vips_operation_new(loader)))
		return -1;
	// The blob does not own buf: the caller keeps it alive until every image
	// made from it is unreffed (the operation cache is off, see Config).
	blob = vips_blob_new(NULL, buf, len);
	g_object_set(op, "buffer", blob, NULL);
	vips_area_unref(VIPS_AREA(blob));
	if (shrink > 1 && has_arg(op, "shrink"))
		g_object_set(op, "shrink", shrink, NULL);
	if (scale > 0 && scale < 1 && has_arg(op, "scale"))
		g_object_set(op, "scale", scale, NULL);
	if (has_arg(op, "access"))
		g_object_set(op, "access", access, NULL);
	// A truncated or corrupt source is an error for that asset, not an
	// image with a grey lower half (libvips' default is to carry on).
	if (has_arg(op, "fail_on"))
		g_object_set(op, "fail_on", VIPS_FAIL_ON_ERROR, NULL);

	if (vips_cache_operation_buildp(&op)) {
		vips_object_unref_outputs(VIPS_OBJECT(op));
		g_object_unref(op);
		return -1;
	}
	g_object_get(op, "out", out, NULL);
	vips_object_unref_outputs(VIPS_OBJECT(op));
	g_object_unref(op);
	return 0;
}

int
ipsd_call(const char *name,
	int nin, const char **in_names, VipsImage **ins,
	int nopt, const char **keys, const char **vals,
	const char *out_name, VipsImage **out,
	void **buf, size_t *len)
{
	VipsOperation *op;
	int i;

	if (out)
		*out = NULL;
	if (buf) {
		*buf = NULL;
		*len = 0;
	}
	if (!(op = vips_operation_new(name)))
		return -1;
	for (i = 0; i < nin; i++) {
		if (!has_arg(op, in_names[i])) {
			vips_error("ipsd", "%s has no argument %s", name, in_names[i]);
			g_object_unref(op);
			return -1;
		}
		g_object_set(op, in_names[i], ins[i], NULL);
	}
	for (i = 0; i < nopt; i++)
		if (vips_object_set_argument_from_string(VIPS_OBJECT(op), keys[i], vals[i])) {
			g_object_unref(op);
			return -1;
		}
	if (vips_cache_operation_buildp(&op)) {
		vips_object_unref_outputs(VIPS_OBJECT(op));
		g_object_unref(op);
		return -1;
	}
	if (out)
		g_object_get(op, out_name, out, NULL);
	if (buf) {
		VipsBlob *blob = NULL;
		g_object_get(op, "buffer", &blob, NULL);
		if (blob) {
			size_t n;
			const void *p = vips_blob_get(blob, &n);
			*buf = malloc(n > 0 ? n : 1);
			if (*buf) {
				memcpy(*buf, p, n);
				*len = n;
			}
			vips_area_unref(VIPS_AREA(blob));
		}
	}
	vips_object_unref_outputs(VIPS_OBJECT(op));
	g_object_unref(op);
	if (buf && !*buf) {
		vips_error("ipsd", "%s: no output buffer", name);
		return -1;
	}
	return 0;
}

int
ipsd_bandjoin2(VipsImage *a, VipsImage *b, VipsImage **out)
{
	return vips_bandjoin2(a, b, out, NULL);
}

int
ipsd_matrix(int w, int h, const double *coeffs, double scale, VipsImage **out)
{
	VipsImage *m = vips_image_new_matrix_from_array(w, h, coeffs, w * h);
	if (!m)
		return -1;
	vips_image_set_double(m, "scale", scale);
	vips_image_set_double(m, "offset", 0.0);
	*out = m;
	return 0;
}

int
ipsd_from_memory(const void *data, size_t len, int w, int h, int bands, VipsBandFormat fmt, VipsImage **out)
{
	*out = vips_image_new_from_memory_copy(data, len, w, h, bands, fmt);
	return *out ? 0 : -1;
}

int
ipsd_percent(VipsImage *in, double percent, int *threshold)
{
	return vips_percent(in, percent, threshold, NULL);
}

int
ipsd_getpoint(VipsImage *in, int x, int y, double *vals, int max)
{
	double *v;
	int n, i;

	if (vips_getpoint(in, &v, &n, x, y, NULL))
		return -1;
	for (i = 0; i < n && i < max; i++)
		vals[i] = v[i];
	g_free(v);
	return n;
}

int
ipsd_strip_meta(VipsImage *in, VipsImage **out, int keep_icc, int keep_xmp)
{
	gchar **fields;
	int i;

	if (vips_copy(in, out, NULL))
		return -1;
	fields = vips_image_get_fields(*out);
	for (i = 0; fields[i]; i++) {
		const char *f = fields[i];
		if (keep_icc && strcmp(f, VIPS_META_ICC_NAME) == 0)
			continue;
		if (keep_xmp && strcmp(f, VIPS_META_XMP_NAME) == 0)
			continue;
		// Header fields (width, xres, ...) are not in the metadata table and
		// vips_image_remove leaves them alone.
		vips_image_remove(*out, f);
	}
	g_strfreev(fields);
	return 0;
}

int
ipsd_set_profile(VipsImage *in, VipsImage **out, const void *data, size_t len)
{
	if (vips_copy(in, out, NULL))
		return -1;
	vips_image_set_blob_copy(*out, VIPS_META_ICC_NAME, data, len);
	return 0;
}

int
ipsd_builtin_profile(const char *name, void **data, size_t *len)
{
	VipsBlob *blob = NULL;
	const void *p;
	size_t n;

	*data = NULL;
	*len = 0;
	if (vips_profile_load(name, &blob, NULL))
		return -1;
	if (!blob)
		return -1;
	p = vips_blob_get(blob, &n);
	*data = malloc(n);
	if (*data) {
		memcpy(*data, p, n);
		*len = n;
	}
	vips_area_unref(VIPS_AREA(blob));
	return *data ? 0 : -1;
}

char *
ipsd_error(void)
{
	// vips_error_buffer_copy returns a g_malloc'd copy and clears the buffer.
	char *e = vips_error_buffer_copy();
	char *r = strdup(e ? e : "");
	g_free(e);
	return r;
}

int
ipsd_has_field(VipsImage *in, const char *name)
{
	return vips_image_get_typeof(in, name) != 0;
}

int
ipsd_get_int(VipsImage *in, const char *name, int *v)
{
	return vips_image_get_int(in, name, v);
}

int
ipsd_get_blob(VipsImage *in, const char *name, const void **data, size_t *len)
{
	return vips_image_get_blob(in, name, data, len);
}

char *
ipsd_get_as_string(VipsImage *in, const char *name)
{
	char *s = NULL;
	char *r;

	if (vips_image_get_typeof(in, name) == 0 || vips_image_get_as_string(in, name, &s)) {
		vips_error_clear();
		return NULL;
	}
	r = strdup(s);
	g_free(s);
	return r;
}

void *
ipsd_write_to_memory(VipsImage *in, size_t *len)
{
	return vips_image_write_to_memory(in, len);
}

static void
ipsd_ignore_log(const gchar *domain, GLogLevelFlags level, const gchar *message, gpointer data)
{
}

void
ipsd_silence_warnings(void)
{
	g_log_set_handler("VIPS", G_LOG_LEVEL_WARNING, ipsd_ignore_log, NULL);
}
