package service

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// testLimiter has a clock the test moves.
func testLimiter(p LoginPolicy) (*loginLimiter, *time.Time) {
	l := newLoginLimiter(p)
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	l.now = func() time.Time { return now }
	return l, &now
}

func fail(l *loginLimiter, email, addr string, n int) {
	for range n {
		l.failed(email, addr)
	}
}

func allowed(l *loginLimiter, email, addr string) bool {
	_, ok := l.check(email, addr)
	return ok
}

func TestLoginLimiter(t *testing.T) {
	policy := LoginPolicy{Failures: 3, AddressFailures: 5, AccountFailures: 4, Window: time.Minute}
	tests := []struct {
		name    string
		setup   func(l *loginLimiter)
		email   string
		addr    string
		allowed bool
	}{
		{"fresh", func(*loginLimiter) {}, "alice@x", "10.0.0.1:5", true},
		{"under the burst", func(l *loginLimiter) { fail(l, "alice@x", "10.0.0.1:1", 2) }, "alice@x", "10.0.0.1:3", true},
		{"pair spent, any port", func(l *loginLimiter) { fail(l, "alice@x", "10.0.0.1:1", 3) }, "alice@x", "10.0.0.1:9", false},
		{"pair spent, another spelling", func(l *loginLimiter) { fail(l, "ALICE@X", "10.0.0.1:1", 3) }, " alice@x ", "10.0.0.1:9", false},
		{"long s folds like the lookup", func(l *loginLimiter) { fail(l, "victim@acme.test", "10.0.0.1:1", 3) }, "victim@acme.te\u017Ft", "10.0.0.1:9", false},
		{"pair spent, other address", func(l *loginLimiter) { fail(l, "alice@x", "10.0.0.1:1", 3) }, "alice@x", "10.0.0.2:1", true},
		{"address spent, other account", func(l *loginLimiter) {
			for i := range 5 {
				l.failed(fmt.Sprintf("u%d@x", i), "10.0.0.2:1")
			}
		}, "bob@x", "10.0.0.2:9", false},
		{"IPv6 by its /64", func(l *loginLimiter) { fail(l, "alice@x", "[2001:db8::1]:1", 3) }, "alice@x", "[2001:db8::ffff]:2", false},
		{"proven address ignores strangers", func(l *loginLimiter) {
			l.succeeded("alice@x", "10.0.0.1:1")
			for i := range 20 {
				fail(l, "alice@x", fmt.Sprintf("10.9.0.%d:1", i), 3)
			}
		}, "alice@x", "10.0.0.1:2", true},
		{"under attack, a new address gets its first try", func(l *loginLimiter) {
			for i := range 20 {
				fail(l, "alice@x", fmt.Sprintf("10.9.0.%d:1", i), 3)
			}
		}, "alice@x", "10.0.0.7:1", true},
		{"under attack, a stranger that failed once waits", func(l *loginLimiter) {
			for i := range 20 {
				fail(l, "alice@x", fmt.Sprintf("10.9.0.%d:1", i), 3)
			}
			l.failed("alice@x", "10.0.0.7:1")
		}, "alice@x", "10.0.0.7:1", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l, _ := testLimiter(policy)
			tc.setup(l)
			assert.Equal(t, tc.allowed, allowed(l, tc.email, tc.addr))
		})
	}
}

func TestLoginLimiterRefillsAndForgives(t *testing.T) {
	l, now := testLimiter(LoginPolicy{Failures: 3, AddressFailures: 50, AccountFailures: 50, Window: time.Minute})
	fail(l, "alice@x", "10.0.0.1:1", 3)
	wait, ok := l.check("alice@x", "10.0.0.1:1")
	require.False(t, ok)
	assert.Equal(t, 20*time.Second, wait, "three per minute: one back every 20s")
	*now = now.Add(wait)
	assert.True(t, allowed(l, "alice@x", "10.0.0.1:1"))

	// A success forgives the address's failures for the account.
	fail(l, "alice@x", "10.0.0.1:1", 2)
	l.succeeded("alice@x", "10.0.0.1:1")
	fail(l, "alice@x", "10.0.0.1:1", 2)
	assert.True(t, allowed(l, "alice@x", "10.0.0.1:1"))
}

// Memory stays bounded under a spray of made-up e-mails: keys are hashes
// of fixed size and the table is cut back when full.
func TestLoginLimiterBounded(t *testing.T) {
	l, _ := testLimiter(DefaultLoginPolicy())
	for _, tb := range []*bucketTable{l.pairs, l.addrs, l.accounts} {
		tb.max = 1000
	}
	long := string(make([]byte, 4<<10))
	for i := range 3000 {
		l.failed(fmt.Sprintf("%d%s@x", i, long), fmt.Sprintf("10.0.%d.%d:1", i>>8&255, i&255))
	}
	for _, tb := range []*bucketTable{l.pairs, l.addrs, l.accounts} {
		assert.LessOrEqual(t, len(tb.buckets), 1000)
	}
	// The newest failures are still counted after the cut.
	fail(l, "last@x", "10.1.0.1:1", DefaultLoginPolicy().Failures)
	assert.False(t, allowed(l, "last@x", "10.1.0.1:2"))
}
