package render

import (
	"context"
	"strings"
	"sync"

	"github.com/ipsexport/ipsd/internal/modifier"
)

// avifEffort is libheif's CPU effort for AVIF: 1 is bimg's Speed 8. The
// default (4, or bimg's Speed 0 = effort 9) took seconds per image here (docs/rendering.md, "Measured on this machine").
const avifEffort = 1

// checkBytes refuses, before it is encoded, a reply whose file size is
// known from its dimensions and above the limit: an uncompressed TIFF
// holds every sample (docs/security.md, "Export output").
func (j *job) checkBytes(x vimg) error {
	if j.r.maxBytes <= 0 || !strings.HasPrefix(j.fi.Name, "tif") {
		return nil
	}
	switch j.req.Compression {
	case "lzw", "zip", "jpeg":
		return nil
	}
	w, h, bands, sample := int64(x.width()), int64(x.height()), int64(x.bands()), int64(x.sampleBytes())
	if size := w * h * bands * sample; size > j.r.maxBytes {
		return failf(ErrOutputBytes, "an uncompressed TIFF of %d×%d pixels × %d bands × %d-byte samples is %d bytes (%.1f MiB), above the limit of %d bytes (%.1f MiB) per exported file",
			w, h, bands, sample, size, float64(size)/(1<<20), j.r.maxBytes, float64(j.r.maxBytes)/(1<<20))
	}
	return nil
}

// encode writes x in the requested format. The save pulls the pixels
// through the whole graph; a cancelled context kills that evaluation.
func (j *job) encode(ctx context.Context, x vimg) ([]byte, error) {
	if j.fi.IsJPEG() && j.req.JPEGSize > 0 {
		return j.encodeJPEGSize(ctx, x)
	}
	return j.watch(ctx, x, func() ([]byte, error) { return j.save(x, j.quality()) })
}

// watch runs save, killing the evaluation of x if ctx ends first.
func (j *job) watch(ctx context.Context, x vimg, save func() ([]byte, error)) ([]byte, error) {
	if ctx.Done() == nil {
		return save()
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		select {
		case <-ctx.Done():
			setKill(x)
		case <-done:
		}
	}()
	b, err := save()
	close(done)
	wg.Wait() // x must outlive the watcher
	if err != nil && ctx.Err() != nil {
		return nil, ctx.Err()
	}
	return b, err
}

func (j *job) quality() int {
	if j.req.Qlt > 0 {
		return j.req.Qlt
	}
	return defaultQuality
}

func (j *job) save(x vimg, q int) ([]byte, error) {
	req, p := j.req, j.p
	var b []byte
	var err error
	switch j.fi.Name {
	case "jpeg", "jpg", "pjpeg":
		// qlt's chroma flag: 0 = normal 4:2:0, 1 = off. libvips' "auto"
		// would turn subsampling off at Q ≥ 90, unlike IS (docs/rendering.md, "Decisions the reference leaves open").
		sub := "on"
		if req.Chroma {
			sub = "off"
		}
		b, err = p.save("jpegsave_buffer", x, oi("Q", q), osv("subsample_mode", sub),
			ob("optimize_coding", true), ob("interlace", j.fi.Name == "pjpeg"), ob("strip", false))
		b = jpegDropExif(b, x.xres()*25.4, x.yres()*25.4)
	case "png", "png-alpha":
		// Adaptive row filters at zlib level 3: measured on photos here, as
		// fast as libvips' default (no filter, level 6) and 20–30 % smaller.
		b, err = p.save("pngsave_buffer", x, osv("filter", "all"), oi("compression", 3), ob("strip", false))
	case "png8", "png8-alpha":
		if x, err = j.webPalette(x); err != nil {
			return nil, err
		}
		b, err = p.save("pngsave_buffer", x, ob("palette", true), oi("Q", 100), of("dither", j.dither()),
			oi("bitdepth", j.pngBits()), oi("compression", 6), ob("strip", false))
	case "gif", "gif-alpha":
		if x, err = j.webPalette(x); err != nil {
			return nil, err
		}
		if j.gray {
			// cgif writes RGB palettes: gray data as RGB.
			if x, err = p.op("colourspace", x, osv("space", "srgb")); err != nil {
				return nil, internal("gif", err)
			}
		}
		b, err = p.save("gifsave_buffer", x, of("dither", j.dither()), oi("bitdepth", j.gifBits()), ob("strip", true))
	case "tif", "tif-alpha":
		opts := []opt{osv("resunit", "inch"), ob("strip", false)}
		switch req.Compression {
		case "lzw":
			opts = append(opts, osv("compression", "lzw"), osv("predictor", "horizontal"))
		case "zip":
			opts = append(opts, osv("compression", "deflate"), osv("predictor", "horizontal"))
		case "jpeg":
			opts = append(opts, osv("compression", "jpeg"), oi("Q", q))
		default:
			opts = append(opts, osv("compression", "none"))
		}
		b, err = p.save("tiffsave_buffer", x, opts...)
	case "webp", "webp-alpha":
		b, err = p.save("webpsave_buffer", x, oi("Q", q), ob("lossless", req.Compression == "lossless"), ob("strip", true))
		b = webpDropExif(b)
	case "avif", "avif-alpha":
		b, err = p.save("heifsave_buffer", x, osv("compression", "av1"), oi("Q", q), oi("bitdepth", 8),
			ob("lossless", req.Compression == "lossless"), oi("effort", avifEffort), ob("strip", true))
	case "heic":
		b, err = p.save("heifsave_buffer", x, osv("compression", "hevc"), ob("lossless", true), oi("bitdepth", 8), ob("strip", true))
	case "jpeg2000", "jpeg2000-alpha":
		b, err = p.save("jp2ksave_buffer", x, oi("Q", q), ob("lossless", req.Compression == "lossless"), ob("strip", true))
	case "pdf":
		b, err = j.savePDF(x, q)
	case "eps":
		b, err = j.saveEPS(x)
	default:
		return nil, failf(ErrUnsupportedFormat, "fmt=%s is not written by this server", j.fi.Name)
	}
	if err != nil {
		return nil, internal("encode "+j.fi.Name, err)
	}
	return b, nil
}

