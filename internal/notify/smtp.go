package notify

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/mail"
	"strings"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// TLSMode is how SMTPSender protects the connection.
type TLSMode int

// TLS modes.
const (
	// TLSAuto upgrades with STARTTLS when the server offers it and sends
	// in plain text when it does not. A server that offers STARTTLS but
	// fails the handshake (bad certificate) is an error, never a silent
	// downgrade.
	TLSAuto TLSMode = iota
	// TLSStartTLS requires STARTTLS (port 587).
	TLSStartTLS
	// TLSImplicit speaks TLS from the first byte (SMTPS, port 465).
	TLSImplicit
	// TLSNone never uses TLS.
	TLSNone
)

// String returns the mode's configuration name.
func (m TLSMode) String() string {
	switch m {
	case TLSAuto:
		return "auto"
	case TLSStartTLS:
		return "starttls"
	case TLSImplicit:
		return "tls"
	case TLSNone:
		return "none"
	}
	return fmt.Sprintf("TLSMode(%d)", int(m))
}

// ParseTLSMode reads a configuration value: "" or "auto", "starttls",
// "tls" (also "implicit", "smtps"), "none" (also "off", "plain").
func ParseTLSMode(s string) (TLSMode, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "auto":
		return TLSAuto, nil
	case "starttls":
		return TLSStartTLS, nil
	case "tls", "implicit", "smtps":
		return TLSImplicit, nil
	case "none", "off", "plain":
		return TLSNone, nil
	}
	return 0, fmt.Errorf("smtp TLS mode %q: want auto, starttls, tls or none", s)
}

// DefaultSMTPTimeout bounds one Send when SMTPSender.Timeout is zero.
const DefaultSMTPTimeout = time.Minute

// SMTPSender delivers mail to an SMTP server (a relay or submission
// server), one connection per mail.
type SMTPSender struct {
	// Addr is host:port.
	Addr string
	// From is the envelope sender (MAIL FROM) and the header From of a
	// mail that has none.
	From string
	// Username and Password, when Username is set, authenticate with
	// AUTH PLAIN. Credentials are sent only over TLS, or to a loopback
	// address, unless InsecureAuth is set.
	Username, Password string
	InsecureAuth       bool
	TLS                TLSMode
	// TLSConfig is used for STARTTLS and implicit TLS; nil means the
	// system roots. Its ServerName defaults to Addr's host.
	TLSConfig *tls.Config
	// Timeout bounds a whole Send (connect to QUIT); zero means
	// DefaultSMTPTimeout.
	Timeout time.Duration
	// Log receives one line per mail; nil means slog.Default().
	Log *slog.Logger
}

