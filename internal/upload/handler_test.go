package upload

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/xml"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ipsexport/ipsd/internal/notify"
	"github.com/ipsexport/ipsd/internal/store"
)

// Several files in two POSTs that share a jobHandle, the second ending the
// job: the job completes with its counts, and each file is an asset in its
// folder with the bytes sent.
func TestTwoPostsShareOneJob(t *testing.T) {
	e := newEnv(t)
	big := noise(300 << 10) // larger than any buffer on the way
	files := []struct {
		part, filename string
		data           []byte
		folder, name   string // expected
		typ            string
	}{
		{"file1", "hero.png", pngBytes(t), "ApiTestCo1/shoes/", "hero.png", "Image"},
		{"file2", "red/boot.jpg", jpegBytes(t, 1), "ApiTestCo1/shoes/red/", "boot.jpg", "Image"},
		{"file3", "ApiTestCo1/other//blob.bin", big, "ApiTestCo1/shoes/ApiTestCo1/other/", "blob.bin", "Asset"},
		{"file1", "anim.gif", gifBytes(t), "ApiTestCo1/", "anim.gif", "Image"},
	}
	first := body(authPart(),
		params("companyHandle", e.co.Handle, "jobName", "uploadFileServlet-1", "destFolder", "shoes",
			"description", "two posts", "uploadParams", jobOpts),
		filePart(files[0].part, files[0].filename, files[0].data),
		filePart(files[1].part, files[1].filename, files[1].data),
		filePart(files[2].part, files[2].filename, files[2].data))
	r1 := e.post(first)
	h1 := e.jobHandle(r1)
	assert.Contains(t, r1.body, `<uploadPostReturn xmlns="`+nsV+`">`)
	assert.Equal(t, "text/xml; charset=utf-8", r1.header.Get("Content-Type"))

	j := e.job(e.co, h1)
	assert.Equal(t, store.JobTypeUpload, j.Type)
	assert.Equal(t, store.JobRunning, j.State)
	assert.Equal(t, "uploadFileServlet-1", j.OriginalName)
	assert.True(t, strings.HasPrefix(j.Name, "uploadFileServlet-1_"), j.Name)
	assert.Equal(t, "two posts", j.Description)
	assert.Equal(t, "en-US", j.Locale)
	assert.Equal(t, e.alice.Handle, j.SubmitUserHandle)
	assert.Equal(t, 3, j.Total)

	// The second POST: the job's handle, no UploadPostJob (the job's own
	// apply), endJob.
	second := body(authPart(),
		params("companyHandle", e.co.Handle, "jobHandle", h1, "endJob", "true"),
		filePart(files[3].part, files[3].filename, files[3].data))
	h2 := e.jobHandle(e.post(second))
	require.Equal(t, h1, h2)

	j = e.job(e.co, h1)
	assert.Equal(t, store.JobCompleted, j.State)
	assert.Equal(t, 4, j.Total)
	assert.Equal(t, 4, j.Succeeded)
	assert.Equal(t, 0, j.Warnings)
	assert.Equal(t, 0, j.Errors)
	assert.False(t, j.Ended.IsZero())
	var total int64
	for _, f := range files {
		total += int64(len(f.data))
	}
	assert.Equal(t, total, j.BytesWritten)

	log := e.jobLog(h1)
	require.Len(t, log, 4)
	for i, f := range files {
		assert.Equal(t, store.OutcomeSuccess, log[i].Outcome, log[i].Message)
		assert.Equal(t, f.name, log[i].FileName)
		assert.Equal(t, strings.TrimPrefix(f.folder, "ApiTestCo1/"), log[i].FolderPath)
		assert.Equal(t, f.typ, log[i].AssetType)
		assert.NotEmpty(t, log[i].AssetHandle)
		assert.Contains(t, log[i].Message, "Uploaded "+log[i].FolderPath+f.name)
	}

	names := []string{"hero", "boot", "blob", "anim"}
	found, err := e.st.AssetsByNames(e.ctx, e.co.Handle, names, nil)
	require.NoError(t, err)
	require.Len(t, found, 4)
	for i, f := range files {
		a := found[i]
		assert.Equal(t, f.folder, a.FolderPath, f.filename)
		assert.Equal(t, f.name, a.FileName)
		assert.Equal(t, f.typ, a.Type)
		assert.Equal(t, e.alice.Handle, a.CreatedBy)
		assert.Equal(t, log[i].AssetHandle, a.Handle)
		assert.True(t, bytes.Equal(f.data, e.blobBytes(a)), "bytes of %s", f.filename)
	}
	assert.Equal(t, 7, found[0].Width)
	checkStorage(t, e.ctx, e.st, e.blob, e.co, e.other)

	// The job has ended: another POST for it is refused.
	r := e.post(body(authPart(), params("companyHandle", e.co.Handle, "jobHandle", h1),
		filePart("file1", "late.png", pngBytes(t))))
	f := parseFault(t, r.body)
	assert.Equal(t, 30001, f.Code)
	assert.Contains(t, f.Reason, "has ended")
	assert.Len(t, e.assets(e.co), 4)
}

