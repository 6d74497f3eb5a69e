// C helpers for vector sources (PDF, Illustrator), beside bridge.h.
#ifndef IPSD_VECTOR_H
#define IPSD_VECTOR_H

#include <stdlib.h>
#include <vips/vips.h>

// Load the first page of the PDF in buf with poppler at dpi. access is a
// VipsAccess.
int ipsd_load_pdf(const void *buf, size_t len, double dpi, int access, VipsImage **out);

#endif