// encodeJPEGSize lowers the quality until the JPEG fits jpegSize KB
// (r-jpegsize.md), re-encoding the finished image held in memory.
func (j *job) encodeJPEGSize(ctx context.Context, x vimg) ([]byte, error) {
	limit := j.req.JPEGSize * 1024
	var err error
	if x, err = j.p.copyMemory(x); err != nil {
		return nil, internal("jpegSize", err)
	}
	q := j.quality()
	b, err := j.watch(ctx, x, func() ([]byte, error) { return j.save(x, q) })
	if err != nil || len(b) <= limit {
		return b, err
	}
	// Bisect for the highest quality below q that fits.
	lo, hi := 1, q-1
	var best []byte
	for lo <= hi {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		mid := (lo + hi) / 2
		c, err := j.save(x, mid)
		if err != nil {
			return nil, err
		}
		if len(c) <= limit {
			best, lo = c, mid+1
		} else {
			hi = mid - 1
		}
	}
	if best == nil {
		return nil, failf(ErrUnrenderable, "jpegSize=%d: the JPEG is larger than %d KB even at qlt=1", j.req.JPEGSize, j.req.JPEGSize)
	}
	return best, nil
}

func (j *job) dither() float64 {
	if j.req.Quantize.Set && !j.req.Quantize.Dither {
		return 0
	}
	return 1
}

func (j *job) numColors() int {
	if j.req.Quantize.Set {
		return j.req.Quantize.NumColors
	}
	return 256
}

func (j *job) gifBits() int { return modifier.BitsFor(j.numColors()) }

// pngBits: PNG palettes are 1, 2, 4 or 8 bits deep.
func (j *job) pngBits() int {
	b := modifier.BitsFor(j.numColors())
	switch {
	case b <= 2:
		return b
	case b <= 4:
		return 4
	}
	return 8
}

// webPalette snaps colours to the 216 web-safe values (multiples of 51)
// for quantize=web, so the adaptive quantiser keeps exactly those.
func (j *job) webPalette(x vimg) (vimg, error) {
	if !j.req.Quantize.Set || j.req.Quantize.Palette != "web" {
		return x, nil
	}
	return j.onColour(x, func(c vimg) (vimg, error) {
		y, err := j.p.op("linear", c, oa("a", []float64{1.0 / 51}), oa("b", []float64{0}))
		if err != nil {
			return vimg{}, internal("quantize=web", err)
		}
		if y, err = j.p.op("round", y, osv("round", "rint")); err != nil {
			return vimg{}, internal("quantize=web", err)
		}
		if y, err = j.p.op("linear", y, oa("a", []float64{51}), oa("b", []float64{0}), ob("uchar", true)); err != nil {
			return vimg{}, internal("quantize=web", err)
		}
		return j.p.op("copy", y, osv("interpretation", interpName(c)))
	})
}