// The reference's own example, as sent by Commons HttpClient (properly
// framed): authHeader in the versioned namespace with
// faultHttpStatusCode 200, the example's uploadParams, file names that carry
// the company root folder and a doubled slash.
func TestReferenceExample(t *testing.T) {
	e := newEnv(t)
	auth := xmlPart("auth", `
            <authHeader xmlns="http://www.scene7.com/IpsApi/xsd/2014-04-03">  
                   <user>sampleuser@test.com</user>  
                   <password>`+password+`</password>  
                   <locale>en-US</locale>  
                   <appName>MyUploadServletTest</appName>  
                   <appVersion>1.0</appVersion>  
                   <faultHttpStatusCode>200</faultHttpStatusCode>  
           </authHeader>                   
        `)
	paramsDoc := func(company string) part {
		return xmlPart("uploadParams", `
            <uploadPostParam xmlns="http://www.scene7.com/IpsApi/xsd/2014-04-03"> 
                <companyHandle>`+company+`</companyHandle> 
                <jobName>uploadFileServlet-1376682217351</jobName> 
                <uploadParams> 
                    <overwrite>true</overwrite> 
                    <readyForPublish>true</readyForPublish> 
                    <preservePublishState>true</preservePublishState> 
                    <createMask>true</createMask> 
                    <preserveCrop>true</preserveCrop> 
                    <manualCropOptions> 
                      <left>500</left> 
                      <right>500</right> 
                      <top>500</top> 
                      <bottom>500</bottom> 
                    </manualCropOptions> 
                    <photoshopOptions> 
                      <process>MaintainLayers</process> 
                      <layerOptions> 
                        <layerNaming>AppendNumber</layerNaming> 
                        <anchor>Northwest</anchor> 
                        <createTemplate>true</createTemplate> 
                        <extractText>true</extractText> 
                        <extendLayers>false</extendLayers> 
                      </layerOptions> 
                    </photoshopOptions> 
                    <emailSetting>None</emailSetting> 
                </uploadParams> 
            </uploadPostParam>        
        `)
	}
	jpg1, jpg2 := jpegBytes(t, 1), jpegBytes(t, 2)
	req := body(auth, paramsDoc(e.co.Handle),
		filePart("file1", "ApiTestCo1/UploadFileServlet1376682217351//1376682217351-1.jpg", jpg1),
		filePart("file2", "ApiTestCo1/UploadFileServlet1376682217351//1376682217351-2.jpg", jpg2))

	t.Run("success", func(t *testing.T) {
		r := e.post(req, "User-Agent", "Jakarta Commons-HttpClient/3.1")
		handle := e.jobHandle(r)
		// The success example's shape: a bare uploadPostReturn in the
		// request's namespace.
		assert.True(t, strings.HasPrefix(r.body, `<?xml version="1.0" encoding="UTF-8"?>`), r.body)
		assert.Contains(t, r.body, `<uploadPostReturn xmlns="http://www.scene7.com/IpsApi/xsd/2014-04-03"><jobHandle>`+handle+`</jobHandle></uploadPostReturn>`)
		found, err := e.st.AssetsByNames(e.ctx, e.co.Handle, []string{"1376682217351-1", "1376682217351-2"}, nil)
		require.NoError(t, err)
		require.Len(t, found, 2)
		for i, data := range [][]byte{jpg1, jpg2} {
			assert.Equal(t, "ApiTestCo1/UploadFileServlet1376682217351/", found[i].FolderPath)
			assert.Equal(t, fmt.Sprintf("1376682217351-%d.jpg", i+1), found[i].FileName)
			assert.Equal(t, "Image", found[i].Type)
			assert.Equal(t, data, e.blobBytes(found[i]))
		}
		// Stored, with a warning naming what was asked and not done (the
		// JPEGs are no Photoshop files: photoshopOptions does not concern them).
		j := e.job(e.co, handle)
		assert.Equal(t, store.JobRunning, j.State) // no endJob: it waits for more
		assert.Equal(t, 2, j.Succeeded)
		assert.Equal(t, 2, j.Warnings)
		for _, d := range e.jobLog(handle) {
			assert.Equal(t, store.OutcomeWarning, d.Outcome)
			assert.Contains(t, d.Message, "createMask, manualCropOptions")
			assert.NotContains(t, d.Message, "photoshopOptions")
		}
		spec, err := DecodeSpec(j.Spec)
		require.NoError(t, err)
		assert.True(t, spec.Overwrite)
		assert.Equal(t, "MyUploadServletTest", spec.AppName)
		assert.ElementsMatch(t, []string{"createMask", "manualCropOptions", "photoshopOptions"}, spec.Unapplied)
	})

	t.Run("error", func(t *testing.T) {
		// The error example: faultHttpStatusCode 200 gives HTTP 200 and a
		// bare authenticationFault 10001.
		bad := bytes.Replace(req, []byte(password), []byte("*"), 1)
		r := e.post(bad)
		assert.Equal(t, http.StatusOK, r.status)
		f := parseFault(t, r.body)
		assert.Equal(t, "authenticationFault", f.XMLName.Local)
		assert.Equal(t, 10001, f.Code)
		assert.Equal(t, "Invalid username/password", f.Reason)
		assert.True(t, strings.HasPrefix(r.body, `<?xml version="1.0" encoding="UTF-8"?>`+"\n"+`<authenticationFault xmlns="http://www.scene7.com/IpsApi/xsd"><code>10001</code>`), r.body)
	})

	t.Run("typeset example", func(t *testing.T) {
		// The page as printed closes the multipart ("--B--") before each
		// file part: that is no place for files, and says so.
		before := len(e.assets(e.co))
		var b bytes.Buffer
		b.Write(body(auth, paramsDoc(e.co.Handle)))
		for i, data := range [][]byte{jpg1, jpg2} {
			fmt.Fprintf(&b, "Content-Disposition: form-data; name=\"file%d\"; filename=\"ApiTestCo1/x//%d.jpg\"\r\n"+
				"Content-Type: application/octet-stream; charset=ISO-8859-1\r\nContent-Transfer-Encoding: binary\r\n\r\n", i+1, i)
			b.Write(data)
			b.WriteString("\r\n--" + boundary + "--\r\n")
		}
		r := e.post(b.Bytes())
		assert.Equal(t, http.StatusOK, r.status) // faultHttpStatusCode
		f := parseFault(t, r.body)
		assert.Equal(t, 30003, f.Code)
		assert.Contains(t, f.Reason, "after a closing boundary")
		assert.Len(t, e.assets(e.co), before)
	})
}

