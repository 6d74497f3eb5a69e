package download

import (
	"archive/zip"
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ipsexport/ipsd/internal/blob"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

// fakeJobs implements Jobs from maps.
type fakeJobs struct {
	jobs  map[string]Job
	files map[string][]File
	err   error
}

func (f *fakeJobs) Job(_ context.Context, h string) (Job, error) {
	if f.err != nil {
		return Job{}, f.err
	}
	j, ok := f.jobs[h]
	if !ok {
		return Job{}, ErrNotFound
	}
	return j, nil
}

func (f *fakeJobs) Files(_ context.Context, h string) ([]File, error) {
	return f.files[h], nil
}

func (f *fakeJobs) File(_ context.Context, h, path string) (File, error) {
	for _, file := range f.files[h] {
		if file.Path == path {
			return file, nil
		}
	}
	return File{}, ErrNotFound
}

// fixture is a handler over a local blob store holding:
//
//	acme|J1 (company acme): a.jpg, folder/b b.tif, ünï/ç.png
//	other|J2 (company other): x.jpg
//	acme|OLD (company acme, retention passed): old.jpg
//	acme|GONE (company acme): gone.jpg, listed but not stored
type fixture struct {
	h         *Handler
	store     blob.Store
	jobs      *fakeJobs
	authCalls atomic.Int32
	data      map[string][]byte // by "job/path"
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	st, err := blob.NewLocal(t.TempDir())
	require.NoError(t, err)
	fx := &fixture{store: st, data: map[string][]byte{}}
	fx.jobs = &fakeJobs{
		jobs: map[string]Job{
			"acme|J1":   {Handle: "acme|J1", CompanyHandle: "acme", Expires: testNow.Add(7 * 24 * time.Hour)},
			"other|J2":  {Handle: "other|J2", CompanyHandle: "other"},
			"acme|OLD":  {Handle: "acme|OLD", CompanyHandle: "acme", Expires: testNow.Add(-time.Minute)},
			"acme|GONE": {Handle: "acme|GONE", CompanyHandle: "acme"},
		},
		files: map[string][]File{},
	}
	add := func(job, id, p string, data []byte, store bool) {
		key := "exports/" + id + "/" + p
		if store {
			_, err := st.Put(context.Background(), key, bytes.NewReader(data))
			require.NoError(t, err)
		}
		fx.jobs.files[job] = append(fx.jobs.files[job], File{Path: p, BlobKey: key, Size: int64(len(data))})
		fx.data[job+"/"+p] = data
	}
	add("acme|J1", "1", "a.jpg", incompressible(1, 100<<10), true)
	add("acme|J1", "1", "folder/b b.tif", compressible(2, 50<<10), true)
	add("acme|J1", "1", "ünï/ç.png", []byte("png bytes"), true)
	add("other|J2", "2", "x.jpg", []byte("secret of other"), true)
	add("acme|OLD", "3", "old.jpg", []byte("old"), true)
	add("acme|GONE", "4", "gone.jpg", []byte("gone"), false)

	users := map[string]struct{ pass, company string }{
		"alice": {"pw-a", "acme"},
		"bob":   {"pw-b", "other"},
	}
	fx.h = &Handler{
		Jobs:   fx.jobs,
		Store:  st,
		Signer: testSigner(),
		Authorize: func(_ context.Context, user, pass, _, company string) bool {
			fx.authCalls.Add(1)
			u, ok := users[user]
			return ok && u.pass == pass && company != "" && u.company == company
		},
		Log: slog.New(slog.DiscardHandler),
	}
	return fx
}

func (fx *fixture) signed(job, p string, exp time.Time) string {
	return fx.h.Signer.URL("", job, p, exp)
}

func TestHandler(t *testing.T) {
	fx := newFixture(t)
	later := testNow.Add(time.Hour)
	type basic struct{ user, pass string }
	alice, bob, wrong := &basic{"alice", "pw-a"}, &basic{"bob", "pw-b"}, &basic{"alice", "nope"}
	tests := []struct {
		name     string
		method   string
		target   string
		auth     *basic
		header   map[string]string
		noAuthz  bool // handler without an Authorizer
		wantCode int
		wantBody string // exact, when set
		wantData string // "job/path" whose bytes the body must be
		wantZip  []string
		wantHdr  map[string]string
	}{
		// Signed links, no credentials.
		{name: "signed zip", target: fx.signed("acme|J1", "", later), wantCode: 200,
			wantZip: []string{"a.jpg", "folder/b b.tif", "ünï/ç.png"},
			wantHdr: map[string]string{"Content-Type": "application/zip", "Content-Disposition": `attachment; filename=acme_J1.zip`}},
		{name: "signed file", target: fx.signed("acme|J1", "a.jpg", later), wantCode: 200, wantData: "acme|J1/a.jpg",
			wantHdr: map[string]string{"Content-Type": "image/jpeg", "Content-Length": "102400",
				"Content-Disposition": "attachment; filename=a.jpg", "Accept-Ranges": "bytes",
				"Last-Modified": ""}},
		{name: "signed nested file with space", target: fx.signed("acme|J1", "folder/b b.tif", later), wantCode: 200,
			wantData: "acme|J1/folder/b b.tif",
			wantHdr:  map[string]string{"Content-Type": "image/tiff", "Content-Disposition": `attachment; filename="b b.tif"`}},
		{name: "signed unicode file", target: fx.signed("acme|J1", "ünï/ç.png", later), wantCode: 200,
			wantData: "acme|J1/ünï/ç.png",
			wantHdr:  map[string]string{"Content-Type": "image/png", "Content-Disposition": `attachment; filename*=utf-8''%C3%A7.png`}},
		{name: "file link used for zip", target: strings.Replace(fx.signed("acme|J1", "a.jpg", later), "/a.jpg?", ".zip?", 1),
			wantCode: 403, wantBody: "invalid download link\n"},
		{name: "zip link used for a file", target: strings.Replace(fx.signed("acme|J1", "", later), ".zip?", "/a.jpg?", 1),
			wantCode: 403},
		{name: "link of another file", target: strings.Replace(fx.signed("acme|J1", "a.jpg", later), "/a.jpg?", "/%C3%BCn%C3%AF/%C3%A7.png?", 1),
			wantCode: 403},
		{name: "link of another job", target: strings.Replace(fx.signed("acme|J1", "", later), "acme%7CJ1", "other%7CJ2", 1),
			wantCode: 403},
		{name: "tampered expiry", target: strings.Replace(fx.signed("acme|J1", "", later), "expires=", "expires=1", 1),
			wantCode: 403},
		{name: "expired link", target: fx.signed("acme|J1", "", testNow.Add(-time.Second)),
			wantCode: 403, wantBody: "download link expired\n"},
		{name: "signed, unknown job", target: fx.signed("acme|NOPE", "", later), wantCode: 404, wantBody: "not found\n"},
		{name: "signed, file not listed", target: fx.signed("acme|J1", "nothere.jpg", later), wantCode: 404},
		{name: "signed, retention passed", target: fx.signed("acme|OLD", "", later), wantCode: 410},
		{name: "signed, files swept from storage", target: fx.signed("acme|GONE", "", later), wantCode: 410},
		{name: "signed file swept from storage", target: fx.signed("acme|GONE", "gone.jpg", later), wantCode: 410},

		// Basic credentials.
		{name: "no credentials", target: "/scene7/export/acme%7CJ1.zip", wantCode: 401,
			wantHdr: map[string]string{"WWW-Authenticate": `Basic realm="IPS Export", charset="UTF-8"`}},
		{name: "no credentials, signed links only", noAuthz: true, target: "/scene7/export/acme%7CJ1.zip", wantCode: 403},
		{name: "basic, signed links only", noAuthz: true, auth: alice, target: "/scene7/export/acme%7CJ1.zip", wantCode: 403},
		{name: "member, zip", auth: alice, target: "/scene7/export/acme%7CJ1.zip", wantCode: 200,
			wantZip: []string{"a.jpg", "folder/b b.tif", "ünï/ç.png"}},
		{name: "member, file", auth: alice, target: "/scene7/export/acme%7CJ1/folder/b%20b.tif", wantCode: 200,
			wantData: "acme|J1/folder/b b.tif"},
		{name: "unescaped pipe also accepted", auth: alice, target: "/scene7/export/acme|J1/a.jpg", wantCode: 200,
			wantData: "acme|J1/a.jpg"},
		{name: "member, bad signature falls back to basic", auth: alice,
			target: "/scene7/export/acme%7CJ1.zip?expires=1&sig=AAAA", wantCode: 200},
		{name: "foreign job", auth: bob, target: "/scene7/export/acme%7CJ1.zip", wantCode: 404, wantBody: "not found\n"},
		{name: "foreign file", auth: bob, target: "/scene7/export/acme%7CJ1/a.jpg", wantCode: 404, wantBody: "not found\n"},
		{name: "wrong password", auth: wrong, target: "/scene7/export/acme%7CJ1.zip", wantCode: 404, wantBody: "not found\n"},
		{name: "unknown job", auth: alice, target: "/scene7/export/acme%7CNOPE.zip", wantCode: 404, wantBody: "not found\n"},
		{name: "member, retention passed", auth: alice, target: "/scene7/export/acme%7COLD.zip", wantCode: 410},
		{name: "stranger, retention passed", auth: bob, target: "/scene7/export/acme%7COLD.zip", wantCode: 404, wantBody: "not found\n"},
		{name: "member, file not listed", auth: alice, target: "/scene7/export/acme%7CJ1/b%20b.tif", wantCode: 404},

		// Path safety: all 404 even for a member, before any lookup.
		{name: "dot-dot", auth: alice, target: "/scene7/export/acme%7CJ1/folder/../a.jpg", wantCode: 404},
		{name: "encoded dot-dot", auth: alice, target: "/scene7/export/acme%7CJ1/folder/%2E%2E/a.jpg", wantCode: 404},
		{name: "encoded slash", auth: alice, target: "/scene7/export/acme%7CJ1/folder%2Fb%20b.tif", wantCode: 404},
		{name: "encoded slash in handle", auth: alice, target: "/scene7/export/acme%7CJ1%2Fa.jpg", wantCode: 404},
		{name: "traversal out of the job", auth: alice, target: "/scene7/export/acme%7CJ1/..%2F..%2Fother%7CJ2%2Fx.jpg", wantCode: 404},
		{name: "absolute path", auth: alice, target: "/scene7/export/acme%7CJ1//etc/passwd", wantCode: 404},
		{name: "NUL", auth: alice, target: "/scene7/export/acme%7CJ1/a.jpg%00", wantCode: 404},
		{name: "backslash", auth: alice, target: "/scene7/export/acme%7CJ1/folder%5Cb%20b.tif", wantCode: 404},
		{name: "trailing slash", auth: alice, target: "/scene7/export/acme%7CJ1/", wantCode: 404},
		{name: "handle without .zip", auth: alice, target: "/scene7/export/acme%7CJ1", wantCode: 404},
		{name: "handle with bad characters", auth: alice, target: "/scene7/export/acme%20J1.zip", wantCode: 404},
		{name: "nothing", auth: alice, target: "/scene7/export/", wantCode: 404},

		// Methods, HEAD, ranges.
		{name: "POST", method: "POST", auth: alice, target: "/scene7/export/acme%7CJ1.zip", wantCode: 405,
			wantHdr: map[string]string{"Allow": "GET, HEAD"}},
		{name: "HEAD file", method: "HEAD", target: fx.signed("acme|J1", "a.jpg", later), wantCode: 200, wantBody: "",
			wantHdr: map[string]string{"Content-Length": "102400", "Content-Type": "image/jpeg"}},
		{name: "HEAD zip", method: "HEAD", target: fx.signed("acme|J1", "", later), wantCode: 200, wantBody: "",
			wantHdr: map[string]string{"Content-Type": "application/zip"}},
		{name: "range", target: fx.signed("acme|J1", "ünï/ç.png", later), header: map[string]string{"Range": "bytes=4-"},
			wantCode: 206, wantBody: "bytes", wantHdr: map[string]string{"Content-Range": "bytes 4-8/9", "Content-Length": "5"}},
		{name: "range not satisfiable", target: fx.signed("acme|J1", "ünï/ç.png", later), header: map[string]string{"Range": "bytes=100-"},
			wantCode: 416},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			method := tc.method
			if method == "" {
				method = http.MethodGet
			}
			req := httptest.NewRequest(method, tc.target, nil)
			if tc.auth != nil {
				req.SetBasicAuth(tc.auth.user, tc.auth.pass)
			}
			for k, v := range tc.header {
				req.Header.Set(k, v)
			}
			h := *fx.h
			if tc.noAuthz {
				h.Authorize = nil
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			res := rec.Result()
			body, err := io.ReadAll(res.Body)
			require.NoError(t, err)

			require.Equal(t, tc.wantCode, res.StatusCode, "body: %s", body)
			for k, v := range tc.wantHdr {
				if v == "" {
					assert.NotEmpty(t, res.Header.Get(k), k)
					continue
				}
				assert.Equal(t, v, res.Header.Get(k), k)
			}
			if tc.wantBody != "" || method == http.MethodHead {
				assert.Equal(t, tc.wantBody, string(body))
			}
			if tc.wantData != "" {
				assert.True(t, bytes.Equal(fx.data[tc.wantData], body), "body differs from %s", tc.wantData)
			}
			if tc.wantZip != nil {
				zr, err := zip.NewReader(bytes.NewReader(body), int64(len(body)))
				require.NoError(t, err)
				var names []string
				for _, f := range zr.File {
					names = append(names, f.Name)
					rc, err := f.Open()
					require.NoError(t, err)
					got, err := io.ReadAll(rc)
					require.NoError(t, err)
					assert.True(t, bytes.Equal(fx.data["acme|J1/"+f.Name], got), f.Name)
				}
				assert.Equal(t, tc.wantZip, names)
			}
		})
	}
}

