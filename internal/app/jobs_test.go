package app

import (
	"archive/zip"
	"bytes"
	"context"
	"fmt"
	"hash/crc32"
	"image"
	"image/color"
	"image/png"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ipsexport/ipsd/internal/catalog"
	"github.com/ipsexport/ipsd/internal/store"
)

// exportEnvelope is a submitJob with an exportJob, in the 2014 namespace.
func exportEnvelope(user, company, jobName string, handles []string, fields string) string {
	var items strings.Builder
	for _, h := range handles {
		items.WriteString("<items>" + h + "</items>")
	}
	return soapCall(authU(user), `<submitJobParam xmlns="`+ns14+`"><companyHandle>`+company+`</companyHandle><jobName>`+jobName+`</jobName>`+
		`<exportJob><assetHandleArray>`+items.String()+`</assetHandleArray>`+fields+`</exportJob></submitJobParam>`)
}

func (e *env) call(user, payload string) (int, node, string) {
	e.t.Helper()
	status, _, resp := e.post(soapPath, soapCall(authU(user), payload), nil)
	return status, parseBlind(e.t, body(e.t, resp)), resp
}

func (e *env) submit(jobName string, handles []string, fields string) string {
	e.t.Helper()
	status, _, resp := e.post(soapPath, exportEnvelope("alice@acme.test", e.acme.Handle, jobName, handles, fields), nil)
	require.Equal(e.t, 200, status, resp)
	h := parseBlind(e.t, body(e.t, resp)).text("jobHandle")
	require.NotEmpty(e.t, h, resp)
	return h
}

