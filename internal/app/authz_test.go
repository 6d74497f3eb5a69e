package app

import (
	"bytes"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ipsexport/ipsd/internal/service"
)

// A user of Globex can neither read, follow, stop, download nor learn of
// anything of Acme: through Acme's companyHandle every operation is 20006,
// and through its own companyHandle Acme's handles answer exactly like
// handles that do not exist.
func TestAuthorizationMatrix(t *testing.T) {
	e := newEnv(t, "")
	acme, globex := e.acme.Handle, e.globex.Handle
	hero := e.assets["/hero.png"]
	job := e.submit("secret-job", []string{hero.Handle}, `<fmt>orig</fmt>`)
	zipURL, _ := e.awaitArchive("secret-job")
	folder := hero.FolderHandle
	_, _, resp := e.call("alice@acme.test", `<saveImageFormatParam xmlns="`+ns14+`"><companyHandle>`+acme+`</companyHandle><name>secret-format</name><urlModifier>wid=10</urlModifier></saveImageFormatParam>`)
	format := parseBlind(t, body(t, resp)).text("imageFormatHandle")
	require.NotEmpty(t, format)

	// Every operation that takes a companyHandle, with the object handle
	// placed where the operation wants it.
	ops := []struct{ op, fields string }{
		{"getAssets", `<assetHandleArray><items>%[1]s</items></assetHandleArray>`},
		{"getAssetsByName", `<nameArray><items>hero</items></nameArray>`},
		{"searchAssets", `<folder>%[2]s</folder>`},
		{"getFolders", ``},
		{"deleteAsset", `<assetHandle>%[1]s</assetHandle>`},
		{"deleteAssets", `<assetHandleArray><items>%[1]s</items></assetHandleArray>`},
		{"setUrlModifier", `<assetHandle>%[1]s</assetHandle><urlModifier>wid=1</urlModifier>`},
		{"getImageFormats", ``},
		{"saveImageFormat", `<imageFormatHandle>%[3]s</imageFormatHandle><name>x</name><urlModifier>wid=1</urlModifier>`},
		{"deleteImageFormat", `<imageFormatHandle>%[3]s</imageFormatHandle>`},
		{"submitJob", `<jobName>steal</jobName><exportJob><assetHandleArray><items>%[1]s</items></assetHandleArray><fmt>orig</fmt></exportJob>`},
		{"getActiveJobs", `<jobHandle>%[4]s</jobHandle>`},
		{"getScheduledJobs", `<jobHandle>%[4]s</jobHandle>`},
		{"getJobLogs", ``},
		{"getJobLogDetails", `<jobHandle>%[4]s</jobHandle>`},
		{"pauseJob", `<jobHandle>%[4]s</jobHandle>`},
		{"resumeJob", `<jobHandle>%[4]s</jobHandle>`},
		{"stopJob", `<jobHandle>%[4]s</jobHandle>`},
		{"deleteJob", `<jobHandle>%[4]s</jobHandle>`},
	}
	real := []any{hero.Handle, folder, format, job}
	fake := []any{"a|1|999", "f|1|999", "i|1|999", "j|1|999"}
	call := func(company string, o struct{ op, fields string }, handles []any) (int, string) {
		status, _, resp := e.post(soapPath, soapCall(authU("bob@globex.test"),
			`<`+o.op+`Param xmlns="`+ns14+`"><companyHandle>`+company+`</companyHandle>`+fmt.Sprintf(o.fields, handles...)+`</`+o.op+`Param>`), nil)
		return status, resp
	}
	for _, o := range ops {
		t.Run(o.op, func(t *testing.T) {
			status, resp := call(acme, o, real)
			assert.Equal(t, 500, status, resp)
			assert.Contains(t, resp, "<code>20006</code>", "Acme's companyHandle is refused")

			// Through Globex: the answer to Acme's handles equals the answer
			// to made-up ones, handle text aside.
			s1, r1 := call(globex, o, real)
			s2, r2 := call(globex, o, fake)
			// Handles appear as element text or quoted in a reason.
			for i := range real {
				for _, q := range [][2]string{{">", "<"}, {"&#34;", "&#34;"}, {": ", " ("}} {
					r1 = strings.ReplaceAll(r1, q[0]+real[i].(string)+q[1], q[0]+"H"+q[1])
					r2 = strings.ReplaceAll(r2, q[0]+fake[i].(string)+q[1], q[0]+"H"+q[1])
				}
			}
			r1 = stripVolatile(r1)
			r2 = stripVolatile(r2)
			assert.Equal(t, s2, s1)
			assert.Equal(t, r2, r1)
			assert.NotContains(t, r1, "secret")
			assert.NotContains(t, r1, "hero.png")
		})
	}

	// Acme's things are intact.
	j, err := e.app.Store.JobByHandle(t.Context(), acme, job)
	require.NoError(t, err)
	assert.Equal(t, "Completed", string(j.State))

	// Downloads: Basic as bob is the 404 of a job that does not exist.
	realPath := strings.SplitN(strings.TrimPrefix(zipURL, e.srv.URL), "?", 2)[0]
	fakePath := strings.Replace(realPath, strings.ReplaceAll(job, "|", "%7C"), "j%7C1%7C999", 1)
	s1, b1 := fetch(t, e.srv.URL+realPath, "bob@globex.test")
	s2, b2 := fetch(t, e.srv.URL+fakePath, "bob@globex.test")
	assert.Equal(t, 404, s1)
	assert.Equal(t, s2, s1)
	assert.Equal(t, string(b2), string(b1))
	filePath := strings.TrimSuffix(realPath, ".zip") + "/hero.png"
	s1, _ = fetch(t, e.srv.URL+filePath, "bob@globex.test")
	assert.Equal(t, 404, s1)
}