// A stranger learns nothing: an unknown job, a foreign job and a wrong
// password give the same answer, and the password check runs for each.
func TestHandlerStrangerCannotProbe(t *testing.T) {
	fx := newFixture(t)
	answer := func(target, user, pass string) (int, string) {
		req := httptest.NewRequest(http.MethodGet, target, nil)
		req.SetBasicAuth(user, pass)
		rec := httptest.NewRecorder()
		fx.h.ServeHTTP(rec, req)
		return rec.Code, rec.Body.String() + rec.Header().Get("Content-Type")
	}
	fx.authCalls.Store(0)
	c1, b1 := answer("/scene7/export/other%7CJ2.zip", "alice", "pw-a")
	c2, b2 := answer("/scene7/export/other%7CNOPE.zip", "alice", "pw-a")
	c3, b3 := answer("/scene7/export/other%7CJ2/x.jpg", "alice", "pw-a")
	c4, b4 := answer("/scene7/export/other%7CNOPE/x.jpg", "mallory", "x")
	assert.Equal(t, []int{404, 404, 404, 404}, []int{c1, c2, c3, c4})
	assert.Equal(t, []string{b1, b1, b1}, []string{b2, b3, b4})
	assert.Equal(t, int32(4), fx.authCalls.Load(), "the authorizer runs for unknown jobs too")
}