// awaitArchive polls getJobLogDetails by originalName, as the AEM export
// client does, until a detail's assetName is a link, and returns it.
func (e *env) awaitArchive(jobName string) (string, node) {
	e.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		status, root, resp := e.call("alice@acme.test", `<getJobLogDetailsParam xmlns="`+ns14+`"><companyHandle>`+e.acme.Handle+`</companyHandle><originalName>`+jobName+`</originalName></getJobLogDetailsParam>`)
		require.Equal(e.t, 200, status, "a running job's log is answered, never a fault: %s", resp)
		for _, d := range root.at("jobLogArray", "items", "detailArray", "items") {
			if name := d.text("assetName"); strings.HasPrefix(name, "http") {
				return name, root
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	e.t.Fatalf("job %s did not end", jobName)
	return "", node{}
}

func fetch(t *testing.T, rawURL string, user string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, rawURL, nil)
	require.NoError(t, err)
	if user != "" {
		req.SetBasicAuth(user, password)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, b
}

func unzip(t *testing.T, b []byte) map[string][]byte {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	require.NoError(t, err)
	out := map[string][]byte{}
	for _, f := range zr.File {
		r, err := f.Open()
		require.NoError(t, err)
		data, err := io.ReadAll(r)
		require.NoError(t, err)
		r.Close()
		out[f.Name] = data
	}
	return out
}

func (e *env) handles(keys ...string) []string {
	var hs []string
	for _, k := range keys {
		hs = append(hs, e.assets[k].Handle)
	}
	return hs
}

func TestExportOriginalEndToEnd(t *testing.T) {
	for _, db := range testDatabases(t) {
		t.Run(db.name, func(t *testing.T) {
			e := newEnv(t, db.url(t))
			hs := e.handles("/hero.png", "shoes/boot.png", "shoes/red/boot.png")
			jobHandle := e.submit("nightly", hs, `<fmt>orig</fmt><emailSetting>None</emailSetting>`)

			zipURL, root := e.awaitArchive("nightly")
			log := root.at("jobLogArray", "items")[0]
			assert.Equal(t, jobHandle, log.text("jobHandle"))
			assert.Equal(t, "EndExport", log.text("logType"))
			assert.Equal(t, "3", log.text("totalFileCount"))
			assert.Equal(t, "3", log.text("fileSuccessCount"))
			assert.Equal(t, "0", log.text("fileErrorCount"))
			assert.Equal(t, "false", log.text("fatalError"))
			assert.Equal(t, "10", log.text("detailTotalRows"), "five about the job, three assets, its end and the archive")
			var types []string
			for _, d := range log.at("detailArray", "items") {
				types = append(types, d.text("logType"))
			}
			assert.Equal(t, []string{"BeginExport", "OriginalJobName", "JobClient", "JobType", "TotalFileCount",
				"ExportSuccess", "ExportSuccess", "ExportSuccess", "EndExport", "ExportArchive"}, types)

			// The AEM client fetches the archive bare, without credentials.
			status, zipBytes := fetch(t, zipURL, "")
			require.Equal(t, 200, status, string(zipBytes))
			files := unzip(t, zipBytes)
			original := tinyPNG(t)
			assert.Len(t, files, 3)
			for _, name := range []string{"hero.png", "shoes/boot.png", "shoes/red/boot.png"} {
				assert.Equal(t, original, files[name], name)
			}

			// Each detail's message carries its file's signed link.
			msg := log.at("detailArray", "items")[5].text("logMessage")
			link := msg[strings.Index(msg, "http"):]
			status, got := fetch(t, link, "")
			assert.Equal(t, 200, status)
			assert.Equal(t, original, got)

			// Counts in getJobLogs; the job has left getActiveJobs.
			_, logs, _ := e.call("alice@acme.test", `<getJobLogsParam xmlns="`+ns14+`"><companyHandle>`+e.acme.Handle+`</companyHandle></getJobLogsParam>`)
			items := logs.at("jobLogArray", "items")
			require.Len(t, items, 1)
			assert.Equal(t, "3", items[0].text("fileSuccessCount"))
			assert.Equal(t, "nightly", items[0].text("originalJobName"))
			assert.True(t, strings.HasPrefix(items[0].text("jobName"), "nightly_"))
			_, active, _ := e.call("alice@acme.test", `<getActiveJobsParam xmlns="`+ns14+`"><companyHandle>`+e.acme.Handle+`</companyHandle></getActiveJobsParam>`)
			assert.Empty(t, active.at("jobArray", "items"))

			// Downloads: Basic as a member works; another company's user,
			// a tampered link and no credentials are refused.
			u, err := url.Parse(zipURL)
			require.NoError(t, err)
			bare := e.srv.URL + u.EscapedPath()
			status, _ = fetch(t, bare, "alice@acme.test")
			assert.Equal(t, 200, status)
			status, _ = fetch(t, bare, "bob@globex.test")
			assert.Equal(t, 404, status)
			status, _ = fetch(t, bare, "")
			assert.Equal(t, 401, status)
			q := u.Query()
			q.Set("expires", strconv.FormatInt(time.Now().Add(400*24*time.Hour).Unix(), 10))
			status, _ = fetch(t, bare+"?"+q.Encode(), "")
			assert.Equal(t, 403, status)
		})
	}
}

// gradientPNG is a w×h opaque gradient.
func gradientPNG(t *testing.T, w, h int) []byte {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.SetNRGBA(x, y, color.NRGBA{uint8(x * 255 / w), uint8(y * 255 / h), 128, 255})
		}
	}
	var b bytes.Buffer
	require.NoError(t, png.Encode(&b, img))
	return b.Bytes()
}

