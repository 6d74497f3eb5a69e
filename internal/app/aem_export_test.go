package app

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"image/png"
	"io"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ipsexport/ipsd/internal/catalog"
)

// The AEM export client (schoudry/eaem-extensions ExportScene7Assets.java,
// DownloadScene7Assets.java; docs/clients.md, "AEM's export client") speaks the
// bare-XML binding: a <Request xmlns=V> holding JAXB-formatted authHeader
// and <op>Param fragments, POSTed to /scene7/api/IpsApiService with only
// Content-Type: text/xml, read with a namespace-blind DOM. It submits,
// polls getJobLogDetails(originalName) every 500 ms until some
// //assetName starts with http, and GETs that URL without credentials.

type aemClient struct {
	e  *env
	ns string
	// faultStatus200 sends faultHttpStatusCode=200, as the AEM tools do.
	faultStatus200 bool
	// gzip sends Accept-Encoding: gzip,deflate and decodes, as HttpClient 4
	// (the AEM bundles) does; Commons HttpClient 3 (the standalone tools)
	// sends none.
	gzip bool
	// ns2 writes the fragments as other JAXB runtimes do:
	// <ns2:authHeader xmlns:ns2=V><ns2:user>…
	ns2 bool
}

var jaxbTag = regexp.MustCompile(`<(/?)([A-Za-z_])`)

// prefixedTag finds a prefixed element tag, which a namespace-blind DOM
// would not find by its local name.
var prefixedTag = regexp.MustCompile(`</?[A-Za-z_][\w.-]*:[A-Za-z_]`)

// call POSTs <Request> with op's Param holding params (JAXB-formatted
// lines) and returns the status, the raw answer and its root.
func (c aemClient) call(t *testing.T, op, params string) (int, string, node) {
	t.Helper()
	fault := ""
	if c.faultStatus200 {
		fault = "\n    <faultHttpStatusCode>200</faultHttpStatusCode>"
	}
	// jaxb.fragment=true, jaxb.formatted.output=true: no declaration,
	// newlines and four-space indentation, each fragment with its own
	// default namespace.
	auth := `<authHeader xmlns="` + c.ns + `">
    <user>alice@acme.test</user>
    <password>` + password + `</password>
    <appName>EAEM Export</appName>
    <appVersion>1.0</appVersion>` + fault + `
</authHeader>`
	param := `<` + op + `Param xmlns="` + c.ns + `">
` + params + `</` + op + `Param>`
	if c.ns2 {
		auth = strings.Replace(jaxbTag.ReplaceAllString(auth, "<${1}ns2:$2"), `xmlns=`, `xmlns:ns2=`, 1)
		param = strings.Replace(jaxbTag.ReplaceAllString(param, "<${1}ns2:$2"), `xmlns=`, `xmlns:ns2=`, 1)
	}
	req := `<Request xmlns="` + c.ns + `">` + auth + param + `</Request>`
	hr, err := http.NewRequest(http.MethodPost, c.e.srv.URL+barePath, strings.NewReader(req))
	require.NoError(t, err)
	hr.Header.Set("Content-Type", "text/xml")
	if c.gzip {
		hr.Header.Set("Accept-Encoding", "gzip,deflate")
	}
	resp, err := (&http.Client{Transport: &http.Transport{DisableCompression: true}}).Do(hr)
	require.NoError(t, err)
	defer resp.Body.Close()
	var rd io.Reader = resp.Body
	if c.gzip {
		require.Equal(t, "gzip", resp.Header.Get("Content-Encoding"), "Accept-Encoding gzip is honoured")
		zr, err := gzip.NewReader(resp.Body)
		require.NoError(t, err)
		rd = zr
	} else {
		require.Empty(t, resp.Header.Get("Content-Encoding"), "no gzip unless asked")
	}
	raw, err := io.ReadAll(rd)
	require.NoError(t, err)
	s := string(raw)
	assert.NotContains(t, s, "Envelope", "the bare binding has no envelope")
	assert.False(t, prefixedTag.MatchString(s), "unprefixed elements for a namespace-blind DOM: %s", s)
	return resp.StatusCode, s, parseBlind(t, s)
}