func TestHandlerJobLookupError(t *testing.T) {
	fx := newFixture(t)
	fx.jobs.err = errors.New("database down")
	req := httptest.NewRequest(http.MethodGet, fx.signed("acme|J1", "", testNow.Add(time.Hour)), nil)
	rec := httptest.NewRecorder()
	fx.h.ServeHTTP(rec, req)
	assert.Equal(t, http.StatusInternalServerError, rec.Code)
	assert.NotContains(t, rec.Body.String(), "database")
}

// A store whose readers cannot seek: the file is streamed whole, with its
// length, and Range is ignored.
func TestHandlerNonSeekable(t *testing.T) {
	st := newMemStore()
	st.noSeek = true
	files := putFiles(t, st, "5", 1, 10_000, ".tif")
	h := &Handler{
		Jobs:   &fakeJobs{jobs: map[string]Job{"J5": {Handle: "J5"}}, files: map[string][]File{"J5": files}},
		Store:  st,
		Signer: testSigner(),
		Log:    slog.New(slog.DiscardHandler),
	}
	for _, method := range []string{http.MethodGet, http.MethodHead} {
		t.Run(method, func(t *testing.T) {
			req := httptest.NewRequest(method, h.Signer.URL("", "J5", files[0].Path, testNow.Add(time.Hour)), nil)
			req.Header.Set("Range", "bytes=0-9")
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			assert.Equal(t, http.StatusOK, rec.Code)
			assert.Equal(t, "none", rec.Header().Get("Accept-Ranges"))
			assert.Equal(t, "10000", rec.Header().Get("Content-Length"))
			assert.Equal(t, "image/tiff", rec.Header().Get("Content-Type"))
			if method == http.MethodGet {
				assert.Equal(t, 10_000, rec.Body.Len())
			} else {
				assert.Zero(t, rec.Body.Len())
			}
		})
	}
}

