package main

import (
	"archive/zip"
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// renditionCacheBytes is the cache of the server cacheTarget starts:
// room for every rendition of every round.
const renditionCacheBytes = 8 << 30

// cacheTarget measures the rendition cache (issue 17, point 5): in a
// server with the cache on, a convert export of the N JPEGs (every
// rendition a miss: each round's conversion carries an id= of its own,
// which no earlier export rendered), then the same export again (every
// rendition a hit). The second must be ≥ 10× faster and its files
// byte-identical; the first, which also keeps what it renders, no slower
// than bimg doing the same work (≥ 0.95×). The other targets' servers run
// with the cache off (startServer), so their rounds render every time.
func (b *bench) cacheTarget(ctx context.Context, dataDir, company string, set *inputSet, handles []string) error {
	if b.cfg.skip["cache"] {
		return nil
	}
	n := len(handles)
	srv, err := b.startServer(dataDir, "ipsd-cache.log", "--rendition-cache-bytes", strconv.Itoa(renditionCacheBytes))
	if err != nil {
		return err
	}
	defer srv.stop()
	b.srvPid = srv.cmd.Process.Pid
	c := newClient(srv.baseURL(), company, 64)
	if _, err := b.serviceExport(ctx, c, "cache-warmup", handles[:min(4, n)], "convert", b.modifier()+"&id=cache-warmup", exportOpts{}); err != nil {
		return fmt.Errorf("cache warm-up export: %w", err)
	}
	list := filepath.Join(b.work, "photos.list")
	if err := writeList(list, set.Photos); err != nil {
		return err
	}
	outDir := filepath.Join(b.work, "out-bimg")
	firstZip, secondZip := filepath.Join(b.work, "cache-first.zip"), filepath.Join(b.work, "cache-second.zip")
	var firsts, seconds, bimg []round
	var ratios []float64 // first ÷ second, per round
	for i := 1; b.moreRounds(i-1, firsts, seconds, bimg); i++ {
		mod := fmt.Sprintf("%s&id=cache%d-%d", b.modifier(), time.Now().Unix(), i)
		b.quiet()
		m := startMeter(b.srvPid)
		first, err := b.serviceExport(ctx, c, "cache-first", handles, "convert", mod, exportOpts{})
		if err != nil {
			return fmt.Errorf("cache: first export: %w", err)
		}
		_, share := m.foreign()
		if err := os.Rename(filepath.Join(b.work, "last-export.zip"), firstZip); err != nil {
			return err
		}
		b.detail("round %d: rendition cache, first export of %d (all misses): %.2f s → %.2f img/s; %s", i, n, first.total.Seconds(), float64(n)/first.total.Seconds(), m)
		firsts = append(firsts, round{d: first.total, disturbed: share})

		b.quiet()
		m = startMeter(b.srvPid)
		second, err := b.serviceExport(ctx, c, "cache-second", handles, "convert", mod, exportOpts{})
		if err != nil {
			return fmt.Errorf("cache: second export: %w", err)
		}
		_, share = m.foreign()
		if err := os.Rename(filepath.Join(b.work, "last-export.zip"), secondZip); err != nil {
			return err
		}
		same, err := sameEntries(firstZip, secondZip)
		if err != nil {
			return err
		}
		if !same {
			return fmt.Errorf("cache: the second export's files differ from the first's (%s, %s)", firstZip, secondZip)
		}
		b.detail("round %d: rendition cache, second export of %d (all hits): %.2f s → %.2f img/s, %.1f× the first; every file byte-identical; %s",
			i, n, second.total.Seconds(), float64(n)/second.total.Seconds(), first.total.Seconds()/second.total.Seconds(), m)
		seconds = append(seconds, round{d: second.total, disturbed: share})
		ratios = append(ratios, first.total.Seconds()/second.total.Seconds())

		t, _, _, share, err := b.bimgRound(ctx, outDir, list)
		if err != nil {
			return err
		}
		b.detail("round %d: bimgbaseline -j %d beside the cache: %.2f s → %.2f img/s", i, b.cfg.workers, t.wall.Seconds(), float64(n)/t.wall.Seconds())
		bimg = append(bimg, round{d: t.wall, disturbed: share})
	}
	os.Remove(firstZip)
	os.Remove(secondZip)
	fb, sb, bb := bestOf(firsts), bestOf(seconds), bestOf(bimg)
	firstRate, secondRate, bimgRate := float64(n)/fb.d.Seconds(), float64(n)/sb.d.Seconds(), float64(n)/bb.d.Seconds()
	// The verdict is the least ratio of a round, its two exports measured
	// back to back: the best of each side may come from different rounds.
	least := slices.Min(ratios)
	b.detail("rendition cache: second export ÷ first, per round: %s (least %.1f)", fmtRatios(ratios), least)
	b.add(result{
		Name:     fmt.Sprintf("convert re-export from the rendition cache, %d × %d×%d JPEG, byte-identical", n, b.cfg.photoW, b.cfg.photoH),
		Figure:   fmt.Sprintf("%.1f img/s", secondRate),
		Baseline: fmt.Sprintf("%.2f img/s first export (all misses)", firstRate),
		Ratio:    fb.d.Seconds() / sb.d.Seconds(), Target: "≥ 10 each round",
		Verdict:   verdict(least >= 10),
		Disturbed: max(fb.disturbed, sb.disturbed),
	})
	b.add(result{
		Name:     "convert export with the rendition cache on, first run (renders and keeps)",
		Figure:   fmt.Sprintf("%.2f img/s", firstRate),
		Baseline: fmt.Sprintf("%.2f img/s bimg -j %d", bimgRate, b.cfg.workers),
		Ratio:    firstRate / bimgRate, Target: "≥ 0.95",
		Verdict:   verdict(firstRate/bimgRate >= 0.95),
		Disturbed: max(fb.disturbed, bb.disturbed),
	})
	// Beside the convert target's export, whose server has no cache: what
	// keeping the renditions costs a first export.
	for _, r := range b.results {
		var plain float64
		if strings.HasPrefix(r.Name, "convert export, ") && strings.HasSuffix(r.Figure, " img/s") {
			if _, err := fmt.Sscanf(r.Figure, "%g img/s", &plain); err == nil && plain > 0 {
				b.add(result{
					Name:     "convert export, first run with the rendition cache vs without it (convert target)",
					Figure:   fmt.Sprintf("%.2f img/s", firstRate),
					Baseline: fmt.Sprintf("%.2f img/s without the cache", plain),
					Ratio:    firstRate / plain, Target: "≈ 1 (reported)", Verdict: "INFO",
					Disturbed: max(fb.disturbed, r.Disturbed),
				})
			}
			break
		}
	}
	return nil
}

func fmtRatios(rs []float64) string {
	parts := make([]string, len(rs))
	for i, r := range rs {
		parts[i] = fmt.Sprintf("%.1f×", r)
	}
	return strings.Join(parts, ", ")
}

// sameEntries reports whether two zips hold the same names with the same
// bytes.
func sameEntries(a, b string) (bool, error) {
	sums := func(path string) (map[string][32]byte, error) {
		zr, err := zip.OpenReader(path)
		if err != nil {
			return nil, err
		}
		defer zr.Close()
		out := map[string][32]byte{}
		for _, f := range zr.File {
			r, err := f.Open()
			if err != nil {
				return nil, err
			}
			h := sha256.New()
			_, err = io.Copy(h, r)
			r.Close()
			if err != nil {
				return nil, fmt.Errorf("%s: %s: %w", path, f.Name, err)
			}
			out[f.Name] = [32]byte(h.Sum(nil))
		}
		return out, nil
	}
	sa, err := sums(a)
	if err != nil {
		return false, err
	}
	sb, err := sums(b)
	if err != nil {
		return false, err
	}
	if len(sa) != len(sb) || len(sa) == 0 {
		return false, nil
	}
	for k, v := range sa {
		if sb[k] != v {
			return false, nil
		}
	}
	return true, nil
}
