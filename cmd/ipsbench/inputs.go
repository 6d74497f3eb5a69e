package main

import (
	"archive/zip"
	"bufio"
	"bytes"
	"fmt"
	"image"
	"image/draw"
	"image/jpeg"
	"image/png"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
)

// inputSet is the generated sources, cached under work/inputs between runs
// (a stamp file names what is complete).
type inputSet struct {
	Photos []string // N JPEGs of 3000×2000
	Large  []string // large PNGs and TIFFs (fmt=orig volume, and a mixed conversion)
	Small  []string // small JPEGs for the peak-RSS exports
}

// inputVersion changes whenever the generated content changes.
const inputVersion = 3

// photoBases is how many distinct pictures the N photos are made from.
const photoBases = 25

func (b *bench) inputs() (*inputSet, error) {
	dir := filepath.Join(b.work, "inputs")
	set := &inputSet{}
	photos := filepath.Join(dir, "photos")
	for i := range b.cfg.photos {
		set.Photos = append(set.Photos, filepath.Join(photos, fmt.Sprintf("photo-%04d.jpg", i+1)))
	}
	large := filepath.Join(dir, "large")
	for i := range b.cfg.large {
		set.Large = append(set.Large, filepath.Join(large, fmt.Sprintf("large-%d.png", i+1)))
	}
	for i := range b.cfg.large {
		set.Large = append(set.Large, filepath.Join(large, fmt.Sprintf("large-%d.tif", i+1)))
	}
	small := filepath.Join(dir, "small")
	for i := range b.cfg.smallFiles {
		set.Small = append(set.Small, filepath.Join(small, fmt.Sprintf("small-%05d.jpg", i+1)))
	}

	type gen struct {
		name  string
		files []string
		make  func(i int, path string) error
	}
	gens := []gen{
		{"photos", set.Photos, func(i int, p string) error {
			// Go's JPEG encoder takes about half a second for 6 megapixels:
			// every photoBases-th file is a fresh image, the others carry a
			// base's pixels behind their own comment segment. Each file is
			// distinct bytes and decodes in full, and no cache on either
			// side keys on pixels.
			if i >= photoBases && len(set.Photos) > photoBases {
				return nil // written with its base
			}
			var buf bytes.Buffer
			if err := jpeg.Encode(&buf, photo(b.cfg.photoW, b.cfg.photoH, uint32(i+1)), &jpeg.Options{Quality: 90}); err != nil {
				return err
			}
			for j := i; j < len(set.Photos); j += photoBases {
				if err := writeAtomic(set.Photos[j], withComment(buf.Bytes(), fmt.Sprintf("ipsbench photo %d", j+1))); err != nil {
					return err
				}
			}
			return nil
		}},
		{"large", set.Large[:b.cfg.large], func(i int, p string) error {
			return writePNG(p, photo(b.cfg.largeW, b.cfg.largeH, uint32(1000+i)))
		}},
		{"large-tiff", set.Large[b.cfg.large:], func(i int, p string) error {
			// Uncompressed TIFF, written by libvips from the matching PNG.
			return runQuiet("vips", "copy", set.Large[i], p)
		}},
		{"small", set.Small, func(i int, p string) error {
			return writeJPEG(p, photo(b.cfg.smallW, b.cfg.smallH, uint32(50000+i)), 85)
		}},
	}
	for _, g := range gens {
		stamp := filepath.Join(dir, fmt.Sprintf(".%s-v%d-%d", g.name, inputVersion, len(g.files)))
		if _, err := os.Stat(stamp); err == nil {
			continue
		}
		if len(g.files) == 0 {
			continue
		}
		b.logf("generating %d %s inputs", len(g.files), g.name)
		if err := os.MkdirAll(filepath.Dir(g.files[0]), 0o755); err != nil {
			return nil, err
		}
		if err := parallel(len(g.files), runtime.NumCPU(), func(i int) error { return g.make(i, g.files[i]) }); err != nil {
			return nil, fmt.Errorf("generate %s: %w", g.name, err)
		}
		if err := os.WriteFile(stamp, nil, 0o644); err != nil {
			return nil, err
		}
	}
	return set, nil
}

