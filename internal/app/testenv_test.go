package app

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ipsexport/ipsd/internal/catalog"
	"github.com/ipsexport/ipsd/internal/service"
	"github.com/ipsexport/ipsd/internal/store"
)

// env is a real server on loopback over a real store, seeded with two
// companies so that isolation can be checked.
type env struct {
	t      *testing.T
	app    *App
	srv    *httptest.Server
	acme   store.Company
	globex store.Company
	// alice is an IpsUser of Acme; bob of Globex; root an IpsAdmin; viewer
	// an ImagePortalUser of Acme (may not save formats).
	alice, bob, root, viewer store.User
	assets                   map[string]store.Asset // by file name, Acme's
	globexAsset              store.Asset
}

const password = "s3cret-pass"

func newEnv(t *testing.T, databaseURL string, opts ...func(*Config)) *env {
	t.Helper()
	ctx := context.Background()
	cfg := Config{
		DataDir: t.TempDir(), DatabaseURL: databaseURL,
		Logger:          slog.New(slog.NewTextHandler(io.Discard, nil)),
		MaxRequestBytes: 1 << 20,
		Workers:         2,
		ChunkSize:       2,
	}
	for _, o := range opts {
		o(&cfg)
	}
	a, err := Open(ctx, cfg)
	require.NoError(t, err)
	require.NoError(t, a.Start(ctx))
	t.Cleanup(func() { a.Close() })
	e := &env{t: t, app: a, assets: map[string]store.Asset{}}
	e.srv = httptest.NewServer(a.Handler())
	t.Cleanup(e.srv.Close)

	st := a.Store
	e.acme, err = st.CreateCompany(ctx, "Acme")
	require.NoError(t, err)
	e.globex, err = st.CreateCompany(ctx, "Globex")
	require.NoError(t, err)
	hash, err := service.HashPassword(password)
	require.NoError(t, err)
	mkUser := func(email, role string, cos ...store.Company) store.User {
		u, err := st.CreateUser(ctx, store.NewUser{Email: email, Role: role, PasswordHash: hash, FirstName: "F", LastName: "L"})
		require.NoError(t, err)
		for _, co := range cos {
			require.NoError(t, st.AddMembership(ctx, u.Handle, co.Handle))
		}
		return u
	}
	e.alice = mkUser("alice@acme.test", store.RoleIpsUser, e.acme)
	e.bob = mkUser("bob@globex.test", store.RoleIpsUser, e.globex)
	e.root = mkUser("root@ips.test", store.RoleIpsAdmin)
	e.viewer = mkUser("viewer@acme.test", store.RoleImagePortalUser, e.acme)

	im := &catalog.Importer{Store: st, Blob: a.Blob}
	for _, f := range []struct{ folder, name string }{{"", "hero.png"}, {"shoes", "boot.png"}, {"shoes/red", "boot.png"}} {
		asset, err := im.Import(ctx, catalog.File{CompanyHandle: e.acme.Handle, FolderPath: f.folder, FileName: f.name, Body: bytes.NewReader(tinyPNG(t))})
		require.NoError(t, err)
		e.assets[f.folder+"/"+f.name] = asset
	}
	e.globexAsset, err = im.Import(ctx, catalog.File{CompanyHandle: e.globex.Handle, FileName: "secret.png", Body: bytes.NewReader(tinyPNG(t))})
	require.NoError(t, err)
	return e
}

// post sends body to path and returns status, headers and the (decoded) body.
func (e *env) post(path, body string, hdr map[string]string) (int, http.Header, string) {
	e.t.Helper()
	req, err := http.NewRequest(http.MethodPost, e.srv.URL+path, strings.NewReader(body))
	require.NoError(e.t, err)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := (&http.Client{Transport: &http.Transport{DisableCompression: true}}).Do(req)
	require.NoError(e.t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(e.t, err)
	return resp.StatusCode, resp.Header, string(b)
}

func (e *env) get(path string) (int, string) {
	e.t.Helper()
	resp, err := http.Get(e.srv.URL + path)
	require.NoError(e.t, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}