// HTTP Basic may stand in for the auth part; without faultHttpStatusCode a
// fault is HTTP 500.
func TestBasicAuthAndStatus(t *testing.T) {
	e := newEnv(t)
	u := url.UserPassword("sampleuser@test.com", password)
	b := body(params("companyHandle", e.co.Handle, "jobName", "basic", "endJob", "1", "uploadParams", jobOpts),
		filePart("f", "a.png", pngBytes(t)))
	r := e.post(b, "Authorization", "Basic "+basic(u))
	h := e.jobHandle(r)
	assert.Equal(t, store.JobCompleted, e.job(e.co, h).State)

	r = e.post(b)
	assert.Equal(t, http.StatusInternalServerError, r.status)
	f := parseFault(t, r.body)
	assert.Equal(t, "authenticationFault", f.XMLName.Local)
	assert.Equal(t, 10000, f.Code)
}

func basic(u *url.Userinfo) string {
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	p, _ := u.Password()
	req.SetBasicAuth(u.Username(), p)
	return strings.TrimPrefix(req.Header.Get("Authorization"), "Basic ")
}

// A POST without files still starts (and may end) its job; gzip request
// bodies are read and gzipResponse is honoured.
func TestNoFilesGzip(t *testing.T) {
	e := newEnv(t)
	b := body(authPart("<gzipResponse>true</gzipResponse>"),
		params("companyHandle", e.co.Handle, "jobName", "empty", "locale", "de-DE", "uploadParams", jobOpts))
	var z bytes.Buffer
	zw := gzip.NewWriter(&z)
	_, _ = zw.Write(b)
	require.NoError(t, zw.Close())
	r := e.post(z.Bytes(), "Content-Encoding", "gzip")
	require.Equal(t, http.StatusOK, r.status)
	require.Equal(t, "gzip", r.header.Get("Content-Encoding"))
	zr, err := gzip.NewReader(strings.NewReader(r.body))
	require.NoError(t, err)
	plain, err := io.ReadAll(zr)
	require.NoError(t, err)
	h := e.jobHandle(response{status: 200, body: string(plain)})
	j := e.job(e.co, h)
	assert.Equal(t, store.JobRunning, j.State)
	assert.Equal(t, "de-DE", j.Locale)
	assert.Equal(t, 0, j.Total)
}

