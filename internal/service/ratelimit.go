package service

import (
	"net"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// loginLimiter slows password guessing: each failed login spends a token
// of the user's bucket and of the client address's; while either is empty,
// logins for it are refused without checking the password.
type loginLimiter struct {
	mu      sync.Mutex
	every   time.Duration
	burst   int
	buckets map[string]*rate.Limiter
}

// maxBuckets bounds the limiter's memory under a spray of made-up names.
const maxBuckets = 100_000

func newLoginLimiter(burst int, every time.Duration) *loginLimiter {
	return &loginLimiter{every: every, burst: burst, buckets: map[string]*rate.Limiter{}}
}

func limiterKeys(email, remoteAddr string) []string {
	keys := []string{"u:" + strings.ToLower(strings.TrimSpace(email))}
	if host, _, err := net.SplitHostPort(remoteAddr); err == nil {
		keys = append(keys, "a:"+host)
	} else if remoteAddr != "" {
		keys = append(keys, "a:"+remoteAddr)
	}
	return keys
}

// blocked reports whether a login for email from remoteAddr must wait.
func (l *loginLimiter) blocked(email, remoteAddr string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := time.Now()
	for _, k := range limiterKeys(email, remoteAddr) {
		if b, ok := l.buckets[k]; ok && b.TokensAt(now) < 1 {
			return true
		}
	}
	return false
}

// failed records a failed login.
func (l *loginLimiter) failed(email, remoteAddr string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := time.Now()
	if len(l.buckets) >= maxBuckets {
		for k, b := range l.buckets {
			if b.TokensAt(now) >= float64(l.burst) {
				delete(l.buckets, k)
			}
		}
	}
	for _, k := range limiterKeys(email, remoteAddr) {
		b, ok := l.buckets[k]
		if !ok {
			if len(l.buckets) >= maxBuckets {
				continue
			}
			b = rate.NewLimiter(rate.Every(l.every), l.burst)
			l.buckets[k] = b
		}
		b.AllowN(now, 1)
	}
}