// Mounted on a real server: through a ServeMux pattern, under another
// prefix, and under http.StripPrefix.
func TestHandlerMounted(t *testing.T) {
	fx := newFixture(t)
	later := testNow.Add(time.Hour)
	mux := http.NewServeMux()
	mux.Handle("GET /scene7/export/{rest...}", fx.h)
	mux.Handle("GET /dam/scene7/export/{rest...}", fx.h)
	mux.Handle("GET /dl/", http.StripPrefix("/dl/", fx.h))
	srv := httptest.NewServer(mux)
	defer srv.Close()

	for _, u := range []string{
		fx.signed("acme|J1", "ünï/ç.png", later),
		fx.h.Signer.URL("/dam", "acme|J1", "ünï/ç.png", later),
		strings.Replace(fx.signed("acme|J1", "ünï/ç.png", later), "/scene7/export/", "/dl/", 1),
	} {
		t.Run(u, func(t *testing.T) {
			res, err := http.Get(srv.URL + u)
			require.NoError(t, err)
			defer res.Body.Close()
			body, err := io.ReadAll(res.Body)
			require.NoError(t, err)
			assert.Equal(t, 200, res.StatusCode)
			assert.Equal(t, "png bytes", string(body))
		})
	}

	t.Run("zip, bare client as AEM does", func(t *testing.T) {
		res, err := http.Get(fx.h.Signer.URL(srv.URL, "acme|J1", "", later))
		require.NoError(t, err)
		defer res.Body.Close()
		body, err := io.ReadAll(res.Body)
		require.NoError(t, err)
		require.Equal(t, 200, res.StatusCode)
		assert.Equal(t, []string{"chunked"}, res.TransferEncoding)
		zr, err := zip.NewReader(bytes.NewReader(body), int64(len(body)))
		require.NoError(t, err)
		assert.Len(t, zr.File, 3)
	})

	t.Run("large file over the network, in sendfile chunks", func(t *testing.T) {
		big := incompressible(9, 3<<20+12345)
		_, err := fx.store.Put(context.Background(), "exports/2/big.jpg", bytes.NewReader(big))
		require.NoError(t, err)
		fx.jobs.files["other|J2"] = append(fx.jobs.files["other|J2"], File{Path: "big.jpg", BlobKey: "exports/2/big.jpg"})
		res, err := http.Get(fx.h.Signer.URL(srv.URL, "other|J2", "big.jpg", later))
		require.NoError(t, err)
		defer res.Body.Close()
		body, err := io.ReadAll(res.Body)
		require.NoError(t, err)
		assert.Equal(t, 200, res.StatusCode)
		assert.Equal(t, int64(len(big)), res.ContentLength)
		assert.True(t, bytes.Equal(big, body))
	})

	t.Run("range over the network", func(t *testing.T) {
		req, err := http.NewRequest(http.MethodGet, fx.h.Signer.URL(srv.URL, "acme|J1", "a.jpg", later), nil)
		require.NoError(t, err)
		req.Header.Set("Range", "bytes=1000-1999")
		res, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer res.Body.Close()
		body, err := io.ReadAll(res.Body)
		require.NoError(t, err)
		assert.Equal(t, http.StatusPartialContent, res.StatusCode)
		assert.Equal(t, fx.data["acme|J1/a.jpg"][1000:2000], body)
	})
}

