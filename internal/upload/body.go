package upload

import (
	"bytes"
	"errors"
	"io"
)

// errFileTooLarge is returned by fileReader once a file passes the limit.
var errFileTooLarge = errors.New("file exceeds the size limit")

// errPreAuthLimit is returned by the tracker when the body goes on past
// its pre-authentication limit while nobody is authenticated.
var errPreAuthLimit = errors.New("request body too large before authentication")

// tracker sits between the request body and mime/multipart's reader. It
// makes the body's first error sticky (net/http reports a short body once as
// io.ErrUnexpectedEOF and as io.EOF after that), remembers how the body
// ended, and counts the close delimiters ("--boundary--" at the start of a
// line) that went by.
//
// mime/multipart ends a part cleanly (io.EOF) when the body stops right
// after "\r\n--boundary", even without the rest of the delimiter line: a
// truncated request could then look like a whole file. fileReader asks the
// tracker before it lets a file end: see partEndOK.
type tracker struct {
	r    io.Reader
	err  error // the first error the body returned; io.EOF for a clean end
	read int64
	// preAuth bounds read until authenticated is called (0: no bound): a
	// gzip body inflating to gigabytes of preamble is cut off there.
	preAuth  int64
	boundary string
	close    []byte // "\n--boundary--": a close delimiter at the start of a line
	closes   int
	carry    []byte // the last len(close)-1 bytes seen, for matches across reads
	tmp      []byte
}

func newTracker(r io.Reader, boundary string, preAuth int64) *tracker {
	c := []byte("\n--" + boundary + "--")
	return &tracker{r: r, boundary: boundary, preAuth: preAuth, close: c, carry: make([]byte, 0, len(c)), tmp: make([]byte, 0, 2*len(c))}
}

// authenticated lifts the pre-authentication bound.
func (t *tracker) authenticated() { t.preAuth = 0 }

func (t *tracker) Read(p []byte) (int, error) {
	if t.err != nil {
		return 0, t.err
	}
	if t.preAuth > 0 {
		if t.read >= t.preAuth {
			t.err = errPreAuthLimit
			return 0, t.err
		}
		p = p[:min(int64(len(p)), t.preAuth-t.read)]
	}
	n, err := t.r.Read(p)
	if n > 0 {
		t.read += int64(n)
		t.scan(p[:n])
	}
	if err != nil {
		t.err = err
	}
	return n, err
}

// scan counts close delimiters in b, including one that straddles reads.
func (t *tracker) scan(b []byte) {
	k := len(t.close) - 1
	if len(t.carry) > 0 {
		// Only a match that starts in carry and ends in b is counted here:
		// carry is shorter than the delimiter, and so is b[:k].
		t.tmp = append(append(t.tmp[:0], t.carry...), b[:min(len(b), k)]...)
		t.closes += bytes.Count(t.tmp, t.close)
	}
	t.closes += bytes.Count(b, t.close)
	// Keep the last k bytes of carry+b.
	if len(b) >= k {
		t.carry = append(t.carry[:0], b[len(b)-k:]...)
		return
	}
	t.tmp = append(append(t.tmp[:0], t.carry...), b...)
	t.carry = append(t.carry[:0], t.tmp[max(0, len(t.tmp)-k):]...)
}

// ended reports whether the body has returned an error (or io.EOF).
func (t *tracker) ended() bool { return t.err != nil }

// truncated reports whether the body failed rather than ended: a client
// that sent less than its Content-Length, a chunked body without its last
// chunk, a broken connection, bad gzip.
func (t *tracker) truncated() bool { return t.err != nil && t.err != io.EOF }

// partEndOK tells whether a part that mime/multipart ended may be trusted
// to be whole: while the body goes on, the part ended at a delimiter that
// was followed by more; once the body has ended, only if it ended cleanly
// and the multipart's close delimiter came by.
func (t *tracker) partEndOK() bool {
	if !t.ended() {
		return true
	}
	return t.err == io.EOF && t.closes > 0
}

// fileReader reads one file part: it stops at the size limit and turns an
// end that the tracker cannot vouch for into io.ErrUnexpectedEOF. Its first
// error is sticky, so that a consumer that peeks (and loses the error) sees
// it again on the next read.
type fileReader struct {
	r        io.Reader
	t        *tracker
	max      int64 // 0 = no limit
	n        int64
	err      error
	tooBig   bool
	cutShort bool
}

func (f *fileReader) Read(p []byte) (int, error) {
	if f.err != nil {
		return 0, f.err
	}
	if f.max > 0 && int64(len(p)) > f.max-f.n+1 {
		// Never read far past the limit: one byte over is enough to know.
		p = p[:f.max-f.n+1]
	}
	n, err := f.r.Read(p)
	f.n += int64(n)
	if f.max > 0 && f.n > f.max {
		f.tooBig = true
		f.err = errFileTooLarge
		return n, f.err
	}
	switch {
	case err == io.EOF && !f.t.partEndOK():
		err = io.ErrUnexpectedEOF
		f.cutShort = true
	case err != nil && err != io.EOF:
		f.cutShort = true
	}
	if err != nil {
		f.err = err
	}
	return n, err
}
