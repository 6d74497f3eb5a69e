package httplimit

import (
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// paceServer serves Pace p around a handler that reads the whole body and
// reports what it read and the error, then (optionally) works a while.
func paceServer(t *testing.T, p Pace, work time.Duration) (*httptest.Server, chan error) {
	results := make(chan error, 1)
	srv := httptest.NewServer(p.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, err := io.ReadAll(r.Body)
		if err == nil && work > 0 {
			select {
			case <-time.After(work):
			case <-r.Context().Done():
				err = r.Context().Err()
			}
		}
		results <- err
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		_, _ = io.WriteString(w, "ok")
	})))
	t.Cleanup(srv.Close)
	return srv, results
}

// send writes headers declaring n bytes of body and then the body in
// pieces of size every gap.
func send(t *testing.T, srv *httptest.Server, n, piece int, gap time.Duration) net.Conn {
	conn, err := net.Dial("tcp", strings.TrimPrefix(srv.URL, "http://"))
	require.NoError(t, err)
	t.Cleanup(func() { conn.Close() })
	_, err = io.WriteString(conn, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: "+strconv.Itoa(n)+"\r\n\r\n")
	require.NoError(t, err)
	go func() {
		for sent := 0; sent < n; sent += piece {
			if _, err := conn.Write([]byte(strings.Repeat("a", min(piece, n-sent)))); err != nil {
				return
			}
			time.Sleep(gap)
		}
	}()
	return conn
}

func TestPace(t *testing.T) {
	tests := []struct {
		name         string
		pace         Pace
		n, piece     int
		gap          time.Duration
		slow, byRate bool
	}{
		// A body that keeps coming is read whole, however long it takes
		// in all (here 4 × Idle, at 250 B/s).
		{"steady past idle", Pace{Idle: 500 * time.Millisecond, MinRate: 100}, 500, 5, 20 * time.Millisecond, false, false},
		{"stalls", Pace{Idle: 500 * time.Millisecond}, 100, 10, time.Hour, true, false},
		// One byte per 300ms never stalls for Idle, but averages ~3 B/s.
		{"trickles", Pace{Idle: 500 * time.Millisecond, MinRate: 100}, 100, 1, 300 * time.Millisecond, true, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv, results := paceServer(t, tc.pace, 0)
			send(t, srv, tc.n, tc.piece, tc.gap)
			var err error
			select {
			case err = <-results:
			case <-time.After(20 * time.Second):
				t.Fatal("the handler never finished reading")
			}
			if !tc.slow {
				assert.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, ErrSlowBody)
			var se *SlowBodyError
			require.True(t, errors.As(err, &se))
			assert.Equal(t, tc.byRate, se.ByRate, "%v", err)
		})
	}
}

// Once the body is whole, the deadline is lifted: a handler that works
// longer than Idle afterwards is not cancelled.
func TestPaceLiftedAfterBody(t *testing.T) {
	srv, results := paceServer(t, Pace{Idle: 100 * time.Millisecond, MinRate: 1}, 500*time.Millisecond)
	resp, err := http.Post(srv.URL, "text/plain", strings.NewReader("hello"))
	require.NoError(t, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	assert.NoError(t, <-results)
	assert.Equal(t, "ok", string(b))
}

// Requests without a body are not paced: a long answer is not cut by a
// read deadline.
func TestPaceNoBody(t *testing.T) {
	done := make(chan error, 1)
	srv := httptest.NewServer(Pace{Idle: 50 * time.Millisecond}.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-time.After(300 * time.Millisecond):
			done <- nil
		case <-r.Context().Done():
			done <- r.Context().Err()
		}
	})))
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	require.NoError(t, err)
	resp.Body.Close()
	assert.NoError(t, <-done)
}