func TestExportConvert(t *testing.T) {
	e := newEnv(t, "")
	ctx := context.Background()
	im := &catalog.Importer{Store: e.app.Store, Blob: e.app.Blob}
	photo, err := im.Import(ctx, catalog.File{CompanyHandle: e.acme.Handle, FolderPath: "photos", FileName: "fileToExport.jpg", Body: bytes.NewReader(gradientPNG(t, 400, 300))})
	require.NoError(t, err)
	doc, err := im.Import(ctx, catalog.File{CompanyHandle: e.acme.Handle, FileName: "notes.txt", Body: strings.NewReader("plain text, not an image")})
	require.NoError(t, err)
	_, _, resp := e.call("alice@acme.test", `<saveImageFormatParam xmlns="`+ns14+`"><companyHandle>`+e.acme.Handle+`</companyHandle><name>test</name><urlModifier>fmt=tif&amp;wid=200</urlModifier></saveImageFormatParam>`)
	require.Contains(t, resp, "imageFormatHandle")

	// The reference's example: is_modifier fmt=png, macro fmt=tif → .tiff.
	e.submit("convert", []string{photo.Handle, doc.Handle}, `<fmt>convert</fmt><is_modifier>&amp;fmt=png&amp;hei=10</is_modifier><macro>$test$</macro><emailSetting>None</emailSetting>`)
	zipURL, root := e.awaitArchive("convert")
	log := root.at("jobLogArray", "items")[0]
	assert.Equal(t, "2", log.text("totalFileCount"))
	assert.Equal(t, "2", log.text("fileSuccessCount"))
	assert.Equal(t, "1", log.text("fileWarningCount"), "the text file is exported as original, with a warning")
	_, zipBytes := fetch(t, zipURL, "")
	files := unzip(t, zipBytes)
	tiff, ok := files["photos/fileToExport.tiff"]
	require.True(t, ok, "files: %v", keys(files))
	assert.True(t, bytes.HasPrefix(tiff, []byte("II*\x00")) || bytes.HasPrefix(tiff, []byte("MM\x00*")), "a TIFF")
	w, h := tiffSize(t, tiff)
	// The macro's wid=200 and is_modifier's hei=10 both apply: with both
	// given, Image Serving replies exactly wid×hei (the image fitted and
	// padded with bgc).
	assert.Equal(t, 200, w)
	assert.Equal(t, 10, h)
	assert.Equal(t, []byte("plain text, not an image"), files["notes.txt"])
}

func keys(m map[string][]byte) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// tiffSize reads ImageWidth and ImageLength from the first IFD.
func tiffSize(t *testing.T, b []byte) (int, int) {
	t.Helper()
	le := b[0] == 'I'
	u16 := func(o int) int {
		if le {
			return int(b[o]) | int(b[o+1])<<8
		}
		return int(b[o])<<8 | int(b[o+1])
	}
	u32 := func(o int) int {
		if le {
			return int(b[o]) | int(b[o+1])<<8 | int(b[o+2])<<16 | int(b[o+3])<<24
		}
		return int(b[o])<<24 | int(b[o+1])<<16 | int(b[o+2])<<8 | int(b[o+3])
	}
	ifd := u32(4)
	n := u16(ifd)
	var w, h int
	for i := range n {
		e := ifd + 2 + 12*i
		tag, typ := u16(e), u16(e+2)
		val := u32(e + 8)
		if typ == 3 {
			val = u16(e + 8)
		}
		switch tag {
		case 256:
			w = val
		case 257:
			h = val
		}
	}
	return w, h
}