// ok calls op and requires the bare <opReturn> root in the request's
// namespace.
func (c aemClient) ok(t *testing.T, op, params string) (string, node) {
	t.Helper()
	status, raw, root := c.call(t, op, params)
	require.Equal(t, 200, status, raw)
	require.Equal(t, op+"Return", root.XMLName.Local, raw)
	assert.Equal(t, c.ns, root.XMLName.Space, "answered in the request's namespace")
	return raw, root
}

// fault calls op and requires a bare fault element root with code.
func (c aemClient) fault(t *testing.T, op, params, kind string, code int, reason string) {
	t.Helper()
	status, raw, root := c.call(t, op, params)
	want := 500
	if c.faultStatus200 {
		want = 200
	}
	assert.Equal(t, want, status, raw)
	assert.Equal(t, kind, root.XMLName.Local, raw)
	assert.Equal(t, nsU, root.XMLName.Space, "fault elements are in the unversioned namespace")
	assert.Equal(t, strconv.Itoa(code), root.text("code"), raw)
	assert.Contains(t, root.text("reason"), reason, raw)
	assert.NotContains(t, raw, password)
}

func handleItems(handles []string) string {
	var b strings.Builder
	for _, h := range handles {
		b.WriteString("            <items>" + h + "</items>\n")
	}
	return b.String()
}

// submit sends submitJobParam in the 2016/2017 schema order and returns the
// jobHandle read at /submitJobReturn/jobHandle.
func (c aemClient) submit(t *testing.T, jobName string, handles []string, fields string) string {
	t.Helper()
	_, root := c.ok(t, "submitJob", `    <companyHandle>`+c.e.acme.Handle+`</companyHandle>
    <jobName>`+jobName+`</jobName>
    <exportJob>
        <assetHandleArray>
`+handleItems(handles)+`        </assetHandleArray>
`+fields+`    </exportJob>
`)
	h := root.text("jobHandle")
	require.NotEmpty(t, h)
	return h
}

// findHTTPAssetName is //assetName[starts-with(text(),'http')].
func findHTTPAssetName(n node) string {
	if n.XMLName.Local == "assetName" && strings.HasPrefix(n.Text, "http") {
		return n.Text
	}
	for _, k := range n.Kids {
		if s := findHTTPAssetName(k); s != "" {
			return s
		}
	}
	return ""
}

// follow polls getJobLogDetails(originalName) every 500 ms, as the AEM
// client does, until an assetName is a link; every answer must be a
// getJobLogDetailsReturn, never a fault. It returns the link and the last
// answer.
func (c aemClient) follow(t *testing.T, jobName string) (string, node) {
	t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for time.Now().Before(deadline) {
		_, root := c.ok(t, "getJobLogDetails", `    <companyHandle>`+c.e.acme.Handle+`</companyHandle>
    <originalName>`+jobName+`</originalName>
`)
		if u := findHTTPAssetName(root); u != "" {
			return u, root
		}
		time.Sleep(500 * time.Millisecond)
	}
	t.Fatalf("job %s: no http assetName within 90 s", jobName)
	return "", node{}
}

// aemGet is the AEM tool's Request.Get(url): no credentials.
func aemGet(t *testing.T, rawURL string) map[string][]byte {
	t.Helper()
	resp, err := http.Get(rawURL)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.Equal(t, 200, resp.StatusCode, "%s: %s", rawURL, b)
	return unzip(t, b)
}

// jobLogOf finds a job in /getJobLogsReturn/jobLogArray/items.
func (c aemClient) jobLogOf(t *testing.T, jobHandle string) (node, bool) {
	t.Helper()
	_, root := c.ok(t, "getJobLogs", `    <companyHandle>`+c.e.acme.Handle+`</companyHandle>
    <numRows>1000</numRows>
`)
	for _, it := range root.at("jobLogArray", "items") {
		if it.text("jobHandle") == jobHandle {
			return it, true
		}
	}
	return node{}, false
}

