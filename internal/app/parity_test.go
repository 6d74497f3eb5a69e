package app

// IPS parity of job control and job logs (docs/job-logs.md), through the
// real server: executeJob, deleteJob of any job, one job type per
// submitJob, held schedules and waiting jobs, cancelled assets, sorted
// logs, every log's startDate, log rows in the job's language,
// getAssetJobLogs and getOriginalFilePaths, byte-order marks and ?WSDL.

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"net/http"
	"net/url"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ipsexport/ipsd/internal/catalog"
	"github.com/ipsexport/ipsd/internal/notify"
	"github.com/ipsexport/ipsd/internal/notify/smtptest"
	"github.com/ipsexport/ipsd/internal/store"
	"github.com/ipsexport/ipsd/internal/store/postgres"
)

// ctl calls a job operation taking companyHandle and jobHandle, as Alice.
func (e *env) ctl(op, handle string) (int, string) {
	e.t.Helper()
	status, _, resp := e.call("alice@acme.test", `<`+op+`Param xmlns="`+ns14+`"><companyHandle>`+e.acme.Handle+`</companyHandle><jobHandle>`+handle+`</jobHandle></`+op+`Param>`)
	return status, resp
}

// submitRaw sends a submitJobParam's inner elements as Alice and returns
// the job handle.
func (e *env) submitRaw(inner string) string {
	e.t.Helper()
	status, root, resp := e.call("alice@acme.test", `<submitJobParam xmlns="`+ns14+`"><companyHandle>`+e.acme.Handle+`</companyHandle>`+inner+`</submitJobParam>`)
	require.Equal(e.t, 200, status, resp)
	h := root.text("jobHandle")
	require.NotEmpty(e.t, h, resp)
	return h
}

// scheduled is getScheduledJobs by originalName.
func (e *env) scheduled() map[string]node {
	e.t.Helper()
	status, root, resp := e.call("alice@acme.test", `<getScheduledJobsParam xmlns="`+ns14+`"><companyHandle>`+e.acme.Handle+`</companyHandle></getScheduledJobsParam>`)
	require.Equal(e.t, 200, status, resp)
	out := map[string]node{}
	for _, it := range root.at("jobArray", "items") {
		out[it.text("originalName")] = it
	}
	return out
}

// logDetails is the JobLog getJobLogDetails answers for a job, with extra
// parameters.
func (e *env) logDetails(handle, extra string) node {
	e.t.Helper()
	status, root, resp := e.call("alice@acme.test", `<getJobLogDetailsParam xmlns="`+ns14+`"><companyHandle>`+e.acme.Handle+`</companyHandle><jobHandle>`+handle+`</jobHandle>`+extra+`</getJobLogDetailsParam>`)
	require.Equal(e.t, 200, status, resp)
	items := root.at("jobLogArray", "items")
	require.Len(e.t, items, 1, resp)
	return items[0]
}

func detailTypes(log node) []string {
	var out []string
	for _, d := range log.at("detailArray", "items") {
		out = append(out, d.text("logType"))
	}
	return out
}

// manyImages imports n images big enough that an export of them runs for
// a while on one worker.
func (e *env) manyImages(folder string, n int) []string {
	e.t.Helper()
	im := &catalog.Importer{Store: e.app.Store, Blob: e.app.Blob}
	var hs []string
	for i := range n {
		a, err := im.Import(context.Background(), catalog.File{CompanyHandle: e.acme.Handle, FolderPath: folder,
			FileName: fmt.Sprintf("p%02d.png", i), Body: bytes.NewReader(gradientPNG(e.t, 600, 400))})
		require.NoError(e.t, err)
		hs = append(hs, a.Handle)
	}
	return hs
}

// queuedChunks counts the queue's unfinished chunk rows of a job, in
// River's own table.
func (e *env) queuedChunks(handle string) int {
	e.t.Helper()
	db := e.app.Store.(interface{ DB() *sql.DB }).DB()
	q := `SELECT COUNT(*) FROM river_job WHERE kind = 'ipsd_export_chunk' AND args ->> 'job' = ? AND state NOT IN ('completed', 'cancelled', 'discarded')`
	if _, ok := e.app.Store.(*postgres.Store); ok {
		q = strings.Replace(q, "?", "$1", 1)
	}
	var n int
	require.NoError(e.t, db.QueryRowContext(context.Background(), q, handle).Scan(&n))
	return n
}

// eventually waits for cond, failing after 60 s.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("%s: timed out", what)
}

