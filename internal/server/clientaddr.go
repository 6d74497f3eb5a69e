package server

import (
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// clientAddress sets a request's RemoteAddr to its client's address when
// it came through a trusted proxy: the rightmost X-Forwarded-For entry
// that is not itself a trusted proxy (entries to its left are whatever
// the client chose to send). Without trusted proxies the header is
// ignored: anyone may write it.
func clientAddress(trusted []netip.Prefix, next http.Handler) http.Handler {
	if len(trusted) == 0 {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if addr, ok := forwardedClient(r.RemoteAddr, r.Header.Values("X-Forwarded-For"), trusted); ok {
			r = r.WithContext(r.Context())
			r.RemoteAddr = addr
		}
		next.ServeHTTP(w, r)
	})
}

// forwardedClient finds the client of a request from peer remoteAddr
// with X-Forwarded-For values xff, as "ip:0".
func forwardedClient(remoteAddr string, xff []string, trusted []netip.Prefix) (string, bool) {
	peer, ok := parseIP(remoteAddr)
	if !ok || !isTrusted(peer, trusted) {
		return "", false
	}
	var hops []string
	for _, v := range xff {
		for h := range strings.SplitSeq(v, ",") {
			if h = strings.TrimSpace(h); h != "" {
				hops = append(hops, h)
			}
		}
	}
	for i := len(hops) - 1; i >= 0; i-- {
		ip, ok := parseIP(hops[i])
		if !ok {
			return "", false // unreadable: keep the peer
		}
		if !isTrusted(ip, trusted) || i == 0 {
			return netip.AddrPortFrom(ip, 0).String(), true
		}
	}
	return "", false
}

// parseIP reads "ip", "ip:port" or "[ip]:port".
func parseIP(s string) (netip.Addr, bool) {
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr().Unmap(), true
	}
	if host, _, err := net.SplitHostPort(s); err == nil {
		s = host
	}
	ip, err := netip.ParseAddr(strings.Trim(s, "[]"))
	if err != nil {
		return netip.Addr{}, false
	}
	return ip.Unmap(), true
}

func isTrusted(ip netip.Addr, trusted []netip.Prefix) bool {
	for _, p := range trusted {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// ParseTrustedProxies reads a comma-separated list of addresses and CIDR
// prefixes ("10.0.0.0/8, 192.168.1.7").
func ParseTrustedProxies(s string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for part := range strings.SplitSeq(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		if strings.Contains(part, "/") {
			p, err := netip.ParsePrefix(part)
			if err != nil {
				return nil, err
			}
			out = append(out, p.Masked())
			continue
		}
		ip, err := netip.ParseAddr(part)
		if err != nil {
			return nil, err
		}
		out = append(out, netip.PrefixFrom(ip.Unmap(), ip.Unmap().BitLen()))
	}
	return out, nil
}