func TestAEMBareExport(t *testing.T) {
	for _, db := range testDatabases(t) {
		t.Run(db.name, func(t *testing.T) {
			e := newEnv(t, db.url(t), func(c *Config) { c.Workers = 1; c.ChunkSize = 1 })
			sources := exportFixture(t, e)
			acme := e.acme.Handle

			t.Run("orig export, 2017-10-29-beta, HttpClient 4", func(t *testing.T) {
				aem := aemClient{e: e, ns: ns17, faultStatus200: true, gzip: true}
				var hs []string
				for _, s := range sources {
					hs = append(hs, e.assets[s.key].Handle)
				}
				// ExportScene7Assets: {folder path with / -> _}{epoch ms}.
				jobName := "Acme_photos_" + strconv.FormatInt(time.Now().UnixMilli(), 10)
				jobHandle := aem.submit(t, jobName, hs, "        <fmt>orig</fmt>\n        <emailSetting>All</emailSetting>\n")
				zipURL, root := aem.follow(t, jobName)

				// /getJobLogDetailsReturn/jobLogArray/items[1]/detailArray/items
				logs := root.at("jobLogArray", "items")
				require.Len(t, logs, 1)
				log := logs[0]
				assert.Equal(t, jobHandle, log.text("jobHandle"))
				assert.Equal(t, jobName, log.text("originalJobName"))
				assert.Equal(t, "EndExport", log.text("logType"))
				assert.NotEmpty(t, log.text("endDate"), "ended")
				details := log.at("detailArray", "items")
				var types []string
				for _, d := range details {
					types = append(types, d.text("logType"))
					assert.NotEmpty(t, d.text("dateCreated"))
					if d.text("logType") == "ExportSuccess" {
						assert.NotEmpty(t, d.text("assetHandle"))
					}
				}
				head := []string{"BeginExport", "OriginalJobName", "JobClient", "JobType", "TotalFileCount"}
				assert.Equal(t, append(append(head, slices.Repeat([]string{"ExportSuccess"}, len(hs))...), "EndExport", "ExportArchive"), types)
				assert.Equal(t, zipURL, details[len(details)-1].text("assetName"), "the first http assetName is the archive")

				files := aemGet(t, zipURL)
				assert.Len(t, files, len(sources), "files: %v", keys(files))
				for _, s := range sources {
					assert.Equal(t, sha256Hex(s.body), sha256Hex(files[s.entry]), "%s byte-identical", s.entry)
				}

				jl, ok := aem.jobLogOf(t, jobHandle)
				require.True(t, ok, "getJobLogs lists %s", jobHandle)
				assert.Equal(t, "EndExport", jl.text("logType"))
				assert.Equal(t, strconv.Itoa(len(hs)), jl.text("totalFileCount"))
				assert.Equal(t, strconv.Itoa(len(hs)), jl.text("fileSuccessCount"))
				assert.Equal(t, "0", jl.text("fileErrorCount"))
				assert.Equal(t, "false", jl.text("fatalError"))
			})

			t.Run("orig export, JAXB ns2 prefixes", func(t *testing.T) {
				aem := aemClient{e: e, ns: ns17, faultStatus200: true, ns2: true}
				jobName := "Acme_shoes_" + strconv.FormatInt(time.Now().UnixMilli(), 10)
				jobHandle := aem.submit(t, jobName, e.handles("shoes/boot.png", "shoes/red/boot.png"), "        <fmt>orig</fmt>\n        <emailSetting>None</emailSetting>\n")
				zipURL, root := aem.follow(t, jobName)
				assert.Equal(t, jobHandle, root.text("jobLogArray", "items", "jobHandle"))
				files := aemGet(t, zipURL)
				assert.Equal(t, []string{"shoes/boot.png", "shoes/red/boot.png"}, sortedNames(files))
				for _, b := range files {
					assert.Equal(t, sha256Hex(tinyPNG(t)), sha256Hex(b))
				}
			})

			t.Run("convert export with a macro, 2014-04-03, HttpClient 3", func(t *testing.T) {
				aem := aemClient{e: e, ns: ns14, faultStatus200: true}
				_, root := aem.ok(t, "saveImageFormat", `    <companyHandle>`+acme+`</companyHandle>
    <name>AEM Thumb</name>
    <urlModifier>fmt=png&amp;wid=120</urlModifier>
`)
				assert.NotEmpty(t, root.text("imageFormatHandle"))
				jobName := "Acme_photos_convert_" + strconv.FormatInt(time.Now().UnixMilli(), 10)
				// The macro by bare name, in another case: matched
				// case-insensitively, and its fmt wins over is_modifier's.
				jobHandle := aem.submit(t, jobName, e.handles("photos/photo.jpg", "photos/wide.png"),
					"        <fmt>convert</fmt>\n        <is_modifier>fmt=jpeg&amp;qlt=70</is_modifier>\n        <macro>aem thumb</macro>\n        <emailSetting>None</emailSetting>\n")
				zipURL, _ := aem.follow(t, jobName)
				files := aemGet(t, zipURL)
				want := map[string][2]int{"photos/photo.png": {120, 90}, "photos/wide.png": {120, 30}}
				assert.Len(t, files, len(want), "files: %v", keys(files))
				for name, size := range want {
					b, ok := files[name]
					if !assert.True(t, ok, "%s in %v", name, keys(files)) {
						continue
					}
					assert.Equal(t, "png", magicFormat(b), name)
					c, err := png.DecodeConfig(bytes.NewReader(b))
					require.NoError(t, err)
					assert.Equal(t, size, [2]int{c.Width, c.Height}, name)
				}
				jl, ok := aem.jobLogOf(t, jobHandle)
				require.True(t, ok)
				assert.Equal(t, "2", jl.text("totalFileCount"))
				assert.Equal(t, "2", jl.text("fileSuccessCount"))
				assert.Equal(t, "0", jl.text("fileErrorCount"))
			})

			t.Run("job control on the bare transport", func(t *testing.T) {
				aem := aemClient{e: e, ns: ns17, faultStatus200: true}
				strict := aemClient{e: e, ns: ns17} // no faultHttpStatusCode: faults are HTTP 500
				im := &catalog.Importer{Store: e.app.Store, Blob: e.app.Blob}
				var hs []string
				for i := range 30 {
					a, err := im.Import(context.Background(), catalog.File{CompanyHandle: acme, FolderPath: "many", FileName: fmt.Sprintf("p%02d.png", i), Body: bytes.NewReader(gradientPNG(t, 600, 400))})
					require.NoError(t, err)
					hs = append(hs, a.Handle)
				}
				jobName := "Acme_many_" + strconv.FormatInt(time.Now().UnixMilli(), 10)
				job := aem.submit(t, jobName, hs, "        <fmt>convert</fmt>\n        <is_modifier>wid=300&amp;fmt=webp&amp;op_usm=1,1,1,0</is_modifier>\n        <emailSetting>None</emailSetting>\n")
				control := func(c aemClient, op string) {
					t.Helper()
					raw, root := c.ok(t, op, "    <companyHandle>"+acme+"</companyHandle>\n    <jobHandle>"+job+"</jobHandle>\n")
					assert.Empty(t, root.Kids, "an empty <%sReturn>: %s", op, raw)
				}
				controlFault := func(c aemClient, op, reason string) {
					t.Helper()
					c.fault(t, op, "    <companyHandle>"+acme+"</companyHandle>\n    <jobHandle>"+job+"</jobHandle>\n", "ipsApiFault", 30001, reason)
				}
				activeJob := func(params string) []node {
					t.Helper()
					_, root := aem.ok(t, "getActiveJobs", "    <companyHandle>"+acme+"</companyHandle>\n"+params)
					return root.at("jobArray", "items")
				}

				control(aem, "pauseJob")
				items := activeJob("    <jobHandle>" + job + "</jobHandle>\n")
				require.Len(t, items, 1)
				assert.Equal(t, job, items[0].text("jobHandle"))
				assert.Equal(t, jobName, items[0].text("originalName"))
				assert.Equal(t, "Export", items[0].text("type"))
				assert.Equal(t, "WaitingClient", items[0].text("state"))
				assert.Equal(t, "Paused", items[0].text("progressMessage"))
				assert.Equal(t, "convert", items[0].text("exportJob", "fmt"), "2017 echoes the exportJob")
				// The echo's assetHandleArray is required by the schema; the
				// server leaves it empty rather than list every handle.
				assert.Len(t, items[0].at("exportJob", "assetHandleArray"), 1)
				assert.Equal(t, "None", items[0].text("exportJob", "emailSetting"))
				var listed bool
				for _, it := range activeJob("") {
					listed = listed || it.text("jobHandle") == job
				}
				assert.True(t, listed, "getActiveJobs by company lists the paused job")

				// While it is held, the AEM poll is answered with the partial
				// log: BeginExport, no link.
				_, root := aem.ok(t, "getJobLogDetails", "    <companyHandle>"+acme+"</companyHandle>\n    <originalName>"+jobName+"</originalName>\n")
				assert.Equal(t, "BeginExport", root.text("jobLogArray", "items", "logType"))
				assert.Empty(t, findHTTPAssetName(root))

				controlFault(aem, "pauseJob", "pauseJob")
				controlFault(strict, "pauseJob", "pauseJob")

				control(aem, "resumeJob")
				control(aem, "stopJob")

				var jl node
				deadline := time.Now().Add(60 * time.Second)
				for time.Now().Before(deadline) {
					var ok bool
					jl, ok = aem.jobLogOf(t, job)
					require.True(t, ok)
					if jl.text("endDate") != "" {
						break
					}
					time.Sleep(100 * time.Millisecond)
				}
				require.NotEmpty(t, jl.text("endDate"), "the stopped job ends")
				assert.Equal(t, "EndExport", jl.text("logType"))
				total, _ := strconv.Atoi(jl.text("totalFileCount"))
				succeeded, _ := strconv.Atoi(jl.text("fileSuccessCount"))
				failed, _ := strconv.Atoi(jl.text("fileErrorCount"))
				assert.Equal(t, 30, total, "totalFileCount = number of handles, stopped or not")
				assert.Zero(t, failed, "what the stop left is cancelled, not failed")
				assert.Less(t, succeeded, 30, "stopped before the end")
				_, det := aem.ok(t, "getJobLogDetails", "    <companyHandle>"+acme+"</companyHandle>\n    <jobHandle>"+job+"</jobHandle>\n"+
					"    <logTypeArray><items>FileCancel</items></logTypeArray>\n")
				assert.Equal(t, strconv.Itoa(total-succeeded), det.text("jobLogArray", "items", "detailTotalRows"),
					"each asset not exported is a FileCancel row: success + cancelled = total")
				assert.Empty(t, activeJob("    <jobHandle>"+job+"</jobHandle>\n"), "an ended job leaves getActiveJobs")
				controlFault(aem, "stopJob", "stopJob")
				controlFault(aem, "resumeJob", "resumeJob")

				// What was done is kept: the archive holds the finished files.
				var zipURL string
				if succeeded > 0 {
					zipURL, _ = aem.follow(t, jobName)
					assert.Len(t, aemGet(t, zipURL), succeeded)
				}

				control(aem, "deleteJob")
				aem.fault(t, "getJobLogDetails", "    <companyHandle>"+acme+"</companyHandle>\n    <jobHandle>"+job+"</jobHandle>\n", "ipsApiFault", 30001, "no such job")
				_, ok := aem.jobLogOf(t, job)
				assert.False(t, ok, "a deleted job leaves getJobLogs")
				if zipURL != "" {
					status, _ := fetch(t, zipURL, "")
					assert.NotEqual(t, 200, status, "a deleted job's archive is gone")
				}

				// Unknown and foreign handles, a foreign company.
				aem.fault(t, "stopJob", "    <companyHandle>"+acme+"</companyHandle>\n    <jobHandle>j|9|999</jobHandle>\n", "ipsApiFault", 30001, "no such job")
				strict.fault(t, "pauseJob", "    <companyHandle>"+e.globex.Handle+"</companyHandle>\n    <jobHandle>"+job+"</jobHandle>\n", "authorizationFault", 20006, e.globex.Handle)
				aem.fault(t, "getJobLogDetails", "    <companyHandle>"+acme+"</companyHandle>\n", "ipsApiFault", 30002, "jobHandle")
			})
		})
	}
}

func sortedNames(m map[string][]byte) []string {
	k := keys(m)
	slices.Sort(k)
	return k
}
