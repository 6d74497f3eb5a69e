package sqlstore

import (
	"testing"

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

func TestFold(t *testing.T) {
	assert.Equal(t, fold("ACME"), fold("acme"))
	assert.Equal(t, fold("ÄRGER"), fold("ärger"))
	assert.Equal(t, fold("STRASSE"), fold("straße"))
	assert.NotEqual(t, fold("acme"), fold("acne"))
}