func TestExecuteJob(t *testing.T) {
	e := newEnv(t, "")
	hero := e.assets["/hero.png"].Handle
	job := e.submitRaw(`<jobName>later</jobName><execTime>2099-01-01T00:00:00Z</execTime><exportJob><assetHandleArray><items>` + hero + `</items></assetHandleArray><fmt>orig</fmt></exportJob>`)
	sched := e.submitRaw(`<jobName>nightly</jobName><execSchedule>00 00 00 * *</execSchedule><exportJob><assetHandleArray><items>` + hero + `</items></assetHandleArray><fmt>orig</fmt></exportJob>`)

	// A job waiting for 2099 runs now.
	status, resp := e.ctl("executeJob", job)
	require.Equal(t, 200, status, resp)
	assert.Contains(t, body(t, resp), "executeJobReturn", "an empty executeJobReturn")
	j := e.awaitEnd(job)
	assert.Equal(t, store.JobCompleted, j.State)
	assert.Equal(t, 1, j.Succeeded)
	assert.NotContains(t, e.scheduled(), "later", "no longer waiting")

	// A recurring job makes a run now and keeps its schedule.
	before := e.scheduled()["nightly"].text("nextFireTime")
	status, resp = e.ctl("executeJob", sched)
	require.Equal(t, 200, status, resp)
	var run store.Job
	eventually(t, "the run of nightly", func() bool {
		js, err := e.app.Store.ListJobs(context.Background(), store.JobQuery{CompanyHandle: e.acme.Handle, OriginalName: "nightly"})
		require.NoError(t, err)
		if len(js) == 0 {
			return false
		}
		run = js[0]
		return run.State.Ended()
	})
	assert.Equal(t, store.JobCompleted, run.State)
	assert.Equal(t, sched, run.ScheduleHandle)
	assert.Equal(t, before, e.scheduled()["nightly"].text("nextFireTime"), "the schedule is as it was")

	// Only a waiting job is executed; the reason names its state.
	status, resp = e.ctl("executeJob", job)
	assert.Equal(t, 500, status)
	assert.Contains(t, resp, "30001")
	assert.Contains(t, resp, "job is Completed, executeJob does not apply")
	// The role table: ImagePortalUser may not (r-execute-job.md).
	status, _, resp = e.post(soapPath, soapCall(authU("viewer@acme.test"), `<executeJobParam xmlns="`+ns14+`"><companyHandle>`+e.acme.Handle+`</companyHandle><jobHandle>`+sched+`</jobHandle></executeJobParam>`), nil)
	assert.Equal(t, 500, status)
	assert.Contains(t, resp, "20003")
	// Bob cannot run Acme's job, nor learn it exists.
	status, _, resp = e.post(soapPath, soapCall(authU("bob@globex.test"), `<executeJobParam xmlns="`+ns14+`"><companyHandle>`+e.globex.Handle+`</companyHandle><jobHandle>`+sched+`</jobHandle></executeJobParam>`), nil)
	assert.Equal(t, 500, status)
	assert.Contains(t, resp, "no such job")

	// Every served WSDL declares it.
	for _, v := range []string{"IpsApi.wsdl", "IpsApi-2012-02-14.wsdl", "IpsApi-2023-01-15.wsdl"} {
		status, doc := e.get("/scene7/webservice/" + v)
		require.Equal(t, 200, status)
		assert.Contains(t, doc, `<wsdl:operation name="executeJob">`, v)
	}
}

// deleteJob removes a job in any state; one that runs is stopped first,
// and nothing of it is left: no log, no file, no queued work.
func TestDeleteJobAnyState(t *testing.T) {
	for _, db := range testDatabases(t) {
		t.Run(db.name, func(t *testing.T) {
			e := newEnv(t, db.url(t), func(c *Config) { c.Workers = 1; c.ChunkSize = 1 })
			hs := e.manyImages("many", 20)
			gone := func(h string) bool {
				_, err := e.app.Store.JobByHandle(context.Background(), "", h)
				return err != nil
			}
			files := func(h string) []string {
				got, _ := filepath.Glob(filepath.Join(e.app.dataDir, "files", "exports", h, "*"))
				return got
			}

			// Running.
			running := e.submit("running", hs, `<fmt>convert</fmt><is_modifier>wid=300&amp;fmt=webp&amp;op_usm=1,1,1,0</is_modifier>`)
			eventually(t, "a first file", func() bool {
				j, err := e.app.Store.JobByHandle(context.Background(), "", running)
				require.NoError(t, err)
				return j.Succeeded > 0
			})
			status, resp := e.ctl("deleteJob", running)
			require.Equal(t, 200, status, resp)
			_, active, _ := e.call("alice@acme.test", `<getActiveJobsParam xmlns="`+ns14+`"><companyHandle>`+e.acme.Handle+`</companyHandle></getActiveJobsParam>`)
			assert.Empty(t, active.at("jobArray", "items"), "gone from getActiveJobs at once")
			status, _, resp = e.call("alice@acme.test", `<getJobLogDetailsParam xmlns="`+ns14+`"><companyHandle>`+e.acme.Handle+`</companyHandle><originalName>running</originalName></getJobLogDetailsParam>`)
			assert.Equal(t, 500, status)
			assert.Contains(t, resp, "no such job", "and from its log")
			eventually(t, "the running job removed", func() bool { return gone(running) })
			assert.Empty(t, files(running), "no file of it is left")
			// A chunk a worker had already fetched finds the job gone and
			// ends without work.
			eventually(t, "no queued work of it left", func() bool { return e.queuedChunks(running) == 0 })
			// Nothing writes for it afterwards.
			time.Sleep(500 * time.Millisecond)
			assert.Empty(t, files(running), "and none is written later")

			// Paused.
			paused := e.submit("paused", hs[:4], `<fmt>orig</fmt>`)
			status, resp = e.ctl("pauseJob", paused)
			require.Equal(t, 200, status, resp)
			status, resp = e.ctl("deleteJob", paused)
			require.Equal(t, 200, status, resp)
			eventually(t, "the paused job removed", func() bool { return gone(paused) })
			eventually(t, "no queued work of it left", func() bool { return e.queuedChunks(paused) == 0 })

			// Waiting for its execTime: its chunks never run.
			waiting := e.submitRaw(`<jobName>waiting</jobName><execTime>2099-01-01T00:00:00Z</execTime><exportJob><assetHandleArray><items>` + hs[0] + `</items><items>` + hs[1] + `</items></assetHandleArray><fmt>orig</fmt></exportJob>`)
			require.Equal(t, 2, e.queuedChunks(waiting))
			status, resp = e.ctl("deleteJob", waiting)
			require.Equal(t, 200, status, resp)
			assert.True(t, gone(waiting), "removed at once: no worker holds it")
			assert.Zero(t, e.queuedChunks(waiting), "its waiting chunks are taken away")

			// Ended, and a second delete.
			done := e.submit("done", hs[:1], `<fmt>orig</fmt>`)
			e.awaitEnd(done)
			require.NotEmpty(t, files(done))
			status, resp = e.ctl("deleteJob", done)
			require.Equal(t, 200, status, resp)
			assert.True(t, gone(done))
			assert.Empty(t, files(done))
			status, resp = e.ctl("deleteJob", done)
			assert.Equal(t, 500, status)
			assert.Contains(t, resp, "no such job")
		})
	}
}

