package app

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestLargeSubmitDoesNotStallOthers: a submitJob of one handle 10,000 times
// (10,000 outputs of one name) completes with every output named apart in
// order, and another company's getFolders issued while it runs is answered,
// correctly, each time. How long those calls wait is not asserted here (no
// timed assertions in tests): `make bench` measures it against the same
// run's baseline (cmd/ipsbench, the large-submit line).
func TestLargeSubmitDoesNotStallOthers(t *testing.T) {
	e := newEnv(t, "")
	getFolders := func() time.Duration {
		start := time.Now()
		status, _, resp := e.post(soapPath, soapCall(authU("bob@globex.test"),
			`<getFoldersParam xmlns="`+ns14+`"><companyHandle>`+e.globex.Handle+`</companyHandle></getFoldersParam>`), nil)
		d := time.Since(start)
		require.Equal(t, 200, status, resp)
		require.Contains(t, resp, "folderHandle")
		return d
	}
	for range 3 {
		getFolders() // warm: connections, the login cache
	}
	var baseline []time.Duration
	for range 20 {
		baseline = append(baseline, getFolders())
	}

	hero := e.assets["/hero.png"].Handle
	handles := make([]string, 10_000)
	for i := range handles {
		handles[i] = hero
	}
	// Far in the future: the job is written and queued, not run.
	submit := soapCall(authU("alice@acme.test"), `<submitJobParam xmlns="`+ns14+`"><companyHandle>`+e.acme.Handle+
		`</companyHandle><jobName>copies</jobName><execTime>2099-01-01T00:00:00Z</execTime><exportJob><assetHandleArray><items>`+
		strings.Join(handles, "</items><items>")+`</items></assetHandleArray><fmt>orig</fmt></exportJob></submitJobParam>`)
	var (
		wg         sync.WaitGroup
		submitted  = make(chan struct{})
		submitTook time.Duration
		status     int
		resp       string
	)
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer close(submitted)
		start := time.Now()
		status, _, resp = e.post(soapPath, submit, nil)
		submitTook = time.Since(start)
	}()
	var during []time.Duration
	for done := false; !done; {
		select {
		case <-submitted:
			done = true
		default:
			during = append(during, getFolders())
		}
	}
	wg.Wait()
	require.Equal(t, 200, status, resp)
	job := parseBlind(t, body(t, resp)).text("jobHandle")
	require.NotEmpty(t, job)

	// Every getFolders made while the submit ran was answered in full
	// (getFolders checks each); how long they took is only logged.
	slices.Sort(baseline)
	slices.Sort(during)
	if len(during) > 0 {
		t.Logf("submit of 10,000 copies: %v; getFolders meanwhile: %d calls, median %v, worst %v; baseline median %v",
			submitTook, len(during), during[len(during)/2], during[len(during)-1], baseline[len(baseline)/2])
	}

	// All 10,000 outputs, named apart in order.
	pending, err := e.app.Store.PendingJobAssets(context.Background(), job, 0, 10_000)
	require.NoError(t, err)
	require.Len(t, pending, 10_000)
	seen := map[string]bool{}
	for _, a := range pending {
		require.False(t, seen[a.OutputPath], "name %s given twice", a.OutputPath)
		seen[a.OutputPath] = true
	}
	assert.Equal(t, "hero.png", pending[0].OutputPath)
	assert.Equal(t, "hero-2.png", pending[1].OutputPath)
	assert.Equal(t, "hero-10000.png", pending[9999].OutputPath)
}

// TestRequestArrayCap: getAssets with more handles than --max-request-items
// is a fault naming the array; up to the cap, each asset comes once.
func TestRequestArrayCap(t *testing.T) {
	e := newEnv(t, "", func(c *Config) { c.MaxRequestItems = 100 })
	items := func(hs []string) string { return "<items>" + strings.Join(hs, "</items><items>") + "</items>" }
	hero, boot := e.assets["/hero.png"].Handle, e.assets["shoes/boot.png"].Handle
	over := make([]string, 101)
	for i := range over {
		over[i] = hero
	}
	status, _, resp := e.call("alice@acme.test", `<getAssetsParam xmlns="`+ns14+`"><companyHandle>`+e.acme.Handle+
		`</companyHandle><assetHandleArray>`+items(over)+`</assetHandleArray></getAssetsParam>`)
	assert.Equal(t, 500, status)
	assert.Contains(t, resp, "30001")
	assert.Contains(t, resp, "assetHandleArray: 101 items, more than the 100 allowed")

	_, root, resp := e.call("alice@acme.test", `<getAssetsParam xmlns="`+ns14+`"><companyHandle>`+e.acme.Handle+
		`</companyHandle><assetHandleArray>`+items([]string{boot, hero, boot, hero})+`</assetHandleArray></getAssetsParam>`)
	var got []string
	for _, a := range root.at("assetArray", "items") {
		got = append(got, a.text("assetHandle"))
	}
	assert.Equal(t, []string{boot, hero}, got, fmt.Sprintf("each asset once, in the order first asked: %s", resp))
}