// Send delivers m.
func (s *SMTPSender) Send(ctx context.Context, m Mail) error {
	if m.From == "" {
		m.From = s.From
	}
	msg, env, err := m.render(time.Now())
	if err != nil {
		return fmt.Errorf("smtp send: %w", err)
	}
	if s.From != "" {
		// The configured sender owns the envelope even when the header
		// From differs (bounces come back to it).
		a, err := mail.ParseAddress(s.From)
		if err != nil {
			return fmt.Errorf("smtp send: From %q: %w", s.From, err)
		}
		env.from = a.Address
	}
	timeout := s.Timeout
	if timeout <= 0 {
		timeout = DefaultSMTPTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	err = s.send(ctx, timeout, env, msg)
	if err != nil {
		if cerr := ctx.Err(); cerr != nil && !errors.Is(err, cerr) {
			err = fmt.Errorf("%w (%w)", cerr, err)
		}
		return fmt.Errorf("smtp send to %s via %s: %w", strings.Join(env.to, ", "), s.Addr, err)
	}
	s.log().Info("mail sent", "via", s.Addr, "to", env.to, "bytes", len(msg))
	return nil
}

func (s *SMTPSender) send(ctx context.Context, timeout time.Duration, env envelope, msg []byte) error {
	c, err := s.connect(ctx, timeout)
	if err != nil {
		return err
	}
	defer c.Close()
	if s.Username != "" {
		if err := s.auth(c); err != nil {
			return err
		}
	}
	if err := c.SendMail(env.from, env.to, bytes.NewReader(msg)); err != nil {
		return err
	}
	if err := c.Quit(); err != nil {
		return fmt.Errorf("quit: %w", err)
	}
	return nil
}

// connect dials, greets and sets up TLS as the mode asks. The connection
// is closed when ctx ends, which unblocks any command in flight.
func (s *SMTPSender) connect(ctx context.Context, timeout time.Duration) (*smtp.Client, error) {
	host, _, err := net.SplitHostPort(s.Addr)
	if err != nil {
		return nil, fmt.Errorf("address %q: %w", s.Addr, err)
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if s.TLSConfig != nil {
		cfg = s.TLSConfig.Clone()
	}
	if cfg.ServerName == "" {
		cfg.ServerName = host
	}
	dial := func() (net.Conn, error) {
		var d net.Dialer
		conn, err := d.DialContext(ctx, "tcp", s.Addr)
		if err != nil {
			return nil, fmt.Errorf("dial: %w", err)
		}
		stop := context.AfterFunc(ctx, func() { conn.Close() })
		return &stopConn{Conn: conn, stop: stop}, nil
	}
	conn, err := dial()
	if err != nil {
		return nil, err
	}
	var c *smtp.Client
	switch s.TLS {
	case TLSNone:
		c = smtp.NewClient(conn)
	case TLSImplicit:
		tc := tls.Client(conn, cfg)
		if err := tc.HandshakeContext(ctx); err != nil {
			conn.Close()
			return nil, fmt.Errorf("tls handshake: %w", err)
		}
		c = smtp.NewClient(tc)
	case TLSStartTLS, TLSAuto:
		c, err = smtp.NewClientStartTLS(conn, cfg)
		if err != nil && s.TLS == TLSAuto && noStartTLS(err) {
			// The server does not offer STARTTLS: start over in plain
			// text (go-smtp cannot continue a session it has greeted).
			if conn, err = dial(); err != nil {
				return nil, err
			}
			c = smtp.NewClient(conn)
		} else if err != nil {
			return nil, fmt.Errorf("starttls: %w", err)
		}
	default:
		conn.Close()
		return nil, fmt.Errorf("invalid TLS mode %s", s.TLS)
	}
	c.CommandTimeout = timeout
	c.SubmissionTimeout = timeout
	return c, nil
}

// noStartTLS reports whether err is go-smtp's "server doesn't support
// STARTTLS" (it has no sentinel for it; TestSMTPAutoWithoutStartTLS pins
// the wording).
func noStartTLS(err error) bool {
	return strings.Contains(err.Error(), "support STARTTLS")
}

// auth authenticates with AUTH PLAIN, refusing to send the password in
// the clear to anything but loopback unless InsecureAuth is set.
func (s *SMTPSender) auth(c *smtp.Client) error {
	if ok, _ := c.Extension("AUTH"); !ok {
		return errors.New("auth: the server offers no AUTH (is TLS required first?)")
	}
	if !c.SupportsAuth(sasl.Plain) {
		return errors.New("auth: the server does not offer AUTH PLAIN")
	}
	if _, encrypted := c.TLSConnectionState(); !encrypted && !s.InsecureAuth && !isLoopback(s.Addr) {
		return errors.New("auth: refusing to send credentials over an unencrypted connection (use TLS, or set InsecureAuth)")
	}
	if err := c.Auth(sasl.NewPlainClient("", s.Username, s.Password)); err != nil {
		return fmt.Errorf("auth as %s: %w", s.Username, err)
	}
	return nil
}

func isLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func (s *SMTPSender) log() *slog.Logger {
	if s.Log != nil {
		return s.Log
	}
	return slog.Default()
}

// stopConn releases the context watch when the connection closes.
type stopConn struct {
	net.Conn
	stop func() bool
}

func (c *stopConn) Close() error {
	c.stop()
	return c.Conn.Close()
}
