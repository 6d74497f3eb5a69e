// Command bimgbaseline is the ceiling `make bench` holds the service to: the
// smallest Go program that converts a set of images with
// github.com/h2non/bimg, N at a time, and reports conversions per second.
//
// It does the work internal/render does for `wid=W&fmt=jpeg&qlt=Q` (and
// fmt=webp/png), step for step:
//
//   - load the source from a buffer (random access, as both do);
//   - shrink-on-load: bimg reloads a JPEG (or WebP) with libjpeg's DCT
//     shrink at the largest 2/4/8 that stays above the target, as
//     render.loadShrink does (3000 → 800: shrink 2, decoded at 1500×1000);
//   - the rest of the scale with vips_reduce's default lanczos3 kernel:
//     bimg's reduce step, the kernel vips_resize uses for resMode=sharp2,
//     the service's default;
//   - encode at quality Q (JPEG: optimize_coding on, 4:2:0 at Q < 90, no
//     interlace; both sides write no metadata);
//   - read the source from a file and write the result to a file, as the
//     export worker reads and writes blob storage;
//   - no libvips operation cache (render.New turns it off too).
//
// libvips runs one thread per image (bimg's init sets it unless
// VIPS_CONCURRENCY is set; `make bench` sets VIPS_CONCURRENCY=1 for every
// process), so -j is the number of images in flight: -j 2 matches
// `ipsd serve --workers 2`.
//
// Usage:
//
//	bimgbaseline [-j 2] [-width 800] [-format jpeg] [-quality 80] [-out DIR] [-list FILE] [FILE...]
//
// It prints one JSON line: images, seconds, images_per_second, bytes_in,
// bytes_out.
package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/h2non/bimg"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "bimgbaseline:", err)
		os.Exit(1)
	}
}

type summary struct {
	Images          int     `json:"images"`
	Seconds         float64 `json:"seconds"`
	ImagesPerSecond float64 `json:"images_per_second"`
	BytesIn         int64   `json:"bytes_in"`
	BytesOut        int64   `json:"bytes_out"`
	Concurrency     int     `json:"concurrency"`
	VipsVersion     string  `json:"vips_version"`
}

func run() error {
	jobs := flag.Int("j", 2, "images converted at once (goroutines)")
	width := flag.Int("width", 800, "target width")
	format := flag.String("format", "jpeg", "output format: jpeg, webp or png")
	quality := flag.Int("quality", 80, "quality")
	outDir := flag.String("out", "", "directory for the results (default: discard)")
	list := flag.String("list", "", "file naming the sources, one per line (besides the arguments)")
	flag.Parse()

	files := flag.Args()
	if *list != "" {
		more, err := readList(*list)
		if err != nil {
			return err
		}
		files = append(files, more...)
	}
	if len(files) == 0 {
		return errors.New("no files")
	}
	if *jobs < 1 {
		*jobs = 1
	}
	typ, ext, err := outputType(*format)
	if err != nil {
		return err
	}
	opts := bimg.Options{Width: *width, Type: typ, Quality: *quality, StripMetadata: true}
	// No libvips operation cache, as in the service (render.New): with
	// distinct sources it only costs, and it keys loads on buffer
	// addresses, which Go reuses, so it could even answer a stale image.
	bimg.VipsCacheSetMax(0)
	bimg.VipsCacheSetMaxMem(0)
	if *outDir != "" {
		if err := os.MkdirAll(*outDir, 0o755); err != nil {
			return err
		}
	}

	var (
		next            atomic.Int64
		bytesIn, bytesO atomic.Int64
		wg              sync.WaitGroup
		errMu           sync.Mutex
		firstErr        error
	)
	start := time.Now()
	for range *jobs {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= len(files) {
					return
				}
				n, m, err := convert(files[i], *outDir, ext, opts)
				if err != nil {
					errMu.Lock()
					if firstErr == nil {
						firstErr = fmt.Errorf("%s: %w", files[i], err)
					}
					errMu.Unlock()
					return
				}
				bytesIn.Add(n)
				bytesO.Add(m)
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start).Seconds()
	if firstErr != nil {
		return firstErr
	}
	return json.NewEncoder(os.Stdout).Encode(summary{
		Images: len(files), Seconds: elapsed, ImagesPerSecond: float64(len(files)) / elapsed,
		BytesIn: bytesIn.Load(), BytesOut: bytesO.Load(), Concurrency: *jobs, VipsVersion: bimg.VipsVersion,
	})
}

func convert(src, outDir, ext string, opts bimg.Options) (int64, int64, error) {
	buf, err := os.ReadFile(src)
	if err != nil {
		return 0, 0, err
	}
	out, err := bimg.NewImage(buf).Process(opts)
	if err != nil {
		return 0, 0, err
	}
	if outDir != "" {
		name := strings.TrimSuffix(filepath.Base(src), filepath.Ext(src)) + ext
		if err := os.WriteFile(filepath.Join(outDir, name), out, 0o644); err != nil {
			return 0, 0, err
		}
	}
	return int64(len(buf)), int64(len(out)), nil
}

func outputType(format string) (bimg.ImageType, string, error) {
	switch strings.ToLower(format) {
	case "jpeg", "jpg":
		return bimg.JPEG, ".jpg", nil
	case "webp":
		return bimg.WEBP, ".webp", nil
	case "png":
		return bimg.PNG, ".png", nil
	}
	return 0, "", fmt.Errorf("format %q: use jpeg, webp or png", format)
}

func readList(name string) ([]string, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if s := strings.TrimSpace(sc.Text()); s != "" {
			out = append(out, s)
		}
	}
	return out, sc.Err()
}
