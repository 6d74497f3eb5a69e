package service

import (
	"crypto/sha256"
	"math"
	"net"
	"net/netip"
	"slices"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/ipsexport/ipsd/internal/store"
)

// LoginPolicy shapes the login limits (docs/security.md). Failures are
// counted in three token buckets, each refilled over Window:
//
//   - per account and client address: Failures, then that address waits;
//   - per client address, over the accounts it has not logged in to:
//     AddressFailures, then it waits;
//   - per account, from addresses that have not logged in to it:
//     AccountFailures; past them the account is under attack, and such
//     addresses get one try per Window/Failures each.
//
// An address that has logged in to an account is held back by its own
// failures only, so a third party can slow itself and other strangers,
// never the account's own user at an address it logs in from.
type LoginPolicy struct {
	Failures        int
	AddressFailures int
	AccountFailures int
	Window          time.Duration
}

// DefaultLoginPolicy: five failures per account and address, fifty per
// address, twenty per account from strangers, every five minutes.
func DefaultLoginPolicy() LoginPolicy {
	return LoginPolicy{Failures: 5, AddressFailures: 50, AccountFailures: 20, Window: 5 * time.Minute}
}

func (p LoginPolicy) withDefaults() LoginPolicy {
	d := DefaultLoginPolicy()
	if p.Failures <= 0 {
		p.Failures = d.Failures
	}
	if p.AddressFailures <= 0 {
		p.AddressFailures = d.AddressFailures
	}
	if p.AccountFailures <= 0 {
		p.AccountFailures = d.AccountFailures
	}
	if p.Window <= 0 {
		p.Window = d.Window
	}
	return p
}

// Bounds on the limiter's memory under a spray of made-up names and
// addresses: keys are hashes (an e-mail may be megabytes long), and each
// table is cut back when it fills.
const (
	maxBuckets = 100_000
	maxProven  = 100_000
	// provenFor is how long a successful login vouches for its address.
	provenFor = 30 * 24 * time.Hour
)

type limitKey [20]byte

func hashKey(parts ...string) limitKey {
	h := sha256.New()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	var k limitKey
	copy(k[:], h.Sum(nil))
	return k
}

// bucketTable is one kind of bucket, by key.
type bucketTable struct {
	burst   int
	limit   rate.Limit
	max     int
	buckets map[limitKey]*rate.Limiter
}

func newBucketTable(burst int, window time.Duration) *bucketTable {
	return &bucketTable{burst: burst, limit: rate.Limit(float64(burst) / window.Seconds()),
		max: maxBuckets, buckets: map[limitKey]*rate.Limiter{}}
}

// tokens is what k's bucket holds now (a missing bucket is full).
func (t *bucketTable) tokens(k limitKey, now time.Time) float64 {
	if b, ok := t.buckets[k]; ok {
		return b.TokensAt(now)
	}
	return float64(t.burst)
}

// wait is how long until k's bucket holds want tokens.
func (t *bucketTable) wait(k limitKey, want float64, now time.Time) time.Duration {
	missing := want - t.tokens(k, now)
	if missing <= 0 {
		return 0
	}
	return time.Duration(math.Ceil(missing / float64(t.limit) * float64(time.Second)))
}

// spend takes a token from k's bucket, making it when new.
func (t *bucketTable) spend(k limitKey, now time.Time) {
	b, ok := t.buckets[k]
	if !ok {
		if len(t.buckets) >= t.max {
			t.prune(now)
		}
		b = rate.NewLimiter(t.limit, t.burst)
		t.buckets[k] = b
	}
	b.AllowN(now, 1)
}

// prune drops the buckets that have refilled (they hold nothing a new
// bucket would not), and, if that is not enough, a tenth of the rest.
func (t *bucketTable) prune(now time.Time) {
	for k, b := range t.buckets {
		if b.TokensAt(now) >= float64(t.burst) {
			delete(t.buckets, k)
		}
	}
	drop := len(t.buckets) - t.max*9/10
	for k := range t.buckets {
		if drop <= 0 {
			break
		}
		delete(t.buckets, k)
		drop--
	}
}

