package upload

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/xml"
	"fmt"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ipsexport/ipsd/internal/blob"
	"github.com/ipsexport/ipsd/internal/catalog"
	"github.com/ipsexport/ipsd/internal/service"
	"github.com/ipsexport/ipsd/internal/store"
	"github.com/ipsexport/ipsd/internal/store/sqlite"
)

const (
	password = "s3cret-pass"
	boundary = "O9-ba7tieRtqA4QRSaVk-eDq6658SPrYfvUcJ" // the reference example's
	nsV      = "http://www.scene7.com/IpsApi/xsd/2014-04-03"
	nsU      = "http://www.scene7.com/IpsApi/xsd"
)

// env is the servlet over a real SQLite store, a real blob.Local and the
// real service, behind an httptest server.
type env struct {
	t       testing.TB
	ctx     context.Context
	st      *sqlite.Store
	blob    *blob.Local
	h       *Handler
	srv     *httptest.Server
	clock   atomic.Pointer[time.Time]
	serving sync.WaitGroup

	// co ("ApiTestCo1", as the reference's example) and other ("Globex").
	co, other store.Company
	// alice is an IpsUser of co, bob of other; viewer an ImagePortalUser of co.
	alice, bob, viewer store.User
}

func newEnv(t testing.TB, opts ...func(*Config)) *env {
	e := &env{t: t, ctx: context.Background()}
	dir := t.TempDir()
	st, err := sqlite.Open(e.ctx, filepath.Join(dir, "ips.db"))
	require.NoError(t, err)
	t.Cleanup(func() { st.Close() })
	require.NoError(t, st.Migrate(e.ctx))
	e.st = st
	e.blob, err = blob.NewLocal(filepath.Join(dir, "blobs"))
	require.NoError(t, err)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	now := time.Now()
	e.clock.Store(&now)
	cfg := Config{
		Service:  service.New(st, log, service.Config{}),
		Store:    st,
		Importer: &catalog.Importer{Store: st, Blob: e.blob},
		Logger:   log,
		Now:      func() time.Time { return *e.clock.Load() },
	}
	for _, o := range opts {
		o(&cfg)
	}
	e.h, err = New(cfg)
	require.NoError(t, err)
	e.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e.serving.Add(1)
		defer e.serving.Done()
		if r.URL.Path != Path {
			http.NotFound(w, r)
			return
		}
		e.h.ServeHTTP(w, r)
	}))
	t.Cleanup(e.srv.Close)

	e.co, err = st.CreateCompany(e.ctx, "ApiTestCo1")
	require.NoError(t, err)
	e.other, err = st.CreateCompany(e.ctx, "Globex")
	require.NoError(t, err)
	hash, err := service.HashPassword(password)
	require.NoError(t, err)
	mk := func(email, role string, co store.Company) store.User {
		u, err := st.CreateUser(e.ctx, store.NewUser{Email: email, Role: role, PasswordHash: hash})
		require.NoError(t, err)
		require.NoError(t, st.AddMembership(e.ctx, u.Handle, co.Handle))
		return u
	}
	e.alice = mk("sampleuser@test.com", store.RoleIpsUser, e.co)
	e.bob = mk("bob@globex.test", store.RoleIpsUser, e.other)
	e.viewer = mk("viewer@test.com", store.RoleImagePortalUser, e.co)
	return e
}

func (e *env) advance(d time.Duration) {
	t := e.clock.Load().Add(d)
	e.clock.Store(&t)
}

// ---- building requests ----

type part struct {
	name     string
	filename *string // nil: no filename parameter
	headers  []string
	body     []byte
	// disposition, when set, replaces the Content-Disposition value.
	disposition string
}

func fname(s string) *string { return &s }

func filePart(name, filename string, body []byte) part {
	return part{name: name, filename: fname(filename), body: body,
		headers: []string{"Content-Type: application/octet-stream; charset=ISO-8859-1", "Content-Transfer-Encoding: binary"}}
}

func xmlPart(name, doc string) part {
	return part{name: name, body: []byte(doc),
		headers: []string{"Content-Type: text/plain; charset=US-ASCII", "Content-Transfer-Encoding: 8bit"}}
}

