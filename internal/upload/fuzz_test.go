package upload

import (
	"bytes"
	"context"
	"encoding/xml"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ipsexport/ipsd/internal/soap"
	"github.com/ipsexport/ipsd/internal/store"
)

// fuzzAuth checks one fixed password without bcrypt, so that the fuzzer
// spends its time in the multipart body; companies are the real service's.
type fuzzAuth struct {
	Authorizer
	st store.Store
}

func (a fuzzAuth) Login(ctx context.Context, email, pw, _ string) (store.User, error) {
	if pw != password {
		return store.User{}, soap.AuthnFault(soap.CodeInvalidCredentials, "Invalid username/password")
	}
	u, err := a.st.UserByEmail(ctx, email)
	if err != nil {
		return store.User{}, soap.AuthnFault(soap.CodeInvalidCredentials, "Invalid username/password")
	}
	return u, nil
}

// FuzzUploadRequest sends arbitrary multipart bodies (boundary fixed, HTTP
// Basic credentials given, so that bodies without an auth part go deep).
// Whatever the body: an answer that is an uploadPostReturn or a bare fault,
// never a 30000 (a panic is one); blobs and assets match one to one, each
// asset holding exactly the bytes of a part that was delimited in full; a
// POST that faults leaves no new running job.
func FuzzUploadRequest(f *testing.F) {
	e := newEnv(f, func(c *Config) {
		c.MaxFileBytes = 64 << 10
	})
	e.h.cfg.Service = fuzzAuth{Authorizer: e.h.cfg.Service, st: e.st}
	ctx := context.Background()
	img := pngBytes(f)
	f.Add(body(authPart(), params("companyHandle", "c|1", "jobName", "fz", "endJob", "true", "uploadParams", jobOpts),
		filePart("file1", "a/b//c.png", img), filePart("file2", "d.bin", noise(300))))
	f.Add(body(params("companyHandle", "c|1", "jobName", "fz", "fileName", "x.txt", "uploadParams", "<overwrite>false</overwrite>"),
		part{name: "f", body: []byte("hello")}))

	f.Fuzz(func(t *testing.T, data []byte) {
		running := func() int {
			js, err := e.st.ListJobs(ctx, store.JobQuery{CompanyHandle: e.co.Handle, States: []store.JobState{store.JobRunning}})
			require.NoError(t, err)
			return len(js)
		}
		before := running()
		req := httptest.NewRequest(http.MethodPost, Path, bytes.NewReader(data))
		req.Header.Set("Content-Type", "multipart/form-data; boundary="+boundary)
		req.SetBasicAuth("sampleuser@test.com", password)
		rec := httptest.NewRecorder()
		e.h.ServeHTTP(rec, req)

		var root struct {
			XMLName   xml.Name
			JobHandle string `xml:"jobHandle"`
			Code      int    `xml:"code"`
			Reason    string `xml:"reason"`
		}
		require.NoError(t, xml.Unmarshal(rec.Body.Bytes(), &root), rec.Body.String())
		switch rec.Code {
		case http.StatusOK:
			if root.XMLName.Local == "uploadPostReturn" {
				require.NotEmpty(t, root.JobHandle)
				break
			}
			// faultHttpStatusCode 200 from an auth part.
			fallthrough
		default:
			require.Contains(t, []string{"authenticationFault", "authorizationFault", "ipsApiFault"}, root.XMLName.Local, rec.Body.String())
			require.NotEqual(t, soap.CodeException, root.Code, root.Reason)
			require.NotEmpty(t, root.Reason)
			require.Equal(t, before, running(), "a POST that faulted left a running job: %s", root.Reason)
		}

		contents := checkStorage(t, ctx, e.st, e.blob, e.co, e.other)
		qp := bytes.Contains(bytes.ToLower(data), []byte("quoted-printable"))
		for h, c := range contents {
			if !qp { // quoted-printable parts are stored decoded
				crlf := append(append([]byte{}, c...), []byte("\r\n--"+boundary)...)
				lf := append(append([]byte{}, c...), []byte("\n--"+boundary)...)
				require.True(t, bytes.Contains(data, crlf) || bytes.Contains(data, lf),
					"asset %s holds %d bytes that no delimiter ends in the body", h, len(c))
			}
			require.NoError(t, e.st.DeleteAsset(ctx, e.co.Handle, h))
		}
		for _, k := range blobFiles(t, e.blob) {
			require.NoError(t, e.blob.Delete(ctx, k))
		}
		// Keep the store small, so that every input costs the same.
		js, err := e.st.ListJobs(ctx, store.JobQuery{CompanyHandle: e.co.Handle})
		require.NoError(t, err)
		for _, j := range js {
			require.NoError(t, e.st.DeleteJob(ctx, e.co.Handle, j.Handle))
		}
	})
}