// photo is a w×h image with a photo's statistics as far as codecs care:
// smooth gradients and soft shapes under sensor-like grain, different for
// each seed. Trigonometry is per row and column, so a 6-megapixel image
// takes a few tens of milliseconds.
func photo(w, h int, seed uint32) *image.YCbCr {
	img := image.NewYCbCr(image.Rect(0, 0, w, h), image.YCbCrSubsampleRatio444)
	s := seed*2654435761 + 1
	rnd := func() uint32 { s ^= s << 13; s ^= s >> 17; s ^= s << 5; return s }
	fx := 1 + float64(rnd()%7)
	fy := 1 + float64(rnd()%5)
	ph := float64(rnd()%628) / 100
	colL, colCb := make([]float64, w), make([]uint8, w)
	for x := range w {
		fx0 := float64(x) / float64(w)
		colL[x] = math.Sin(fx*fx0*math.Pi + ph)
		colCb[x] = clamp8(128 + 40*math.Sin(fx0*3+ph))
	}
	type blob struct{ x, y, r, v float64 }
	var blobs [6]blob
	for i := range blobs {
		blobs[i] = blob{float64(rnd() % uint32(w)), float64(rnd() % uint32(h)), float64(w) / (4 + float64(rnd()%8)), float64(rnd()%200) - 100}
	}
	row := make([]float64, w)
	for y := range h {
		fy0 := float64(y) / float64(h)
		rowL := 60 * math.Cos(fy*fy0*math.Pi)
		cr := clamp8(128 + 40*math.Cos(fy0*2+ph))
		for x := range w {
			row[x] = 128 + rowL*colL[x]
		}
		for _, bl := range blobs {
			dy := float64(y) - bl.y
			if dy*dy >= bl.r*bl.r {
				continue
			}
			half := math.Sqrt(bl.r*bl.r - dy*dy)
			x0, x1 := max(0, int(bl.x-half)), min(w, int(bl.x+half)+1)
			for x := x0; x < x1; x++ {
				dx := float64(x) - bl.x
				if d2 := dx*dx + dy*dy; d2 < bl.r*bl.r {
					row[x] += bl.v * (1 - d2/(bl.r*bl.r))
				}
			}
		}
		yo := img.YOffset(0, y)
		co := img.COffset(0, y)
		for x := range w {
			img.Y[yo+x] = clamp8(row[x] + float64(rnd()>>28) - 8) // grain
			img.Cb[co+x] = colCb[x]
			img.Cr[co+x] = cr
		}
	}
	return img
}

func clamp8(v float64) uint8 {
	return uint8(math.Max(0, math.Min(255, v)))
}

// withComment inserts a JPEG COM segment right after SOI.
func withComment(jpg []byte, text string) []byte {
	out := make([]byte, 0, len(jpg)+len(text)+4)
	out = append(out, jpg[:2]...)
	n := len(text) + 2
	out = append(out, 0xFF, 0xFE, byte(n>>8), byte(n))
	out = append(out, text...)
	return append(out, jpg[2:]...)
}

func writeJPEG(path string, img image.Image, q int) error {
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: q}); err != nil {
		return err
	}
	return writeAtomic(path, buf.Bytes())
}

func writePNG(path string, src *image.YCbCr) error {
	// 8-bit RGB: png.Encode writes a YCbCr image as 16-bit.
	r := src.Bounds()
	img := image.NewNRGBA(r)
	draw.Draw(img, r, src, r.Min, draw.Src)
	var buf bytes.Buffer
	enc := png.Encoder{CompressionLevel: png.BestSpeed}
	if err := enc.Encode(&buf, img); err != nil {
		return err
	}
	return writeAtomic(path, buf.Bytes())
}

func writeAtomic(path string, data []byte) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

func runQuiet(name string, args ...string) error {
	cmd := exec.Command(name, args...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s: %w: %s", name, err, bytes.TrimSpace(out))
	}
	return nil
}

// parallel runs f(0..n-1) on k goroutines and returns the first error.
func parallel(n, k int, f func(i int) error) error {
	var (
		mu    sync.Mutex
		next  int
		first error
		wg    sync.WaitGroup
	)
	for range max(k, 1) {
		wg.Go(func() {
			for {
				mu.Lock()
				i := next
				next++
				stop := first != nil
				mu.Unlock()
				if i >= n || stop {
					return
				}
				if err := f(i); err != nil {
					mu.Lock()
					if first == nil {
						first = err
					}
					mu.Unlock()
					return
				}
			}
		})
	}
	wg.Wait()
	return first
}

// writeList writes paths one per line (for `bimgbaseline -list` and xargs).
func writeList(path string, files []string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(f)
	for _, p := range files {
		fmt.Fprintln(w, p)
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func totalSize(files []string) (int64, error) {
	var n int64
	for _, f := range files {
		st, err := os.Stat(f)
		if err != nil {
			return 0, err
		}
		n += st.Size()
	}
	return n, nil
}

// zipEntries counts the entries of a zip file (reading its central directory).
func zipEntries(path string) (int, error) {
	zr, err := zip.OpenReader(path)
	if err != nil {
		return 0, err
	}
	defer zr.Close()
	return len(zr.File), nil
}