// body writes parts as a multipart/form-data body, CRLF-framed.
func body(parts ...part) []byte {
	var b bytes.Buffer
	for _, p := range parts {
		b.WriteString("--" + boundary + "\r\n")
		disp := p.disposition
		if disp == "" {
			disp = fmt.Sprintf("form-data; name=%q", p.name)
			if p.filename != nil {
				disp += fmt.Sprintf("; filename=%q", *p.filename)
			}
		}
		b.WriteString("Content-Disposition: " + disp + "\r\n")
		for _, h := range p.headers {
			b.WriteString(h + "\r\n")
		}
		b.WriteString("\r\n")
		b.Write(p.body)
		b.WriteString("\r\n")
	}
	b.WriteString("--" + boundary + "--\r\n")
	return b.Bytes()
}

func authDocXML(ns, user, pass string, extra ...string) string {
	return `<authHeader xmlns="` + ns + `"><user>` + user + `</user><password>` + pass + `</password>` +
		`<locale>en-US</locale><appName>MyUploadServletTest</appName><appVersion>1.0</appVersion>` +
		strings.Join(extra, "") + `</authHeader>`
}

func authPart(extra ...string) part {
	return xmlPart("auth", authDocXML(nsV, "sampleuser@test.com", password, extra...))
}

// params writes an uploadPostParam document; fields are element name,
// value pairs, in order (the value is raw XML).
func params(fields ...string) part {
	var b strings.Builder
	b.WriteString(`<uploadPostParam xmlns="` + nsV + `">`)
	for i := 0; i+1 < len(fields); i += 2 {
		b.WriteString("<" + fields[i] + ">" + fields[i+1] + "</" + fields[i] + ">")
	}
	b.WriteString(`</uploadPostParam>`)
	return xmlPart("uploadParams", b.String())
}

const jobOpts = `<overwrite>true</overwrite><readyForPublish>true</readyForPublish>` +
	`<preservePublishState>true</preservePublishState><createMask>false</createMask><emailSetting>None</emailSetting>`

type response struct {
	status int
	header http.Header
	body   string
}

func (e *env) post(b []byte, hdr ...string) response {
	e.t.Helper()
	req, err := http.NewRequest(http.MethodPost, e.srv.URL+Path, bytes.NewReader(b))
	require.NoError(e.t, err)
	req.Header.Set("Content-Type", "multipart/form-data; boundary="+boundary)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := (&http.Client{Transport: &http.Transport{DisableCompression: true}}).Do(req)
	require.NoError(e.t, err)
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	require.NoError(e.t, err)
	return response{resp.StatusCode, resp.Header, string(out)}
}

// jobHandle reads a successful answer.
func (e *env) jobHandle(r response) string {
	e.t.Helper()
	require.Equal(e.t, http.StatusOK, r.status, r.body)
	var ret struct {
		XMLName   xml.Name
		JobHandle string `xml:"jobHandle"`
	}
	require.NoError(e.t, xml.Unmarshal([]byte(r.body), &ret), r.body)
	require.Equal(e.t, "uploadPostReturn", ret.XMLName.Local, r.body)
	require.NotEmpty(e.t, ret.JobHandle, r.body)
	return ret.JobHandle
}

type fault struct {
	XMLName xml.Name
	Code    int    `xml:"code"`
	Reason  string `xml:"reason"`
}

func parseFault(t testing.TB, body string) fault {
	t.Helper()
	var f fault
	require.NoError(t, xml.Unmarshal([]byte(body), &f), body)
	require.Equal(t, nsU, f.XMLName.Space, body)
	return f
}

// ---- inspecting the store and storage ----

// assets lists every asset of co.
func (e *env) assets(co store.Company) []store.Asset {
	e.t.Helper()
	as, _, err := e.st.SearchAssets(e.ctx, store.AssetQuery{CompanyHandle: co.Handle, IncludeSubfolders: true})
	require.NoError(e.t, err)
	return as
}