func TestSubmitJobOneJobType(t *testing.T) {
	e := newEnv(t, "")
	hero := e.assets["/hero.png"].Handle
	status, _, resp := e.call("alice@acme.test", `<submitJobParam xmlns="`+ns14+`"><companyHandle>`+e.acme.Handle+`</companyHandle><jobName>two</jobName>`+
		`<imageServingPublishJob><publishType>Full</publishType><emailSetting>None</emailSetting></imageServingPublishJob>`+
		`<exportJob><assetHandleArray><items>`+hero+`</items></assetHandleArray><fmt>orig</fmt></exportJob></submitJobParam>`)
	assert.Equal(t, 500, status)
	assert.Contains(t, resp, "<code>30001</code>")
	assert.Contains(t, resp, "submitJob takes one job type, got 2: imageServingPublishJob, exportJob")
	// An empty one is absent, as every empty element.
	status, _, resp = e.call("alice@acme.test", `<submitJobParam xmlns="`+ns14+`"><companyHandle>`+e.acme.Handle+`</companyHandle><jobName>one</jobName>`+
		`<imageServingPublishJob/><exportJob><assetHandleArray><items>`+hero+`</items></assetHandleArray><fmt>orig</fmt></exportJob></submitJobParam>`)
	assert.Equal(t, 200, status, resp)
	js, err := e.app.Store.ListJobs(context.Background(), store.JobQuery{CompanyHandle: e.acme.Handle, OriginalName: "two"})
	require.NoError(t, err)
	assert.Empty(t, js, "nothing was written")
}