// Bad input: each a fault with its code, a reason naming the field, and
// nothing left: no asset, no blob, no running job.
func TestBadInput(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.MaxFileBytes = 4096 })
	// A job of the other company, and one of ours that has ended.
	theirs := e.jobHandle(e.post(body(
		xmlPart("auth", authDocXML(nsV, "bob@globex.test", password)),
		params("companyHandle", e.other.Handle, "jobName", "theirs", "uploadParams", jobOpts))))
	ended := e.jobHandle(e.post(body(authPart(),
		params("companyHandle", e.co.Handle, "jobName", "ended", "endJob", "true", "uploadParams", jobOpts))))

	co := e.co.Handle
	start := func(extra ...string) part {
		return params(append([]string{"companyHandle", co, "jobName", "bad"}, append(extra, "uploadParams", jobOpts)...)...)
	}
	img := pngBytes(t)
	nul := part{name: "file1", body: img, disposition: `form-data; name="file1"; filename*=UTF-8''a%00b.png`}

	cases := []struct {
		name     string
		body     []byte
		ct       string // Content-Type, when not multipart with the boundary
		kind     string
		code     int
		reason   string // a substring of the reason
		failedJo bool   // a job was created and ended Failed
	}{
		{name: "no auth part", body: body(start(), filePart("f", "a.png", img)),
			kind: "authenticationFault", code: 10000, reason: "no credentials"},
		{name: "wrong password", body: body(xmlPart("auth", authDocXML(nsV, "sampleuser@test.com", "nope")), start(), filePart("f", "a.png", img)),
			kind: "authenticationFault", code: 10001, reason: "Invalid username/password"},
		{name: "unknown user", body: body(xmlPart("auth", authDocXML(nsU, "who@test.com", password)), start(), filePart("f", "a.png", img)),
			kind: "authenticationFault", code: 10001, reason: "Invalid username/password"},
		{name: "accessToken", body: body(xmlPart("auth", `<authHeader xmlns="`+nsU+`"><accessToken>t</accessToken></authHeader>`), start()),
			kind: "authenticationFault", code: 10001, reason: "accessToken"},
		{name: "portal user may not upload", body: body(xmlPart("auth", authDocXML(nsV, "viewer@test.com", password)), start(), filePart("f", "a.png", img)),
			kind: "authorizationFault", code: 20003, reason: "UploadFile"},
		{name: "no uploadParams part", body: body(authPart(), filePart("f", "a.png", img)),
			kind: "ipsApiFault", code: 30002, reason: "uploadParams"},
		{name: "uploadParams after the file", body: body(authPart(), filePart("f", "a.png", img), start()),
			kind: "ipsApiFault", code: 30002, reason: "uploadParams"},
		{name: "no companyHandle", body: body(authPart(), params("jobName", "x", "uploadParams", jobOpts), filePart("f", "a.png", img)),
			kind: "ipsApiFault", code: 30002, reason: "companyHandle"},
		{name: "foreign company", body: body(authPart(), params("companyHandle", e.other.Handle, "jobName", "x", "uploadParams", jobOpts), filePart("f", "a.png", img)),
			kind: "authorizationFault", code: 20006, reason: e.other.Handle},
		{name: "unknown company", body: body(authPart(), params("companyHandle", "c|999", "jobName", "x", "uploadParams", jobOpts), filePart("f", "a.png", img)),
			kind: "authorizationFault", code: 20006, reason: "c|999"},
		{name: "no jobName nor jobHandle", body: body(authPart(), params("companyHandle", co, "uploadParams", jobOpts), filePart("f", "a.png", img)),
			kind: "ipsApiFault", code: 30002, reason: "jobName or jobHandle"},
		{name: "no UploadPostJob", body: body(authPart(), params("companyHandle", co, "jobName", "x"), filePart("f", "a.png", img)),
			kind: "ipsApiFault", code: 30002, reason: "uploadParams/uploadParams"},
		{name: "no overwrite", body: body(authPart(), params("companyHandle", co, "jobName", "x", "uploadParams", "<emailSetting>None</emailSetting>"), filePart("f", "a.png", img)),
			kind: "ipsApiFault", code: 30002, reason: "uploadParams/overwrite"},
		{name: "bad emailSetting", body: body(authPart(), params("companyHandle", co, "jobName", "x", "uploadParams", "<overwrite>false</overwrite><emailSetting>Often</emailSetting>")),
			kind: "ipsApiFault", code: 30001, reason: "uploadParams/emailSetting"},
		{name: "bad endJob", body: body(authPart(), start("endJob", "maybe")),
			kind: "ipsApiFault", code: 30001, reason: `"maybe" for endJob`},
		{name: "unknown jobHandle", body: body(authPart(), params("companyHandle", co, "jobHandle", "j|1|999"), filePart("f", "a.png", img)),
			kind: "ipsApiFault", code: 30001, reason: `"j|1|999" for jobHandle: no such upload job`},
		{name: "jobHandle of another company", body: body(authPart(), params("companyHandle", co, "jobHandle", theirs), filePart("f", "a.png", img)),
			kind: "ipsApiFault", code: 30001, reason: `"` + theirs + `" for jobHandle: no such upload job`},
		{name: "ended job", body: body(authPart(), params("companyHandle", co, "jobHandle", ended), filePart("f", "a.png", img)),
			kind: "ipsApiFault", code: 30001, reason: "has ended"},
		{name: "parent folder", body: body(authPart(), start(), filePart("file1", "../x.png", img)),
			kind: "ipsApiFault", code: 30001, reason: `"../x.png" for filename of file part "file1"`},
		{name: "escape via a folder", body: body(authPart(), start(), filePart("file1", "a/../../x.png", img)),
			kind: "ipsApiFault", code: 30001, reason: `filename of file part "file1"`},
		{name: "backslashes", body: body(authPart(), start(), filePart("file1", `..\\x.png`, img)),
			kind: "ipsApiFault", code: 30001, reason: `filename of file part "file1"`},
		{name: "absolute path", body: body(authPart(), start(), filePart("file1", "/etc/passwd", img)),
			kind: "ipsApiFault", code: 30001, reason: "absolute paths are not allowed"},
		{name: "drive letter", body: body(authPart(), start(), filePart("file1", `C:/x.png`, img)),
			kind: "ipsApiFault", code: 30001, reason: "absolute paths are not allowed"},
		{name: "NUL byte", body: body(authPart(), start(), nul),
			kind: "ipsApiFault", code: 30001, reason: `filename of file part "file1": control characters (NUL included)`},
		{name: "folder, no file", body: body(authPart(), start(), filePart("file1", "shoes/", img)),
			kind: "ipsApiFault", code: 30001, reason: "names a folder"},
		{name: "no filename", body: body(authPart(), start(), part{name: "file1", body: img}),
			kind: "ipsApiFault", code: 30002, reason: `file part "file1" has no filename`},
		{name: "destFolder escapes", body: body(authPart(), start("destFolder", "a/../.."), filePart("f", "x.png", img)),
			kind: "ipsApiFault", code: 30001, reason: "uploadParams/destFolder"},
		{name: "fileName escapes", body: body(authPart(), start("fileName", "../x.png"), filePart("f", "y.png", img)),
			kind: "ipsApiFault", code: 30001, reason: "uploadParams/fileName"},
		{name: "empty file", body: body(authPart(), start(), filePart("file1", "empty.png", nil)),
			kind: "ipsApiFault", code: 30001, reason: `"empty.png" for filename of file part "file1": the file is empty`},
		{name: "file over the limit", body: body(authPart(), start(), filePart("file1", "big.bin", noise(5000))),
			kind: "ipsApiFault", code: 30003, reason: `file part "file1" (big.bin) exceeds the size limit of 4096 bytes`, failedJo: true},
		{name: "malformed auth XML", body: body(xmlPart("auth", "<authHeader><user>x</authHeader>"), start()),
			kind: "ipsApiFault", code: 30003, reason: "auth part"},
		{name: "auth is no authHeader", body: body(xmlPart("auth", "<login/>"), start()),
			kind: "ipsApiFault", code: 30003, reason: "auth part: expected an authHeader"},
		{name: "malformed uploadParams XML", body: body(authPart(), xmlPart("uploadParams", "<uploadPostParam><jobName>x</uploadPostParam>")),
			kind: "ipsApiFault", code: 30003, reason: "uploadParams part"},
		{name: "DTD in uploadParams", body: body(authPart(), xmlPart("uploadParams", `<!DOCTYPE x [<!ENTITY a "b">]><uploadPostParam/>`)),
			kind: "ipsApiFault", code: 30003, reason: "DTD"},
		{name: "auth twice", body: body(authPart(), authPart(), start()),
			kind: "ipsApiFault", code: 30003, reason: "auth part is given twice"},
		{name: "not multipart", body: []byte("<x/>"), ct: "text/xml",
			kind: "ipsApiFault", code: 30003, reason: "multipart/form-data"},
		{name: "no boundary", body: []byte("x"), ct: "multipart/form-data",
			kind: "ipsApiFault", code: 30003, reason: "boundary"},
		{name: "no closing boundary", body: bytes.TrimSuffix(body(authPart(), start()), []byte("--"+boundary+"--\r\n")),
			kind: "ipsApiFault", code: 30003, reason: "truncated"},
		{name: "garbage", body: []byte("--" + boundary + "\r\nno header line\r\n\r\n"),
			kind: "ipsApiFault", code: 30003, reason: "malformed multipart"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := len(e.jobs(e.co))
			hdr := []string{}
			if c.ct != "" {
				hdr = []string{"Content-Type", c.ct}
			}
			r := e.post(c.body, hdr...)
			assert.Equal(t, http.StatusInternalServerError, r.status)
			assert.Equal(t, "text/xml; charset=utf-8", r.header.Get("Content-Type"))
			f := parseFault(t, r.body)
			assert.Equal(t, c.kind, f.XMLName.Local, f.Reason)
			assert.Equal(t, c.code, f.Code, f.Reason)
			assert.Contains(t, f.Reason, c.reason)
			assert.Empty(t, e.assets(e.co))
			assert.Empty(t, e.assets(e.other))
			assert.Empty(t, blobFiles(t, e.blob))
			js := e.jobs(e.co)
			if !c.failedJo {
				assert.Len(t, js, before, "no job is created")
				return
			}
			require.Len(t, js, before+1)
			var j store.Job
			for _, x := range js {
				if x.OriginalName == "bad" && x.State == store.JobFailed {
					j = x
				}
			}
			require.NotEmpty(t, j.Handle, "the job this POST created ended Failed")
			log := e.jobLog(j.Handle)
			require.Len(t, log, 1)
			assert.Equal(t, store.OutcomeError, log[0].Outcome)
			assert.Equal(t, f.Reason, log[0].Message)
			require.NoError(t, e.st.DeleteJob(e.ctx, e.co.Handle, j.Handle))
		})
	}

	// A job continued by jobHandle stays running after a bad file, and
	// its log says what happened.
	t.Run("bad file in a running job", func(t *testing.T) {
		h := e.jobHandle(e.post(body(authPart(), start())))
		r := e.post(body(authPart(), params("companyHandle", co, "jobHandle", h), filePart("file1", "../x.png", img)))
		assert.Equal(t, 30001, parseFault(t, r.body).Code)
		j := e.job(e.co, h)
		assert.Equal(t, store.JobRunning, j.State)
		assert.Equal(t, 1, j.Errors)
		log := e.jobLog(h)
		require.Len(t, log, 1)
		assert.Equal(t, "../x.png", log[0].FileName) // as sent
		assert.Contains(t, log[0].Message, "../x.png")
		assert.Empty(t, e.assets(e.co))
	})

	t.Run("GET", func(t *testing.T) {
		resp, err := http.Get(e.srv.URL + Path)
		require.NoError(t, err)
		defer resp.Body.Close()
		out, _ := io.ReadAll(resp.Body)
		assert.Equal(t, http.StatusInternalServerError, resp.StatusCode)
		assert.Equal(t, "POST", resp.Header.Get("Allow"))
		assert.Equal(t, 30003, parseFault(t, string(out)).Code)
	})
}

