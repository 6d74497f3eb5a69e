// Command ipsbench measures IPS Export against the ceilings it is held to
// (issue 6) and prints one line per target: `make bench` runs it.
//
// In one run on one machine it
//
//   - generates its inputs into WORK/inputs (cached between runs): N JPEGs
//     of 3000×2000, a few large PNGs and uncompressed TIFFs, and many small
//     JPEGs for the memory test;
//   - starts `ipsd serve --workers 2` (VIPS_CONCURRENCY=1) on a fresh data
//     directory, with a company and a user made and the files imported by
//     `ipsd admin`;
//   - (a) converts the N JPEGs through the whole service – submitJob over
//     SOAP, getJobLogDetails polled until the ExportArchive link appears,
//     the zip downloaded – and (b) the same files with bimgbaseline, two
//     goroutines, and (c) with `vips thumbnail`, two processes at a time;
//   - (d) exports the originals (fmt=orig) and copies the same files with
//     `cp --reflink=never` followed by `sha256sum`;
//   - (e) sends small submitJobs from concurrent clients for a few seconds;
//   - (f) reads the server's peak RSS (VmHWM) after a 100-asset and after a
//     10,000-asset export, each in a fresh server process.
//
// Conversions and copies run in rounds, alternating service and baseline
// (the conversion's rounds also alternate which side goes first); each
// figure is the best round.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"
)

type config struct {
	photos, photoW, photoH     int
	large, largeW, largeH      int
	smallFiles, smallW, smallH int
	rssSmall, rssLarge         int
	rssDistinct                int
	rssWidth                   int
	width, quality             int
	workers, rounds            int
	submitClients              int
	submitDuration             time.Duration
	largeSubmitDistinct        int
	pgURL                      string
	largeSubmitSizes           []int
	poll                       time.Duration
	skip                       map[string]bool
	profile                    bool
	quiet                      time.Duration
	serveFlags                 []string
	keep                       bool
}

type bench struct {
	cfg      config
	work     string
	ipsd     string
	baseline string
	out      io.Writer
	results  []result
	details  []string
	start    time.Time
	srvPid   int        // the running server, for the CPU meter
	srv      *server    // the main server
	database string     // ipsd --database: "" for SQLite in the data directory
	convCPU  [2]float64 // CPU ms per image of the convert export: ours, bimg's
}

// result is one target line.
type result struct {
	Name     string  `json:"name"`
	Figure   string  `json:"figure"`
	Baseline string  `json:"baseline"`
	Ratio    float64 `json:"ratio"`
	Target   string  `json:"target"`
	Verdict  string  `json:"verdict"` // MET, NOT MET, INFO
	// Disturbed is the largest share of the machine other processes
	// took during a counted round.
	Disturbed float64 `json:"disturbed"`
}

