package app

import (
	"crypto/sha256"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// uploadPOST sends one UploadFile request as Alice: auth, uploadParams,
// then files (name → bytes, the name may carry a folder path).
func (e *env) uploadPOST(params string, files [][2]string) (int, string) {
	e.t.Helper()
	status, _, resp := e.do("127.0.0.1", e.uploadRequest("alice@acme.test", password, params, files))
	return status, resp
}

// Files arrive the IPS way, in two POSTs of one upload job, are followed
// with the job operations, found in the catalogue, and exported back
// byte for byte.
func TestUploadThenExport(t *testing.T) {
	e := newEnv(t, "")
	photo := string(gradientPNG(t, 120, 80))
	big := strings.Repeat("0123456789abcdef", 64<<10) // 1 MiB, not an image
	first := `<uploadPostParam xmlns="` + ns14 + `"><companyHandle>` + e.acme.Handle + `</companyHandle><jobName>upload-1</jobName>` +
		`<destFolder>incoming/</destFolder><uploadParams><overwrite>true</overwrite></uploadParams></uploadPostParam>`
	status, resp := e.uploadPOST(first, [][2]string{{"photo.png", photo}, {"docs//notes.bin", big}})
	require.Equal(t, 200, status, resp)
	root := parseBlind(t, resp)
	assert.Equal(t, "uploadPostReturn", root.XMLName.Local, "a bare uploadPostReturn")
	jobHandle := root.text("jobHandle")
	require.NotEmpty(t, jobHandle, resp)

	// Running until endJob: getActiveJobs shows it as an Upload job.
	_, active, _ := e.call("alice@acme.test", `<getActiveJobsParam xmlns="`+ns14+`"><companyHandle>`+e.acme.Handle+`</companyHandle><jobHandle>`+jobHandle+`</jobHandle></getActiveJobsParam>`)
	require.Len(t, active.at("jobArray", "items"), 1)
	assert.Equal(t, "Upload", active.at("jobArray", "items")[0].text("type"))

	second := `<uploadPostParam xmlns="` + ns14 + `"><companyHandle>` + e.acme.Handle + `</companyHandle><jobHandle>` + jobHandle + `</jobHandle>` +
		`<destFolder>incoming/</destFolder><endJob>true</endJob></uploadPostParam>`
	status, resp = e.uploadPOST(second, [][2]string{{"late.png", photo}})
	require.Equal(t, 200, status, resp)

	_, logRoot, resp := e.call("alice@acme.test", `<getJobLogDetailsParam xmlns="`+ns14+`"><companyHandle>`+e.acme.Handle+`</companyHandle><jobHandle>`+jobHandle+`</jobHandle></getJobLogDetailsParam>`)
	log := logRoot.at("jobLogArray", "items")
	require.Len(t, log, 1, resp)
	assert.Equal(t, "EndUpload", log[0].text("logType"))
	assert.Equal(t, "3", log[0].text("totalFileCount"))
	assert.Equal(t, "3", log[0].text("fileSuccessCount"))
	var types []string
	for _, d := range log[0].at("detailArray", "items") {
		types = append(types, d.text("logType"))
	}
	assert.Equal(t, []string{"BeginUpload", "OriginalJobName", "JobClient", "JobType", "TotalFileCount",
		"FileBegin", "UploadSuccess", "FileBegin", "UploadSuccess", "FileBegin", "UploadSuccess", "EndUpload"}, types,
		"each file begins, then ends in its outcome")
	_, active, _ = e.call("alice@acme.test", `<getActiveJobsParam xmlns="`+ns14+`"><companyHandle>`+e.acme.Handle+`</companyHandle></getActiveJobsParam>`)
	assert.Empty(t, active.at("jobArray", "items"), "ended at endJob")

	// Found by name and by search, in the folders the names carried.
	_, found, _ := e.call("alice@acme.test", `<getAssetsByNameParam xmlns="`+ns14+`"><companyHandle>`+e.acme.Handle+`</companyHandle><nameArray><items>photo</items><items>notes</items><items>late</items></nameArray></getAssetsByNameParam>`)
	items := found.at("assetArray", "items")
	require.Len(t, items, 3)
	var handles []string
	for _, it := range items {
		handles = append(handles, it.text("assetHandle"))
	}
	_, search, _ := e.call("alice@acme.test", `<searchAssetsParam xmlns="`+ns14+`"><companyHandle>`+e.acme.Handle+`</companyHandle><folder>Acme/incoming/</folder><includeSubfolders>true</includeSubfolders></searchAssetsParam>`)
	assert.Len(t, search.at("assetArray", "items"), 3)

	// Exported with fmt=orig: the same bytes back.
	e.submit("upload-export", handles, `<fmt>orig</fmt>`)
	zipURL, _ := e.awaitArchive("upload-export")
	_, zipBytes := fetch(t, zipURL, "")
	files := unzip(t, zipBytes)
	sum := func(s []byte) [32]byte { return sha256.Sum256(s) }
	assert.Equal(t, sum([]byte(photo)), sum(files["incoming/photo.png"]))
	assert.Equal(t, sum([]byte(photo)), sum(files["incoming/late.png"]))
	assert.Equal(t, sum([]byte(big)), sum(files["incoming/docs/notes.bin"]), "files: %v", keys(files))

	// Uploaded again with overwrite: the asset keeps its handle, so the
	// handles a client kept export the new file.
	photo2 := string(gradientPNG(t, 60, 40))
	again := `<uploadPostParam xmlns="` + ns14 + `"><companyHandle>` + e.acme.Handle + `</companyHandle><jobName>upload-2</jobName>` +
		`<destFolder>incoming/</destFolder><endJob>true</endJob><uploadParams><overwrite>true</overwrite></uploadParams></uploadPostParam>`
	status, resp = e.uploadPOST(again, [][2]string{{"photo.png", photo2}})
	require.Equal(t, 200, status, resp)
	_, found, _ = e.call("alice@acme.test", `<getAssetsByNameParam xmlns="`+ns14+`"><companyHandle>`+e.acme.Handle+`</companyHandle><nameArray><items>photo</items></nameArray></getAssetsByNameParam>`)
	require.Len(t, found.at("assetArray", "items"), 1)
	assert.Equal(t, handles[0], found.at("assetArray", "items")[0].text("assetHandle"))
	e.submit("upload-export-2", handles[:1], `<fmt>orig</fmt>`)
	zipURL, _ = e.awaitArchive("upload-export-2")
	_, zipBytes = fetch(t, zipURL, "")
	files = unzip(t, zipBytes)
	assert.Equal(t, sum([]byte(photo2)), sum(files["incoming/photo.png"]), "files: %v", keys(files))
}
