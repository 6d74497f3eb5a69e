package app

import (
	"bytes"
	"context"
	"image/png"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// chromiumPath is Debian's Chromium, which `make test` installs. Without
// it the browser tests are skipped on a developer's machine and fail in CI.
func chromiumPath(t *testing.T) string {
	t.Helper()
	path, err := exec.LookPath("chromium")
	if err == nil {
		return path
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("chromium is not installed (CI=true): the browser tests must run; `make deps-test` installs it")
	}
	t.Skip("chromium is not installed: skipping the browser test (`make deps-test` installs it)")
	return ""
}

// newBrowser starts a headless Chromium with a fresh profile, as root may
// run it on this machine: no sandbox, and nothing that reaches out to the
// network by itself.
func newBrowser(t *testing.T, ctx context.Context) context.Context {
	t.Helper()
	opts := append(slices.Clone(chromedp.DefaultExecAllocatorOptions[:]),
		chromedp.ExecPath(chromiumPath(t)),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.WindowSize(1280, 900),
	)
	alloc, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	t.Cleanup(cancelAlloc)
	tab, cancel := chromedp.NewContext(alloc)
	t.Cleanup(cancel)
	require.NoError(t, chromedp.Do(tab), "start chromium")
	return tab
}

// artifactDir is where a run leaves what a person may want to look at:
// $IPSD_TEST_ARTIFACTS, else .cache/artifacts in the repository (ignored
// by git).
func artifactDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("IPSD_TEST_ARTIFACTS")
	if dir == "" {
		wd, err := os.Getwd()
		require.NoError(t, err)
		for root := wd; ; root = filepath.Dir(root) {
			if _, err := os.Stat(filepath.Join(root, "go.mod")); err == nil {
				dir = filepath.Join(root, ".cache", "artifacts")
				break
			}
			if filepath.Dir(root) == root {
				dir = filepath.Join(wd, ".cache", "artifacts")
				break
			}
		}
	}
	require.NoError(t, os.MkdirAll(dir, 0o755))
	return dir
}

// pollText waits until the text of the element sel is want.
func pollText(ctx context.Context, sel, want string) error {
	_, err := chromedp.Run(ctx, chromedp.PollFunction[bool](
		`(sel, want) => { const n = document.querySelector(sel); return !!n && n.textContent.trim() === want; }`,
		chromedp.WithPollingArgs(sel, want), chromedp.WithPollingInterval(100*time.Millisecond),
		chromedp.WithPollingTimeout(90*time.Second)))
	return err
}