func main() {
	var cfg config
	work := flag.String("work", ".cache/bench", "work directory (inputs are cached here)")
	binDir := flag.String("bin", "bin", "directory holding ipsd and bimgbaseline")
	flag.IntVar(&cfg.photos, "n", 200, "JPEGs converted (3000×2000)")
	flag.IntVar(&cfg.photoW, "photo-width", 3000, "width of the JPEG sources")
	flag.IntVar(&cfg.photoH, "photo-height", 2000, "height of the JPEG sources")
	flag.IntVar(&cfg.large, "large", 2, "large PNGs (and as many TIFFs)")
	flag.IntVar(&cfg.largeW, "large-width", 5000, "width of the large sources")
	flag.IntVar(&cfg.largeH, "large-height", 4000, "height of the large sources")
	flag.IntVar(&cfg.rssSmall, "rss-small", 100, "assets of the small export of the memory test")
	flag.IntVar(&cfg.rssLarge, "rss-large", 10000, "assets of the large export of the memory test")
	flag.IntVar(&cfg.rssDistinct, "rss-distinct", 2500, "distinct small files imported for the memory test (handles repeat beyond)")
	flag.IntVar(&cfg.smallW, "small-width", 320, "width of the memory test's sources")
	flag.IntVar(&cfg.smallH, "small-height", 240, "height of the memory test's sources")
	flag.IntVar(&cfg.rssWidth, "rss-convert-width", 160, "target width of the memory test's conversion")
	flag.IntVar(&cfg.width, "width", 800, "target width of the conversion")
	flag.IntVar(&cfg.quality, "quality", 80, "JPEG quality of the conversion")
	flag.IntVar(&cfg.workers, "workers", 2, "ipsd serve --workers, bimgbaseline -j and vips processes at once")
	flag.IntVar(&cfg.rounds, "rounds", 3, "rounds of each comparison (the best counts)")
	flag.IntVar(&cfg.submitClients, "submit-clients", 8, "concurrent submitJob clients")
	flag.DurationVar(&cfg.submitDuration, "submit-duration", 5*time.Second, "how long submitJob is measured")
	flag.StringVar(&cfg.pgURL, "pg-url", os.Getenv("IPSD_DATABASE_URL"), "an empty PostgreSQL database for the submitJob line on PostgreSQL (default IPSD_DATABASE_URL; empty: a throw-away cluster started with initdb, as the tests do)")
	flag.IntVar(&cfg.largeSubmitDistinct, "large-submit-distinct", 10_000, "distinct assets of the large-submit lines")
	largeSizes := flag.String("large-submit-sizes", "1000,10000,100000", "handles per submitJob of the per-handle line, comma-separated")
	flag.DurationVar(&cfg.poll, "poll", 50*time.Millisecond, "getJobLogDetails poll interval")
	flag.DurationVar(&cfg.quiet, "quiet", 30*time.Second, "before each measured run, wait up to this long for other processes to leave the CPUs (shared machines)")
	flag.BoolVar(&cfg.profile, "profile", true, "after the measured rounds, profile one more export of each kind (WORK/profiles)")
	flag.BoolVar(&cfg.keep, "keep", false, "keep the servers' data directories and the baselines' outputs (WORK/data*, WORK/out-*)")
	serveFlags := flag.String("serve-flags", "", "extra flags for `ipsd serve`, space-separated (e.g. \"--chunk-size 4\")")
	skip := flag.String("skip", "", "comma-separated parts to skip: convert,cli,orig,zip,submit,pg,largesubmit,cache,rss")
	flag.Parse()
	cfg.serveFlags = strings.Fields(*serveFlags)
	for f := range strings.SplitSeq(*largeSizes, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			fmt.Fprintf(os.Stderr, "ipsbench: -large-submit-sizes: %q is not a count\n", f)
			os.Exit(2)
		}
		cfg.largeSubmitSizes = append(cfg.largeSubmitSizes, n)
	}
	cfg.skip = map[string]bool{}
	for s := range strings.SplitSeq(*skip, ",") {
		if s = strings.TrimSpace(s); s != "" {
			cfg.skip[s] = true
		}
	}
	cfg.rssDistinct = max(min(cfg.rssDistinct, cfg.rssLarge), cfg.rssSmall)
	cfg.smallFiles = cfg.rssDistinct
	if cfg.skip["rss"] {
		cfg.smallFiles = 1
	}

	b := &bench{cfg: cfg, out: os.Stdout, start: time.Now()}
	var err error
	if b.work, err = filepath.Abs(*work); err == nil {
		b.ipsd, err = filepath.Abs(filepath.Join(*binDir, "ipsd"))
	}
	if err == nil {
		b.baseline, err = filepath.Abs(filepath.Join(*binDir, "bimgbaseline"))
	}
	if err == nil {
		err = b.run(context.Background())
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "ipsbench:", err)
		os.Exit(1)
	}
}

func (b *bench) logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "[%6.1fs] %s\n", time.Since(b.start).Seconds(), fmt.Sprintf(format, args...))
}

func (b *bench) detail(format string, args ...any) {
	s := fmt.Sprintf(format, args...)
	b.details = append(b.details, s)
	b.logf("%s", s)
}

func (b *bench) run(ctx context.Context) error {
	for _, p := range []string{b.ipsd, b.baseline} {
		if _, err := os.Stat(p); err != nil {
			return fmt.Errorf("%s missing: run `make bench` (it builds them)", p)
		}
	}
	if err := os.MkdirAll(b.work, 0o755); err != nil {
		return err
	}
	machine := machineInfo()
	b.logf("machine: %s", machine)
	set, err := b.inputs()
	if err != nil {
		return err
	}

	dataDir := filepath.Join(b.work, "data")
	company, err := b.setupData(dataDir)
	if err != nil {
		return err
	}
	t0 := time.Now()
	photoHandles, err := b.importFiles(dataDir, "photos", set.Photos)
	if err != nil {
		return err
	}
	largeHandles, err := b.importFiles(dataDir, "large", set.Large)
	if err != nil {
		return err
	}
	tinyHandle, err := b.importFiles(dataDir, "tiny", set.Small[:1])
	if err != nil {
		return err
	}
	b.detail("imported %d files with ipsd admin asset import in %.1f s", len(set.Photos)+len(set.Large)+1, time.Since(t0).Seconds())

	srv, err := b.startServer(dataDir, "ipsd-main.log")
	if err != nil {
		return err
	}
	defer srv.stop()
	b.srvPid, b.srv = srv.cmd.Process.Pid, srv
	c := newClient(srv.baseURL(), company, 64)

	// Warm-up: first requests pay for connection set-up, libvips' format
	// tables and the database pages; neither side is measured cold.
	if _, err := b.serviceExport(ctx, c, "warmup", photoHandles[:min(4, len(photoHandles))], "convert", b.modifier(), exportOpts{}); err != nil {
		return fmt.Errorf("warm-up export: %w", err)
	}

	if !b.cfg.skip["convert"] {
		if err := b.convertTargets(ctx, c, set, photoHandles); err != nil {
			return err
		}
		if err := b.renderCostTarget(); err != nil {
			return err
		}
	}
	if !b.cfg.skip["orig"] {
		if err := b.origTarget(ctx, c, append(append([]string{}, set.Photos...), set.Large...), append(append([]string{}, photoHandles...), largeHandles...)); err != nil {
			return err
		}
	}
	if !b.cfg.skip["zip"] {
		if err := b.zipTarget(ctx, c, append(append([]string{}, set.Photos...), set.Large...), append(append([]string{}, photoHandles...), largeHandles...)); err != nil {
			return err
		}
	}
	if !b.cfg.skip["submit"] {
		if err := b.submitTarget(ctx, c, srv, b.srvPid, 0, "SQLite", tinyHandle[0]); err != nil {
			return err
		}
	}
	srv.stop()
	if err := b.cacheTarget(ctx, dataDir, company, set, photoHandles); err != nil {
		return err
	}
	if !b.cfg.skip["submit"] && !b.cfg.skip["pg"] {
		if err := b.submitTargetPG(ctx, set); err != nil {
			return err
		}
	}
	if !b.cfg.skip["largesubmit"] {
		if err := b.largeSubmitTarget(ctx, set); err != nil {
			return err
		}
	}
	if !b.cfg.skip["rss"] {
		if err := b.rssTarget(ctx, set); err != nil {
			return err
		}
	}
	b.report(machine)
	if !b.cfg.keep {
		// The exports are gigabytes; the inputs, logs and profiles stay.
		for _, d := range []string{"data", "data-rss", "data-submit", "data-pg", "out-bimg", "out-vips", "out-vips-resize", "out-cp"} {
			os.RemoveAll(filepath.Join(b.work, d))
		}
	}
	return nil
}

