package app

import (
	"bufio"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// scrape reads /metrics into "name{labels}" → value.
func (e *env) scrape() map[string]float64 {
	e.t.Helper()
	status, text := e.get("/metrics")
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
	e := newEnv(t, "")
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