// blobFiles lists every file under the blob root (temporary files too).
func blobFiles(t testing.TB, b *blob.Local) []string {
	var out []string
	err := filepath.WalkDir(b.Root(), func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			rel, _ := filepath.Rel(b.Root(), p)
			out = append(out, filepath.ToSlash(rel))
		}
		return nil
	})
	require.NoError(t, err)
	return out
}

// checkStorage asserts that blobs and assets match one to one, each
// blob holding exactly the bytes its asset says, once the files of
// replaced and removed assets (kept a while for exports) are collected.
func checkStorage(t testing.TB, ctx context.Context, st store.Store, b *blob.Local, cos ...store.Company) map[string][]byte {
	t.Helper()
	_, err := (&catalog.Collector{Store: st, Blob: b}).Sweep(ctx)
	require.NoError(t, err)
	keys := map[string]store.Asset{}
	for _, co := range cos {
		as, _, err := st.SearchAssets(ctx, store.AssetQuery{CompanyHandle: co.Handle, IncludeSubfolders: true})
		require.NoError(t, err)
		for _, a := range as {
			keys[a.StorageKey] = a
		}
	}
	files := blobFiles(t, b)
	require.Len(t, files, len(keys), "blob files %v vs assets %d", files, len(keys))
	contents := map[string][]byte{}
	for _, f := range files {
		a, ok := keys[f]
		require.True(t, ok, "blob %s belongs to no asset", f)
		rc, _, err := b.Open(ctx, f)
		require.NoError(t, err)
		data, err := io.ReadAll(rc)
		rc.Close()
		require.NoError(t, err)
		sum := sha256.Sum256(data)
		require.Equal(t, a.Size, int64(len(data)), "asset %s size", a.Handle)
		require.Equal(t, a.SHA256, hex.EncodeToString(sum[:]), "asset %s sha256", a.Handle)
		contents[a.Handle] = data
	}
	return contents
}

func (e *env) blobBytes(a store.Asset) []byte {
	e.t.Helper()
	rc, _, err := e.blob.Open(e.ctx, a.StorageKey)
	require.NoError(e.t, err)
	defer rc.Close()
	data, err := io.ReadAll(rc)
	require.NoError(e.t, err)
	return data
}

func (e *env) job(co store.Company, handle string) store.Job {
	e.t.Helper()
	j, err := e.st.JobByHandle(e.ctx, co.Handle, handle)
	require.NoError(e.t, err)
	return j
}

func (e *env) jobLog(handle string) []store.JobAsset {
	e.t.Helper()
	as, _, err := e.st.JobAssets(e.ctx, store.JobAssetQuery{JobHandle: handle})
	require.NoError(e.t, err)
	return as
}

func (e *env) jobs(co store.Company) []store.Job {
	e.t.Helper()
	js, err := e.st.ListJobs(e.ctx, store.JobQuery{CompanyHandle: co.Handle})
	require.NoError(e.t, err)
	return js
}

// ---- files ----

func testImage() image.Image {
	img := image.NewNRGBA(image.Rect(0, 0, 7, 5))
	for i := range img.Pix {
		img.Pix[i] = byte(i * 37)
	}
	return img
}

func pngBytes(t testing.TB) []byte {
	var b bytes.Buffer
	require.NoError(t, png.Encode(&b, testImage()))
	return b.Bytes()
}

func jpegBytes(t testing.TB, seed int) []byte {
	img := image.NewRGBA(image.Rect(0, 0, 16, 9))
	for i := range img.Pix {
		img.Pix[i] = byte(i*13 + seed)
	}
	var b bytes.Buffer
	require.NoError(t, jpeg.Encode(&b, img, nil))
	return b.Bytes()
}

func gifBytes(t testing.TB) []byte {
	img := image.NewPaletted(image.Rect(0, 0, 4, 4), color.Palette{color.Black, color.White})
	var b bytes.Buffer
	require.NoError(t, gif.Encode(&b, img, nil))
	return b.Bytes()
}

// noise is n bytes that no sniffer types and no boundary search matches.
func noise(n int) []byte {
	out := make([]byte, n)
	x := uint32(2463534242)
	for i := range out {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		out[i] = byte(x)
	}
	return out
}