// Waiting jobs and recurring ones are paused and resumed; getScheduledJobs
// says which, in a zone with a real name.
func TestPauseScheduled(t *testing.T) {
	e := newEnv(t, "")
	ctx := context.Background()
	hero := e.assets["/hero.png"].Handle

	// An execTime job paused before its time does not start at it;
	// resumed after it, it runs.
	at := time.Now().Add(2 * time.Second).UTC().Format("2006-01-02T15:04:05.000Z")
	soon := e.submitRaw(`<jobName>soon</jobName><execTime>` + at + `</execTime><exportJob><assetHandleArray><items>` + hero + `</items></assetHandleArray><fmt>orig</fmt></exportJob>`)
	status, resp := e.ctl("pauseJob", soon)
	require.Equal(t, 200, status, resp)
	sj := e.scheduled()["soon"]
	assert.Equal(t, "Paused", sj.text("triggerState"))
	zone := sj.text("timeZone")
	assert.NotEqual(t, "Local", zone)
	_, err := time.LoadLocation(zone)
	assert.NoError(t, err, "timeZone %q is an IANA name", zone)
	status, resp = e.ctl("pauseJob", soon)
	assert.Equal(t, 500, status, "held twice")
	assert.Contains(t, resp, "job is Held, pauseJob does not apply")
	time.Sleep(3 * time.Second)
	j, err := e.app.Store.JobByHandle(ctx, "", soon)
	require.NoError(t, err)
	assert.Equal(t, store.JobHeld, j.State, "its time came and went: it waits")
	assert.True(t, j.Started.IsZero())
	status, resp = e.ctl("resumeJob", soon)
	require.Equal(t, 200, status, resp)
	assert.Equal(t, store.JobCompleted, e.awaitEnd(soon).State, "resumed past its time, it runs")

	// One resumed before its time waits for it again.
	later := e.submitRaw(`<jobName>later</jobName><execTime>2099-01-01T00:00:00Z</execTime><exportJob><assetHandleArray><items>` + hero + `</items></assetHandleArray><fmt>orig</fmt></exportJob>`)
	require.Equal(t, 200, first(e.ctl("pauseJob", later)))
	require.Equal(t, 200, first(e.ctl("resumeJob", later)))
	assert.Equal(t, "Normal", e.scheduled()["later"].text("triggerState"))

	// A recurring job, every second: held, it does not fire.
	every := e.submitRaw(`<jobName>every</jobName><execSchedule>* * * * * ?</execSchedule><exportJob><assetHandleArray><items>` + hero + `</items></assetHandleArray><fmt>orig</fmt></exportJob>`)
	require.Equal(t, 200, first(e.ctl("pauseJob", every)))
	assert.Equal(t, "Paused", e.scheduled()["every"].text("triggerState"))
	assert.Equal(t, "Normal", e.scheduled()["later"].text("triggerState"))
	runs := func() int {
		js, err := e.app.Store.ListJobs(ctx, store.JobQuery{CompanyHandle: e.acme.Handle, OriginalName: "every"})
		require.NoError(t, err)
		return len(js)
	}
	time.Sleep(1100 * time.Millisecond)
	require.NoError(t, e.app.Jobs.Tick(ctx))
	assert.Zero(t, runs(), "a held schedule does not fire")
	status, resp = e.ctl("stopJob", every)
	assert.Equal(t, 500, status)
	assert.Contains(t, resp, "recurring job is Paused, stopJob does not apply")
	require.Equal(t, 200, first(e.ctl("resumeJob", every)))
	assert.Equal(t, "Normal", e.scheduled()["every"].text("triggerState"))
	require.NoError(t, e.app.Jobs.Tick(ctx))
	assert.Equal(t, 1, runs(), "released, it fires once for the time it missed")
	require.Equal(t, 200, first(e.ctl("deleteJob", every)))
	assert.NotContains(t, e.scheduled(), "every")
}

func first(status int, _ string) int { return status }

// stopJob: what no worker took up is cancelled, not failed; the log, the
// mail and the Jobs page say so.
func TestStopCancels(t *testing.T) {
	smtpd := smtptest.Start(t)
	e := newEnv(t, "", func(c *Config) {
		c.Workers, c.ChunkSize = 1, 1
		c.SMTP = &notify.SMTPSender{Addr: smtpd.Addr, From: "ipsd@export.test", TLS: notify.TLSNone}
	})
	hs := e.manyImages("many", 20)
	job := e.submit("stopped", hs, `<fmt>convert</fmt><is_modifier>wid=300&amp;fmt=webp&amp;op_usm=1,1,1,0</is_modifier><emailSetting>JobCompletion</emailSetting>`)
	require.Equal(t, 200, first(e.ctl("stopJob", job)))
	j := e.awaitEnd(job)
	require.Equal(t, store.JobStopped, j.State)
	require.Positive(t, j.Cancelled)

	log := e.logDetails(job, "")
	assert.Equal(t, "0", log.text("fileErrorCount"), "cancelled assets are no errors")
	assert.Equal(t, strconv.Itoa(j.Succeeded), log.text("fileSuccessCount"))
	assert.Equal(t, "20", log.text("totalFileCount"))
	cancels := 0
	for _, d := range log.at("detailArray", "items") {
		if d.text("logType") == "FileCancel" {
			cancels++
			assert.NotEmpty(t, d.text("assetHandle"))
			assert.Contains(t, d.text("logMessage"), "stopped")
		}
		assert.NotEqual(t, "ExportError", d.text("logType"))
	}
	assert.Equal(t, j.Cancelled, cancels)

	msgs := smtpd.Wait(1, 10*time.Second)
	require.Len(t, msgs, 1)
	mail := string(msgs[0].Data)
	assert.Contains(t, subject(t, msgs[0]), "stopped")
	assert.Contains(t, mail, fmt.Sprintf("Cancelled: %d", j.Cancelled))
	assert.Contains(t, mail, "Errors:    0")

	// The Jobs page.
	c := newWebClient(t, e.srv.URL)
	status, _ := c.signIn("alice@acme.test", password)
	require.Equal(t, http.StatusSeeOther, status)
	status, _, page := c.get(jobPath(job))
	require.Equal(t, 200, status)
	assert.Contains(t, page, fmt.Sprintf("%d cancelled", j.Cancelled))
	assert.Contains(t, page, `class="o-Cancelled"`)
}