// The Jobs page in a real browser, on a deployment of two processes
// sharing one PostgreSQL, one data directory and one signing key: a front
// end without workers, where jobs stay queued until the second process
// (workers and a front end of its own) starts. Signed in on the first, the
// browser pauses one job and stops another, is refused another company's
// job, then — through the second front end, with the same session — watches
// the resumed job run to its end without reloading, downloads its zip and
// takes a screenshot of the list.
func TestJobsPageInBrowser(t *testing.T) {
	tab := newBrowser(t, context.Background())
	ctx, cancel := context.WithTimeout(tab, 3*time.Minute)
	defer cancel()

	dbURL := pg.NewDatabase(t)
	e := newEnv(t, dbURL, func(c *Config) { c.Workers, c.ChunkSize = 0, 10 })
	hs := e.handles("/hero.png", "shoes/boot.png", "shoes/red/boot.png")
	watch := e.submit("catalog-refresh", hs, `<fmt>orig</fmt>`)
	stop := e.submit("wrong-assets", hs, `<fmt>orig</fmt>`)
	held := e.submit("spring-lookbook", hs, `<fmt>orig</fmt>`)
	for _, extra := range []string{
		`<jobName>month-end</jobName><execTime>2099-01-31T23:00:00Z</execTime>`,
		`<jobName>nightly-feed</jobName><execSchedule>0 0 2 * * ?</execSchedule>`,
	} {
		status, _, resp := e.post(soapPath, soapCall(authU("alice@acme.test"), `<submitJobParam xmlns="`+ns14+`"><companyHandle>`+e.acme.Handle+`</companyHandle>`+extra+`<exportJob><assetHandleArray><items>`+hs[0]+`</items></assetHandleArray><fmt>orig</fmt></exportJob></submitJobParam>`), nil)
		require.Equal(t, 200, status, resp)
	}
	status, _, resp := e.post(soapPath, exportEnvelope("bob@globex.test", e.globex.Handle, "globex-secret", []string{e.globexAsset.Handle}, `<fmt>orig</fmt>`), nil)
	require.Equal(t, 200, status, resp)
	theirs := parseBlind(t, body(t, resp)).text("jobHandle")
	front := e.srv.URL

	// Signed out, the page is the sign-in form.
	r, err := chromedp.RunResponse(ctx, chromedp.Navigate(front+"/"))
	require.NoError(t, err)
	require.Equal(t, front+"/jobs/login", r.URL)
	require.NoError(t, chromedp.Do(ctx,
		chromedp.SendKeys(chromedp.ID("user"), "alice@acme.test"),
		chromedp.SendKeys(chromedp.ID("password"), password)))
	r, err = chromedp.RunResponse(ctx, chromedp.Click(chromedp.ID("signin")))
	require.NoError(t, err)
	require.Equal(t, front+"/jobs", r.URL)
	require.Equal(t, int64(200), r.Status)

	active, err := chromedp.Run(ctx, chromedp.Text(chromedp.ID("active")))
	require.NoError(t, err)
	assert.Contains(t, active, "catalog-refresh")
	assert.Contains(t, active, "0 of 3")
	scheduled, err := chromedp.Run(ctx, chromedp.Text(chromedp.ID("scheduled")))
	require.NoError(t, err)
	assert.Contains(t, scheduled, "month-end")
	assert.Contains(t, scheduled, "0 0 2 * * ?")
	page, err := chromedp.Run(ctx, chromedp.OuterHTML(chromedp.CSS("main")))
	require.NoError(t, err)
	assert.NotContains(t, page, "globex-secret")

	// Pause two queued jobs and stop a third, with the buttons.
	click := func(handle, button, state string) {
		t.Helper()
		_, err := chromedp.RunResponse(ctx, chromedp.Navigate(front+jobPath(handle)))
		require.NoError(t, err)
		r, err := chromedp.RunResponse(ctx, chromedp.Click(chromedp.ID(button)))
		require.NoError(t, err)
		assert.Equal(t, int64(200), r.Status)
		if state != "" {
			require.NoError(t, pollText(ctx, "#state", state), "%s %s", button, handle)
		}
	}
	click(watch, "pause", "Paused")
	click(held, "pause", "Paused")
	click(stop, "stop", "Stopped")

	// Another company's job is not there.
	r, err = chromedp.RunResponse(ctx, chromedp.Navigate(front+jobPath(theirs)))
	require.NoError(t, err)
	assert.Equal(t, int64(404), r.Status)
	title, err := chromedp.Run(ctx, chromedp.Title())
	require.NoError(t, err)
	assert.Equal(t, "Not Found · IPS Export", title)

	// The second process: workers and another front end.
	worker, err := Open(context.Background(), Config{DataDir: e.app.dataDir, DatabaseURL: dbURL,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Workers: 2})
	require.NoError(t, err)
	t.Cleanup(func() { worker.Close() })
	require.NoError(t, worker.Start(context.Background()))
	other := httptest.NewServer(worker.Handler())
	t.Cleanup(other.Close)

	// A second tab on the other front end is signed in by the same cookie.
	tab2, cancel2 := chromedp.NewContext(ctx)
	defer cancel2()
	r, err = chromedp.RunResponse(tab2, chromedp.Navigate(other.URL+"/jobs"))
	require.NoError(t, err)
	require.Equal(t, other.URL+"/jobs", r.URL, "the session of one front end is good on another")
	rowState := `tr[data-job="` + watch + `"] .state`
	require.NoError(t, pollText(tab2, rowState, "Paused"))
	_, err = chromedp.Run(tab2, chromedp.Evaluate[bool](`window.notReloaded = true`))
	require.NoError(t, err)

	// Resume in the first tab; the list in the second follows the job to
	// its end by itself.
	click(watch, "resume", "")
	require.NoError(t, pollText(tab2, rowState, "Completed"))
	same, err := chromedp.Run(tab2, chromedp.Evaluate[bool](`window.notReloaded === true`))
	require.NoError(t, err)
	assert.True(t, same, "the list was refreshed in place, not reloaded")
	require.NoError(t, pollText(ctx, "#state", "Completed"), "the job's page follows it too")
	require.NoError(t, pollText(ctx, ".done", "3 of 3"))
	log, err := chromedp.Run(ctx, chromedp.Text(chromedp.ID("log")))
	require.NoError(t, err)
	for _, name := range []string{"hero.png", "shoes/boot.png", "shoes/red/boot.png"} {
		assert.Contains(t, log, name)
	}
	jobShot, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	require.NoError(t, err)

	// Download the zip as a person would, and read it.
	downloads := t.TempDir()
	progress := chromedp.Events(ctx, browser.DownloadProgress)
	enable := true
	_, err = chromedp.Call(ctx, browser.SetDownloadBehavior, browser.SetDownloadBehaviorParams{
		Behavior: browser.SetDownloadBehaviorBehaviorAllowAndName, DownloadPath: downloads, EventsEnabled: &enable})
	require.NoError(t, err)
	require.NoError(t, chromedp.Do(ctx, chromedp.Click(chromedp.ID("zip"))))
	var zipPath string
	for ev, err := range progress {
		require.NoError(t, err)
		if ev.State == browser.DownloadProgressStateCanceled {
			t.Fatalf("download canceled")
		}
		if ev.State == browser.DownloadProgressStateCompleted {
			zipPath = filepath.Join(downloads, ev.GUID)
			break
		}
	}
	zipped, err := os.ReadFile(zipPath)
	require.NoError(t, err)
	files := unzip(t, zipped)
	assert.Len(t, files, 3)
	original := tinyPNG(t)
	for _, name := range []string{"hero.png", "shoes/boot.png", "shoes/red/boot.png"} {
		assert.Equal(t, original, files[name], name)
		img, err := png.Decode(bytes.NewReader(files[name]))
		if assert.NoError(t, err, name) {
			assert.Equal(t, 8, img.Bounds().Dx())
		}
	}

	// The list, as a person sees it, kept as an artefact of the run.
	_, err = chromedp.RunResponse(ctx, chromedp.Navigate(front+"/jobs"))
	require.NoError(t, err)
	require.NoError(t, pollText(ctx, `tr[data-job="`+stop+`"] .state`, "Stopped"))
	listShot, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	require.NoError(t, err)
	shot, err := png.Decode(bytes.NewReader(listShot))
	require.NoError(t, err)
	assert.Equal(t, 1280, shot.Bounds().Dx())
	dir := artifactDir(t)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "jobs-list.png"), listShot, 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "jobs-job.png"), jobShot, 0o644))
	t.Logf("screenshots in %s", dir)

	// Sign out: the cookie is gone, the next visit asks to sign in.
	r, err = chromedp.RunResponse(ctx, chromedp.Click(chromedp.ID("signout")))
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(r.URL, front+"/jobs/login"), r.URL)
	notice, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(".notice")))
	require.NoError(t, err)
	assert.Equal(t, "You have signed out.", notice)
	r, err = chromedp.RunResponse(ctx, chromedp.Navigate(front+"/jobs"))
	require.NoError(t, err)
	assert.Equal(t, front+"/jobs/login", r.URL)
}
