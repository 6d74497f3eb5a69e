package notify

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"io"
	"log"
	"log/slog"
	"math/big"
	"net"
	"net/mail"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// received is one message accepted by the test server.
type received struct {
	from string
	to   []string
	data []byte
	user string // authenticated user, "" if none
	tls  bool
}

// backend is a go-smtp server Backend that records what it accepts.
type backend struct {
	users map[string]string // user → password; nil: no AUTH offered

	mu   sync.Mutex
	msgs []received
}

func (b *backend) NewSession(c *smtp.Conn) (smtp.Session, error) {
	return &session{b: b, c: c}, nil
}

func (b *backend) messages() []received {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]received(nil), b.msgs...)
}

type session struct {
	b   *backend
	c   *smtp.Conn
	cur received
}

func (s *session) AuthMechanisms() []string {
	if s.b.users == nil {
		return nil
	}
	return []string{sasl.Plain}
}

func (s *session) Auth(mech string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(identity, user, pass string) error {
		if p, ok := s.b.users[user]; !ok || p != pass {
			return smtp.ErrAuthFailed
		}
		s.cur.user = user
		return nil
	}), nil
}

func (s *session) Mail(from string, _ *smtp.MailOptions) error {
	if s.b.users != nil && s.cur.user == "" {
		return smtp.ErrAuthRequired
	}
	s.cur.from = from
	return nil
}

func (s *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.cur.to = append(s.cur.to, to)
	return nil
}

func (s *session) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.cur.data = b
	_, s.cur.tls = s.c.TLSConnectionState()
	s.b.mu.Lock()
	s.b.msgs = append(s.b.msgs, s.cur)
	s.b.mu.Unlock()
	s.cur = received{user: s.cur.user}
	return nil
}

func (s *session) Reset()        { s.cur = received{user: s.cur.user} }
func (s *session) Logout() error { return nil }

type serverOpts struct {
	users     map[string]string
	tls       *tls.Config // offered with STARTTLS
	implicit  bool        // TLS from the first byte
	silentLog bool
}

// startServer runs a real SMTP server on loopback for the test.
func startServer(t *testing.T, o serverOpts) (string, *backend) {
	t.Helper()
	be := &backend{users: o.users}
	srv := smtp.NewServer(be)
	srv.Domain = "mx.test"
	srv.AllowInsecureAuth = true
	srv.ReadTimeout = 5 * time.Second
	srv.WriteTimeout = 5 * time.Second
	srv.ErrorLog = log.New(io.Discard, "", 0)
	var l net.Listener
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	if o.implicit {
		l = tls.NewListener(l, o.tls)
	} else {
		srv.TLSConfig = o.tls
	}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { srv.Close() })
	return l.Addr().String(), be
}

// testCert returns a server config with a fresh self-signed certificate
// for 127.0.0.1 and a client config that trusts it.
func testCert(t *testing.T) (server, client *tls.Config) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "mx.test"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	cert, err := x509.ParseCertificate(der)
	require.NoError(t, err)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}},
		&tls.Config{RootCAs: pool}
}

func quiet() *slog.Logger { return slog.New(slog.DiscardHandler) }

// checkDelivered checks one delivered job mail: envelope, headers and the
// decoded body with the zip link and the counts.
func checkDelivered(t *testing.T, got received, wantFrom string, sum JobSummary) {
	t.Helper()
	assert.Equal(t, wantFrom, got.from)
	assert.Equal(t, []string{"ann@example.com", "bob@example.org"}, got.to)
	p := parseMail(t, got.data)
	to, err := p.header.AddressList("To")
	require.NoError(t, err)
	assert.Equal(t, []*mail.Address{{Name: "Ann Ökerlund", Address: "ann@example.com"}, {Address: "bob@example.org"}}, to)
	from, err := p.header.AddressList("From")
	require.NoError(t, err)
	assert.Equal(t, "ipsd@ips.example.com", from[0].Address)
	_, err = p.header.Date()
	assert.NoError(t, err)
	assert.NotEmpty(t, p.header.Get("Message-ID"))
	assert.Equal(t, "1.0", p.header.Get("MIME-Version"))
	assert.Equal(t, "text/plain; charset=utf-8", p.header.Get("Content-Type"))
	assert.Contains(t, p.subject, sum.JobName)
	assert.Contains(t, p.body, sum.ZipURL)
	for _, line := range []string{"Assets:    120", "Exported:  117", "Warnings:  4", "Errors:    3"} {
		assert.Contains(t, p.body, line)
	}
}