func (b *bench) modifier() string {
	return fmt.Sprintf("wid=%d&fmt=jpeg&qlt=%d", b.cfg.width, b.cfg.quality)
}

// exportRun is one export through the service.
type exportRun struct {
	submit, archive, total time.Duration // submit answered, archive link seen, zip downloaded
	zipBytes               int64
	succeeded              string
	// hwm is the server's VmHWM (kB) before the submit and after each of
	// the three phases, when serviceExport was given its pid.
	hwm [4]int64
}

var jobSeq int

// serviceExport submits an export, follows it until its archive link
// appears and downloads the zip (to a file for conversions, so it can be
// checked; discarded for originals).
// exportOpts are the optional parts of serviceExport.
type exportOpts struct {
	pid          int    // read the server's VmHWM around each phase
	beforeSubmit func() // run just before the submit, and
	afterSubmit  func() // just after it answered
}

func (b *bench) serviceExport(ctx context.Context, c *client, label string, handles []string, fmtName, modifier string, o exportOpts) (exportRun, error) {
	jobSeq++
	name := fmt.Sprintf("bench-%s-%d", label, jobSeq)
	body := c.submitBody(name, handles, fmtName, modifier)
	var r exportRun
	hwm := func(i int) {
		if o.pid > 0 {
			r.hwm[i], _ = procStatus(o.pid, "VmHWM")
		}
	}
	if o.beforeSubmit != nil {
		o.beforeSubmit()
	}
	hwm(0)
	start := time.Now()
	job, err := c.submit(ctx, body)
	if err != nil {
		return r, err
	}
	r.submit = time.Since(start)
	hwm(1)
	if o.afterSubmit != nil {
		o.afterSubmit()
	}
	link, ok, total, err := c.awaitArchive(ctx, job, b.cfg.poll)
	if err != nil {
		return r, err
	}
	r.archive = time.Since(start)
	hwm(2)
	r.succeeded = ok
	var w io.Writer = io.Discard
	var zf *os.File
	if fmtName == "convert" {
		if zf, err = os.Create(filepath.Join(b.work, "last-export.zip")); err != nil {
			return r, err
		}
		defer zf.Close()
		w = zf
	}
	if r.zipBytes, err = c.download(ctx, link, w); err != nil {
		return r, err
	}
	r.total = time.Since(start)
	hwm(3)
	if ok != strconv.Itoa(len(handles)) || total != strconv.Itoa(len(handles)) {
		return r, fmt.Errorf("export %s: %s of %s files succeeded (want %d); see the server log", name, ok, total, len(handles))
	}
	if zf != nil {
		if n, err := zipEntries(zf.Name()); err != nil || n != len(handles) {
			return r, fmt.Errorf("export %s: zip holds %d entries (want %d): %v", name, n, len(handles), err)
		}
	}
	return r, nil
}

// round is one measured run of one side of a comparison.
type round struct {
	d         time.Duration
	disturbed float64
	cpu       time.Duration // CPU time of the side measured, when known
}

