package app

import (
	"bufio"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const metricsToken = "metrics-token-for-tests"

// withMetricsToken serves /metrics on the API address behind a token.
func withMetricsToken(c *Config) { c.MetricsToken = metricsToken }

// getMetrics fetches /metrics from h with an Authorization header (none
// when auth is "").
func getMetrics(t *testing.T, base, auth string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, base+"/metrics", nil)
	require.NoError(t, err)
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(b)
}

// scrape reads /metrics (the env is built withMetricsToken) into
// "name{labels}" → value.
func (e *env) scrape() map[string]float64 {
	e.t.Helper()
	status, text := getMetrics(e.t, e.srv.URL, "Bearer "+metricsToken)
	require.Equal(e.t, 200, status)
	out := map[string]float64{}
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		require.NoError(e.t, err, line)
		out[line[:i]] = v
	}
	return out
}

func TestMetricsMove(t *testing.T) {
	e := newEnv(t, "", withMetricsToken)
	before := e.scrape()
	e.submit("measured", e.handles("/hero.png", "shoes/boot.png"), `<fmt>convert</fmt><is_modifier>wid=4&amp;fmt=png</is_modifier>`)
	e.awaitArchive("measured")
	e.post(soapPath, exportEnvelope("alice@acme.test", e.acme.Handle, "bad", []string{"a|9|9"}, `<fmt>orig</fmt>`), nil)
	after := e.scrape()

	moved := func(key string) float64 { return after[key] - before[key] }
	assert.Equal(t, 1.0, moved(`ipsd_requests_total{fault_code="0",operation="submitJob"}`))
	assert.Equal(t, 1.0, moved(`ipsd_requests_total{fault_code="30001",operation="submitJob"}`))
	assert.Positive(t, moved(`ipsd_requests_total{fault_code="0",operation="getJobLogDetails"}`))
	assert.Equal(t, 2.0, moved(`ipsd_assets_total{outcome="Success"}`))
	assert.Equal(t, 2.0, moved(`ipsd_render_seconds_count`))
	assert.Positive(t, moved(`ipsd_bytes_written_total`))
	assert.Equal(t, 1.0, moved(`ipsd_jobs_ended_total{state="Completed"}`))
	assert.Equal(t, 1.0, after[`ipsd_jobs{state="Completed"}`])
	_, ok := after[`ipsd_queue_depth`]
	assert.True(t, ok, "queue depth is reported")
}

// Metrics are not served to anyone on the API address: without a token
// there is no /metrics there; with one, only its bearer reads them. The
// handler for a metrics address of its own (MetricsHandler) follows the
// token too, and a worker's ops handler serves health and readiness.
func TestMetricsNotPublic(t *testing.T) {
	open := newEnv(t, "")
	status, _ := getMetrics(t, open.srv.URL, "")
	assert.Equal(t, http.StatusNotFound, status, "no token: no /metrics on the API address")
	own := httptest.NewServer(open.app.MetricsHandler())
	defer own.Close()
	status, text := getMetrics(t, own.URL, "")
	assert.Equal(t, http.StatusOK, status, "no token: the metrics address serves them")
	assert.Contains(t, text, "ipsd_queue_depth")

	e := newEnv(t, "", withMetricsToken)
	for _, auth := range []string{"", "Bearer wrong", "Basic " + metricsToken, "Bearer " + metricsToken + "x", metricsToken} {
		status, text := getMetrics(t, e.srv.URL, auth)
		assert.Equal(t, http.StatusUnauthorized, status, "%q", auth)
		assert.NotContains(t, text, "ipsd_", "%q", auth)
	}
	status, text = getMetrics(t, e.srv.URL, "bearer "+metricsToken)
	assert.Equal(t, http.StatusOK, status)
	assert.Contains(t, text, "ipsd_queue_depth")
	own = httptest.NewServer(e.app.MetricsHandler())
	defer own.Close()
	status, _ = getMetrics(t, own.URL, "")
	assert.Equal(t, http.StatusUnauthorized, status, "the token guards the metrics address too")

	ops := httptest.NewServer(e.app.OpsHandler(nil))
	defer ops.Close()
	for path, want := range map[string]string{"/healthz": "ok\n", "/readyz": "ready\n"} {
		resp, err := http.Get(ops.URL + path)
		require.NoError(t, err)
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		assert.Equal(t, http.StatusOK, resp.StatusCode, path)
		assert.Equal(t, want, string(b), path)
	}
	status, _ = getMetrics(t, ops.URL, "Bearer "+metricsToken)
	assert.Equal(t, http.StatusOK, status, "a worker's metrics follow the same rule")
	status, _ = getMetrics(t, ops.URL, "")
	assert.Equal(t, http.StatusUnauthorized, status)
	resp, err := http.Get(ops.URL + soapPath)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusNotFound, resp.StatusCode, "no API on a worker's address")
}