func TestSubmitJobValidation(t *testing.T) {
	e := newEnv(t, "", func(c *Config) { c.MaxExportAssets = 100 })
	set, err := e.app.Store.CreateAsset(context.Background(), store.NewAsset{
		CompanyHandle: e.acme.Handle, FolderHandle: e.assets["/hero.png"].FolderHandle, Name: "spin", Type: "SpinSet",
		Members: []string{e.assets["/hero.png"].Handle},
	})
	require.NoError(t, err)
	hero := e.assets["/hero.png"].Handle
	tests := []struct {
		name     string
		handles  []string
		fields   string
		code     string
		mentions []string
	}{
		{"unknown handle", []string{hero, "a|9|9"}, `<fmt>orig</fmt>`, "30001", []string{"a|9|9", "no such asset"}},
		{"another company's handle is unknown", []string{e.globexAsset.Handle}, `<fmt>orig</fmt>`, "30001", []string{e.globexAsset.Handle, "no such asset"}},
		{"set type", []string{set.Handle}, `<fmt>orig</fmt>`, "30001", []string{set.Handle, "SpinSet"}},
		{"no handles", nil, `<fmt>orig</fmt>`, "30002", []string{"assetHandleArray"}},
		{"no fmt", []string{hero}, ``, "30002", []string{"fmt"}},
		{"bad fmt", []string{hero}, `<fmt>png</fmt>`, "30001", []string{"fmt"}},
		{"convert without modifier", []string{hero}, `<fmt>convert</fmt>`, "30002", []string{"is_modifier"}},
		{"bad modifier", []string{hero}, `<fmt>convert</fmt><is_modifier>wid=abc</is_modifier>`, "30001", []string{"is_modifier", "wid"}},
		{"unknown command", []string{hero}, `<fmt>convert</fmt><is_modifier>wid=10&amp;frobnicate=1</is_modifier>`, "30001", []string{"frobnicate", "position"}},
		{"unknown macro", []string{hero}, `<fmt>convert</fmt><macro>$nope$</macro>`, "30001", []string{"macro", "nope"}},
		{"bad emailSetting", []string{hero}, `<fmt>orig</fmt><emailSetting>Always</emailSetting>`, "30001", []string{"emailSetting"}},
		{"negative wid", []string{hero}, `<fmt>convert</fmt><is_modifier>wid=-5</is_modifier>`, "30001", []string{"wid"}},
		{"too many handles", slices.Repeat([]string{hero}, 101), `<fmt>orig</fmt>`, "30001", []string{"101 handles", "100 allowed"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			status, _, resp := e.post(soapPath, exportEnvelope("alice@acme.test", e.acme.Handle, "bad", tc.handles, tc.fields), nil)
			assert.Equal(t, 500, status, resp)
			assert.Contains(t, resp, "<code>"+tc.code+"</code>")
			for _, m := range tc.mentions {
				assert.Contains(t, resp, m)
			}
		})
	}
	// execTime with execSchedule.
	status, _, resp := e.post(soapPath, soapCall(authU("alice@acme.test"), `<submitJobParam xmlns="`+ns14+`"><companyHandle>`+e.acme.Handle+`</companyHandle><jobName>x</jobName><execTime>2099-01-01T00:00:00Z</execTime><execSchedule>0 0 0 * *</execSchedule><exportJob><assetHandleArray><items>`+hero+`</items></assetHandleArray><fmt>orig</fmt></exportJob></submitJobParam>`), nil)
	assert.Equal(t, 500, status)
	assert.Contains(t, resp, "<code>30001</code>")
	// Another job type.
	status, _, resp = e.post(soapPath, soapCall(authU("alice@acme.test"), `<submitJobParam xmlns="`+ns14+`"><companyHandle>`+e.acme.Handle+`</companyHandle><jobName>x</jobName><ripPdfsJob><assetHandle>`+hero+`</assetHandle></ripPdfsJob></submitJobParam>`), nil)
	assert.Equal(t, 500, status)
	assert.Contains(t, resp, "ripPdfsJob")
	// Another company's companyHandle.
	status, _, resp = e.post(soapPath, exportEnvelope("alice@acme.test", e.globex.Handle, "x", []string{hero}, `<fmt>orig</fmt>`), nil)
	assert.Equal(t, 500, status)
	assert.Contains(t, resp, "<code>20006</code>")

	// Nothing was queued by any of them.
	jobs, err := e.app.Store.ListJobs(context.Background(), store.JobQuery{CompanyHandle: e.acme.Handle})
	require.NoError(t, err)
	assert.Empty(t, jobs)
}

