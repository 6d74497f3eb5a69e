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
	user    limit
	addr    limit
	buckets map[string]*rate.Limiter
}

// limit is a bucket's shape: burst failures, then one per every.
type limit struct {
	burst int
	every time.Duration
}

// maxBuckets bounds the limiter's memory under a spray of made-up names.
const maxBuckets = 100_000

// newLoginLimiter limits failures per user and, more loosely since many
// users may share a proxy's address, per client address.
func newLoginLimiter(user, addr limit) *loginLimiter {
	return &loginLimiter{user: user, addr: addr, buckets: map[string]*rate.Limiter{}}
}

func (l *loginLimiter) shape(key string) limit {
	if strings.HasPrefix(key, "a:") {
		return l.addr
	}
	return l.user
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
			if b.TokensAt(now) >= float64(l.shape(k).burst) {
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
			sh := l.shape(k)
			b = rate.NewLimiter(rate.Every(sh.every), sh.burst)
			l.buckets[k] = b
		}
		b.AllowN(now, 1)
	}
}
