package httplimit

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"time"
)

// ErrSlowBody is (wrapped in a *SlowBodyError) what a paced body returns
// when its client stalls or trickles.
var ErrSlowBody = errors.New("request body arrived too slowly")

// SlowBodyError says which of a Pace's bounds a body missed.
type SlowBodyError struct {
	Pace   Pace
	ByRate bool // the average rate, not a single stall
}

func (e *SlowBodyError) Error() string {
	if e.ByRate {
		return fmt.Sprintf("request body arrived slower than %d bytes/s on average", e.Pace.MinRate)
	}
	return fmt.Sprintf("request body stalled: nothing arrived for %s", e.Pace.Idle)
}

// Is makes errors.Is(err, ErrSlowBody) true.
func (e *SlowBodyError) Is(target error) bool { return target == ErrSlowBody }

// Pace is how fast a request body must arrive. Each read of the body gets a
// connection read deadline, renewed as bytes arrive: Idle after the read
// starts, and no later than the moment the body's average rate, counted
// from the request's start after a grace of Idle, would fall below MinRate.
// A long upload that keeps coming is never cut; a stalled or trickling one
// is, and its connection closed.
type Pace struct {
	Idle    time.Duration
	MinRate int64 // bytes per second; 0: no rate bound
}

// Wrap applies the pace to every request body that next reads. Requests
// without a body are left alone: for them the server watches the
// connection for the client going away, and a read deadline would cut that
// watch short (and cancel the request) during a long download.
func (p Pace) Wrap(next http.Handler) http.Handler {
	if p.Idle <= 0 {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Body == nil || r.Body == http.NoBody {
			next.ServeHTTP(w, r)
			return
		}
		rc := http.NewResponseController(w)
		start := time.Now()
		// Also bounds the server's own read of a body the handler left
		// unread (it drains up to 256 KiB before it answers).
		if err := rc.SetReadDeadline(start.Add(p.Idle)); err != nil {
			next.ServeHTTP(w, r) // a ResponseWriter without deadlines
			return
		}
		r2 := r.WithContext(r.Context())
		r2.Body = &pacedBody{ReadCloser: r.Body, rc: rc, pace: p, start: start}
		next.ServeHTTP(w, r2)
	})
}

type pacedBody struct {
	io.ReadCloser
	rc    *http.ResponseController
	pace  Pace
	start time.Time
	n     int64
	err   error
}

func (b *pacedBody) Read(p []byte) (int, error) {
	if b.err != nil {
		return 0, b.err
	}
	deadline, byRate := b.deadline(time.Now())
	_ = b.rc.SetReadDeadline(deadline)
	n, err := b.ReadCloser.Read(p)
	b.n += int64(n)
	switch {
	case err == io.EOF:
		// The body is whole: the server now watches the connection for
		// the client leaving, which must not time out during a long
		// answer.
		_ = b.rc.SetReadDeadline(time.Time{})
	case err != nil && errors.Is(err, os.ErrDeadlineExceeded):
		err = &SlowBodyError{Pace: b.pace, ByRate: byRate}
		b.err = err
	}
	return n, err
}

// deadline is the next read's: Idle from now, or sooner when the bytes so
// far only buy the average rate until then.
func (b *pacedBody) deadline(now time.Time) (time.Time, bool) {
	d := now.Add(b.pace.Idle)
	if b.pace.MinRate <= 0 {
		return d, false
	}
	earned := time.Duration(float64(b.n) / float64(b.pace.MinRate) * float64(time.Second))
	if r := b.start.Add(b.pace.Idle + earned); r.Before(d) {
		return r, true
	}
	return d, false
}