func TestScheduledJobs(t *testing.T) {
	e := newEnv(t, "")
	hero := e.assets["/hero.png"].Handle
	later := e.submit("later", []string{hero}, `<fmt>orig</fmt>`)
	_ = later
	status, _, resp := e.post(soapPath, soapCall(authU("alice@acme.test"), `<submitJobParam xmlns="`+ns14+`"><companyHandle>`+e.acme.Handle+`</companyHandle><jobName>nightly</jobName><execSchedule>00 00 00 * *</execSchedule><exportJob><assetHandleArray><items>`+hero+`</items></assetHandleArray><fmt>orig</fmt></exportJob></submitJobParam>`), nil)
	require.Equal(t, 200, status, resp)
	schedHandle := parseBlind(t, body(t, resp)).text("jobHandle")
	status, _, resp = e.post(soapPath, soapCall(authU("alice@acme.test"), `<submitJobParam xmlns="`+ns14+`"><companyHandle>`+e.acme.Handle+`</companyHandle><jobName>once</jobName><execTime>2099-01-01T00:00:00Z</execTime><exportJob><assetHandleArray><items>`+hero+`</items></assetHandleArray><fmt>orig</fmt></exportJob></submitJobParam>`), nil)
	require.Equal(t, 200, status, resp)
	onceHandle := parseBlind(t, body(t, resp)).text("jobHandle")

	_, root, resp := e.call("alice@acme.test", `<getScheduledJobsParam xmlns="`+ns14+`"><companyHandle>`+e.acme.Handle+`</companyHandle></getScheduledJobsParam>`)
	items := root.at("jobArray", "items")
	require.Len(t, items, 2, resp)
	byName := map[string]node{}
	for _, it := range items {
		byName[it.text("originalName")] = it
	}
	assert.Equal(t, "00 00 00 * *", byName["nightly"].text("execSchedule"))
	next, err := time.Parse(time.RFC3339, byName["nightly"].text("nextFireTime"))
	require.NoError(t, err)
	assert.True(t, next.After(time.Now()) && next.Before(time.Now().Add(25*time.Hour)), "next midnight: %v", next)
	assert.True(t, strings.HasPrefix(byName["once"].text("nextFireTime"), "2099-01-01"))

	for _, h := range []string{schedHandle, onceHandle} {
		status, _, resp := e.call("alice@acme.test", `<deleteJobParam xmlns="`+ns14+`"><companyHandle>`+e.acme.Handle+`</companyHandle><jobHandle>`+h+`</jobHandle></deleteJobParam>`)
		assert.Equal(t, 200, status, resp)
	}
	_, root, _ = e.call("alice@acme.test", `<getScheduledJobsParam xmlns="`+ns14+`"><companyHandle>`+e.acme.Handle+`</companyHandle></getScheduledJobsParam>`)
	assert.Empty(t, root.at("jobArray", "items"))
	// bob cannot delete Acme's job, nor learn it exists.
	status, _, resp = e.post(soapPath, soapCall(authU("bob@globex.test"), `<deleteJobParam xmlns="`+ns14+`"><companyHandle>`+e.globex.Handle+`</companyHandle><jobHandle>`+later+`</jobHandle></deleteJobParam>`), nil)
	assert.Equal(t, 500, status)
	assert.Contains(t, resp, "no such job")
}

