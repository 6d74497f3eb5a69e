package jobs

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseSchedule(t *testing.T) {
	from := time.Date(2026, 11, 29, 10, 30, 15, 0, time.UTC) // a Sunday
	tests := []struct {
		expr string
		next time.Time // zero: refused
	}{
		{"00 00 00 * *", time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC)},      // daily at midnight (docs/exports.md, "Schedules")
		{"0 0 12 * * ?", time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)},     // Quartz: noon, any weekday
		{"0 15 10 ? * MON", time.Date(2026, 11, 30, 10, 15, 0, 0, time.UTC)}, // Quartz: "?" day of month
		{"0 0 6 1 * ? *", time.Date(2026, 12, 1, 6, 0, 0, 0, time.UTC)},      // seven fields, every year
		{"30 */5 * * *", time.Date(2026, 11, 29, 10, 30, 30, 0, time.UTC)},   // every five minutes at :30
		{"0 0 0 1 1 ? 2030", time.Time{}}, {"0 0 *", time.Time{}}, {"a b c d e", time.Time{}},
		{"0 0 0 * * * * *", time.Time{}}, {"0 61 0 * *", time.Time{}},
	}
	for _, tc := range tests {
		t.Run(tc.expr, func(t *testing.T) {
			s, err := ParseSchedule(tc.expr)
			if tc.next.IsZero() {
				assert.Error(t, err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.next, s.Next(from))
		})
	}
}

func TestJobName(t *testing.T) {
	at := time.Date(2026, 11, 29, 10, 30, 15, 123_000_000, time.FixedZone("X", 3600))
	assert.Equal(t, "nightly_20261129T093015.123Z", JobName("nightly", at))
}
