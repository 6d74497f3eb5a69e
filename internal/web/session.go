package web

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// cookieName is the session cookie. Its Path is /jobs: the SOAP API and
// the download links never see it.
const (
	cookieName = "ipsd_session"
	cookiePath = "/jobs"
	// csrfField is the form field every POST carries the token in.
	csrfField = "csrf"
	// preSignInTTL bounds how long a sign-in form may stay open.
	preSignInTTL = time.Hour
	nonceLen     = 16
	stampLen     = 16
	sessionV1    = 1
)

// Errors of the session codec.
var (
	errNoSession  = errors.New("no session")
	errBadSession = errors.New("session cookie is invalid")
	errExpired    = errors.New("session has expired")
)

// session is what the cookie carries. It is signed, not encrypted: it
// holds nothing secret (a user handle, a random nonce and a keyed digest).
type session struct {
	// User is the user's handle; "" before sign-in (the sign-in form's
	// session, which exists for its CSRF token).
	User string
	// Stamp is keys.stamp(User.CredentialStamp) at sign-in.
	Stamp []byte
	// Nonce is random per sign-in; the CSRF token is derived from it.
	Nonce   []byte
	Expires time.Time
}

// keys are derived from the deployment key, one per use, so a value made
// for one purpose (a download link, a CSRF token) never verifies as
// another (a session).
type keys struct {
	session, csrf, stamp []byte
}

func deriveKeys(key []byte) keys {
	d := func(label string) []byte {
		m := hmac.New(sha256.New, key)
		m.Write([]byte("ipsd-web-v1 " + label))
		return m.Sum(nil)
	}
	return keys{session: d("session"), csrf: d("csrf"), stamp: d("credential-stamp")}
}

func (k keys) mac(key []byte, parts ...[]byte) []byte {
	m := hmac.New(sha256.New, key)
	for _, p := range parts {
		var n [binary.MaxVarintLen64]byte
		m.Write(n[:binary.PutUvarint(n[:], uint64(len(p)))])
		m.Write(p)
	}
	return m.Sum(nil)
}

// stampOf is the digest of a user's credential stamp a session carries.
func (k keys) stampOf(credentialStamp string) []byte {
	return k.mac(k.stamp, []byte(credentialStamp))[:stampLen]
}

// csrfToken is the token of a session's forms.
func (k keys) csrfToken(s session) string {
	return base64.RawURLEncoding.EncodeToString(k.mac(k.csrf, s.Nonce))
}

// checkCSRF compares a submitted token in constant time.
func (k keys) checkCSRF(s session, token string) bool {
	got, err := base64.RawURLEncoding.DecodeString(token)
	return err == nil && hmac.Equal(got, k.mac(k.csrf, s.Nonce))
}

// encode signs a session: base64url(payload ‖ HMAC(payload)), where the
// payload is a version byte, the expiry (Unix seconds), the nonce, the
// stamp and the user handle, each length-prefixed.
func (k keys) encode(s session) string {
	var p []byte
	p = append(p, sessionV1)
	p = binary.BigEndian.AppendUint64(p, uint64(s.Expires.Unix()))
	for _, f := range [][]byte{s.Nonce, s.Stamp, []byte(s.User)} {
		p = binary.AppendUvarint(p, uint64(len(f)))
		p = append(p, f...)
	}
	p = append(p, k.mac(k.session, p)...)
	return base64.RawURLEncoding.EncodeToString(p)
}

// decode verifies a cookie value and returns its session if unexpired.
func (k keys) decode(v string, now time.Time) (session, error) {
	b, err := base64.RawURLEncoding.DecodeString(v)
	if err != nil || len(b) < 1+8+sha256.Size {
		return session{}, errBadSession
	}
	p, sig := b[:len(b)-sha256.Size], b[len(b)-sha256.Size:]
	if !hmac.Equal(sig, k.mac(k.session, p)) {
		return session{}, errBadSession
	}
	if p[0] != sessionV1 {
		return session{}, errBadSession
	}
	s := session{Expires: time.Unix(int64(binary.BigEndian.Uint64(p[1:9])), 0)}
	rest := p[9:]
	fields := make([][]byte, 3)
	for i := range fields {
		n, w := binary.Uvarint(rest)
		if w <= 0 || n > uint64(len(rest)-w) {
			return session{}, errBadSession
		}
		fields[i], rest = rest[w:w+int(n)], rest[w+int(n):]
	}
	if len(rest) != 0 || len(fields[0]) != nonceLen {
		return session{}, errBadSession
	}
	s.Nonce, s.Stamp, s.User = fields[0], fields[1], string(fields[2])
	if !now.Before(s.Expires) {
		return session{}, errExpired
	}
	return s, nil
}

// newSession makes a session with a fresh nonce: at sign-in, so a nonce
// (and CSRF token) planted before it is worthless after.
func newSession(user string, stamp []byte, expires time.Time) (session, error) {
	nonce := make([]byte, nonceLen)
	if _, err := rand.Read(nonce); err != nil {
		return session{}, fmt.Errorf("session nonce: %w", err)
	}
	return session{User: user, Stamp: stamp, Nonce: nonce, Expires: expires}, nil
}

// readSession returns the request's valid session.
func (k keys) readSession(r *http.Request, now time.Time) (session, error) {
	c, err := r.Cookie(cookieName)
	if err != nil {
		return session{}, errNoSession
	}
	return k.decode(c.Value, now)
}

// setCookie sends the session. Secure when the client reached us over
// TLS, directly or through a proxy that says so.
func (k keys) setCookie(w http.ResponseWriter, r *http.Request, s session, now time.Time) {
	http.SetCookie(w, &http.Cookie{
		Name: cookieName, Value: k.encode(s), Path: cookiePath,
		Expires: s.Expires.UTC(), MaxAge: max(int(s.Expires.Sub(now).Seconds()), 1),
		HttpOnly: true, Secure: overTLS(r), SameSite: http.SameSiteLaxMode,
	})
}

func clearCookie(w http.ResponseWriter, r *http.Request) {
	http.SetCookie(w, &http.Cookie{
		Name: cookieName, Value: "", Path: cookiePath, MaxAge: -1,
		HttpOnly: true, Secure: overTLS(r), SameSite: http.SameSiteLaxMode,
	})
}

func overTLS(r *http.Request) bool {
	if r.TLS != nil {
		return true
	}
	proto, _, _ := strings.Cut(r.Header.Get("X-Forwarded-Proto"), ",")
	return strings.EqualFold(strings.TrimSpace(proto), "https")
}