func TestJobLogSorts(t *testing.T) {
	e := newEnv(t, "")
	ctx := context.Background()
	hero, boot := e.assets["/hero.png"].Handle, e.assets["shoes/boot.png"].Handle
	// Root exports for Globex, Alice for Acme; one of Acme's waits, paused.
	root := func(payload string) (int, node, string) {
		status, _, resp := e.post(soapPath, soapCall(authU("root@ips.test"), payload), nil)
		return status, parseBlind(t, body(t, resp)), resp
	}
	status, _, resp := root(`<submitJobParam xmlns="` + ns14 + `"><companyHandle>` + e.globex.Handle + `</companyHandle><jobName>a-globex</jobName><exportJob><assetHandleArray><items>` + e.globexAsset.Handle + `</items></assetHandleArray><fmt>orig</fmt></exportJob></submitJobParam>`)
	require.Equal(t, 200, status, resp)
	acme := e.submit("z-acme", []string{hero, boot}, `<fmt>orig</fmt>`)
	e.awaitEnd(acme)
	// swf is no format this server writes: the asset fails.
	failed := e.submit("m-failed", []string{hero}, `<fmt>convert</fmt><is_modifier>fmt=swf</is_modifier>`)
	js, err := e.app.Store.ListJobs(ctx, store.JobQuery{CompanyHandle: e.globex.Handle})
	require.NoError(t, err)
	require.Len(t, js, 1)
	e.awaitEnd(js[0].Handle)
	require.Equal(t, 1, e.awaitEnd(failed).Errors)

	order := func(sortBy, dir string) []string {
		status, n, resp := root(`<getJobLogsParam xmlns="` + ns14 + `"><sortBy>` + sortBy + `</sortBy><sortDirection>` + dir + `</sortDirection></getJobLogsParam>`)
		require.Equal(t, 200, status, resp)
		var names []string
		for _, it := range n.at("jobLogArray", "items") {
			names = append(names, it.text("originalJobName"))
		}
		return names
	}
	assert.Equal(t, "a-globex", order("CompanyName", "Ascending")[2], "Acme before Globex, by name")
	assert.Equal(t, "a-globex", order("CompanyName", "Descending")[0])
	assert.Equal(t, "a-globex", order("Email", "Descending")[0], "root@ips.test after alice@acme.test")
	assert.Equal(t, "a-globex", order("UserId", "Descending")[0], "a user's id is their e-mail")
	assert.Equal(t, []string{"a-globex", "m-failed", "z-acme"}, order("JobName", "Ascending"))
	assert.Equal(t, "m-failed", order("FileErrorCount", "Descending")[0], "the one that failed an asset")
	assert.Equal(t, "z-acme", order("FileSuccessCount", "Descending")[0], "two files")
	status, _, resp = root(`<getJobLogsParam xmlns="` + ns14 + `"><sortBy>Bogus</sortBy></getJobLogsParam>`)
	assert.Equal(t, 500, status)
	assert.Contains(t, resp, "sortBy")

	// getJobLogDetails: by date (the default) or by log type, either way.
	byDate := detailTypes(e.logDetails(acme, ""))
	assert.Equal(t, []string{"BeginExport", "OriginalJobName", "JobClient", "JobType", "TotalFileCount"}, byDate[:5])
	assert.Equal(t, []string{"EndExport", "ExportArchive"}, byDate[len(byDate)-2:])
	desc := detailTypes(e.logDetails(acme, `<sortBy>Date</sortBy><sortDirection>Descending</sortDirection>`))
	assert.Equal(t, reverse(byDate), desc)
	byType := detailTypes(e.logDetails(acme, `<sortBy>LogType</sortBy>`))
	assert.True(t, slices.IsSorted(byType), "%v", byType)
	assert.ElementsMatch(t, byDate, byType)
	byTypeDesc := detailTypes(e.logDetails(acme, `<sortBy>LogType</sortBy><sortDirection>Descending</sortDirection>`))
	assert.Equal(t, reverse(byType), byTypeDesc)
	// Paged by type: the pages put together are the whole.
	var paged []string
	for page := 1; page <= 4; page++ {
		paged = append(paged, detailTypes(e.logDetails(acme, `<sortBy>LogType</sortBy><recordsPerPage>3</recordsPerPage><resultsPage>`+strconv.Itoa(page)+`</resultsPage>`))...)
	}
	assert.Equal(t, byType, paged)
	filtered := e.logDetails(acme, `<sortBy>LogType</sortBy><logTypeArray><items>ExportSuccess</items><items>JobClient</items><items>ExportError</items></logTypeArray>`)
	assert.Equal(t, []string{"ExportSuccess", "ExportSuccess", "JobClient"}, detailTypes(filtered))
	assert.Equal(t, "3", filtered.text("detailTotalRows"))
	assert.Equal(t, []string{"ExportError", "JobClient"}, detailTypes(e.logDetails(failed, `<sortBy>LogType</sortBy><logTypeArray><items>ExportSuccess</items><items>JobClient</items><items>ExportError</items></logTypeArray>`)))
}

func reverse(s []string) []string {
	out := slices.Clone(s)
	slices.Reverse(out)
	return out
}