// A body that stops in the middle of a file: neither blob nor asset; the
// job the POST created ends Failed.
func TestTruncatedBody(t *testing.T) {
	data := noise(200 << 10)
	cases := []struct {
		name string
		cut  func(full []byte) []byte
	}{
		{"inside the file", func(full []byte) []byte {
			return full[:bytes.Index(full, data)+len(data)/2]
		}},
		{"right after the delimiter", func(full []byte) []byte {
			// mime/multipart ends a part cleanly here: the servlet must not.
			i := bytes.Index(full, data) + len(data)
			return full[:i+len("\r\n--"+boundary)]
		}},
		{"before the closing dashes", func(full []byte) []byte {
			i := bytes.Index(full, data) + len(data)
			return full[:i+len("\r\n--"+boundary)+1]
		}},
	}
	for _, c := range cases {
		full := body(authPart("<faultHttpStatusCode>200</faultHttpStatusCode>"),
			params("companyHandle", "", "jobName", "cut", "uploadParams", jobOpts), filePart("file1", "cut.bin", data))
		t.Run(c.name+"/connection", func(t *testing.T) {
			e := newEnv(t)
			full := bytes.Replace(full, []byte("<companyHandle></companyHandle>"), []byte("<companyHandle>"+e.co.Handle+"</companyHandle>"), 1)
			sent := c.cut(full)
			// Content-Length promises the whole body; the client stops early.
			status, out := rawPost(t, e, sent, len(full))
			e.serving.Wait()
			if status != 0 { // the answer may or may not reach the client
				assert.Equal(t, http.StatusOK, status)
				f := parseFault(t, out)
				assert.Equal(t, 30003, f.Code)
				assert.Contains(t, f.Reason, "truncated")
			}
			assert.Empty(t, e.assets(e.co))
			assert.Empty(t, blobFiles(t, e.blob))
			js := e.jobs(e.co)
			require.Len(t, js, 1)
			assert.Equal(t, store.JobFailed, js[0].State)
			log := e.jobLog(js[0].Handle)
			require.Len(t, log, 1)
			assert.Equal(t, store.OutcomeError, log[0].Outcome)
		})
		t.Run(c.name+"/short body", func(t *testing.T) {
			// The HTTP body itself is whole (a clean EOF), the multipart is not.
			e := newEnv(t)
			full := bytes.Replace(full, []byte("<companyHandle></companyHandle>"), []byte("<companyHandle>"+e.co.Handle+"</companyHandle>"), 1)
			req := httptest.NewRequest(http.MethodPost, Path, bytes.NewReader(c.cut(full)))
			req.Header.Set("Content-Type", "multipart/form-data; boundary="+boundary)
			rec := httptest.NewRecorder()
			e.h.ServeHTTP(rec, req)
			f := parseFault(t, rec.Body.String())
			assert.Equal(t, 30003, f.Code)
			assert.Contains(t, f.Reason, "truncated")
			assert.Empty(t, e.assets(e.co))
			assert.Empty(t, blobFiles(t, e.blob))
			require.Len(t, e.jobs(e.co), 1)
			assert.Equal(t, store.JobFailed, e.jobs(e.co)[0].State)
		})
	}

	t.Run("second file cut", func(t *testing.T) {
		// Files are committed one by one: the whole first file is stored,
		// the cut second one is not, and the job says so.
		e := newEnv(t)
		first := pngBytes(t)
		full := body(authPart(), params("companyHandle", e.co.Handle, "jobName", "cut", "uploadParams", jobOpts),
			filePart("file1", "whole.png", first), filePart("file2", "cut.bin", data))
		status, _ := rawPost(t, e, full[:bytes.Index(full, data)+1000], len(full))
		e.serving.Wait()
		_ = status
		as := e.assets(e.co)
		require.Len(t, as, 1)
		assert.Equal(t, "whole.png", as[0].FileName)
		assert.Equal(t, first, e.blobBytes(as[0]))
		checkStorage(t, e.ctx, e.st, e.blob, e.co)
		j := e.jobs(e.co)[0]
		assert.Equal(t, store.JobFailed, j.State)
		assert.Equal(t, 1, j.Succeeded)
		assert.Equal(t, 1, j.Errors)
	})
}