// A file that vanishes halfway through a zip aborts the connection: the
// client gets an error, not a complete-looking truncated archive.
func TestHandlerZipAbort(t *testing.T) {
	fx := newFixture(t)
	fx.jobs.files["acme|J1"] = append(fx.jobs.files["acme|J1"], File{Path: "missing.jpg", BlobKey: "exports/1/missing.jpg"})
	srv := httptest.NewServer(fx.h)
	defer srv.Close()
	res, err := http.Get(fx.h.Signer.URL(srv.URL, "acme|J1", "", testNow.Add(time.Hour)))
	require.NoError(t, err)
	defer res.Body.Close()
	assert.Equal(t, 200, res.StatusCode)
	_, err = io.ReadAll(res.Body)
	assert.ErrorIs(t, err, io.ErrUnexpectedEOF)
}

// A zip that takes longer than the server's WriteTimeout still completes:
// the deadline is pushed out before every write.
func TestHandlerLongZipOutlivesWriteTimeout(t *testing.T) {
	st := newMemStore()
	files := putFiles(t, st, "6", 8, 64<<10, ".jpg")
	st.delay = 60 * time.Millisecond // 8 files: ~480 ms
	h := &Handler{
		Jobs:        &fakeJobs{jobs: map[string]Job{"J6": {Handle: "J6"}}, files: map[string][]File{"J6": files}},
		Store:       st,
		Signer:      testSigner(),
		IdleTimeout: 2 * time.Second,
		Log:         slog.New(slog.DiscardHandler),
	}
	srv := httptest.NewUnstartedServer(h)
	srv.Config.WriteTimeout = 200 * time.Millisecond
	srv.Start()
	defer srv.Close()

	res, err := http.Get(h.Signer.URL(srv.URL, "J6", "", testNow.Add(time.Hour)))
	require.NoError(t, err)
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	zr, err := zip.NewReader(bytes.NewReader(body), int64(len(body)))
	require.NoError(t, err)
	assert.Len(t, zr.File, 8)
}