// Every job log has a startDate, also one stopped before it ran; its
// logType is its begin type until it ends, its end type after, for
// exports and uploads alike.
func TestJobLogStartDateAndType(t *testing.T) {
	e := newEnv(t, "")
	hero := e.assets["/hero.png"].Handle
	never := e.submitRaw(`<jobName>never</jobName><execTime>2099-01-01T00:00:00Z</execTime><exportJob><assetHandleArray><items>` + hero + `</items></assetHandleArray><fmt>orig</fmt></exportJob>`)
	require.Equal(t, 200, first(e.ctl("stopJob", never)))
	j := e.awaitEnd(never)
	require.True(t, j.Started.IsZero(), "it never ran")

	_, logs, _ := e.call("alice@acme.test", `<getJobLogsParam xmlns="`+ns14+`"><companyHandle>`+e.acme.Handle+`</companyHandle></getJobLogsParam>`)
	items := logs.at("jobLogArray", "items")
	require.Len(t, items, 1)
	start, err := time.Parse(time.RFC3339, items[0].text("startDate"))
	require.NoError(t, err, "startDate: %q", items[0].text("startDate"))
	assert.WithinDuration(t, j.Submitted, start, time.Millisecond, "the submit time when it never started")
	assert.NotEmpty(t, items[0].text("endDate"))
	assert.Equal(t, "EndExport", items[0].text("logType"))
	assert.Equal(t, "1", e.logDetails(never, `<logTypeArray><items>FileCancel</items></logTypeArray>`).text("detailTotalRows"))

	// An upload job: BeginUpload while open, EndUpload once ended; a
	// replaced file counts in fileUpdateCount.
	photo := string(gradientPNG(t, 40, 30))
	params := func(extra string) string {
		return `<uploadPostParam xmlns="` + ns14 + `"><companyHandle>` + e.acme.Handle + `</companyHandle>` + extra + `<uploadParams><overwrite>true</overwrite></uploadParams></uploadPostParam>`
	}
	status, resp := e.uploadPOST(params(`<jobName>up</jobName>`), [][2]string{{"hero.png", photo}, {"new.png", photo}})
	require.Equal(t, 200, status, resp)
	up := parseBlind(t, resp).text("jobHandle")
	open := e.logDetails(up, "")
	assert.Equal(t, "BeginUpload", open.text("logType"))
	assert.NotEmpty(t, open.text("startDate"))
	assert.Equal(t, "1", open.text("fileUpdateCount"), "hero.png replaced the hero's file")
	assert.Equal(t, "1", open.text("fileSuccessCount"), "new.png is new")

	// 16.3: getActiveJobs reports it as an upload.
	_, active, _ := e.call("alice@acme.test", `<getActiveJobsParam xmlns="`+ns16+`"><companyHandle>`+e.acme.Handle+`</companyHandle><jobHandle>`+up+`</jobHandle></getActiveJobsParam>`)
	aj := active.at("jobArray", "items")
	require.Len(t, aj, 1)
	assert.Equal(t, "Upload", aj[0].text("type"))
	assert.Equal(t, "Running", aj[0].text("state"))
	assert.Equal(t, "0", aj[0].text("progress"), "an open upload does not know how many files are to come")
	msg := aj[0].text("progressMessage")
	assert.Contains(t, msg, "2 files uploaded (1 replacing a file)")
	assert.NotContains(t, msg, "exported")
	task := aj[0].at("taskProgressArray", "items")
	require.Len(t, task, 1)
	assert.Equal(t, "com.scene7.upload.UploadAsyncTaskMonitor", task[0].text("taskType"))
	assert.Equal(t, "2", task[0].text("numProcessed"))
	assert.Equal(t, "0", task[0].text("numPending"))
	assert.Empty(t, aj[0].at("exportJob"), "no exportJob for an upload")

	status, resp = e.uploadPOST(params(`<jobHandle>`+up+`</jobHandle><endJob>true</endJob>`), [][2]string{{"new.png", photo}})
	require.Equal(t, 200, status, resp)
	ended := e.logDetails(up, "")
	assert.Equal(t, "EndUpload", ended.text("logType"))
	assert.Equal(t, "2", ended.text("fileUpdateCount"), "new.png replaced too")
	assert.Equal(t, "1", ended.text("fileSuccessCount"))
	assert.Equal(t, "3", ended.text("totalFileCount"))
	types := detailTypes(ended)
	assert.Equal(t, 2, strings.Count(strings.Join(types, " "), "FileUpdated"), "%v", types)
	assert.Equal(t, 3, strings.Count(strings.Join(types, " "), "FileBegin"), "%v", types)
}