// rawPost sends a request whose Content-Length is more than it sends,
// then half-closes the connection, and reads the answer if one comes.
func rawPost(t *testing.T, e *env, sent []byte, length int) (int, string) {
	t.Helper()
	addr := strings.TrimPrefix(e.srv.URL, "http://")
	conn, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	defer conn.Close()
	fmt.Fprintf(conn, "POST %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: Jakarta Commons-HttpClient/3.1\r\n"+
		"Content-Type: multipart/form-data; boundary=%s\r\nContent-Length: %d\r\n\r\n", Path, addr, boundary, length)
	_, err = conn.Write(sent)
	require.NoError(t, err)
	require.NoError(t, conn.(*net.TCPConn).CloseWrite())
	_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		return 0, ""
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(out)
}

// UploadPostJob's overwrite: true replaces the file of the asset of the
// same name in the same folder, which keeps its handle, false keeps it and
// logs the new file as not uploaded.
func TestOverwrite(t *testing.T) {
	v1, v2 := jpegBytes(t, 1), jpegBytes(t, 2)
	cases := []struct {
		overwrite bool
		folder2   string // folder of the second upload
		want      [][]byte
		outcome   string
	}{
		{overwrite: true, folder2: "shoes", want: [][]byte{v2}, outcome: store.OutcomeSuccess},
		{overwrite: false, folder2: "shoes", want: [][]byte{v1}, outcome: store.OutcomeError},
		{overwrite: true, folder2: "other", want: [][]byte{v1, v2}, outcome: store.OutcomeSuccess},
		{overwrite: false, folder2: "other", want: [][]byte{v1, v2}, outcome: store.OutcomeSuccess},
	}
	for _, c := range cases {
		t.Run(fmt.Sprintf("overwrite=%v/%s", c.overwrite, c.folder2), func(t *testing.T) {
			e := newEnv(t)
			opts := fmt.Sprintf("<overwrite>%v</overwrite><emailSetting>None</emailSetting>", c.overwrite)
			h := e.jobHandle(e.post(body(authPart(),
				params("companyHandle", e.co.Handle, "jobName", "ow", "destFolder", "shoes", "uploadParams", opts),
				filePart("file1", "Boot.jpg", v1))))
			old := e.assets(e.co)
			require.Len(t, old, 1)
			// The second POST's own uploadParams are ignored: the job's apply.
			other := fmt.Sprintf("<overwrite>%v</overwrite>", !c.overwrite)
			r := e.post(body(authPart(),
				params("companyHandle", e.co.Handle, "jobHandle", h, "destFolder", c.folder2, "endJob", "true", "uploadParams", other),
				filePart("file1", "boot.JPG", v2)))
			require.Equal(t, h, e.jobHandle(r))

			as := e.assets(e.co)
			require.Len(t, as, len(c.want))
			var got [][]byte
			for _, a := range as {
				got = append(got, e.blobBytes(a))
			}
			assert.ElementsMatch(t, c.want, got)
			contents := checkStorage(t, e.ctx, e.st, e.blob, e.co)
			if c.overwrite && c.folder2 == "shoes" {
				assert.Equal(t, map[string][]byte{old[0].Handle: v2}, contents, "the same asset, the new file only")
				assert.Equal(t, "Boot", as[0].Name)
				assert.Equal(t, "boot.JPG", as[0].FileName)
			}
			log := e.jobLog(h)
			require.Len(t, log, 2)
			assert.Equal(t, c.outcome, log[1].Outcome, log[1].Message)
			j := e.job(e.co, h)
			assert.Equal(t, store.JobCompleted, j.State)
			switch {
			case c.outcome == store.OutcomeError:
				assert.Contains(t, log[1].Message, "overwrite option is false")
				assert.Contains(t, log[1].Message, old[0].Handle)
				assert.Equal(t, 1, j.Errors)
			case c.overwrite && c.folder2 == "shoes":
				assert.Contains(t, log[1].Message, "as "+old[0].Handle+", replacing its previous file")
				assert.Equal(t, old[0].Handle, log[1].AssetHandle)
			}
		})
	}
}