func TestPauseResumeStop(t *testing.T) {
	e := newEnv(t, "", func(c *Config) { c.Workers = 1; c.ChunkSize = 1 })
	ctx := context.Background()
	im := &catalog.Importer{Store: e.app.Store, Blob: e.app.Blob}
	var hs []string
	for i := range 30 {
		a, err := im.Import(ctx, catalog.File{CompanyHandle: e.acme.Handle, FolderPath: "many", FileName: fmt.Sprintf("p%02d.png", i), Body: bytes.NewReader(gradientPNG(t, 600, 400))})
		require.NoError(t, err)
		hs = append(hs, a.Handle)
	}
	control := func(op, job string) (int, string) {
		status, _, resp := e.call("alice@acme.test", `<`+op+`Param xmlns="`+ns14+`"><companyHandle>`+e.acme.Handle+`</companyHandle><jobHandle>`+job+`</jobHandle></`+op+`Param>`)
		return status, resp
	}
	active := func(job string) node {
		_, root, _ := e.call("alice@acme.test", `<getActiveJobsParam xmlns="`+ns16+`"><companyHandle>`+e.acme.Handle+`</companyHandle><jobHandle>`+job+`</jobHandle></getActiveJobsParam>`)
		items := root.at("jobArray", "items")
		if len(items) == 0 {
			return node{}
		}
		return items[0]
	}

	// Pause holds the job; resume lets it finish.
	job := e.submit("paused", hs, `<fmt>convert</fmt><is_modifier>wid=300&amp;fmt=webp&amp;op_usm=1,1,1,0</is_modifier>`)
	status, resp := control("pauseJob", job)
	require.Equal(t, 200, status, resp)
	aj := active(job)
	assert.Equal(t, "WaitingClient", aj.text("state"))
	assert.Equal(t, "Paused", aj.text("progressMessage"))
	assert.Equal(t, "convert", aj.text("exportJob", "fmt"), "2016 namespaces echo the exportJob")
	assert.Len(t, aj.at("exportJob", "assetHandleArray", "items"), 30, "with its handles")
	status, _ = control("pauseJob", job)
	assert.Equal(t, 500, status, "a paused job cannot be paused again")
	status, resp = control("resumeJob", job)
	require.Equal(t, 200, status, resp)
	_, root := e.awaitArchive("paused")
	assert.Equal(t, "30", root.at("jobLogArray", "items")[0].text("fileSuccessCount"))

	// Stop ends it early, keeping what is done; counts stay whole.
	job = e.submit("stopped", hs, `<fmt>convert</fmt><is_modifier>wid=300&amp;fmt=png</is_modifier>`)
	status, resp = control("stopJob", job)
	require.Equal(t, 200, status, resp)
	deadline := time.Now().Add(30 * time.Second)
	var j store.Job
	for time.Now().Before(deadline) {
		var err error
		j, err = e.app.Store.JobByHandle(ctx, e.acme.Handle, job)
		require.NoError(t, err)
		if j.State == store.JobStopped {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	require.Equal(t, store.JobStopped, j.State)
	assert.Equal(t, 30, j.Total)
	assert.Equal(t, j.Total, j.Succeeded+j.Cancelled, "what the stop left is cancelled")
	assert.Zero(t, j.Errors, "not failed")
	assert.Less(t, j.Succeeded, 30, "stopped before the end")
}

// The same export with files in an S3-compatible bucket (versitygw) and
// the catalogue on PostgreSQL: the scale-out storage.
func TestExportOnS3(t *testing.T) {
	srv := s3Server(t)
	cfg := srv.Config(srv.NewBucket(t))
	e := newEnv(t, pg.NewDatabase(t), func(c *Config) { c.S3 = &cfg })
	e.submit("to-s3", e.handles("/hero.png", "shoes/red/boot.png"), `<fmt>orig</fmt>`)
	zipURL, root := e.awaitArchive("to-s3")
	assert.Equal(t, "2", root.at("jobLogArray", "items")[0].text("fileSuccessCount"))
	code, zipBytes := fetch(t, zipURL, "")
	require.Equal(t, 200, code)
	files := unzip(t, zipBytes)
	assert.Equal(t, tinyPNG(t), files["hero.png"])
	assert.Equal(t, tinyPNG(t), files["shoes/red/boot.png"])
	// The files are objects in the bucket, none on the local disk.
	objects := 0
	for obj := range srv.Client().ListObjects(t.Context(), cfg.Bucket, minio.ListObjectsOptions{Recursive: true}) {
		require.NoError(t, obj.Err)
		objects++
	}
	assert.Equal(t, 4+2, objects, "four originals and two exported files")
	code, _ = e.get("/readyz")
	assert.Equal(t, 200, code)
}

// bombPNG is a valid PNG header declaring w×h pixels, with no pixel data:
// a decompression bomb's announcement.
func bombPNG(w, h uint32) []byte {
	var b bytes.Buffer
	b.WriteString("\x89PNG\r\n\x1a\n")
	ihdr := []byte{byte(w >> 24), byte(w >> 16), byte(w >> 8), byte(w), byte(h >> 24), byte(h >> 16), byte(h >> 8), byte(h), 8, 2, 0, 0, 0}
	chunk := append([]byte("IHDR"), ihdr...)
	b.Write([]byte{0, 0, 0, 13})
	b.Write(chunk)
	crc := crc32.ChecksumIEEE(chunk)
	b.Write([]byte{byte(crc >> 24), byte(crc >> 16), byte(crc >> 8), byte(crc)})
	return b.Bytes()
}

// Hostile and broken sources fail as assets, never the job or the server.
func TestExportBadImages(t *testing.T) {
	e := newEnv(t, "")
	ctx := context.Background()
	im := &catalog.Importer{Store: e.app.Store, Blob: e.app.Blob}
	good := gradientPNG(t, 64, 48)
	sources := map[string][]byte{
		"bomb.png":      bombPNG(100_000, 100_000),
		"truncated.png": good[:len(good)/2],
		"corrupt.png":   append(append([]byte{}, good[:40]...), bytes.Repeat([]byte{0xAB}, 400)...),
		"good.png":      good,
	}
	var handles []string
	for _, name := range []string{"bomb.png", "truncated.png", "corrupt.png", "good.png"} {
		a, err := im.Import(ctx, catalog.File{CompanyHandle: e.acme.Handle, FolderPath: "bad", FileName: name, Body: bytes.NewReader(sources[name])})
		require.NoError(t, err)
		handles = append(handles, a.Handle)
	}
	e.submit("bad-sources", handles, `<fmt>convert</fmt><is_modifier>wid=32&amp;fmt=png</is_modifier>`)
	_, root := e.awaitArchive("bad-sources")
	log := root.at("jobLogArray", "items")[0]
	assert.Equal(t, "4", log.text("totalFileCount"))
	assert.Equal(t, "1", log.text("fileSuccessCount"), "only the good image converts")
	assert.Equal(t, "3", log.text("fileErrorCount"))
	byName := map[string]node{}
	for _, d := range log.at("detailArray", "items") {
		byName[d.text("assetName")] = d
	}
	assert.Equal(t, "ExportError", byName["bomb"].text("logType"))
	assert.Contains(t, byName["bomb"].text("logMessage"), "too large")
	assert.Equal(t, "ExportError", byName["truncated"].text("logType"))
	assert.Equal(t, "ExportError", byName["corrupt"].text("logType"))
	assert.Equal(t, "ExportSuccess", byName["good"].text("logType"))
	// The server still serves.
	status, _ := e.get("/healthz")
	assert.Equal(t, 200, status)

	// Absurd sizes parse, and fail per asset against the output bound.
	for _, mod := range []string{"wid=999999999", "scl=0.0001"} {
		job := e.submit("absurd", []string{handles[3]}, `<fmt>convert</fmt><is_modifier>`+mod+`</is_modifier>`)
		j := e.awaitEnd(job)
		assert.Equal(t, 1, j.Errors, mod)
		rows, _, err := e.app.Store.JobAssets(ctx, store.JobAssetQuery{JobHandle: job})
		require.NoError(t, err)
		require.Len(t, rows, 1)
		assert.Contains(t, rows[0].Message, "too large", mod)
	}
}

// awaitEnd waits until a job has ended and returns it.
func (e *env) awaitEnd(handle string) store.Job {
	e.t.Helper()
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		j, err := e.app.Store.JobByHandle(context.Background(), "", handle)
		require.NoError(e.t, err)
		if slices.Contains(store.EndedJobStates, j.State) {
			return j
		}
	}
	e.t.Fatalf("job %s did not end", handle)
	return store.Job{}
}
