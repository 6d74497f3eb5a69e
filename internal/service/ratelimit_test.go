package service

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestLoginLimiter(t *testing.T) {
	tests := []struct {
		name        string
		failures    []string // remote addresses of failed logins for alice
		email, addr string
		blocked     bool
	}{
		{"fresh", nil, "alice@x", "10.0.0.1:5", false},
		{"under the burst", []string{"10.0.0.1:1", "10.0.0.1:2"}, "alice@x", "10.0.0.1:3", false},
		{"user spent, any address", repeat("10.0.0.1:1", 3), "ALICE@x", "10.9.9.9:1", true},
		{"address spent, any user", repeat("10.0.0.2:1", 3), "bob@x", "10.0.0.2:9", true},
		{"other user, other address", repeat("10.0.0.2:1", 3), "bob@x", "10.0.0.3:9", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l := newLoginLimiter(limit{3, time.Hour}, limit{3, time.Hour})
			for _, a := range tc.failures {
				l.failed("alice@x", a)
			}
			assert.Equal(t, tc.blocked, l.blocked(tc.email, tc.addr))
		})
	}
}

func repeat(s string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = s
	}
	return out
}

func TestLoginLimiterAddressLooser(t *testing.T) {
	l := newLoginLimiter(limit{2, time.Hour}, limit{5, time.Hour})
	for i := range 4 {
		l.failed(string(rune('a'+i))+"@x", "10.0.0.9:1")
	}
	assert.False(t, l.blocked("z@x", "10.0.0.9:2"), "four failures of different users: the address is not spent")
	l.failed("e@x", "10.0.0.9:1")
	assert.True(t, l.blocked("z@x", "10.0.0.9:2"), "the fifth spends it")
}