// Log messages are in the job's language.
func TestJobLogLanguage(t *testing.T) {
	e := newEnv(t, "")
	hero := e.assets["/hero.png"].Handle
	ctx := context.Background()
	im := &catalog.Importer{Store: e.app.Store, Blob: e.app.Blob}
	for _, tc := range []struct{ locale, begin, success string }{
		{"de-DE", "Export hat begonnen!", "Exportiert: hero.png: http"},
		{"fr_FR", "L’exportation a commencé !", "Exporté : hero.png : http"},
		{"ja", "エクスポートを開始しました。", "エクスポートしました：hero.png："},
		{"es", "¡La exportación ha comenzado!", "Exportado: hero.png: http"},
		{"pt-BR", "Export has begun!", "Exported hero.png: http"},
	} {
		// An asset whose original storage lost between the submit and the
		// run fails (a catalogue deletion no longer does: the original is
		// captured at submit).
		doomed, err := im.Import(ctx, catalog.File{CompanyHandle: e.acme.Handle, FileName: "doomed-" + tc.locale + ".png", Body: bytes.NewReader(tinyPNG(t))})
		require.NoError(t, err)
		job := e.submitRaw(`<jobName>` + tc.locale + `</jobName><locale>` + tc.locale + `</locale><execTime>2099-01-01T00:00:00Z</execTime><exportJob><assetHandleArray><items>` + hero + `</items><items>` + doomed.Handle + `</items></assetHandleArray><fmt>orig</fmt></exportJob>`)
		require.NoError(t, e.app.Blob.Delete(ctx, doomed.StorageKey))
		require.Equal(t, 200, first(e.ctl("executeJob", job)))
		e.awaitEnd(job)
		msgs := map[string]string{}
		for _, d := range e.logDetails(job, "").at("detailArray", "items") {
			msgs[d.text("logType")] = d.text("logMessage")
		}
		assert.Equal(t, tc.begin, msgs["BeginExport"], tc.locale)
		assert.True(t, strings.HasPrefix(msgs["ExportSuccess"], tc.success), "%s: %q", tc.locale, msgs["ExportSuccess"])
		assert.Contains(t, msgs["ExportError"], doomed.Handle, "%s: the reason is quoted", tc.locale)
		assert.Equal(t, tc.locale, msgs["OriginalJobName"])
		assert.Equal(t, "ipsd", msgs["JobClient"])
		assert.Equal(t, "Export", msgs["JobType"])
		assert.Equal(t, "2", msgs["TotalFileCount"])
		assert.NotEmpty(t, msgs["EndExport"])
	}
}

// A client reconciles an export: what happened to an asset in every job,
// and where its original lives.
func TestReconcileAnExport(t *testing.T) {
	e := newEnv(t, "")
	hero, boot, redBoot := e.assets["/hero.png"].Handle, e.assets["shoes/boot.png"].Handle, e.assets["shoes/red/boot.png"].Handle
	job := e.submit("reconcile", []string{hero, boot}, `<fmt>orig</fmt>`)
	e.awaitEnd(job)
	photo := string(gradientPNG(t, 40, 30))
	status, resp := e.uploadPOST(`<uploadPostParam xmlns="`+ns14+`"><companyHandle>`+e.acme.Handle+`</companyHandle><jobName>replace</jobName><endJob>true</endJob><uploadParams><overwrite>true</overwrite></uploadParams></uploadPostParam>`,
		[][2]string{{"hero.png", photo}})
	require.Equal(t, 200, status, resp)
	upload := parseBlind(t, resp).text("jobHandle")

	status, root, resp := e.call("alice@acme.test", `<getAssetJobLogsParam xmlns="`+ns14+`"><companyHandle>`+e.acme.Handle+`</companyHandle><assetHandle>`+hero+`</assetHandle></getAssetJobLogsParam>`)
	require.Equal(t, 200, status, resp)
	items := root.at("jobLogArray", "items")
	require.Len(t, items, 2, resp)
	assert.Equal(t, upload, items[0].text("jobHandle"), "newest first")
	assert.Equal(t, "FileUpdated", items[0].text("logType"), "an upload that replaced its file")
	assert.Equal(t, job, items[1].text("jobHandle"))
	assert.Equal(t, "ExportSuccess", items[1].text("logType"))
	assert.True(t, strings.HasPrefix(items[1].text("jobName"), "reconcile_"))
	assert.Contains(t, items[1].text("logMessage"), "hero.png")
	assert.Equal(t, "alice@acme.test", items[1].text("submitUserEmail"))
	_, err := time.Parse(time.RFC3339, items[1].text("logDate"))
	assert.NoError(t, err)

	status, root, resp = e.call("alice@acme.test", `<getAssetJobLogsParam xmlns="`+ns14+`"><companyHandle>`+e.acme.Handle+`</companyHandle><assetHandle>`+redBoot+`</assetHandle></getAssetJobLogsParam>`)
	require.Equal(t, 200, status, resp)
	assert.Empty(t, root.at("jobLogArray", "items"), "an asset in no job")
	status, _, resp = e.call("alice@acme.test", `<getAssetJobLogsParam xmlns="`+ns14+`"><companyHandle>`+e.acme.Handle+`</companyHandle><assetHandle>`+e.globexAsset.Handle+`</assetHandle></getAssetJobLogsParam>`)
	assert.Equal(t, 500, status)
	assert.Contains(t, resp, "no such asset", "another company's is unknown")

	status, root, resp = e.call("alice@acme.test", `<getOriginalFilePathsParam xmlns="`+ns14+`"><companyHandle>`+e.acme.Handle+`</companyHandle><assetHandleArray><items>`+redBoot+`</items><items>`+hero+`</items><items>`+redBoot+`</items></assetHandleArray></getOriginalFilePathsParam>`)
	require.Equal(t, 200, status, resp)
	var paths []string
	for _, it := range root.at("originalFileArray", "items") {
		paths = append(paths, it.Text)
	}
	assert.Equal(t, []string{"Acme/shoes/red/boot.png", "Acme/hero.png", "Acme/shoes/red/boot.png"}, paths, "one per handle, in order")
	status, _, resp = e.call("alice@acme.test", `<getOriginalFilePathsParam xmlns="`+ns14+`"><companyHandle>`+e.acme.Handle+`</companyHandle><assetHandleArray><items>`+hero+`</items><items>a|1|404404</items></assetHandleArray></getOriginalFilePathsParam>`)
	assert.Equal(t, 500, status)
	assert.Contains(t, resp, "30001")
	assert.Contains(t, resp, "a|1|404404 (no such asset)")
	status, root, resp = e.call("alice@acme.test", `<getOriginalFilePathsParam xmlns="`+ns14+`"><companyHandle>`+e.acme.Handle+`</companyHandle><assetHandleArray/></getOriginalFilePathsParam>`)
	require.Equal(t, 200, status, resp)
	assert.Empty(t, root.at("originalFileArray", "items"), "an empty array is an empty answer")
	// The role table: ImagePortalUser may not (r-get-original-file-paths.md).
	status, _, resp = e.post(soapPath, soapCall(authU("viewer@acme.test"), `<getOriginalFilePathsParam xmlns="`+ns14+`"><companyHandle>`+e.acme.Handle+`</companyHandle><assetHandleArray><items>`+hero+`</items></assetHandleArray></getOriginalFilePathsParam>`), nil)
	assert.Equal(t, 500, status)
	assert.Contains(t, resp, "20003")
}

