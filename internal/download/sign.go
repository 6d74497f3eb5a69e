package download

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Query parameters of a signed link.
const (
	paramExpires = "expires"
	paramSig     = "sig"
)

// Errors of Verify. Each is wrapped with context; test with errors.Is.
var (
	ErrUnsigned     = errors.New("download link is not signed")
	ErrBadSignature = errors.New("download link signature is invalid")
	ErrExpired      = errors.New("download link has expired")
	ErrNoKey        = errors.New("download link signing key is not configured")
)

// Signer signs and verifies expiring download links. A link is bound to
// one job handle and one job-relative path ("" for the whole-job zip), and
// to its expiry: changing any of them, or the key, invalidates it.
//
// The signature is HMAC-SHA256 under Key over a length-prefixed encoding
// of a version tag, the job handle, the path and the expiry (Unix seconds),
// so no two different (job, path, expiry) triples share an input. It is
// carried base64url-encoded without padding.
//
// Key should be at least 32 random bytes and the same on every process
// that serves downloads. With an empty Key, Sign still returns a query but
// Verify refuses every link.
type Signer struct {
	Key []byte
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

func (s Signer) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// mac computes the raw signature of (jobHandle, path, expires).
func (s Signer) mac(jobHandle, path string, expires int64) []byte {
	m := hmac.New(sha256.New, s.Key)
	writeField(m, "ipsd-download-v1")
	writeField(m, jobHandle)
	writeField(m, path)
	writeField(m, strconv.FormatInt(expires, 10))
	return m.Sum(nil)
}

func writeField(h hash.Hash, v string) {
	var n [binary.MaxVarintLen64]byte
	h.Write(n[:binary.PutUvarint(n[:], uint64(len(v)))])
	h.Write([]byte(v))
}

// Sign returns the query string ("expires=<unix>&sig=<base64url>") that
// authorises downloading path of jobHandle until expires (second
// precision, truncated). path is "" for the whole-job zip.
func (s Signer) Sign(jobHandle, path string, expires time.Time) string {
	exp := expires.Unix()
	q := url.Values{}
	q.Set(paramExpires, strconv.FormatInt(exp, 10))
	q.Set(paramSig, base64.RawURLEncoding.EncodeToString(s.mac(jobHandle, path, exp)))
	return q.Encode()
}

// Verify checks that q carries a valid, unexpired signature for exactly
// (jobHandle, path). It returns an error wrapping ErrUnsigned when q has no
// signature at all (whatever the key), ErrBadSignature when it is malformed, tampered with,
// or signed for another job, path or key, ErrExpired when it was valid but
// its time has passed, and ErrNoKey when the Signer has no key. The
// signature is compared in constant time.
func (s Signer) Verify(jobHandle, path string, q url.Values) error {
	expS, sigS := q.Get(paramExpires), q.Get(paramSig)
	if expS == "" && sigS == "" {
		return fmt.Errorf("verify %s %q: %w", jobHandle, path, ErrUnsigned)
	}
	if len(s.Key) == 0 {
		return fmt.Errorf("verify %s %q: %w", jobHandle, path, ErrNoKey)
	}
	// Digits only: ParseInt would accept "+123", which would let two
	// spellings of one expiry verify.
	if expS == "" || strings.TrimLeft(expS, "0123456789") != "" || len(expS) > 19 {
		return fmt.Errorf("verify %s %q: malformed expiry: %w", jobHandle, path, ErrBadSignature)
	}
	exp, err := strconv.ParseInt(expS, 10, 64)
	if err != nil {
		return fmt.Errorf("verify %s %q: malformed expiry: %w", jobHandle, path, ErrBadSignature)
	}
	got, err := base64.RawURLEncoding.DecodeString(sigS)
	if err != nil {
		return fmt.Errorf("verify %s %q: malformed signature: %w", jobHandle, path, ErrBadSignature)
	}
	if !hmac.Equal(got, s.mac(jobHandle, path, exp)) {
		return fmt.Errorf("verify %s %q: %w", jobHandle, path, ErrBadSignature)
	}
	if !s.now().Before(time.Unix(exp, 0)) {
		return fmt.Errorf("verify %s %q: expired %s: %w", jobHandle, path,
			time.Unix(exp, 0).UTC().Format(time.RFC3339), ErrExpired)
	}
	return nil
}

// URL returns the absolute signed link under base (scheme://host[/prefix],
// without a trailing slash) for one file of a job:
//
//	base/scene7/export/<jobHandle>/<path>?expires=…&sig=…
//
// or, when path is "", for the job's zip:
//
//	base/scene7/export/<jobHandle>.zip?expires=…&sig=…
//
// The job handle and each path segment are percent-encoded ("|" → "%7C").
func (s Signer) URL(base, jobHandle, path string, expires time.Time) string {
	var b strings.Builder
	b.WriteString(strings.TrimRight(base, "/"))
	b.WriteString(RoutePrefix)
	b.WriteString(url.PathEscape(jobHandle))
	if path == "" {
		b.WriteString(".zip")
	} else {
		for seg := range strings.SplitSeq(path, "/") {
			b.WriteByte('/')
			b.WriteString(url.PathEscape(seg))
		}
	}
	b.WriteByte('?')
	b.WriteString(s.Sign(jobHandle, path, expires))
	return b.String()
}