// bimgRound runs the bimg loop once on list into a fresh outDir, on a
// quiet machine: its timing, the seconds it reports converting, its meter
// and the share of the machine others took meanwhile.
func (b *bench) bimgRound(ctx context.Context, outDir, list string) (t timed, converting float64, m *meter, share float64, err error) {
	os.RemoveAll(outDir)
	b.quiet()
	m = startMeter(b.srvPid)
	t, err = runTimed(ctx, b.work, b.baseline, "-j", strconv.Itoa(b.cfg.workers), "-width", strconv.Itoa(b.cfg.width),
		"-format", "jpeg", "-quality", strconv.Itoa(b.cfg.quality), "-out", outDir, "-list", list)
	if err != nil {
		return t, 0, m, 0, err
	}
	_, share = m.foreign()
	var s struct {
		Seconds float64 `json:"seconds"`
	}
	_ = json.Unmarshal(t.out, &s)
	return t, s.Seconds, m, share, nil
}

// bestOf is the fastest round: noise on a machine only ever slows a run.
// Rounds that other processes disturbed count only when no round was
// left undisturbed.
func bestOf(rs []round) round {
	var b round
	for _, clean := range []bool{true, false} {
		for _, r := range rs {
			if clean && r.disturbed >= disturbedShare {
				continue
			}
			if b.d == 0 || r.d < b.d {
				b = r
			}
		}
		if b.d != 0 {
			return b
		}
	}
	return b
}

// disturbedShare is the share of the machine other processes may take
// during a round before it counts as disturbed.
const disturbedShare = 0.10

// moreRounds reports whether to run another round of a comparison: the
// configured rounds, then up to three more while either side has no
// undisturbed round (a shared machine's neighbours come and go).
func (b *bench) moreRounds(done int, sides ...[]round) bool {
	if done < b.cfg.rounds {
		return true
	}
	if done >= b.cfg.rounds+3 {
		return false
	}
	for _, rs := range sides {
		if bestOf(rs).disturbed >= disturbedShare {
			b.logf("no undisturbed round yet: one more")
			return true
		}
	}
	return false
}