// A UTF-8 byte-order mark before a request is read on every transport;
// ?WSDL in any case.
func TestByteOrderMarkAndWSDLCase(t *testing.T) {
	e := newEnv(t, "")
	const bom = "\xef\xbb\xbf"
	info := `<getCompanyInfoParam xmlns="` + ns14 + `"><companyName>Acme</companyName></getCompanyInfoParam>`
	for _, tc := range []struct {
		name, path, ctype, body string
	}{
		{"SOAP 1.1", soapPath, "text/xml; charset=utf-8", bom + `<?xml version="1.0" encoding="utf-8"?>` + soapCall(authU("alice@acme.test"), info)},
		{"SOAP 1.1 without a declaration", soapPath, "text/xml", bom + soapCall(authU("alice@acme.test"), info)},
		{"SOAP 1.2", soapPath, "application/soap+xml; charset=utf-8", bom + `<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap="http://www.w3.org/2003/05/soap-envelope"><soap:Header>` + authU("alice@acme.test") + `</soap:Header><soap:Body>` + info + `</soap:Body></soap:Envelope>`},
		{"bare XML", barePath, "text/xml", bom + `<?xml version="1.0" encoding="UTF-8"?><Request xmlns="` + ns14 + `">` + authU("alice@acme.test") + info + `</Request>`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, _, resp := e.post(tc.path, tc.body, map[string]string{"Content-Type": tc.ctype})
			require.Equal(t, 200, status, resp)
			assert.Contains(t, resp, "<companyHandle>"+e.acme.Handle+"</companyHandle>")
		})
	}
	t.Run("UploadFile", func(t *testing.T) {
		req := e.uploadRequest("alice@acme.test", password, bom+`<?xml version="1.0" encoding="UTF-8"?>`+e.uploadParams("bom"), [][2]string{{"bom.png", string(tinyPNG(t))}})
		// The auth part with a mark of its own.
		raw, err := readAll(req)
		require.NoError(t, err)
		raw = bytes.Replace(raw, []byte(`<authHeader`), []byte(bom+`<authHeader`), 1)
		req2, err := http.NewRequest(http.MethodPost, req.URL.String(), bytes.NewReader(raw))
		require.NoError(t, err)
		req2.Header = req.Header
		status, _, resp := e.do("127.0.0.1", req2)
		require.Equal(t, 200, status, resp)
		job := parseBlind(t, resp).text("jobHandle")
		require.NotEmpty(t, job, resp)
		assert.Equal(t, 1, e.awaitEnd(job).Succeeded, "the file was stored")
	})
	for _, q := range []string{"wsdl", "WSDL", "Wsdl"} {
		status, doc := e.get(soapPath + "?" + q)
		assert.Equal(t, 200, status, q)
		assert.Contains(t, doc, "<wsdl:definitions", q)
	}
	status, _ := e.get(soapPath + "?" + url.Values{"wsdlx": {""}}.Encode())
	assert.NotEqual(t, 200, status, "another query is no WSDL request")
}

func readAll(req *http.Request) ([]byte, error) {
	var b bytes.Buffer
	_, err := b.ReadFrom(req.Body)
	return b.Bytes(), err
}