// stripVolatile removes what differs between two calls whatever the
// handles: job names carry the submit time.
func stripVolatile(s string) string {
	if i := strings.Index(s, "<jobName>"); i >= 0 {
		if j := strings.Index(s[i:], "</jobName>"); j >= 0 {
			s = s[:i] + s[i+j:]
		}
	}
	return s
}

// Roles limit what each user may call, through the one role table: an
// ImagePortalUser may follow job logs but not submit, stop or save formats.
func TestRolesLimitOperations(t *testing.T) {
	e := newEnv(t, "")
	acme := e.acme.Handle
	tests := []struct {
		op, fields string
		allowed    bool
	}{
		{"getJobLogs", ``, true},
		{"getImageFormats", ``, true},
		{"submitJob", `<jobName>x</jobName><exportJob><assetHandleArray><items>` + e.assets["/hero.png"].Handle + `</items></assetHandleArray><fmt>orig</fmt></exportJob>`, false},
		{"stopJob", `<jobHandle>j|1|1</jobHandle>`, false},
		{"saveImageFormat", `<name>x</name><urlModifier>wid=1</urlModifier>`, false},
		{"getAssetsByName", `<nameArray><items>hero</items></nameArray>`, false},
	}
	for _, tc := range tests {
		t.Run(tc.op, func(t *testing.T) {
			status, _, resp := e.post(soapPath, soapCall(authU("viewer@acme.test"),
				`<`+tc.op+`Param xmlns="`+ns14+`"><companyHandle>`+acme+`</companyHandle>`+tc.fields+`</`+tc.op+`Param>`), nil)
			if tc.allowed {
				assert.Equal(t, 200, status, resp)
				return
			}
			assert.Equal(t, 500, status)
			assert.Contains(t, resp, "<code>20003</code>")
			assert.Contains(t, resp, tc.op)
		})
	}
}

// Failed logins are rate-limited per account and address; passwords and
// signing secrets never reach the logs, whatever the level.
func TestLoginLimitAndSecretsNotLogged(t *testing.T) {
	var logs safeBuffer
	e := newEnv(t, "", func(c *Config) {
		c.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
		c.SigningKey = []byte("signing-key-that-must-stay-secret-0123456789")
	})
	// A job (whose links are signed) and a download, logged at debug.
	e.submit("logged", e.handles("/hero.png"), `<fmt>orig</fmt>`)
	zipURL, _ := e.awaitArchive("logged")
	fetch(t, zipURL, "")

	wrong := `<authHeader xmlns="` + nsU + `"><user>alice@acme.test</user><password>guess-%d-wrong</password></authHeader>`
	info := `<getCompanyInfoParam xmlns="` + ns14 + `"><companyHandle>` + e.acme.Handle + `</companyHandle></getCompanyInfoParam>`
	for i := range service.DefaultLoginPolicy().Failures {
		_, _, resp := e.post(soapPath, soapCall(fmt.Sprintf(wrong, i), info), nil)
		require.Contains(t, resp, "<code>10001</code>")
		require.Contains(t, resp, "Invalid username/password")
	}
	// The right password now waits too; another user from the same
	// address is not held up (the address allows more, for proxies).
	_, _, resp := e.post(soapPath, soapCall(authU("alice@acme.test"), info), nil)
	assert.Contains(t, resp, "too many failed logins")
	status, _, resp := e.post(soapPath, soapCall(authU("root@ips.test"), info), nil)
	assert.Equal(t, 200, status, resp)
	out := logs.String()
	assert.NotEmpty(t, out)
	for _, secret := range []string{password, "guess-3-wrong", "signing-key-that-must-stay-secret"} {
		assert.NotContains(t, out, secret)
	}
}

// safeBuffer is a bytes.Buffer for concurrent log writers.
type safeBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *safeBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *safeBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