func (b *bench) convertTargets(ctx context.Context, c *client, set *inputSet, handles []string) error {
	n := len(handles)
	list := filepath.Join(b.work, "photos.list")
	if err := writeList(list, set.Photos); err != nil {
		return err
	}
	outDir := filepath.Join(b.work, "out-bimg")
	var svc, bimg []round
	serviceRound := func(i int) error {
		b.quiet()
		m := startMeter(b.srvPid)
		cpu0 := procCPU(b.srvPid)
		r, err := b.serviceExport(ctx, c, "convert", handles, "convert", b.modifier(), exportOpts{})
		if err != nil {
			return fmt.Errorf("convert export: %w", err)
		}
		cpu := time.Duration((procCPU(b.srvPid) - cpu0) * float64(time.Second))
		_, share := m.foreign()
		b.detail("round %d: service convert of %d: submit answered %.0f ms, archive link %.2f s, zip (%.1f MB) downloaded %.2f s → %.2f img/s; server CPU %.1f ms per image; %s",
			i, n, ms(r.submit), r.archive.Seconds(), float64(r.zipBytes)/1e6, r.total.Seconds(), float64(n)/r.total.Seconds(), ms(cpu)/float64(n), m)
		svc = append(svc, round{r.total, share, cpu})
		return nil
	}
	baselineRound := func(i int) error {
		t, s, m, share, err := b.bimgRound(ctx, outDir, list)
		if err != nil {
			return err
		}
		b.detail("round %d: bimgbaseline -j %d: %.2f s wall (%.2f s converting) → %.2f img/s; CPU %.1f ms per image; %s",
			i, b.cfg.workers, t.wall.Seconds(), s, float64(n)/t.wall.Seconds(), ms(t.cpu)/float64(n), m)
		bimg = append(bimg, round{t.wall, share, t.cpu})
		return nil
	}
	for i := 1; b.moreRounds(i-1, svc, bimg); i++ {
		// Who goes first alternates (A B, B A, …): a host that speeds up
		// or slows down over the run then favours neither side.
		first, second := serviceRound, baselineRound
		if i%2 == 0 {
			first, second = baselineRound, serviceRound
		}
		if err := first(i); err != nil {
			return err
		}
		if err := second(i); err != nil {
			return err
		}
	}
	sb, bb := bestOf(svc), bestOf(bimg)
	svcRate, bimgRate := float64(n)/sb.d.Seconds(), float64(n)/bb.d.Seconds()
	b.profileExport(ctx, c, "convert", handles, "convert", b.modifier(), sb.d)
	// CPU per image is what other processes on the machine disturb least:
	// the least of the rounds, each side.
	minCPU := func(rs []round) time.Duration {
		m := rs[0].cpu
		for _, r := range rs[1:] {
			m = min(m, r.cpu)
		}
		return m
	}
	svcCPU, bimgCPU := ms(minCPU(svc))/float64(n), ms(minCPU(bimg))/float64(n)
	b.convCPU = [2]float64{svcCPU, bimgCPU}
	b.add(result{
		Name:     fmt.Sprintf("convert export, %d × %d×%d JPEG → %s", n, b.cfg.photoW, b.cfg.photoH, b.modifier()),
		Figure:   fmt.Sprintf("%.2f img/s", svcRate),
		Baseline: fmt.Sprintf("%.2f img/s bimg -j %d", bimgRate, b.cfg.workers),
		Ratio:    svcRate / bimgRate, Target: "≥ 0.90",
		Verdict:   verdict(svcRate/bimgRate >= 0.9),
		Disturbed: max(sb.disturbed, bb.disturbed),
	})
	b.add(result{
		Name:     "convert export, CPU time per image (server process vs bimgbaseline process)",
		Figure:   fmt.Sprintf("%.1f ms", svcCPU),
		Baseline: fmt.Sprintf("%.1f ms bimg", bimgCPU),
		Ratio:    bimgCPU / svcCPU, Target: "(reported)", Verdict: "INFO",
	})

	if b.cfg.skip["cli"] {
		return nil
	}
	// vips thumbnail, one process per file, two at a time.
	cliOut := filepath.Join(b.work, "out-vips")
	os.RemoveAll(cliOut)
	if err := os.MkdirAll(cliOut, 0o755); err != nil {
		return err
	}
	script := fmt.Sprintf(`f="$1"; b="${f##*/}"; exec vips thumbnail "$f" "%s/${b%%.*}.jpg[Q=%d,optimize_coding,strip]" %d`,
		cliOut, b.cfg.quality, b.cfg.width)
	b.quiet()
	m := startMeter(b.srvPid)
	t, err := runTimed(ctx, b.work, "xargs", "-a", list, "-P", strconv.Itoa(b.cfg.workers), "-n", "1", "sh", "-c", script, "sh")
	if err != nil {
		return err
	}
	_, share := m.foreign()
	cliRate := float64(n) / t.wall.Seconds()
	b.detail("vips thumbnail, xargs -P%d: %.2f s → %.2f img/s; CPU %.1f ms per image; %s", b.cfg.workers, t.wall.Seconds(), cliRate, ms(t.cpu)/float64(n), m)
	// The same work step for step, one process per file: JPEG
	// shrink-on-load as render.loadShrink picks it, then vips_resize's
	// lanczos3 for the rest (vips thumbnail decodes these at full size:
	// it only shrinks on load when it can keep a factor of 2 for the
	// resize, 3000 → 800 is 3.75).
	shrink := 1
	for _, f := range []int{8, 4, 2} {
		if float64(b.cfg.photoW)/float64(b.cfg.width) >= float64(f) {
			shrink = f
			break
		}
	}
	scale := float64(b.cfg.width) / float64(b.cfg.photoW/shrink)
	resizeOut := filepath.Join(b.work, "out-vips-resize")
	os.RemoveAll(resizeOut)
	if err := os.MkdirAll(resizeOut, 0o755); err != nil {
		return err
	}
	script2 := fmt.Sprintf(`f="$1"; b="${f##*/}"; exec vips resize "$f[shrink=%d]" "%s/${b%%.*}.jpg[Q=%d,optimize_coding,strip]" %.6f`,
		shrink, resizeOut, b.cfg.quality, scale)
	b.quiet()
	m = startMeter(b.srvPid)
	t2, err := runTimed(ctx, b.work, "xargs", "-a", list, "-P", strconv.Itoa(b.cfg.workers), "-n", "1", "sh", "-c", script2, "sh")
	if err != nil {
		return err
	}
	_, share2 := m.foreign()
	resizeRate := float64(n) / t2.wall.Seconds()
	b.detail("vips resize \"in.jpg[shrink=%d]\" %.6f, xargs -P%d: %.2f s → %.2f img/s; CPU %.1f ms per image; %s",
		shrink, scale, b.cfg.workers, t2.wall.Seconds(), resizeRate, ms(t2.cpu)/float64(n), m)
	b.add(result{
		Name:     "convert export vs the vips CLI (vips thumbnail, one process per file)",
		Figure:   fmt.Sprintf("%.2f img/s", svcRate),
		Baseline: fmt.Sprintf("%.2f img/s xargs -P%d vips thumbnail", cliRate, b.cfg.workers),
		Ratio:    svcRate / cliRate, Target: "≈ 2× (reported)", Verdict: "INFO",
		Disturbed: max(sb.disturbed, share),
	})
	b.add(result{
		Name:     fmt.Sprintf("convert export vs the vips CLI doing the same steps (vips resize, shrink=%d on load)", shrink),
		Figure:   fmt.Sprintf("%.2f img/s", svcRate),
		Baseline: fmt.Sprintf("%.2f img/s xargs -P%d vips resize", resizeRate, b.cfg.workers),
		Ratio:    svcRate / resizeRate, Target: "≈ 2× (reported)", Verdict: "INFO",
		Disturbed: max(sb.disturbed, share2),
	})
	return nil
}

