package server

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestClientAddress(t *testing.T) {
	trusted, err := ParseTrustedProxies("10.0.0.0/8, 192.168.1.7,::1")
	require.NoError(t, err)
	tests := []struct {
		name   string
		remote string
		xff    []string
		want   string
	}{
		{"no header", "10.1.1.1:5000", nil, "10.1.1.1:5000"},
		{"from a trusted proxy", "10.1.1.1:5000", []string{"203.0.113.9"}, "203.0.113.9:0"},
		{"rightmost untrusted wins", "10.1.1.1:5000", []string{"198.51.100.1, 203.0.113.9, 10.2.2.2"}, "203.0.113.9:0"},
		{"several headers", "192.168.1.7:1", []string{"198.51.100.1", "203.0.113.9"}, "203.0.113.9:0"},
		{"all trusted: the leftmost", "10.1.1.1:5000", []string{"10.3.3.3, 10.2.2.2"}, "10.3.3.3:0"},
		{"from an untrusted peer the header is ignored", "203.0.113.50:7", []string{"10.9.9.9"}, "203.0.113.50:7"},
		{"garbage keeps the peer", "10.1.1.1:5000", []string{"not-an-ip"}, "10.1.1.1:5000"},
		{"IPv6 proxy and client", "[::1]:80", []string{"2001:db8::5"}, "[2001:db8::5]:0"},
		{"with a port", "10.1.1.1:5000", []string{"203.0.113.9:4711"}, "203.0.113.9:0"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var got string
			h := clientAddress(trusted, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { got = r.RemoteAddr }))
			req := httptest.NewRequest(http.MethodGet, "/", nil)
			req.RemoteAddr = tc.remote
			for _, v := range tc.xff {
				req.Header.Add("X-Forwarded-For", v)
			}
			h.ServeHTTP(httptest.NewRecorder(), req)
			assert.Equal(t, tc.want, got)
		})
	}
	_, err = ParseTrustedProxies("10.0.0.0/33")
	assert.Error(t, err)
}