// loginLimiter applies a LoginPolicy. Accounts are keyed by
// store.EmailKey, the key the user lookup uses; addresses by host (an
// IPv6 client by its /64, which one client usually holds whole).
type loginLimiter struct {
	mu       sync.Mutex
	policy   LoginPolicy
	pairs    *bucketTable
	addrs    *bucketTable
	accounts *bucketTable
	proven   map[limitKey]time.Time // (account, address) → last successful login
	now      func() time.Time
}

func newLoginLimiter(p LoginPolicy) *loginLimiter {
	p = p.withDefaults()
	return &loginLimiter{
		policy:   p,
		pairs:    newBucketTable(p.Failures, p.Window),
		addrs:    newBucketTable(p.AddressFailures, p.Window),
		accounts: newBucketTable(p.AccountFailures, p.Window),
		proven:   map[limitKey]time.Time{},
		now:      time.Now,
	}
}

// loginKeys are one attempt's bucket keys.
type loginKeys struct{ pair, addr, account limitKey }

func keysFor(email, remoteAddr string) loginKeys {
	account := store.EmailKey(email)
	addr := clientHost(remoteAddr)
	return loginKeys{pair: hashKey("p", account, addr), addr: hashKey("a", addr), account: hashKey("u", account)}
}

// clientHost is the address part of "host:port", an IPv6 address as its
// /64; "" when unknown.
func clientHost(remoteAddr string) string {
	host := remoteAddr
	if h, _, err := net.SplitHostPort(remoteAddr); err == nil {
		host = h
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return host
	}
	ip = ip.Unmap()
	if ip.Is6() {
		p, _ := ip.Prefix(64)
		return p.String()
	}
	return ip.String()
}

// check tells whether a login for email from remoteAddr may be tried now,
// and if not, how long to wait.
func (l *loginLimiter) check(email, remoteAddr string) (time.Duration, bool) {
	k := keysFor(email, remoteAddr)
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	if w := l.pairs.wait(k.pair, 1, now); w > 0 {
		return w, false
	}
	if l.isProven(k.pair, now) {
		return 0, true
	}
	if w := l.addrs.wait(k.addr, 1, now); w > 0 {
		return w, false
	}
	if l.accounts.tokens(k.account, now) < 1 {
		// Under attack: a stranger's address gets one try whenever its
		// own bucket has refilled, so its user is slowed, never shut out.
		if w := l.pairs.wait(k.pair, float64(l.policy.Failures), now); w > 0 {
			return w, false
		}
	}
	return 0, true
}

// failed records a wrong password (or unknown account).
func (l *loginLimiter) failed(email, remoteAddr string) {
	k := keysFor(email, remoteAddr)
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	l.pairs.spend(k.pair, now)
	if l.isProven(k.pair, now) {
		return
	}
	l.addrs.spend(k.addr, now)
	l.accounts.spend(k.account, now)
}

// succeeded records a good login: the address's failures for the account
// are forgiven, and the address vouched for.
func (l *loginLimiter) succeeded(email, remoteAddr string) {
	k := keysFor(email, remoteAddr)
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	delete(l.pairs.buckets, k.pair)
	if _, ok := l.proven[k.pair]; !ok && len(l.proven) >= maxProven {
		l.pruneProven(now)
	}
	l.proven[k.pair] = now
}

func (l *loginLimiter) isProven(pair limitKey, now time.Time) bool {
	t, ok := l.proven[pair]
	return ok && now.Sub(t) < provenFor
}

// pruneProven drops expired entries, and if that is not enough the
// oldest tenth.
func (l *loginLimiter) pruneProven(now time.Time) {
	for k, t := range l.proven {
		if now.Sub(t) >= provenFor {
			delete(l.proven, k)
		}
	}
	if len(l.proven) < maxProven {
		return
	}
	times := make([]time.Time, 0, len(l.proven))
	for _, t := range l.proven {
		times = append(times, t)
	}
	slices.SortFunc(times, time.Time.Compare)
	cutoff := times[len(times)/10]
	for k, t := range l.proven {
		if !t.After(cutoff) {
			delete(l.proven, k)
		}
	}
}