func (b *bench) origTarget(ctx context.Context, c *client, files, handles []string) error {
	size, err := totalSize(files)
	if err != nil {
		return err
	}
	dest := filepath.Join(b.work, "out-cp")
	var svc, cp, cpSync, svcExport []round
	for i := 1; b.moreRounds(i-1, svc, cp); i++ {
		b.quiet()
		m := startMeter(b.srvPid)
		r, err := b.serviceExport(ctx, c, "orig", handles, "orig", "", exportOpts{})
		if err != nil {
			return fmt.Errorf("orig export: %w", err)
		}
		_, share := m.foreign()
		b.detail("round %d: service orig export of %d files (%.0f MB): archive link %.2f s (%.0f MB/s), zip (%.0f MB) downloaded %.2f s → %.0f MB/s; %s",
			i, len(files), float64(size)/1e6, r.archive.Seconds(), float64(size)/1e6/r.archive.Seconds(),
			float64(r.zipBytes)/1e6, r.total.Seconds(), float64(size)/1e6/r.total.Seconds(), m)
		svc = append(svc, round{d: r.total, disturbed: share})
		svcExport = append(svcExport, round{d: r.archive, disturbed: share})

		if err := freshDir(dest); err != nil {
			return err
		}
		b.quiet()
		m = startMeter(b.srvPid)
		dcp, dsum, err := b.copyAndHash(ctx, files, dest)
		if err != nil {
			return err
		}
		// The export makes every file durable before it records it; cp
		// leaves the copies in the page cache. sync afterwards shows what
		// the same durability costs the baseline (reported only).
		tsync, err := runTimed(ctx, b.work, "sync")
		if err != nil {
			return err
		}
		dsync := tsync.wall
		_, share = m.foreign()
		b.detail("round %d: cp --reflink=never %.2f s + sha256sum %.2f s = %.2f s → %.0f MB/s (then sync %.2f s: %.0f MB/s durable); %s",
			i, dcp.Seconds(), dsum.Seconds(), (dcp + dsum).Seconds(), float64(size)/1e6/(dcp+dsum).Seconds(),
			dsync.Seconds(), float64(size)/1e6/(dcp+dsum+dsync).Seconds(), m)
		cp = append(cp, round{d: dcp + dsum, disturbed: share})
		cpSync = append(cpSync, round{d: dcp + dsum + dsync, disturbed: share})
	}
	os.RemoveAll(dest)
	sb, cb, eb, db := bestOf(svc), bestOf(cp), bestOf(svcExport), bestOf(cpSync)
	b.profileExport(ctx, c, "orig", handles, "orig", "", sb.d)
	mbps := func(d time.Duration) float64 { return float64(size) / 1e6 / d.Seconds() }
	// versus compares a service figure with a baseline; wanted 0 only reports.
	versus := func(name string, fig, base round, baseName string, wanted float64) result {
		r := result{
			Name:     name,
			Figure:   fmt.Sprintf("%.0f MB/s", mbps(fig.d)),
			Baseline: fmt.Sprintf("%.0f MB/s %s", mbps(base.d), baseName),
			Ratio:    mbps(fig.d) / mbps(base.d), Target: "(reported)", Verdict: "INFO",
			Disturbed: max(fig.disturbed, base.disturbed),
		}
		if wanted > 0 {
			r.Target, r.Verdict = fmt.Sprintf("≥ %.2f", wanted), verdict(r.Ratio >= wanted)
		}
		return r
	}
	b.add(versus(fmt.Sprintf("orig export, %d files, %.0f MB: submit → zip downloaded", len(files), float64(size)/1e6),
		sb, cb, "cp --reflink=never + sha256sum", 0.8))
	b.add(versus("orig export, same files: submit → all files downloadable (archive link)",
		eb, cb, "cp --reflink=never + sha256sum", 0.8))
	b.add(versus("orig export up to the archive link vs a durable copy (cp + sha256sum + sync)",
		eb, db, "cp + sha256sum + sync", 0))
	return nil
}

