package download

import (
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var testNow = time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)

func testSigner() Signer {
	return Signer{Key: []byte("0123456789abcdef0123456789abcdef"), Now: func() time.Time { return testNow }}
}

func TestSignerVerify(t *testing.T) {
	s := testSigner()
	exp := testNow.Add(time.Hour)
	parse := func(q string) url.Values {
		v, err := url.ParseQuery(q)
		require.NoError(t, err)
		return v
	}
	valid := parse(s.Sign("acme|J1", "a/b.jpg", exp))
	validZip := parse(s.Sign("acme|J1", "", exp))
	with := func(base url.Values, k, v string) url.Values {
		c := url.Values{}
		for kk, vv := range base {
			c[kk] = append([]string(nil), vv...)
		}
		c.Set(k, v)
		return c
	}
	flipped := []byte(valid.Get("sig"))
	if flipped[0] == 'A' {
		flipped[0] = 'B'
	} else {
		flipped[0] = 'A'
	}

	tests := []struct {
		name    string
		signer  Signer
		job     string
		path    string
		q       url.Values
		wantErr error
	}{
		{"valid file link", s, "acme|J1", "a/b.jpg", valid, nil},
		{"valid zip link", s, "acme|J1", "", validZip, nil},
		{"extra params ignored", s, "acme|J1", "", with(validZip, "x", "y"), nil},
		{"no signature", s, "acme|J1", "a/b.jpg", url.Values{}, ErrUnsigned},
		{"only expires", s, "acme|J1", "a/b.jpg", url.Values{"expires": {"1"}}, ErrBadSignature},
		{"only sig", s, "acme|J1", "a/b.jpg", url.Values{"sig": valid["sig"]}, ErrBadSignature},
		{"other job", s, "acme|J2", "a/b.jpg", valid, ErrBadSignature},
		{"other path", s, "acme|J1", "a/c.jpg", valid, ErrBadSignature},
		{"file link used for zip", s, "acme|J1", "", valid, ErrBadSignature},
		{"zip link used for file", s, "acme|J1", "a/b.jpg", validZip, ErrBadSignature},
		{"expiry moved", s, "acme|J1", "a/b.jpg", with(valid, "expires", "99999999999"), ErrBadSignature},
		{"expiry with plus", s, "acme|J1", "a/b.jpg", with(valid, "expires", "+"+valid.Get("expires")), ErrBadSignature},
		{"expiry not a number", s, "acme|J1", "a/b.jpg", with(valid, "expires", "soon"), ErrBadSignature},
		{"expiry too long", s, "acme|J1", "a/b.jpg", with(valid, "expires", strings.Repeat("9", 30)), ErrBadSignature},
		{"signature flipped", s, "acme|J1", "a/b.jpg", with(valid, "sig", string(flipped)), ErrBadSignature},
		{"signature truncated", s, "acme|J1", "a/b.jpg", with(valid, "sig", valid.Get("sig")[:20]), ErrBadSignature},
		{"signature not base64url", s, "acme|J1", "a/b.jpg", with(valid, "sig", "!!!"), ErrBadSignature},
		{"other key", Signer{Key: []byte("another key of thirty-two bytes!"), Now: s.Now}, "acme|J1", "a/b.jpg", valid, ErrBadSignature},
		{"no key", Signer{Now: s.Now}, "acme|J1", "a/b.jpg", valid, ErrNoKey},
		{"no key, unsigned", Signer{Now: s.Now}, "acme|J1", "a/b.jpg", url.Values{}, ErrUnsigned},
		{"expired", Signer{Key: s.Key, Now: func() time.Time { return exp.Add(time.Second) }}, "acme|J1", "a/b.jpg", valid, ErrExpired},
		{"expires exactly now", Signer{Key: s.Key, Now: func() time.Time { return exp }}, "acme|J1", "a/b.jpg", valid, ErrExpired},
		{"one second before expiry", Signer{Key: s.Key, Now: func() time.Time { return exp.Add(-time.Second) }}, "acme|J1", "a/b.jpg", valid, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.signer.Verify(tc.job, tc.path, tc.q)
			if tc.wantErr == nil {
				assert.NoError(t, err)
				return
			}
			assert.ErrorIs(t, err, tc.wantErr)
		})
	}
}

// The fields are length-prefixed, so moving a character between job and
// path gives a different signature.
func TestSignerFieldsDoNotRunTogether(t *testing.T) {
	s := testSigner()
	exp := testNow.Add(time.Hour)
	q, err := url.ParseQuery(s.Sign("ab", "c", exp))
	require.NoError(t, err)
	require.NoError(t, s.Verify("ab", "c", q))
	assert.ErrorIs(t, s.Verify("a", "bc", q), ErrBadSignature)
}

func TestSignQueryShape(t *testing.T) {
	q := testSigner().Sign("acme|J1", "", time.Unix(1800000000, 0))
	assert.Regexp(t, `^expires=1800000000&sig=[A-Za-z0-9_-]{43}$`, q)
}

func TestSignerURL(t *testing.T) {
	s := testSigner()
	exp := time.Unix(1800000000, 0)
	tests := []struct {
		name, base, job, path, wantPrefix string
	}{
		{"zip", "https://ips.example.com", "acme|J1", "", "https://ips.example.com/scene7/export/acme%7CJ1.zip?"},
		{"zip, trailing slash on base", "https://ips.example.com/", "acme|J1", "", "https://ips.example.com/scene7/export/acme%7CJ1.zip?"},
		{"file", "http://h:8080/prefix", "J.1_x-y", "a.jpg", "http://h:8080/prefix/scene7/export/J.1_x-y/a.jpg?"},
		{"nested file with odd characters", "https://h", "acme|J1", "my folder/ünï/a#1?.jpg",
			"https://h/scene7/export/acme%7CJ1/my%20folder/%C3%BCn%C3%AF/a%231%3F.jpg?"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := s.URL(tc.base, tc.job, tc.path, exp)
			require.True(t, strings.HasPrefix(got, tc.wantPrefix), "got %s", got)
			assert.True(t, strings.HasSuffix(got, "?"+s.Sign(tc.job, tc.path, exp)), "got %s", got)

			// The handler reads back exactly what was signed.
			u, err := url.Parse(got)
			require.NoError(t, err)
			tg, ok := parseTarget(u)
			require.True(t, ok)
			assert.Equal(t, target{job: tc.job, path: tc.path, zip: tc.path == ""}, tg)
			assert.NoError(t, s.Verify(tg.job, tg.path, u.Query()))
		})
	}
}