// Without a signing key, signed links are refused but Basic still works
// and an anonymous request is still challenged.
func TestHandlerWithoutKey(t *testing.T) {
	fx := newFixture(t)
	link := fx.signed("acme|J1", "", testNow.Add(time.Hour))
	h := *fx.h
	h.Signer.Key = nil
	tests := []struct {
		name   string
		target string
		basic  bool
		want   int
	}{
		{"signed link", link, false, http.StatusForbidden},
		{"anonymous", "/scene7/export/acme%7CJ1.zip", false, http.StatusUnauthorized},
		{"member", "/scene7/export/acme%7CJ1.zip", true, http.StatusOK},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequest(http.MethodHead, tc.target, nil)
			if tc.basic {
				req.SetBasicAuth("alice", "pw-a")
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			assert.Equal(t, tc.want, rec.Code)
		})
	}
}

// A client that goes away in the middle of a zip leaves nothing behind:
// the handler's reader and compression goroutines all end (goleak), with
// entries read and deflated ahead in flight when it happened.
func TestHandlerZipClientGoesAway(t *testing.T) {
	ignore := goleak.IgnoreCurrent()
	st := newMemStore()
	files := putFiles(t, st, "7", 30, 2<<20, ".tif")
	h := &Handler{
		Jobs:   &fakeJobs{jobs: map[string]Job{"J7": {Handle: "J7"}}, files: map[string][]File{"J7": files}},
		Store:  st,
		Signer: testSigner(),
		Zip:    ZipOptions{ReadAheadBytes: 8 << 20, Workers: 2},
		Log:    slog.New(slog.DiscardHandler),
	}
	srv := httptest.NewServer(h)
	client := &http.Client{Transport: &http.Transport{}}
	res, err := client.Get(h.Signer.URL(srv.URL, "J7", "", testNow.Add(time.Hour)))
	require.NoError(t, err)
	require.Equal(t, 200, res.StatusCode)
	_, err = io.CopyN(io.Discard, res.Body, 3<<20)
	require.NoError(t, err)
	require.NoError(t, res.Body.Close()) // mid-stream: the connection is dropped
	client.CloseIdleConnections()
	srv.Close() // waits for the handler to return
	goleak.VerifyNone(t, ignore)
}
