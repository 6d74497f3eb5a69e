package sqlstore

import (
	"regexp"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestParseID(t *testing.T) {
	for in, want := range map[string]int64{
		"1": 1, "42": 42, "9223372036854775807": 9223372036854775807,
	} {
		got, ok := parseID(in)
		assert.True(t, ok, in)
		assert.Equal(t, want, got, in)
	}
	for _, in := range []string{"", "0", "01", "-1", "+1", " 1", "1 ", "1a", "9223372036854775808", "99999999999999999999", "١"} {
		_, ok := parseID(in)
		assert.False(t, ok, "%q", in)
	}
}

func TestHandlesRoundTrip(t *testing.T) {
	id, ok := parseCompany(companyHandle(47))
	assert.True(t, ok)
	assert.Equal(t, int64(47), id)
	id, ok = parseUser(userHandle(3))
	assert.True(t, ok)
	assert.Equal(t, int64(3), id)

	assert.Equal(t, "47|301", formatHandle(47, 301), "the IPS example's shape")
	for _, tc := range []struct {
		handle string
		parse  func(string, int64) (int64, bool)
	}{
		{folderHandle(47, 9), parseFolder},
		{assetHandle(47, 9), parseAsset},
		{formatHandle(47, 9), parseFormat},
	} {
		got, ok := tc.parse(tc.handle, 47)
		assert.True(t, ok, tc.handle)
		assert.Equal(t, int64(9), got, tc.handle)
		_, ok = tc.parse(tc.handle, 48)
		assert.False(t, ok, "%s is not company 48's", tc.handle)
	}
	// Kinds do not mix.
	_, ok = parseAsset(folderHandle(47, 9), 47)
	assert.False(t, ok)
	_, ok = parseFormat(assetHandle(47, 9), 47)
	assert.False(t, ok)
	_, ok = parseFolder("f|47|9|1", 47)
	assert.False(t, ok)
}

func TestJobHandles(t *testing.T) {
	urlSafe := regexp.MustCompile(`^[A-Za-z0-9|_.-]+$`) // docs/wire.md, "Handles"
	for _, tc := range []struct {
		handle string
		parse  func(string) (int64, int64, bool)
	}{
		{jobHandle(47, 9), parseJob},
		{scheduleHandle(47, 9), parseSchedule},
	} {
		assert.Regexp(t, urlSafe, tc.handle)
		cid, id, ok := tc.parse(tc.handle)
		assert.True(t, ok, tc.handle)
		assert.Equal(t, [2]int64{47, 9}, [2]int64{cid, id}, tc.handle)
	}
	assert.Equal(t, "j|47|9", jobHandle(47, 9))
	assert.Equal(t, "s|47|9", scheduleHandle(47, 9))
	for _, h := range []string{"", "j|", "j|47", "j|47|", "j||9", "j|47|9|1", "j|047|9", "j|47|09", "j|-1|9",
		"J|47|9", " j|47|9", "j|47|9 ", "s|47|9", "a|47|9", "47|9", "j|47|99999999999999999999"} {
		_, _, ok := parseJob(h)
		assert.False(t, ok, "%q", h)
	}
	_, _, ok := parseSchedule(jobHandle(47, 9))
	assert.False(t, ok, "kinds do not mix")
	_, ok = parseAsset(jobHandle(47, 9), 47)
	assert.False(t, ok)
	_, ok = parseFormat(jobHandle(47, 9), 47)
	assert.False(t, ok)
}

func TestTimeBounds(t *testing.T) {
	t0 := time.Date(2030, 1, 2, 3, 4, 5, 6000, time.UTC)
	east := time.FixedZone("E", 3600)
	for _, tc := range []struct {
		in          time.Time
		floor, ceil time.Time
	}{
		{t0, t0, t0},
		{t0.Add(1), t0, t0.Add(time.Microsecond)},
		{t0.Add(999), t0, t0.Add(time.Microsecond)},
		{t0.Add(-1), t0.Add(-time.Microsecond), t0},
		{t0.In(east), t0, t0},
		{time.Time{}, minTime, minTime},
		{time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC), minTime, minTime},
		{time.Date(12000, 1, 1, 0, 0, 0, 0, time.UTC), maxTime, maxTime},
		{maxTime.Add(1), maxTime, maxTime},
	} {
		assert.Equal(t, tc.floor, floor(tc.in), "floor %v", tc.in)
		assert.Equal(t, tc.ceil, ceil(tc.in), "ceil %v", tc.in)
	}
	assert.Equal(t, time.Time{}, at(time.Time{}))
	assert.Equal(t, t0, at(t0.Add(999).In(east)))
	assert.NoError(t, checkTime("x", time.Time{}))
	assert.NoError(t, checkTime("x", maxTime.Add(999)))
	assert.NoError(t, checkTime("x", minTime.Add(time.Microsecond)))
	assert.Error(t, checkTime("x", maxTime.Add(time.Microsecond)))
	assert.Error(t, checkTime("x", minTime.Add(-time.Nanosecond)))
}

func TestFold(t *testing.T) {
	assert.Equal(t, fold("ACME"), fold("acme"))
	assert.Equal(t, fold("ÄRGER"), fold("ärger"))
	assert.Equal(t, fold("STRASSE"), fold("straße"))
	assert.NotEqual(t, fold("acme"), fold("acne"))
}
