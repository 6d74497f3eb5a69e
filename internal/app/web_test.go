package app

import (
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ipsexport/ipsd/internal/service"
)

// webClient is a browser without JavaScript: a cookie jar, redirects not
// followed so that each answer can be checked.
type webClient struct {
	t    *testing.T
	base string
	http *http.Client
}

func newWebClient(t *testing.T, base string) *webClient {
	jar, err := cookiejar.New(nil)
	require.NoError(t, err)
	return &webClient{t: t, base: base, http: &http.Client{Jar: jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

func (c *webClient) do(req *http.Request) (int, http.Header, string) {
	c.t.Helper()
	resp, err := c.http.Do(req)
	require.NoError(c.t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(c.t, err)
	return resp.StatusCode, resp.Header, string(b)
}

func (c *webClient) get(path string) (int, http.Header, string) {
	c.t.Helper()
	req, err := http.NewRequest(http.MethodGet, c.base+path, nil)
	require.NoError(c.t, err)
	return c.do(req)
}

func (c *webClient) post(path string, form url.Values, hdr ...string) (int, http.Header, string) {
	c.t.Helper()
	req, err := http.NewRequest(http.MethodPost, c.base+path, strings.NewReader(form.Encode()))
	require.NoError(c.t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	return c.do(req)
}

var csrfInput = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// token is the CSRF token of the forms on the page at path.
func (c *webClient) token(path string) string {
	c.t.Helper()
	status, _, body := c.get(path)
	require.Equal(c.t, 200, status, body)
	m := csrfInput.FindStringSubmatch(body)
	require.NotNil(c.t, m, "no form on %s", path)
	return m[1]
}

// signIn signs in through the form and reports the page's answer.
func (c *webClient) signIn(email, pw string) (int, string) {
	c.t.Helper()
	status, hdr, body := c.post("/jobs/login", url.Values{"user": {email}, "password": {pw}, "csrf": {c.token("/jobs/login")}})
	return status, hdr.Get("Location") + body
}

func jobPath(handle string) string { return "/jobs/" + url.PathEscape(handle) }

// The Jobs page's rules against the real service: who sees which jobs
// and buttons (the role table and company memberships), another
// company's job answered exactly like one that does not exist, CSRF on
// every form, a password change ending sessions, and the API's
// failed-login limits shared with the sign-in form.
func TestJobsPageRules(t *testing.T) {
	e := newEnv(t, "")
	hero := e.assets["/hero.png"].Handle
	done := e.submit("done-job", []string{hero}, `<fmt>orig</fmt>`)
	e.awaitArchive("done-job")
	status, _, resp := e.post(soapPath, soapCall(authU("alice@acme.test"), `<submitJobParam xmlns="`+ns14+`"><companyHandle>`+e.acme.Handle+`</companyHandle><jobName>later-job</jobName><execTime>2099-01-01T00:00:00Z</execTime><exportJob><assetHandleArray><items>`+hero+`</items></assetHandleArray><fmt>orig</fmt></exportJob></submitJobParam>`), nil)
	require.Equal(t, 200, status, resp)
	later := parseBlind(t, body(t, resp)).text("jobHandle")
	status, _, resp = e.post(soapPath, soapCall(authU("alice@acme.test"), `<submitJobParam xmlns="`+ns14+`"><companyHandle>`+e.acme.Handle+`</companyHandle><jobName>nightly-job</jobName><execSchedule>0 0 2 * * ?</execSchedule><exportJob><assetHandleArray><items>`+hero+`</items></assetHandleArray><fmt>orig</fmt></exportJob></submitJobParam>`), nil)
	require.Equal(t, 200, status, resp)
	recurring := parseBlind(t, body(t, resp)).text("jobHandle")
	status, _, resp = e.post(soapPath, exportEnvelope("bob@globex.test", e.globex.Handle, "globex-job", []string{e.globexAsset.Handle}, `<fmt>orig</fmt>`), nil)
	require.Equal(t, 200, status, resp)
	globexJob := parseBlind(t, body(t, resp)).text("jobHandle")

	clients := map[string]*webClient{}
	for _, u := range []string{"alice@acme.test", "bob@globex.test", "root@ips.test", "viewer@acme.test"} {
		clients[u] = newWebClient(t, e.srv.URL)
		status, said := clients[u].signIn(u, password)
		require.Equal(t, 303, status, said)
	}

	t.Run("lists", func(t *testing.T) {
		for _, tc := range []struct {
			user        string
			shows, hide []string
		}{
			{"alice@acme.test", []string{"done-job", "later-job", "nightly-job", "0 0 2 * * ?", `id="scheduled"`}, []string{"globex-job", "<th>Company</th>"}},
			{"bob@globex.test", []string{"globex-job"}, []string{"done-job", "later-job"}},
			{"root@ips.test", []string{"done-job", "later-job", "globex-job", "<th>Company</th>"}, nil},
			// ImagePortalUser may not call getScheduledJobs.
			{"viewer@acme.test", []string{"done-job"}, []string{"later-job", `id="scheduled"`, "globex-job"}},
		} {
			t.Run(tc.user, func(t *testing.T) {
				status, _, page := clients[tc.user].get("/jobs")
				require.Equal(t, 200, status, page)
				for _, s := range tc.shows {
					assert.Contains(t, page, s)
				}
				for _, s := range tc.hide {
					assert.NotContains(t, page, s)
				}
			})
		}
	})

	t.Run("another company's job is an unknown job", func(t *testing.T) {
		alice := clients["alice@acme.test"]
		status, _, theirs := alice.get(jobPath(globexJob))
		assert.Equal(t, 404, status)
		status2, _, unknown := alice.get(jobPath("j|2|999"))
		assert.Equal(t, 404, status2)
		assert.Equal(t, unknown, theirs, "the two answers are the same")
		status, _, _ = alice.get("/jobs/not-a-handle")
		assert.Equal(t, 404, status)
		assert.NotContains(t, theirs, "globex")
		for _, action := range []string{"pause", "resume", "stop", "delete"} {
			status, _, _ := alice.post(jobPath(globexJob)+"/"+action, url.Values{"csrf": {alice.token("/jobs")}})
			assert.Equal(t, 404, status, action)
		}
		status, _, page := clients["bob@globex.test"].get(jobPath(globexJob))
		assert.Equal(t, 200, status, page)
		status, _, page = clients["root@ips.test"].get(jobPath(globexJob))
		assert.Equal(t, 200, status, page)
	})

	t.Run("roles decide the buttons and the operations", func(t *testing.T) {
		_, _, page := clients["alice@acme.test"].get(jobPath(done))
		assert.Contains(t, page, `id="delete"`, "an IpsUser may delete an ended job")
		assert.Contains(t, page, `id="zip"`)
		assert.NotContains(t, page, `id="pause"`, "a Completed job cannot be paused")

		viewer := clients["viewer@acme.test"]
		status, _, page := viewer.get(jobPath(done))
		require.Equal(t, 200, status, "an ImagePortalUser may follow logs")
		assert.NotContains(t, page, `id="delete"`, "but not delete")
		status, _, page = viewer.post(jobPath(done)+"/delete", url.Values{"csrf": {viewer.token(jobPath(done))}})
		assert.Equal(t, 403, status, page)
		status, _, _ = clients["alice@acme.test"].get(jobPath(done))
		assert.Equal(t, 200, status, "still there")

		// A forged request for an operation the state does not allow.
		alice := clients["alice@acme.test"]
		status, _, page = alice.post(jobPath(done)+"/pause", url.Values{"csrf": {alice.token(jobPath(done))}})
		assert.Equal(t, 409, status)
		assert.Contains(t, page, "The job is Completed: pause does not apply.")
	})

	t.Run("CSRF", func(t *testing.T) {
		alice, bob := clients["alice@acme.test"], clients["bob@globex.test"]
		target := jobPath(later) + "/delete"
		for _, tc := range []struct {
			name  string
			token string
			hdr   []string
		}{
			{"no token", "", nil},
			{"another user's token", bob.token("/jobs"), nil},
			{"made up", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", nil},
			{"from another site", alice.token("/jobs"), []string{"Sec-Fetch-Site", "cross-site"}},
			{"from another origin", alice.token("/jobs"), []string{"Origin", "http://evil.test"}},
		} {
			status, _, page := alice.post(target, url.Values{"csrf": {tc.token}}, tc.hdr...)
			assert.Equal(t, 403, status, "%s: %s", tc.name, page)
		}
		status, _, _ := alice.get(jobPath(later))
		require.Equal(t, 200, status, "no forged request deleted the job")

		status, hdr, _ := alice.post(target, url.Values{"csrf": {alice.token("/jobs")}})
		require.Equal(t, 303, status)
		assert.Equal(t, "/jobs?done=delete", hdr.Get("Location"))
		status, _, _ = alice.get(jobPath(later))
		assert.Equal(t, 404, status, "deleted")
	})

	t.Run("a recurring schedule is deleted from the list", func(t *testing.T) {
		alice, bob := clients["alice@acme.test"], clients["bob@globex.test"]
		status, _, _ := bob.post(jobPath(recurring)+"/delete", url.Values{"csrf": {bob.token("/jobs")}})
		assert.Equal(t, 404, status, "not another company's")
		_, _, page := alice.get("/jobs")
		require.Contains(t, page, `action="`+jobPath(recurring)+`/delete"`)
		status, hdr, _ := alice.post(jobPath(recurring)+"/delete", url.Values{"csrf": {alice.token("/jobs")}})
		require.Equal(t, 303, status)
		assert.Equal(t, "/jobs?done=delete", hdr.Get("Location"))
		_, _, page = alice.get("/jobs?done=delete")
		assert.NotContains(t, page, "nightly-job")
		assert.Contains(t, page, "Job deleted.")
	})

	t.Run("a password change ends sessions", func(t *testing.T) {
		root := clients["root@ips.test"]
		status, _, _ := root.get("/jobs")
		require.Equal(t, 200, status)
		hash, err := service.HashPassword("a-new-password")
		require.NoError(t, err)
		require.NoError(t, e.app.Store.SetPasswordHash(context.Background(), e.root.Handle, hash))
		status, hdr, _ := root.get("/jobs")
		assert.Equal(t, 303, status)
		assert.Equal(t, "/jobs/login", hdr.Get("Location"))
	})

	t.Run("sign-out", func(t *testing.T) {
		viewer := clients["viewer@acme.test"]
		status, hdr, _ := viewer.post("/jobs/logout", url.Values{"csrf": {viewer.token("/jobs")}})
		require.Equal(t, 303, status)
		assert.Equal(t, "/jobs/login?done=signout", hdr.Get("Location"))
		status, hdr, _ = viewer.get("/jobs")
		assert.Equal(t, 303, status)
		assert.Equal(t, "/jobs/login", hdr.Get("Location"))
	})

	// Last: it locks bob out for a while.
	t.Run("failed sign-ins count as failed API logins", func(t *testing.T) {
		guesser := newWebClient(t, e.srv.URL)
		status, said := guesser.signIn("bob@globex.test", "wrong")
		require.Equal(t, 403, status)
		assert.Contains(t, said, "Invalid username/password")
		for range 15 {
			guesser.signIn("bob@globex.test", "wrong")
		}
		// Now the right password is refused, on the page and by the API.
		status, said = guesser.signIn("bob@globex.test", password)
		assert.Equal(t, 403, status)
		assert.Contains(t, said, "too many failed logins")
		status, _, resp := e.post(soapPath, soapCall(authU("bob@globex.test"), `<checkLoginParam xmlns="`+ns14+`"><email>bob@globex.test</email><password>`+password+`</password></checkLoginParam>`), nil)
		assert.Equal(t, 500, status)
		assert.Contains(t, resp, "<code>10001</code>")
	})
}
