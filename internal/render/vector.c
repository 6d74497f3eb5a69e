#include "vector.h"

static int
vector_has_arg(VipsOperation *op, const char *name)
{
	return g_object_class_find_property(G_OBJECT_GET_CLASS(op), name) != NULL;
}

int
ipsd_load_pdf(const void *buf, size_t len, double dpi, int access, VipsImage **out)
{
	VipsOperation *op;
	VipsBlob *blob;

	*out = NULL;
	if (!(op = vips_operation_new("pdfload_buffer")))
		return -1;
	// As in ipsd_load: the blob does not own buf.
	blob = vips_blob_new(NULL, buf, len);
	g_object_set(op, "buffer", blob, "dpi", dpi, "page", 0, "n", 1, "access", access, NULL);
	vips_area_unref(VIPS_AREA(blob));
	if (vector_has_arg(op, "fail_on"))
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
