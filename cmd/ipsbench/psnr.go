package main

import (
	"archive/zip"
	"fmt"
	"image"
	"image/jpeg"
	"io"
	"math"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// renderCostTarget is issue 17, point 6: CPU time per converted image
// against the bare bimg loop's, at the same output settings, with the
// quality of our output against bimg's beside it (PSNR of the luma plane,
// decoded from both JPEGs; identical pixels read "identical"). It reads
// what the convert target left: the CPU figures, the last export's zip and
// bimgbaseline's outputs of its last round.
func (b *bench) renderCostTarget() error {
	if b.convCPU[0] == 0 || b.convCPU[1] == 0 {
		return nil
	}
	mean, worst, n, err := psnrAgainst(filepath.Join(b.work, "last-export.zip"), filepath.Join(b.work, "out-bimg"))
	if err != nil {
		b.logf("render cost: no quality comparison: %v", err)
		return nil
	}
	q := "identical pixels"
	if !math.IsInf(worst, 1) {
		q = fmt.Sprintf("luma PSNR vs bimg's: mean %.1f dB, worst %.1f dB", mean, worst)
	}
	b.detail("render cost: %d outputs compared with bimg's: %s", n, q)
	ratio := b.convCPU[0] / b.convCPU[1]
	b.add(result{
		Name:     fmt.Sprintf("convert export, CPU per image vs bimg's at the same settings (%d outputs: %s)", n, q),
		Figure:   fmt.Sprintf("%.1f ms", b.convCPU[0]),
		Baseline: fmt.Sprintf("%.1f ms bimg", b.convCPU[1]),
		Ratio:    ratio, Target: "≤ 0.90",
		Verdict: verdict(ratio <= 0.9),
	})
	return nil
}

// psnrAgainst compares each JPEG of the zip with the file of the same
// name in dir.
func psnrAgainst(zipPath, dir string) (mean, worst float64, n int, err error) {
	zr, err := zip.OpenReader(zipPath)
	if err != nil {
		return 0, 0, 0, err
	}
	defer zr.Close()
	worst = math.Inf(1)
	var sum float64
	finite := 0
	for _, f := range zr.File {
		stem := strings.TrimSuffix(path.Base(f.Name), path.Ext(f.Name))
		theirs, err := os.Open(filepath.Join(dir, stem+".jpg"))
		if err != nil {
			continue
		}
		b, err := jpeg.Decode(theirs)
		theirs.Close()
		if err != nil {
			return 0, 0, 0, fmt.Errorf("bimg's %s: %w", stem, err)
		}
		rc, err := f.Open()
		if err != nil {
			return 0, 0, 0, err
		}
		a, err := jpeg.Decode(io.Reader(rc))
		rc.Close()
		if err != nil {
			return 0, 0, 0, fmt.Errorf("our %s: %w", f.Name, err)
		}
		p, err := lumaPSNR(a, b)
		if err != nil {
			return 0, 0, 0, fmt.Errorf("%s: %w", f.Name, err)
		}
		n++
		worst = min(worst, p)
		if !math.IsInf(p, 1) {
			sum += p
			finite++
		}
	}
	if n == 0 {
		return 0, 0, 0, fmt.Errorf("no output of %s has a bimg counterpart in %s", zipPath, dir)
	}
	mean = math.Inf(1)
	if finite > 0 {
		mean = sum / float64(finite)
	}
	return mean, worst, n, nil
}

// lumaPSNR is the PSNR of a's luma against b's (same size required).
func lumaPSNR(a, b image.Image) (float64, error) {
	if a.Bounds().Size() != b.Bounds().Size() {
		return 0, fmt.Errorf("sizes differ: %v against %v", a.Bounds().Size(), b.Bounds().Size())
	}
	luma := func(m image.Image, x, y int) float64 {
		if yc, ok := m.(*image.YCbCr); ok {
			return float64(yc.Y[yc.YOffset(x, y)])
		}
		if g, ok := m.(*image.Gray); ok {
			return float64(g.GrayAt(x, y).Y)
		}
		r, g, bl, _ := m.At(x, y).RGBA()
		return (0.299*float64(r) + 0.587*float64(g) + 0.114*float64(bl)) / 257
	}
	ra, rb := a.Bounds(), b.Bounds()
	var se float64
	for y := 0; y < ra.Dy(); y++ {
		for x := 0; x < ra.Dx(); x++ {
			d := luma(a, ra.Min.X+x, ra.Min.Y+y) - luma(b, rb.Min.X+x, rb.Min.Y+y)
			se += d * d
		}
	}
	if se == 0 {
		return math.Inf(1), nil
	}
	mse := se / float64(ra.Dx()*ra.Dy())
	return 10 * math.Log10(255*255/mse), nil
}
