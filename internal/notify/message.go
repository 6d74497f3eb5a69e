package notify

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/quotedprintable"
	"net/mail"
	"strings"
	"time"
)

// Mail is one plain-text message.
type Mail struct {
	// From is the header From ("Name <addr>" or "addr"); the sender's
	// configured From when empty.
	From string
	// To is one address or a comma-separated list (RFC 5322).
	To      string
	Subject string
	// Text is the UTF-8 body; line ends "\n" or "\r\n".
	Text string
	// Date is the Date header; the time of sending when zero.
	Date time.Time
	// MessageID is the Message-ID without angle brackets; generated when
	// empty.
	MessageID string
}

// envelope is the SMTP envelope of a rendered mail.
type envelope struct {
	from string   // bare address
	to   []string // bare addresses
}

// ErrNoFrom is returned when a mail has no From and the sender none to
// give it.
var ErrNoFrom = errors.New("mail has no From address")

// render returns the message in RFC 5322 form (CRLF line ends, body
// quoted-printable) and its envelope. now fills a zero Date.
func (m Mail) render(now time.Time) ([]byte, envelope, error) {
	if strings.TrimSpace(m.From) == "" {
		return nil, envelope{}, ErrNoFrom
	}
	from, err := mail.ParseAddress(m.From)
	if err != nil {
		return nil, envelope{}, fmt.Errorf("mail From %q: %w", m.From, err)
	}
	to, err := mail.ParseAddressList(m.To)
	if err != nil {
		return nil, envelope{}, fmt.Errorf("mail To %q: %w", m.To, err)
	}
	date := m.Date
	if date.IsZero() {
		date = now
	}
	id := strings.Trim(m.MessageID, "<> ")
	if id == "" {
		id = newMessageID(from.Address)
	} else if strings.ContainsAny(id, "\r\n <>") {
		return nil, envelope{}, fmt.Errorf("mail Message-ID %q: invalid", m.MessageID)
	}

	env := envelope{from: from.Address, to: make([]string, len(to))}
	toHdr := make([]string, len(to))
	for i, a := range to {
		env.to[i] = a.Address
		toHdr[i] = a.String()
	}

	var b bytes.Buffer
	header := func(name, value string) {
		b.WriteString(fold(name + ": " + value))
		b.WriteString("\r\n")
	}
	header("From", from.String())
	header("To", strings.Join(toHdr, ", "))
	header("Subject", mime.QEncoding.Encode("utf-8", oneLine(m.Subject)))
	header("Date", date.Format(time.RFC1123Z))
	header("Message-ID", "<"+id+">")
	header("MIME-Version", "1.0")
	header("Content-Type", "text/plain; charset=utf-8")
	header("Content-Transfer-Encoding", "quoted-printable")
	// RFC 3834: a machine sent this; auto-responders must not answer.
	header("Auto-Submitted", "auto-generated")
	b.WriteString("\r\n")
	qp := quotedprintable.NewWriter(&b)
	if _, err := io.WriteString(qp, m.Text); err != nil {
		return nil, envelope{}, fmt.Errorf("mail body: %w", err)
	}
	if err := qp.Close(); err != nil {
		return nil, envelope{}, fmt.Errorf("mail body: %w", err)
	}
	if !bytes.HasSuffix(b.Bytes(), []byte("\r\n")) {
		b.WriteString("\r\n")
	}
	return b.Bytes(), env, nil
}

// fold breaks a header line longer than 78 characters at spaces (RFC 5322
// §2.2.3); encoded words are space-separated, so a long encoded subject
// folds between them. A single word longer than the limit stays whole.
func fold(line string) string {
	const limit = 78
	if len(line) <= limit {
		return line
	}
	var b strings.Builder
	col := 0
	for i, w := range strings.Split(line, " ") {
		if i > 0 {
			if col+1+len(w) > limit {
				b.WriteString("\r\n")
				col = 0
			}
			b.WriteByte(' ')
			col++
		}
		b.WriteString(w)
		col += len(w)
	}
	return b.String()
}

// newMessageID returns a unique id-left@id-right, right being the domain
// of the From address.
func newMessageID(fromAddr string) string {
	var r [16]byte
	_, _ = rand.Read(r[:]) // never fails (crypto/rand)
	domain := "ipsd.localhost"
	if i := strings.LastIndexByte(fromAddr, '@'); i >= 0 && i+1 < len(fromAddr) {
		domain = fromAddr[i+1:]
	}
	return hex.EncodeToString(r[:]) + "@" + domain
}

// Bytes returns the mail in RFC 5322 form, as the senders write it, with
// now for a zero Date.
func (m Mail) Bytes(now time.Time) ([]byte, error) {
	b, _, err := m.render(now)
	return b, err
}