// A job that gets no POST for the timeout is ended by Sweep; one that is
// busy or recent is not.
func TestSweep(t *testing.T) {
	e := newEnv(t)
	open := func(name string) string {
		return e.jobHandle(e.post(body(authPart(),
			params("companyHandle", e.co.Handle, "jobName", name, "uploadParams", jobOpts),
			filePart("f", name+".png", pngBytes(t)))))
	}
	idle := open("idle")
	n, err := e.h.Sweep(e.ctx)
	require.NoError(t, err)
	assert.Zero(t, n)

	e.advance(20 * time.Minute)
	recent := open("recent")
	// A POST without files is activity too.
	e.advance(9 * time.Minute)
	e.jobHandle(e.post(body(authPart(), params("companyHandle", e.co.Handle, "jobHandle", recent))))
	e.advance(2 * time.Minute) // idle: 31 minutes; recent: 2

	// One in progress in this process is never ended.
	e.h.act.begin(idle, e.h.now().Add(-time.Hour))
	n, err = e.h.Sweep(e.ctx)
	require.NoError(t, err)
	assert.Zero(t, n)
	e.h.act.end(idle, e.h.now().Add(-time.Hour))

	n, err = e.h.Sweep(e.ctx)
	require.NoError(t, err)
	assert.Equal(t, 1, n)
	assert.Equal(t, store.JobCompleted, e.job(e.co, idle).State)
	assert.Equal(t, store.JobRunning, e.job(e.co, recent).State)

	r := e.post(body(authPart(), params("companyHandle", e.co.Handle, "jobHandle", idle),
		filePart("f", "late.png", pngBytes(t))))
	assert.Contains(t, parseFault(t, r.body).Reason, "has ended")

	e.advance(31 * time.Minute)
	n, err = e.h.Sweep(e.ctx)
	require.NoError(t, err)
	assert.Equal(t, 1, n)
	assert.Equal(t, store.JobCompleted, e.job(e.co, recent).State)
	assert.Len(t, e.assets(e.co), 2, "what was uploaded stays")

	// stopJob leaves an upload job Stopping: the sweep stops it at once. A
	// paused one takes no files.
	stopping, paused := open("stopping"), open("paused")
	for h, state := range map[string]store.JobState{stopping: store.JobStopping, paused: store.JobPaused} {
		ok, err := e.st.SetJobState(e.ctx, h, []store.JobState{store.JobRunning}, state)
		require.NoError(t, err)
		require.True(t, ok)
	}
	r = e.post(body(authPart(), params("companyHandle", e.co.Handle, "jobHandle", paused), filePart("f", "p.png", pngBytes(t))))
	assert.Contains(t, parseFault(t, r.body).Reason, "is Paused")
	n, err = e.h.Sweep(e.ctx)
	require.NoError(t, err)
	assert.Equal(t, 1, n)
	assert.Equal(t, store.JobStopped, e.job(e.co, stopping).State)
	assert.Equal(t, store.JobPaused, e.job(e.co, paused).State)
	e.advance(31 * time.Minute)
	n, err = e.h.Sweep(e.ctx)
	require.NoError(t, err)
	assert.Equal(t, 1, n)
	assert.Equal(t, store.JobCompleted, e.job(e.co, paused).State)
}

