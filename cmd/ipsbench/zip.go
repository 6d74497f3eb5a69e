package main

import (
	"archive/zip"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"
)

// zipTarget measures the zip download alone (issue 17, point 4): one
// orig export of the files (not measured), then the job's zip downloaded
// in rounds, GET to the last byte, against cp + sha256sum of the same
// files. The zip is read to the end by the client; one more download is
// saved and every entry decoded (CRC-32 checked) to count stored and
// deflated entries.
func (b *bench) zipTarget(ctx context.Context, c *client, files, handles []string) error {
	size, err := totalSize(files)
	if err != nil {
		return err
	}
	jobSeq++
	job, err := c.submit(ctx, c.submitBody(fmt.Sprintf("bench-zip-%d", jobSeq), handles, "orig", ""))
	if err != nil {
		return fmt.Errorf("zip target: %w", err)
	}
	link, ok, _, err := c.awaitArchive(ctx, job, b.cfg.poll)
	if err != nil {
		return fmt.Errorf("zip target: %w", err)
	}
	if ok != fmt.Sprint(len(handles)) {
		return fmt.Errorf("zip target: %s of %d files exported", ok, len(handles))
	}
	dest := filepath.Join(b.work, "out-cp")
	defer os.RemoveAll(dest)
	var svc, cp []round
	var zipBytes int64
	for i := 1; b.moreRounds(i-1, svc, cp); i++ {
		b.quiet()
		m := startMeter(b.srvPid)
		cpu0 := procCPU(b.srvPid)
		start := time.Now()
		if zipBytes, err = c.download(ctx, link, io.Discard); err != nil {
			return fmt.Errorf("zip target: %w", err)
		}
		d := time.Since(start)
		cpu := procCPU(b.srvPid) - cpu0
		_, share := m.foreign()
		b.detail("round %d: zip of %d files (%.0f MB → %.0f MB zip) downloaded alone in %.2f s → %.0f MB/s; server CPU %.2f s; %s",
			i, len(files), float64(size)/1e6, float64(zipBytes)/1e6, d.Seconds(), float64(size)/1e6/d.Seconds(), cpu, m)
		svc = append(svc, round{d: d, disturbed: share})

		if err := freshDir(dest); err != nil {
			return err
		}
		b.quiet()
		m = startMeter(b.srvPid)
		dcp, dsum, err := b.copyAndHash(ctx, files, dest)
		if err != nil {
			return err
		}
		_, share = m.foreign()
		b.detail("round %d: cp --reflink=never %.2f s + sha256sum %.2f s = %.2f s → %.0f MB/s; %s",
			i, dcp.Seconds(), dsum.Seconds(), (dcp + dsum).Seconds(), float64(size)/1e6/(dcp+dsum).Seconds(), m)
		cp = append(cp, round{d: dcp + dsum, disturbed: share})
	}
	stored, deflated, err := b.checkZip(ctx, c, link, len(handles))
	if err != nil {
		return fmt.Errorf("zip target: %w", err)
	}
	b.detail("zip check: %d entries stored, %d deflated, every CRC-32 right", stored, deflated)
	sb, cb := bestOf(svc), bestOf(cp)
	mbps := func(d time.Duration) float64 { return float64(size) / 1e6 / d.Seconds() }
	ratio := mbps(sb.d) / mbps(cb.d)
	b.add(result{
		Name:      fmt.Sprintf("orig zip download alone, %d files, %.0f MB (%d stored, %d deflated entries)", len(files), float64(size)/1e6, stored, deflated),
		Figure:    fmt.Sprintf("%.0f MB/s", mbps(sb.d)),
		Baseline:  fmt.Sprintf("%.0f MB/s cp --reflink=never + sha256sum", mbps(cb.d)),
		Ratio:     ratio,
		Target:    "≥ 0.80",
		Verdict:   verdict(ratio >= 0.8),
		Disturbed: max(sb.disturbed, cb.disturbed),
	})
	return nil
}

// checkZip downloads the zip once more to a file and decodes every entry.
func (b *bench) checkZip(ctx context.Context, c *client, link string, want int) (stored, deflated int, err error) {
	p := filepath.Join(b.work, "last-orig.zip")
	defer os.Remove(p)
	f, err := os.Create(p)
	if err != nil {
		return 0, 0, err
	}
	_, err = c.download(ctx, link, f)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return 0, 0, err
	}
	zr, err := zip.OpenReader(p)
	if err != nil {
		return 0, 0, err
	}
	defer zr.Close()
	if len(zr.File) != want {
		return 0, 0, fmt.Errorf("zip holds %d entries, want %d", len(zr.File), want)
	}
	for _, e := range zr.File {
		rc, err := e.Open()
		if err != nil {
			return 0, 0, fmt.Errorf("%s: %w", e.Name, err)
		}
		_, err = io.Copy(io.Discard, rc)
		rc.Close()
		if err != nil {
			return 0, 0, fmt.Errorf("%s: %w", e.Name, err)
		}
		if e.Method == zip.Store {
			stored++
		} else {
			deflated++
		}
	}
	return stored, deflated, nil
}