func (b *bench) rssTarget(ctx context.Context, set *inputSet) error {
	dataDir := filepath.Join(b.work, "data-rss")
	company, err := b.setupData(dataDir)
	if err != nil {
		return err
	}
	t0 := time.Now()
	distinct, err := b.importFiles(dataDir, "small", set.Small[:b.cfg.rssDistinct])
	if err != nil {
		return err
	}
	b.detail("imported %d small files in %.1f s (%.0f files/s)", len(distinct), time.Since(t0).Seconds(), float64(len(distinct))/time.Since(t0).Seconds())
	handles := make([]string, b.cfg.rssLarge)
	for i := range handles {
		handles[i] = distinct[i%len(distinct)]
	}
	mod := fmt.Sprintf("wid=%d&fmt=jpeg&qlt=%d", b.cfg.rssWidth, b.cfg.quality)
	peak := map[int]int64{}
	var disturbed float64
	for _, n := range []int{b.cfg.rssSmall, b.cfg.rssLarge} {
		srv, err := b.startServer(dataDir, fmt.Sprintf("ipsd-rss-%d.log", n))
		if err != nil {
			return err
		}
		pid := srv.cmd.Process.Pid
		c := newClient(srv.baseURL(), company, 8)
		startRSS, _ := procStatus(pid, "VmRSS")
		b.quiet()
		m := startMeter(pid)
		sampler := sampleMem(srv.metrics, 250*time.Millisecond)
		// With profiling, the allocations of the submit alone: a heap
		// profile just before and just after it, compared.
		var before, after string
		o := exportOpts{pid: pid}
		if b.cfg.profile {
			o.beforeSubmit = func() {
				before, _ = b.fetchProfile(srv, "/debug/pprof/allocs?gc=1", fmt.Sprintf("rss-%d.presubmit.pprof", n))
			}
			o.afterSubmit = func() { after, _ = b.fetchProfile(srv, "/debug/pprof/allocs", fmt.Sprintf("rss-%d.submit.pprof", n)) }
		}
		r, err := b.serviceExport(ctx, c, fmt.Sprintf("rss%d", n), handles[:n], "convert", mod, o)
		if before != "" && after != "" {
			if _, perr := b.pprofTop(after, "-sample_index=alloc_space", "-base", before); perr != nil {
				b.logf("%v", perr)
			} else {
				b.detail("profile: allocations of the %d-asset submitJob alone: %s", n, strings.TrimSuffix(after, ".pprof")+".txt")
			}
		}
		sampler.finish()
		if err != nil {
			srv.stop()
			return fmt.Errorf("%d-asset export: %w", n, err)
		}
		_, share := m.foreign()
		disturbed = max(disturbed, share)
		hwm, err := procStatus(pid, "VmHWM")
		endRSS, _ := procStatus(pid, "VmRSS")
		if b.cfg.profile {
			for _, p := range []struct{ path, name, index string }{
				{"/debug/pprof/heap?gc=1", fmt.Sprintf("rss-%d.heap.pprof", n), "-sample_index=inuse_space"},
				{"/debug/pprof/allocs", fmt.Sprintf("rss-%d.allocs.pprof", n), "-sample_index=alloc_space"},
			} {
				if f, perr := b.fetchProfile(srv, p.path, p.name); perr != nil {
					b.logf("profile %s: %v", p.name, perr)
				} else if _, perr := b.pprofTop(f, p.index); perr != nil {
					b.logf("%v", perr)
				} else {
					b.detail("profile: %s (top in %s)", f, strings.TrimSuffix(f, ".pprof")+".txt")
				}
			}
		}
		srv.stop()
		if err != nil {
			return err
		}
		peak[n] = hwm
		mb := func(v float64) float64 { return v / (1 << 20) }
		b.detail("%d-asset export: VmHWM %.1f MB before the submit, %.1f MB once submitJob answered (%.2f s), %.1f MB when the archive link appeared, %.1f MB after the zip download",
			n, float64(r.hwm[0])/1024, float64(r.hwm[1])/1024, r.submit.Seconds(), float64(r.hwm[2])/1024, float64(r.hwm[3])/1024)
		b.detail("%d-asset convert export (%s%s): %.2f s (%.0f img/s); server RSS at start %.1f MB, at end %.1f MB, peak (VmHWM) %.1f MB; "+
			"at the largest Go footprint: Go heap in use %.1f MB, Go runtime's memory from the OS %.1f MB, RSS %.1f MB (so %.1f MB outside Go: libvips, glibc malloc, binary); %s",
			n, mod, reuseNote(n, len(distinct)), r.total.Seconds(), float64(n)/r.total.Seconds(),
			float64(startRSS)/1024, float64(endRSS)/1024, float64(hwm)/1024,
			mb(sampler.peakGo.heapInuse), mb(sampler.peakGo.fromOS()), mb(sampler.peakGo.rss), mb(sampler.peakGo.rss-sampler.peakGo.fromOS()), m)
	}
	ratio := float64(peak[b.cfg.rssLarge]) / float64(peak[b.cfg.rssSmall])
	b.add(result{
		Name:     fmt.Sprintf("server peak RSS (VmHWM), %d-asset vs %d-asset convert export", b.cfg.rssLarge, b.cfg.rssSmall),
		Figure:   fmt.Sprintf("%.1f MB", float64(peak[b.cfg.rssLarge])/1024),
		Baseline: fmt.Sprintf("%.1f MB", float64(peak[b.cfg.rssSmall])/1024),
		Ratio:    ratio, Target: "≤ 1.10",
		Verdict:   verdict(ratio <= 1.10),
		Disturbed: disturbed,
	})
	return nil
}

func reuseNote(n, distinct int) string {
	if n <= distinct {
		return ""
	}
	return fmt.Sprintf(", %d distinct assets each named %d×", distinct, (n+distinct-1)/distinct)
}

// freshDir makes dir an empty directory.
func freshDir(dir string) error {
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	return os.MkdirAll(dir, 0o755)
}