// The answer's namespace follows the request's.
func TestNamespaces(t *testing.T) {
	e := newEnv(t)
	for _, ns := range []string{nsU, "http://www.scene7.com/IpsApi/xsd/2023-01-15", "http://www.scene7.com/IpsApi/xsd/2010-01-31"} {
		doc := `<ns1:uploadPostParam xmlns:ns1="` + ns + `"><ns1:companyHandle>` + e.co.Handle +
			`</ns1:companyHandle><ns1:jobName>ns</ns1:jobName><ns1:endJob/><ns1:uploadParams><ns1:overwrite>1</ns1:overwrite></ns1:uploadParams></ns1:uploadPostParam>`
		r := e.post(body(xmlPart("auth", authDocXML(nsU, "sampleuser@test.com", password)), xmlPart("uploadParams", doc)))
		e.jobHandle(r)
		var root struct{ XMLName xml.Name }
		require.NoError(t, xml.Unmarshal([]byte(r.body), &root))
		assert.Equal(t, ns, root.XMLName.Space)
	}
}

// mailEvent is one call of Config.Mail.
type mailEvent struct {
	job     string
	setting string
	event   notify.Event
	total   int
	errors  int
}

// The job's emailSetting decides which events reach Config.Mail: All every
// one, the others only the end, whether endJob, the idle timeout or stopJob
// ends the job. The job handed over carries its counts at that moment.
func TestUploadMailEvents(t *testing.T) {
	var (
		mu     sync.Mutex
		events []mailEvent
	)
	e := newEnv(t, func(c *Config) {
		c.Mail = func(_ context.Context, j store.Job, setting string, ev notify.Event, _ []string) {
			mu.Lock()
			defer mu.Unlock()
			events = append(events, mailEvent{j.Handle, setting, ev, j.Total, j.Errors})
		}
	})
	take := func() []mailEvent {
		mu.Lock()
		defer mu.Unlock()
		out := events
		events = nil
		return out
	}
	opts := func(setting string, overwrite bool) string {
		return fmt.Sprintf(`<overwrite>%t</overwrite><emailSetting>%s</emailSetting>`, overwrite, setting)
	}

	// All: the start, a refused file (an asset of that name exists and
	// overwrite is false), and the end at endJob.
	e.jobHandle(e.post(body(authPart(), params("companyHandle", e.co.Handle, "jobName", "seed", "endJob", "true", "uploadParams", opts("None", true)),
		filePart("f", "taken.png", pngBytes(t)))))
	assert.Empty(t, take(), "None sends nothing")
	all := e.jobHandle(e.post(body(authPart(), params("companyHandle", e.co.Handle, "jobName", "all", "uploadParams", opts("All", false)),
		filePart("f", "taken.png", pngBytes(t)), filePart("g", "new.png", pngBytes(t)))))
	e.jobHandle(e.post(body(authPart(), params("companyHandle", e.co.Handle, "jobHandle", all, "endJob", "true"))))
	assert.Equal(t, []mailEvent{
		{all, "All", notify.Started, 0, 0},
		{all, "All", notify.AssetError, 1, 1},
		{all, "All", notify.Completed, 2, 1},
	}, take())

	// Error: nothing while it runs; at its end only if a file failed.
	clean := e.jobHandle(e.post(body(authPart(), params("companyHandle", e.co.Handle, "jobName", "clean", "endJob", "true", "uploadParams", opts("Error", true)),
		filePart("f", "clean.png", pngBytes(t)))))
	assert.Equal(t, []mailEvent{{clean, "Error", notify.Completed, 1, 0}}, take(),
		"handed over at the end; the policy with the counts decides")

	// JobCompletion: the idle timeout ends the job; stopJob too.
	idle := e.jobHandle(e.post(body(authPart(), params("companyHandle", e.co.Handle, "jobName", "idle", "uploadParams", opts("JobCompletion", true)),
		filePart("f", "idle.png", pngBytes(t)))))
	stopped := e.jobHandle(e.post(body(authPart(), params("companyHandle", e.co.Handle, "jobName", "stopped", "uploadParams", opts("JobCompletion", true)),
		filePart("f", "stopped.png", pngBytes(t)))))
	assert.Empty(t, take())
	ok, err := e.st.SetJobState(e.ctx, stopped, []store.JobState{store.JobRunning}, store.JobStopping)
	require.NoError(t, err)
	require.True(t, ok)
	e.advance(31 * time.Minute)
	n, err := e.h.Sweep(e.ctx)
	require.NoError(t, err)
	assert.Equal(t, 2, n)
	assert.ElementsMatch(t, []mailEvent{
		{idle, "JobCompletion", notify.Completed, 1, 0},
		{stopped, "JobCompletion", notify.Completed, 1, 0},
	}, take())
	n, err = e.h.Sweep(e.ctx)
	require.NoError(t, err)
	assert.Zero(t, n)
	assert.Empty(t, take(), "an ended job is mailed once")
}
