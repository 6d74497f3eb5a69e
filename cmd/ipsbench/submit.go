package main

import (
	"context"
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/ipsexport/ipsd/internal/testpg"
)

// submitLoad is the result of clients sending 1-asset submitJobs back to
// back for a while.
type submitLoad struct {
	calls, errs int
	elapsed     time.Duration
	lats        []time.Duration // sorted
}

func (l submitLoad) rate() float64 { return float64(l.calls) / l.elapsed.Seconds() }

func (l submitLoad) q(p float64) time.Duration {
	if len(l.lats) == 0 {
		return 0
	}
	return l.lats[min(len(l.lats)-1, int(p*float64(len(l.lats))))]
}

// submitLoadRun runs clients concurrent submitJob loops for d.
func submitLoadRun(ctx context.Context, c *client, clients int, d time.Duration, handle, prefix string) submitLoad {
	var (
		mu sync.Mutex
		l  submitLoad
		wg sync.WaitGroup
	)
	deadline := time.Now().Add(d)
	start := time.Now()
	for i := range clients {
		wg.Go(func() {
			for n := 0; time.Now().Before(deadline); n++ {
				body := c.submitBody(fmt.Sprintf("%s-%d-%d", prefix, i, n), []string{handle}, "orig", "")
				t := time.Now()
				_, err := c.submit(ctx, body)
				dt := time.Since(t)
				mu.Lock()
				if err != nil {
					l.errs++
				} else {
					l.lats = append(l.lats, dt)
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	l.elapsed = time.Since(start)
	l.calls = len(l.lats)
	sort.Slice(l.lats, func(i, j int) bool { return l.lats[i] < l.lats[j] })
	return l
}

// submitTarget: 8 clients of 1-asset orig jobs against srv (workers
// running them), on the database label names; then, with profiling, the
// same load once more under the server's CPU profiler. dbPid, when not 0,
// is a database server on this machine: its CPU is part of the
// measurement, not a disturbance, and is reported per call.
func (b *bench) submitTarget(ctx context.Context, c *client, srv *server, srvPid, dbPid int, db, handle string) error {
	b.quiet()
	pids := []int{srvPid}
	if dbPid != 0 {
		pids = append(pids, dbPid)
	}
	m := startMeter(pids...)
	cpu0, dbCPU0 := procCPU(srvPid), procTreeCPU(dbPid)
	l := submitLoadRun(ctx, c, b.cfg.submitClients, b.cfg.submitDuration, handle, "bench-submit-"+db)
	cpu, dbCPU := procCPU(srvPid)-cpu0, procTreeCPU(dbPid)-dbCPU0
	_, share := m.foreign()
	if l.calls == 0 {
		return fmt.Errorf("submitJob (%s): no request succeeded (%d errors)", db, l.errs)
	}
	perCall := func(secs float64) float64 { return 1000 * secs / float64(max(1, l.calls)) }
	dbNote := ""
	if dbPid != 0 {
		dbNote = fmt.Sprintf(", database server %.2f ms", perCall(dbCPU))
	}
	b.detail("submitJob (%s): %d calls in %.1f s from %d clients, %d errors; latency p50 %.1f ms, p90 %.1f ms, p99 %.1f ms, max %.1f ms; CPU per call (the jobs' runs included): server %.2f ms%s; %s",
		db, l.calls, l.elapsed.Seconds(), b.cfg.submitClients, l.errs, ms(l.q(0.5)), ms(l.q(0.9)), ms(l.q(0.99)), ms(l.lats[len(l.lats)-1]), perCall(cpu), dbNote, m)
	ok := l.errs == 0 && l.rate() >= 2000 && l.q(0.99) < 20*time.Millisecond
	b.add(result{
		Name:     fmt.Sprintf("submitJob on loopback, %s, %d clients, 1-asset orig jobs (workers running them)", db, b.cfg.submitClients),
		Figure:   fmt.Sprintf("%.0f req/s", l.rate()),
		Baseline: fmt.Sprintf("p50 %.1f ms, p99 %.1f ms, %d errors", ms(l.q(0.5)), ms(l.q(0.99)), l.errs),
		Target:   "≥ 2000/s, p99 < 20 ms", Verdict: verdict(ok), Disturbed: share,
	})
	if b.cfg.profile && srv != nil && srv.pprofAddr != "" {
		secs := int(b.cfg.submitDuration.Seconds())
		slug := "sqlite"
		if strings.HasPrefix(db, "PostgreSQL") {
			slug = "postgres"
		}
		b.profileCPU(srv, "submit-"+slug+".cpu.pprof", "submitJob load ("+db+")", secs, func() error {
			submitLoadRun(ctx, c, b.cfg.submitClients, time.Duration(secs)*time.Second-200*time.Millisecond, handle, "bench-submit-prof-"+db)
			return nil
		})
	}
	return nil
}

// submitTargetPG is the submitJob line on PostgreSQL: on -pg-url, or on a
// throw-away cluster started as the tests start theirs (internal/testpg:
// fsync off, so that line leaves out the disk's flush on commit, which
// the SQLite line, at synchronous=NORMAL under WAL, does not pay either).
func (b *bench) submitTargetPG(ctx context.Context, set *inputSet) error {
	url, label, dbPid := b.cfg.pgURL, "PostgreSQL", 0
	if url == "" {
		pg, err := testpg.Start(ctx)
		if err != nil {
			b.logf("submitJob on PostgreSQL skipped: %v", err)
			return nil
		}
		defer func() {
			if err := pg.Stop(); err != nil {
				b.logf("stop PostgreSQL: %v", err)
			}
		}()
		url, label, dbPid = pg.DSN("postgres"), "PostgreSQL (test cluster, fsync off)", pg.PID()
	}
	b.database = url
	defer func() { b.database = "" }()
	dataDir := filepath.Join(b.work, "data-pg")
	company, err := b.setupData(dataDir)
	if err != nil {
		return err
	}
	hs, err := b.importFiles(dataDir, "tiny", set.Small[:1])
	if err != nil {
		return err
	}
	srv, err := b.startServer(dataDir, "ipsd-pg.log")
	if err != nil {
		return err
	}
	defer srv.stop()
	c := newClient(srv.baseURL(), company, 64)
	// Warm: connections, the login cache.
	submitLoadRun(ctx, c, b.cfg.submitClients, 500*time.Millisecond, hs[0], "bench-warm-pg")
	return b.submitTarget(ctx, c, srv, srv.cmd.Process.Pid, dbPid, label, hs[0])
}