const rcpts = "Ann Ökerlund <ann@example.com>, bob@example.org"

func TestSMTPSend(t *testing.T) {
	srvTLS, cliTLS := testCert(t)
	users := map[string]string{"ipsd": "s3cret"}
	tests := []struct {
		name     string
		srv      serverOpts
		sender   SMTPSender
		wantUser string
		wantTLS  bool
	}{
		{name: "plain, no auth", srv: serverOpts{},
			sender: SMTPSender{TLS: TLSNone}},
		{name: "auto without STARTTLS falls back to plain", srv: serverOpts{},
			sender: SMTPSender{TLS: TLSAuto}},
		{name: "auth PLAIN on loopback without TLS", srv: serverOpts{users: users},
			sender: SMTPSender{Username: "ipsd", Password: "s3cret"}, wantUser: "ipsd"},
		{name: "auto upgrades with STARTTLS, then auth", srv: serverOpts{users: users, tls: srvTLS},
			sender: SMTPSender{Username: "ipsd", Password: "s3cret", TLSConfig: cliTLS}, wantUser: "ipsd", wantTLS: true},
		{name: "STARTTLS required", srv: serverOpts{tls: srvTLS},
			sender: SMTPSender{TLS: TLSStartTLS, TLSConfig: cliTLS}, wantTLS: true},
		{name: "STARTTLS offered but disabled", srv: serverOpts{tls: srvTLS},
			sender: SMTPSender{TLS: TLSNone}},
		{name: "implicit TLS with auth", srv: serverOpts{users: users, tls: srvTLS, implicit: true},
			sender: SMTPSender{TLS: TLSImplicit, TLSConfig: cliTLS, Username: "ipsd", Password: "s3cret"}, wantUser: "ipsd", wantTLS: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			addr, be := startServer(t, tc.srv)
			s := tc.sender
			s.Addr, s.From, s.Log = addr, "IPS Export <ipsd@ips.example.com>", quiet()
			sum := summary("en-US", Completed)
			m, err := Compose(rcpts, sum)
			require.NoError(t, err)
			require.NoError(t, s.Send(context.Background(), m))

			msgs := be.messages()
			require.Len(t, msgs, 1)
			assert.Equal(t, tc.wantUser, msgs[0].user)
			assert.Equal(t, tc.wantTLS, msgs[0].tls)
			checkDelivered(t, msgs[0], "ipsd@ips.example.com", sum)
		})
	}
}

// The header From of the mail is kept; the envelope is the sender's.
func TestSMTPEnvelopeFrom(t *testing.T) {
	addr, be := startServer(t, serverOpts{})
	s := SMTPSender{Addr: addr, From: "bounces@ips.example.com", TLS: TLSNone, Log: quiet()}
	require.NoError(t, s.Send(context.Background(), Mail{From: "Jobs <jobs@ips.example.com>", To: "ann@example.com", Subject: "s", Text: "t"}))
	msgs := be.messages()
	require.Len(t, msgs, 1)
	assert.Equal(t, "bounces@ips.example.com", msgs[0].from)
	p := parseMail(t, msgs[0].data)
	assert.Equal(t, `"Jobs" <jobs@ips.example.com>`, p.header.Get("From"))
}

func TestSMTPSendErrors(t *testing.T) {
	srvTLS, cliTLS := testCert(t)
	users := map[string]string{"ipsd": "s3cret"}
	tests := []struct {
		name    string
		srv     serverOpts
		sender  SMTPSender
		wantErr string
	}{
		{name: "wrong password", srv: serverOpts{users: users},
			sender: SMTPSender{Username: "ipsd", Password: "nope"}, wantErr: "auth as ipsd"},
		{name: "server requires auth", srv: serverOpts{users: users},
			sender: SMTPSender{}, wantErr: "Please authenticate first"},
		{name: "username but no AUTH offered", srv: serverOpts{},
			sender: SMTPSender{Username: "ipsd", Password: "s3cret"}, wantErr: "offers no AUTH"},
		{name: "STARTTLS required but not offered", srv: serverOpts{},
			sender: SMTPSender{TLS: TLSStartTLS, TLSConfig: cliTLS}, wantErr: "starttls"},
		{name: "auto never downgrades on a bad certificate", srv: serverOpts{tls: srvTLS},
			sender: SMTPSender{TLS: TLSAuto}, wantErr: "certificate"},
		{name: "no From", srv: serverOpts{},
			sender: SMTPSender{From: "-", TLS: TLSNone}, wantErr: "From"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			addr, be := startServer(t, tc.srv)
			s := tc.sender
			s.Addr, s.Log = addr, quiet()
			if s.From == "" {
				s.From = "ipsd@ips.example.com"
			} else if s.From == "-" {
				s.From = ""
			}
			m, err := Compose("ann@example.com", summary("en", Completed))
			require.NoError(t, err)
			err = s.Send(context.Background(), m)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.wantErr)
			assert.NotContains(t, err.Error(), "s3cret")
			assert.Empty(t, be.messages())
		})
	}
}

