package app

import (
	"net/netip"
	"time"

	"github.com/ipsexport/ipsd/internal/httplimit"
)

// RequestLimits bound what requests may cost before they are answered
// (docs/security.md). Zero fields take DefaultRequestLimits' values; a
// negative one turns its limit off.
type RequestLimits struct {
	// MaxBufferedBytes is the server-wide budget of request bytes held in
	// memory by all requests in flight; past it, requests get 503.
	MaxBufferedBytes int64
	// BodyIdleTimeout is how long a request body may send nothing.
	BodyIdleTimeout time.Duration
	// BodyMinRate is the slowest average, in bytes per second, a request
	// body may arrive at (after a first BodyIdleTimeout of grace).
	BodyMinRate int64
	// TrustedProxies are the peers whose X-Forwarded-For is believed.
	TrustedProxies []netip.Prefix
}

// DefaultRequestLimits: 64 MiB in flight, bodies idle at most 30 s and
// arriving at 1 KiB/s or more.
func DefaultRequestLimits() RequestLimits {
	return RequestLimits{MaxBufferedBytes: 64 << 20, BodyIdleTimeout: 30 * time.Second, BodyMinRate: 1 << 10}
}

func (l RequestLimits) withDefaults() RequestLimits {
	d := DefaultRequestLimits()
	if l.MaxBufferedBytes == 0 {
		l.MaxBufferedBytes = d.MaxBufferedBytes
	}
	if l.BodyIdleTimeout == 0 {
		l.BodyIdleTimeout = d.BodyIdleTimeout
	}
	if l.BodyMinRate == 0 {
		l.BodyMinRate = d.BodyMinRate
	}
	return l
}

func (l RequestLimits) pace() httplimit.Pace {
	return httplimit.Pace{Idle: max(l.BodyIdleTimeout, 0), MinRate: max(l.BodyMinRate, 0)}
}
