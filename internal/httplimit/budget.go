// Package httplimit bounds what an HTTP request may cost the server before
// it is answered: a server-wide budget of request bytes held in memory, and
// body read deadlines that are renewed as bytes arrive, so that a stalled
// or trickling client is cut off while a long, steady upload is not. The
// limits and why they are there: docs/security.md.
package httplimit

import (
	"errors"
	"fmt"
	"io"

	"golang.org/x/sync/semaphore"
)

// ErrBusy is returned when the server-wide budget of buffered request
// bytes is spent: the request should be answered 503 with Retry-After.
var ErrBusy = errors.New("the server holds as many request bytes as it may: try again shortly")

// ErrTooLarge is returned by ReadAll for a body over its limit.
var ErrTooLarge = errors.New("request body too large")

// RetryAfterSeconds is what a 503 for ErrBusy tells the client to wait.
const RetryAfterSeconds = 5

// Budget is the number of request bytes all requests in flight may hold in
// memory together (SOAP bodies after gunzip, UploadFile's XML parts). A nil
// *Budget is unbounded.
type Budget struct {
	sem  *semaphore.Weighted
	size int64
}

// NewBudget returns a budget of size bytes; size <= 0 means unbounded (nil).
func NewBudget(size int64) *Budget {
	if size <= 0 {
		return nil
	}
	return &Budget{sem: semaphore.NewWeighted(size), size: size}
}

// Size is the budget in bytes (0: unbounded).
func (b *Budget) Size() int64 {
	if b == nil {
		return 0
	}
	return b.size
}

// Hold is what one request holds of a budget. Grow it as bytes are
// buffered, Release it when the request is done with them.
type Hold struct {
	b *Budget
	n int64
}

// Hold starts a request's share of the budget, holding nothing yet.
func (b *Budget) Hold() *Hold { return &Hold{b: b} }

// Grow takes n more bytes of the budget, or fails with ErrBusy without
// waiting: a request never queues for memory behind stalled ones.
func (h *Hold) Grow(n int64) error {
	if h == nil || h.b == nil || n <= 0 {
		return nil
	}
	if !h.b.sem.TryAcquire(n) {
		return ErrBusy
	}
	h.n += n
	return nil
}

// Release gives back everything the hold took; it may be called again.
func (h *Hold) Release() {
	if h == nil || h.b == nil || h.n == 0 {
		return
	}
	h.b.sem.Release(h.n)
	h.n = 0
}

// ReadAll reads r to its end into memory, at most limit bytes, charging
// each growth of its buffer to h before it allocates it, so the budget is
// never exceeded. It returns ErrTooLarge past the limit, ErrBusy when the
// budget is spent, or r's error.
func ReadAll(r io.Reader, limit int64, h *Hold) ([]byte, error) {
	var buf []byte
	for {
		if int64(len(buf)) > limit {
			return nil, fmt.Errorf("%w: more than %d bytes", ErrTooLarge, limit)
		}
		if len(buf) == cap(buf) {
			// Double, from 4 KiB, never past limit+1 (one byte over is
			// enough to know).
			grow := min(max(int64(cap(buf)), 4<<10), limit+1-int64(len(buf)))
			if err := h.Grow(grow); err != nil {
				return nil, err
			}
			nb := make([]byte, len(buf), int64(len(buf))+grow)
			copy(nb, buf)
			buf = nb
		}
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			if int64(len(buf)) > limit {
				return nil, fmt.Errorf("%w: more than %d bytes", ErrTooLarge, limit)
			}
			return buf, nil
		}
		if err != nil {
			return nil, err
		}
	}
}