// A server that accepts the connection but never speaks: Send gives up at
// its Timeout, or when the context ends.
func TestSMTPHungServer(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	m := Mail{To: "ann@example.com", Subject: "s", Text: "t"}

	t.Run("timeout", func(t *testing.T) {
		s := SMTPSender{Addr: l.Addr().String(), From: "ipsd@example.com", Timeout: 200 * time.Millisecond, Log: quiet()}
		start := time.Now()
		err := s.Send(context.Background(), m)
		assert.ErrorIs(t, err, context.DeadlineExceeded)
		assert.Less(t, time.Since(start), 3*time.Second)
	})
	t.Run("context canceled", func(t *testing.T) {
		s := SMTPSender{Addr: l.Addr().String(), From: "ipsd@example.com", Log: quiet()}
		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(100*time.Millisecond, cancel)
		start := time.Now()
		err := s.Send(ctx, m)
		assert.ErrorIs(t, err, context.Canceled)
		assert.Less(t, time.Since(start), 3*time.Second)
	})
}

func TestIsLoopback(t *testing.T) {
	assert.True(t, isLoopback("127.0.0.1:25"))
	assert.True(t, isLoopback("[::1]:25"))
	assert.True(t, isLoopback("localhost:25"))
	assert.False(t, isLoopback("mail.example.com:25"))
	assert.False(t, isLoopback("192.0.2.1:25"))
	assert.False(t, isLoopback("garbage"))
}

// Credentials never go in the clear to a remote server, unless allowed.
func TestSMTPRefusesCleartextCredentialsToRemote(t *testing.T) {
	var ip net.IP
	addrs, _ := net.InterfaceAddrs()
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && !n.IP.IsLoopback() && n.IP.To4() != nil {
			ip = n.IP
			break
		}
	}
	if ip == nil {
		t.Skip("no non-loopback IPv4 address on this machine")
	}
	be := &backend{users: map[string]string{"ipsd": "s3cret"}}
	srv := smtp.NewServer(be)
	srv.AllowInsecureAuth = true
	srv.ErrorLog = log.New(io.Discard, "", 0)
	l, err := net.Listen("tcp", net.JoinHostPort(ip.String(), "0"))
	require.NoError(t, err)
	go func() { _ = srv.Serve(l) }()
	defer srv.Close()

	s := SMTPSender{Addr: l.Addr().String(), From: "ipsd@example.com", Username: "ipsd", Password: "s3cret", Log: quiet()}
	m := Mail{To: "ann@example.com", Subject: "s", Text: "t"}
	err = s.Send(context.Background(), m)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "refusing to send credentials")
	assert.Empty(t, be.messages())

	s.InsecureAuth = true
	require.NoError(t, s.Send(context.Background(), m))
	require.Len(t, be.messages(), 1)
	assert.Equal(t, "ipsd", be.messages()[0].user)
}

func TestParseTLSMode(t *testing.T) {
	tests := map[string]TLSMode{
		"": TLSAuto, "auto": TLSAuto, "STARTTLS": TLSStartTLS, "tls": TLSImplicit, "smtps": TLSImplicit,
		"implicit": TLSImplicit, "none": TLSNone, "off": TLSNone, " plain ": TLSNone,
	}
	for in, want := range tests {
		got, err := ParseTLSMode(in)
		require.NoError(t, err, in)
		assert.Equal(t, want, got, in)
		back, err := ParseTLSMode(got.String())
		require.NoError(t, err)
		assert.Equal(t, got, back)
	}
	_, err := ParseTLSMode("ssl3")
	assert.Error(t, err)
	assert.Equal(t, "TLSMode(9)", TLSMode(9).String())
}