// copyAndHash is the baseline of the orig and zip lines: cp of files into
// the empty directory dest, then sha256sum of the copies; it returns how
// long each took.
func (b *bench) copyAndHash(ctx context.Context, files []string, dest string) (cp, sum time.Duration, err error) {
	tcp, err := runTimed(ctx, b.work, "cp", append([]string{"--reflink=never", "-t", dest, "--"}, files...)...)
	if err != nil {
		return 0, 0, err
	}
	copies := make([]string, len(files))
	for i, f := range files {
		copies[i] = filepath.Join(dest, filepath.Base(f))
	}
	tsum, err := runTimed(ctx, b.work, "sha256sum", append([]string{"--"}, copies...)...)
	if err != nil {
		return 0, 0, err
	}
	return tcp.wall, tsum.wall, nil
}

// profileExport runs one more export, not counted, under the server's
// CPU profiler and writes the profile and its top to WORK/profiles.
func (b *bench) profileExport(ctx context.Context, c *client, label string, handles []string, fmtName, modifier string, expect time.Duration) {
	if !b.cfg.profile || b.srv == nil {
		return
	}
	b.profileCPU(b.srv, label+".cpu.pprof", label+" export", int(expect.Seconds())+2, func() error {
		_, err := b.serviceExport(ctx, c, "profile-"+label, handles, fmtName, modifier, exportOpts{})
		return err
	})
}

// quiet waits, at most cfg.quiet, until other processes took less than
// 10 % of the machine over the last second.
func (b *bench) quiet() {
	// Dirty pages another run left (cp writes 400 MB and does not sync)
	// would be written back during the next measurement and slow its
	// fsyncs: start every run with none.
	syscall.Sync()
	deadline := time.Now().Add(b.cfg.quiet)
	for {
		m := startMeter(b.srvPid)
		time.Sleep(time.Second)
		_, share := m.foreign()
		if share < disturbedShare {
			return
		}
		if time.Now().After(deadline) {
			b.logf("the machine is busy (other processes: %.0f%%); measuring anyway", 100*share)
			return
		}
	}
}

func (b *bench) add(r result) { b.results = append(b.results, r) }

func (b *bench) report(machine string) {
	w := b.out
	fmt.Fprintf(w, "\nIPS Export performance (%s)\n", time.Now().UTC().Format("2006-01-02 15:04 MST"))
	fmt.Fprintf(w, "machine: %s\n\n", machine)
	fmt.Fprintf(w, "%-8s  %-72s  %-14s  %-44s  %6s  %-16s\n", "verdict", "target", "figure", "baseline", "ratio", "wanted")
	busy := false
	for _, r := range b.results {
		ratio := "-"
		if r.Ratio > 0 {
			ratio = fmt.Sprintf("%.2f", r.Ratio)
		}
		note, v := "", r.Verdict
		if r.Disturbed >= disturbedShare {
			note = fmt.Sprintf("  (other processes took %.0f%% of the machine)", 100*r.Disturbed)
			if v != "INFO" {
				v += "*"
				busy = true
			}
		}
		fmt.Fprintf(w, "%-8s  %-72s  %-14s  %-44s  %6s  %-16s%s\n", v, r.Name, r.Figure, r.Baseline, ratio, r.Target, note)
	}
	if busy {
		fmt.Fprintf(w, "* measured while other processes took more than %.0f%% of the machine in every round: rerun on a quiet machine\n", 100*disturbedShare)
	}
	fmt.Fprintf(w, "\ndetails:\n")
	for _, d := range b.details {
		fmt.Fprintf(w, "  %s\n", d)
	}
	fmt.Fprintf(w, "\nwhole run: %.0f s; work directory %s\n", time.Since(b.start).Seconds(), b.work)
	if f, err := os.Create(filepath.Join(b.work, "results.json")); err == nil {
		_ = json.NewEncoder(f).Encode(map[string]any{"machine": machine, "results": b.results, "details": b.details})
		f.Close()
	}
}

func verdict(ok bool) string {
	if ok {
		return "MET"
	}
	return "NOT MET"
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// machineInfo is nproc, CPU model, RAM, libvips and Go versions.
func machineInfo() string {
	cpu := "unknown CPU"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for line := range strings.SplitSeq(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				cpu = strings.TrimSpace(v)
				break
			}
		}
	}
	mem := ""
	if kb, err := procMeminfo("MemTotal"); err == nil {
		mem = fmt.Sprintf("%.1f GiB RAM", float64(kb)/1024/1024)
	}
	vips := "vips CLI missing"
	if out, err := exec.Command("vips", "--version").Output(); err == nil {
		vips = strings.TrimSpace(string(out))
	}
	kernel := ""
	if out, err := exec.Command("uname", "-r").Output(); err == nil {
		kernel = "Linux " + strings.TrimSpace(string(out))
	}
	return fmt.Sprintf("%d CPUs (%s), %s, %s, %s, %s", runtime.NumCPU(), cpu, mem, vips, runtime.Version(), kernel)
}

func procMeminfo(field string) (int64, error) {
	b, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return 0, err
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && k == field {
			f := strings.Fields(v)
			if len(f) > 0 {
				return strconv.ParseInt(f[0], 10, 64)
			}
		}
	}
	return 0, fmt.Errorf("no %s", field)
}
