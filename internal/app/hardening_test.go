package app

// Attacks of issue 12 against the real server on loopback: guessed and
// locked logins, made-up operation names, client-chosen statuses,
// inflating uploads, a spent memory budget, long names and failing
// storage. Slow bodies against the real binary: exhaustion_process_test.go.

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"log/slog"
	"mime/multipart"
	"net"
	"net/http"
	"net/textproto"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ipsexport/ipsd/internal/download"
	"github.com/ipsexport/ipsd/internal/service"
	"github.com/ipsexport/ipsd/internal/store"
)

// clientFrom is an HTTP client whose connections come from ip, one of
// loopback's many addresses (127.0.0.0/8): another client, as far as the
// server's per-address limits can tell.
func clientFrom(ip string) *http.Client {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 10 * time.Second}
	return &http.Client{
		Transport: &http.Transport{DialContext: d.DialContext, DisableCompression: true},
		Timeout:   60 * time.Second,
	}
}

// do sends req from ip and returns the status and body.
func (e *env) do(ip string, req *http.Request) (int, http.Header, string) {
	e.t.Helper()
	resp, err := clientFrom(ip).Do(req)
	require.NoError(e.t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(e.t, err)
	return resp.StatusCode, resp.Header, string(b)
}

// postFrom POSTs body to path from ip.
func (e *env) postFrom(ip, path, body string) (int, string) {
	e.t.Helper()
	req, err := http.NewRequest(http.MethodPost, e.srv.URL+path, strings.NewReader(body))
	require.NoError(e.t, err)
	req.Header.Set("Content-Type", "text/xml; charset=utf-8")
	status, _, resp := e.do(ip, req)
	return status, resp
}

func authAs(user, pass string) string {
	return `<authHeader xmlns="` + nsU + `"><user>` + user + `</user><password>` + pass + `</password></authHeader>`
}

// uploadRequest is an UploadFile POST: an auth part (unless user is ""),
// uploadParams, files (name → bytes).
func (e *env) uploadRequest(user, pass, params string, files [][2]string) *http.Request {
	e.t.Helper()
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	xmlPart := func(name, content string) {
		h := textproto.MIMEHeader{}
		h.Set("Content-Disposition", `form-data; name="`+name+`"`)
		h.Set("Content-Type", "text/xml")
		w, err := mw.CreatePart(h)
		require.NoError(e.t, err)
		_, _ = io.WriteString(w, content)
	}
	if user != "" {
		xmlPart("auth", `<authHeader xmlns="`+ns14+`"><user>`+user+`</user><password>`+pass+`</password></authHeader>`)
	}
	xmlPart("uploadParams", params)
	for i, f := range files {
		w, err := mw.CreateFormFile("file"+strconv.Itoa(i), f[0])
		require.NoError(e.t, err)
		_, _ = io.WriteString(w, f[1])
	}
	require.NoError(e.t, mw.Close())
	req, err := http.NewRequest(http.MethodPost, e.srv.URL+"/scene7/UploadFile", &b)
	require.NoError(e.t, err)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	return req
}

func (e *env) uploadParams(jobName string) string {
	return `<uploadPostParam xmlns="` + ns14 + `"><companyHandle>` + e.acme.Handle + `</companyHandle><jobName>` + jobName +
		`</jobName><endJob>true</endJob><uploadParams><overwrite>true</overwrite></uploadParams></uploadPostParam>`
}

// companyInfo is a getCompanyInfo of Acme.
func (e *env) companyInfo() string {
	return `<getCompanyInfoParam xmlns="` + ns14 + `"><companyHandle>` + e.acme.Handle + `</companyHandle></getCompanyInfoParam>`
}

func checkLogin(email, pass string) string {
	return `<checkLoginParam xmlns="` + ns14 + `"><email>` + email + `</email><password>` + pass + `</password></checkLoginParam>`
}

// ---------------------------------------------------------------------------
// Logins

// A logged-in user cannot guess another account's password through
// checkLogin faster than at the door: checkLogin's checks take the login
// path and its limits. The guesser's own calls and the account's own user
// go on working.
func TestCheckLoginGuessingLimited(t *testing.T) {
	e := newEnv(t, "")
	const ip = "127.0.0.31"
	guesses := service.DefaultLoginPolicy().Failures
	for i := range guesses {
		status, resp := e.postFrom(ip, soapPath, soapCall(authU("alice@acme.test"), checkLogin("bob@globex.test", fmt.Sprint("guess-", i))))
		require.Equal(t, 200, status, resp)
		require.Contains(t, resp, "<status>InvalidLogin</status>", resp)
	}
	// The right password is not confirmed now: the address waits.
	status, resp := e.postFrom(ip, soapPath, soapCall(authU("alice@acme.test"), checkLogin("bob@globex.test", password)))
	assert.NotContains(t, resp, "ValidLogin", "checkLogin confirmed a password after %d wrong guesses", guesses)
	assert.Equal(t, 500, status)
	assert.Contains(t, resp, "<code>10001</code>")
	assert.Contains(t, resp, "too many failed logins")
	// Nor does an unknown e-mail get a different answer while it waits.
	for range 3 {
		_, resp = e.postFrom(ip, soapPath, soapCall(authU("alice@acme.test"), checkLogin("nobody@globex.test", "x")))
	}
	assert.Contains(t, resp, "InvalidLogin", "unknown accounts have their own budget, and spend it the same way")

	// Alice herself is not held back, nor is Bob at his own address.
	status, resp = e.postFrom(ip, soapPath, soapCall(authU("alice@acme.test"), e.companyInfo()))
	assert.Equal(t, 200, status, resp)
	status, resp = e.postFrom("127.0.0.32", soapPath, soapCall(authU("bob@globex.test"), checkLogin("bob@globex.test", password)))
	assert.Equal(t, 200, status, resp)
	assert.Contains(t, resp, "<status>ValidLogin</status>")
}

// Strangers at several addresses hammer Alice's account through every
// door (SOAP, bare XML, checkLogin, download Basic, UploadFile). They slow
// themselves; Alice, from an address she has never used, still gets in
// through every door.
func TestThirdPartyCannotLockOut(t *testing.T) {
	e := newEnv(t, "")
	// A job of Acme to download, made by an administrator so that Alice
	// has logged in from nowhere before the attack.
	status, _, resp := e.post(soapPath, exportEnvelope("root@ips.test", e.acme.Handle, "lockout", e.handles("/hero.png"), `<fmt>orig</fmt>`), nil)
	require.Equal(t, 200, status, resp)
	job := parseBlind(t, body(t, resp)).text("jobHandle")
	require.Equal(t, store.JobCompleted, e.awaitEnd(job).State)
	zipURL := e.srv.URL + download.RoutePrefix + job + ".zip"

	wrongDoors := []func(ip string, i int){
		func(ip string, i int) {
			e.postFrom(ip, soapPath, soapCall(authAs("alice@acme.test", fmt.Sprint("w", i)), e.companyInfo()))
		},
		func(ip string, i int) {
			e.postFrom(ip, barePath, `<Request>`+authAs("alice@acme.test", fmt.Sprint("w", i))+e.companyInfo()+`</Request>`)
		},
		func(ip string, i int) {
			e.postFrom(ip, soapPath, soapCall(authU("bob@globex.test"), checkLogin("alice@acme.test", fmt.Sprint("w", i))))
		},
		func(ip string, i int) {
			req, _ := http.NewRequest(http.MethodGet, zipURL, nil)
			req.SetBasicAuth("alice@acme.test", fmt.Sprint("w", i))
			e.do(ip, req)
		},
		func(ip string, i int) {
			e.do(ip, e.uploadRequest("alice@acme.test", fmt.Sprint("w", i), e.uploadParams("attack"), [][2]string{{"a.png", "x"}}))
		},
	}
	attackers := []string{"127.0.0.41", "127.0.0.42", "127.0.0.43", "127.0.0.44", "127.0.0.45", "127.0.0.46"}
	for _, ip := range attackers {
		for i := range 3 * len(wrongDoors) {
			wrongDoors[i%len(wrongDoors)](ip, i)
		}
	}
	// The attackers are held back, even with the right password.
	status, resp = e.postFrom(attackers[0], soapPath, soapCall(authU("alice@acme.test"), e.companyInfo()))
	assert.Equal(t, 500, status)
	assert.Contains(t, resp, "too many failed logins", "the limits are on")

	// Alice, from addresses she has not used before, through every door.
	status, resp = e.postFrom("127.0.0.1", soapPath, soapCall(authU("alice@acme.test"), e.companyInfo()))
	assert.Equal(t, 200, status, "SOAP: %s", resp)
	status, resp = e.postFrom("127.0.0.2", barePath, `<Request>`+authU("alice@acme.test")+e.companyInfo()+`</Request>`)
	assert.Equal(t, 200, status, "bare XML: %s", resp)
	req, err := http.NewRequest(http.MethodGet, zipURL, nil)
	require.NoError(t, err)
	req.SetBasicAuth("alice@acme.test", password)
	status, _, resp = e.do("127.0.0.3", req)
	assert.Equal(t, 200, status, "download with Basic: %s", resp)
	status, _, resp = e.do("127.0.0.4", e.uploadRequest("alice@acme.test", password, e.uploadParams("mine"), [][2]string{{"mine.png", string(tinyPNG(t))}}))
	assert.Equal(t, 200, status, "UploadFile: %s", resp)
	status, resp = e.postFrom("127.0.0.5", soapPath, soapCall(authU("root@ips.test"), checkLogin("alice@acme.test", password)))
	assert.Equal(t, 200, status, resp)
	assert.Contains(t, resp, "ValidLogin", "checkLogin from an address that never failed")
}

// The limits key accounts the way the user lookup finds them: every
// spelling that reaches Alice (case, surrounding space, the long s that
// full case folding makes an s) spends one budget.
func TestFoldedSpellingsShareLoginBudget(t *testing.T) {
	e := newEnv(t, "")
	longS := "alice@acme.te\u017Ft"
	// The lookup finds Alice by the long-s spelling.
	status, resp := e.postFrom("127.0.0.51", soapPath, soapCall(authU(longS), e.companyInfo()))
	require.Equal(t, 200, status, "the store folds %q to Alice: %s", longS, resp)

	const ip = "127.0.0.52"
	spellings := []string{"ALICE@ACME.TEST", " Alice@Acme.Test ", "alice@acme.test", "aLiCe@aCmE.tEsT", "ALICE@acme.test"}
	for i := range service.DefaultLoginPolicy().Failures {
		e.postFrom(ip, soapPath, soapCall(authAs(spellings[i%len(spellings)], "wrong"), e.companyInfo()))
	}
	status, resp = e.postFrom(ip, soapPath, soapCall(authU(longS), e.companyInfo()))
	assert.Equal(t, 500, status)
	assert.Contains(t, resp, "too many failed logins", "%q is the same account, with the same budget", longS)
}

// An unknown e-mail costs what a wrong password for a real one costs,
// through checkLogin and downloads' HTTP Basic alike (every door takes
// the same Login): the bcrypt comparison is made either way. Medians of interleaved calls in the same run are compared, with a
// generous ratio (no absolute time is asserted); without the dummy
// comparison the unknown e-mail is answered 50–100 times faster. The
// limits are raised so that every call checks its password.
func TestLoginCostSameForUnknownUsers(t *testing.T) {
	e := newEnv(t, "", func(c *Config) {
		c.Logins = service.LoginPolicy{Failures: 1 << 20, AddressFailures: 1 << 20, AccountFailures: 1 << 20}
	})
	zipURL := e.srv.URL + download.RoutePrefix + "j|1|999.zip"
	doors := map[string]func(email string) time.Duration{
		"checkLogin": func(email string) time.Duration {
			start := time.Now()
			status, resp := e.postFrom("127.0.0.61", soapPath, soapCall(authU("root@ips.test"), checkLogin(email, "wrong-password")))
			took := time.Since(start)
			require.Equal(t, 200, status, resp)
			require.Contains(t, resp, "InvalidLogin")
			return took
		},
		"download Basic": func(email string) time.Duration {
			req, err := http.NewRequest(http.MethodGet, zipURL, nil)
			require.NoError(t, err)
			req.SetBasicAuth(email, "wrong-password")
			start := time.Now()
			status, _, _ := e.do("127.0.0.63", req)
			took := time.Since(start)
			require.Equal(t, 404, status)
			return took
		},
	}
	median := func(d []time.Duration) time.Duration {
		slices.Sort(d)
		return d[len(d)/2]
	}
	for name, door := range doors {
		t.Run(name, func(t *testing.T) {
			door("alice@acme.test") // warm up
			var known, unknown []time.Duration
			for i := range 9 {
				known = append(known, door("alice@acme.test"))
				unknown = append(unknown, door(fmt.Sprintf("nobody-%d@acme.test", i)))
			}
			k, u := median(known), median(unknown)
			ratio := float64(u) / float64(k)
			t.Logf("median: known e-mail %s, unknown %s (ratio %.2f)", k, u, ratio)
			assert.Greater(t, ratio, 1/3.0, "an unknown e-mail is answered much faster than a known one")
			assert.Less(t, ratio, 3.0)
		})
	}
}

// ---------------------------------------------------------------------------
// Names and statuses a caller chooses

// Made-up operation names, a 256 KiB one among them, are counted under
// one "unknown" label, and cut short in faults and logs.
func TestUnknownOperationNamesBounded(t *testing.T) {
	var logs safeBuffer
	e := newEnv(t, "", withMetricsToken, func(c *Config) {
		c.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	})
	status, _, resp := e.post(soapPath, soapCall(authU("alice@acme.test"), e.companyInfo()), nil)
	require.Equal(t, 200, status, resp)
	var names []string
	for i := range 300 {
		names = append(names, fmt.Sprintf("madeUp%04dOperation", i))
	}
	huge := "x" + strings.Repeat("y", 256<<10)
	for i, name := range names {
		var status int
		var resp string
		switch i % 3 {
		case 0: // no credentials at all
			status, _, resp = e.post(soapPath, soapCall("", `<`+name+`Param/>`), nil)
		case 1:
			status, _, resp = e.post(barePath, `<Request>`+authU("alice@acme.test")+`<`+name+`Param/></Request>`, nil)
		default:
			status, _, resp = e.post(soapPath, soapCall(authAs("ghost@nowhere.test", "x"), `<`+name+`Param/>`), nil)
		}
		require.Equal(t, 500, status, resp)
		require.Contains(t, resp, "<code>30001</code>", resp)
	}
	status, _, resp = e.post(soapPath, soapCall("", `<`+huge+`Param/>`), nil)
	require.Equal(t, 500, status)
	assert.Contains(t, resp, "<code>30001</code>")
	assert.Less(t, len(resp), 2<<10, "the fault echoes a cut name, not 256 KiB")
	reason := regexp.MustCompile(`<reason>([^<]*)</reason>`).FindStringSubmatch(resp)
	require.Len(t, reason, 2, resp)
	assert.Contains(t, reason[1], "xyyy")
	assert.Less(t, len(reason[1]), 512)

	// /metrics: the known operations and "unknown", nothing else.
	ops := map[string]float64{}
	opLabel := regexp.MustCompile(`operation="([^"]*)"`)
	for key, v := range e.scrape() {
		if strings.HasPrefix(key, "ipsd_requests_total{") {
			m := opLabel.FindStringSubmatch(key)
			require.Len(t, m, 2, key)
			ops[m[1]] += v
		}
	}
	assert.Equal(t, float64(len(names)+1), ops["unknown"], "every made-up name counted as unknown")
	assert.Equal(t, 1.0, ops["getCompanyInfo"])
	var labels []string
	for op := range ops {
		labels = append(labels, op[:min(len(op), 40)])
	}
	assert.ElementsMatch(t, []string{"getCompanyInfo", "unknown"}, labels, "operation labels")

	// No log line carries the name whole.
	for line := range strings.SplitSeq(logs.String(), "\n") {
		assert.Less(t, len(line), 2<<10, "log line of %d bytes: %.200s…", len(line), line)
	}
}

// faultHttpStatusCode may choose 200 or an error status; 101 (or any 1xx,
// 3xx or made-up number) falls back to 500, so a caller cannot switch the
// connection's protocol or redirect its own client. The connection keeps
// working for the next request, on SOAP, bare XML and UploadFile alike.
func TestFaultStatusAClientMayChoose(t *testing.T) {
	e := newEnv(t, "")
	conn, err := net.Dial("tcp", strings.TrimPrefix(e.srv.URL, "http://"))
	require.NoError(t, err)
	defer conn.Close()
	br := bufio.NewReader(conn)
	roundTrip := func(req *http.Request) (*http.Response, string) {
		t.Helper()
		require.NoError(t, conn.SetDeadline(time.Now().Add(30*time.Second)))
		require.NoError(t, req.Write(conn))
		resp, err := http.ReadResponse(br, req)
		require.NoError(t, err)
		b, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		resp.Body.Close()
		return resp, string(b)
	}
	soapWith := func(code, path string) *http.Request {
		auth := `<authHeader xmlns="` + nsU + `"><user>alice@acme.test</user><password>wrong</password><faultHttpStatusCode>` + code + `</faultHttpStatusCode></authHeader>`
		b := soapCall(auth, e.companyInfo())
		if path == barePath {
			b = `<Request>` + auth + e.companyInfo() + `</Request>`
		}
		req, err := http.NewRequest(http.MethodPost, e.srv.URL+path, strings.NewReader(b))
		require.NoError(t, err)
		req.Header.Set("Content-Type", "text/xml")
		return req
	}
	uploadWith := func(code string) *http.Request {
		var b bytes.Buffer
		mw := multipart.NewWriter(&b)
		h := textproto.MIMEHeader{}
		h.Set("Content-Disposition", `form-data; name="auth"`)
		w, err := mw.CreatePart(h)
		require.NoError(t, err)
		_, _ = io.WriteString(w, `<authHeader><user>alice@acme.test</user><password>wrong</password><faultHttpStatusCode>`+code+`</faultHttpStatusCode></authHeader>`)
		require.NoError(t, mw.Close())
		req, err := http.NewRequest(http.MethodPost, e.srv.URL+"/scene7/UploadFile", &b)
		require.NoError(t, err)
		req.Header.Set("Content-Type", mw.FormDataContentType())
		return req
	}
	tests := []struct {
		code string
		want int
	}{
		{"101", 500}, {"100", 500}, {"103", 500}, {"199", 500}, {"204", 500}, {"302", 500}, {"399", 500},
		{"600", 500}, {"99", 500}, {"-1", 500},
		{"200", 200}, {"400", 400}, {"404", 404}, {"599", 599},
	}
	for _, tc := range tests {
		for _, req := range []*http.Request{soapWith(tc.code, soapPath), soapWith(tc.code, barePath), uploadWith(tc.code)} {
			resp, b := roundTrip(req)
			assert.Equal(t, tc.want, resp.StatusCode, "faultHttpStatusCode %s on %s", tc.code, req.URL.Path)
			assert.Contains(t, b, "<code>10001</code>", "a normal fault")
			assert.False(t, resp.Close, "the connection stays open for the next request")
		}
	}
	// The same connection still serves an ordinary call (of another user:
	// Alice's address has spent its wrong guesses for her).
	req, err := http.NewRequest(http.MethodPost, e.srv.URL+soapPath, strings.NewReader(soapCall(authU("root@ips.test"), e.companyInfo())))
	require.NoError(t, err)
	resp, b := roundTrip(req)
	assert.Equal(t, 200, resp.StatusCode, b)
	assert.Contains(t, b, "getCompanyInfoReturn")
}

// ---------------------------------------------------------------------------
// Memory before authentication

// gzipOf compresses prefix, then n bytes of filler lines, then suffix.
func gzipOf(t *testing.T, prefix string, n int, suffix string) []byte {
	t.Helper()
	var b bytes.Buffer
	zw, err := gzip.NewWriterLevel(&b, gzip.BestCompression)
	require.NoError(t, err)
	_, _ = io.WriteString(zw, prefix)
	line := []byte(strings.Repeat("z", 1022) + "\r\n")
	for range n / len(line) {
		_, _ = zw.Write(line)
	}
	_, _ = io.WriteString(zw, suffix)
	require.NoError(t, zw.Close())
	return b.Bytes()
}

var loggedBytes = regexp.MustCompile(`msg="upload post" .*\bbytes=(\d+)`)

// An UploadFile POST inflates no further before its caller is
// authenticated than a whole SOAP request may (--max-request-bytes, 1 MiB
// here): a gzip body of some 70 KB whose preamble inflates to 32 MiB is
// refused after 1 MiB, not read whole and then refused for its wrong
// password; and a wrong password in an auth part that comes first
// is answered before the file behind it is read.
func TestUploadInflationCappedBeforeAuth(t *testing.T) {
	var logs safeBuffer
	e := newEnv(t, "", func(c *Config) {
		c.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	})
	const boundary = "b0und4ry"
	auth := "--" + boundary + "\r\nContent-Disposition: form-data; name=\"auth\"\r\n\r\n" +
		`<authHeader><user>alice@acme.test</user><password>wrong</password></authHeader>` + "\r\n"
	file := "--" + boundary + "\r\nContent-Disposition: form-data; name=\"f\"; filename=\"a.bin\"\r\n\r\n"
	closing := "\r\n--" + boundary + "--\r\n"
	send := func(wire []byte) (int, string, int) {
		logs.Reset()
		req, err := http.NewRequest(http.MethodPost, e.srv.URL+"/scene7/UploadFile", bytes.NewReader(wire))
		require.NoError(t, err)
		req.Header.Set("Content-Type", "multipart/form-data; boundary="+boundary)
		req.Header.Set("Content-Encoding", "gzip")
		status, _, resp := e.do("127.0.0.71", req)
		m := loggedBytes.FindStringSubmatch(logs.String())
		require.Len(t, m, 2, logs.String())
		n, _ := strconv.Atoi(m[1])
		return status, resp, n
	}

	preamble := gzipOf(t, "", 32<<20, auth+file+"x"+closing)
	t.Logf("gzip body: %d bytes inflating to 32 MiB of preamble", len(preamble))
	status, resp, read := send(preamble)
	assert.Equal(t, 500, status)
	assert.Contains(t, resp, "<code>30003</code>", resp)
	assert.Contains(t, resp, "before its caller is authenticated")
	assert.LessOrEqual(t, read, 1<<20, "bytes inflated before the answer")

	fileBomb := gzipOf(t, auth+file, 32<<20, closing)
	status, resp, read = send(fileBomb)
	assert.Equal(t, 500, status)
	assert.Contains(t, resp, "<code>10001</code>", resp)
	assert.Less(t, read, 64<<10, "the file behind a wrong password is not read")
}

// A spent budget of buffered bytes is answered 503 with Retry-After, on
// a connection that is then closed, instead of the request being read;
// once the request holding the budget is cut off by its deadline, calls
// are served again.
func TestBufferedBytesBudget(t *testing.T) {
	e := newEnv(t, "", func(c *Config) {
		c.RequestLimits = RequestLimits{MaxBufferedBytes: 1 << 20, BodyIdleTimeout: 3 * time.Second}
	})
	// One request inflates to 600 KiB and stalls: it holds the whole
	// 1 MiB (its buffer doubles to 1 MiB, the request limit).
	conn, err := net.Dial("tcp", strings.TrimPrefix(e.srv.URL, "http://"))
	require.NoError(t, err)
	defer conn.Close()
	wire := slowGzipBody(t, `<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body><x>`, " ", 600<<10)
	_, err = fmt.Fprintf(conn, "POST %s HTTP/1.1\r\nHost: x\r\nContent-Type: text/xml\r\nContent-Encoding: gzip\r\nContent-Length: 1000000\r\n\r\n%s", soapPath, wire)
	require.NoError(t, err)
	// Other calls wait until it has been read: one in flight while it
	// grows would leave it short of its last megabyte's half, and it
	// would be the one refused.
	time.Sleep(500 * time.Millisecond)

	var busy *http.Response
	for deadline := time.Now().Add(10 * time.Second); busy == nil && time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		req, err := http.NewRequest(http.MethodPost, e.srv.URL+soapPath, strings.NewReader(soapCall(authU("alice@acme.test"), e.companyInfo())))
		require.NoError(t, err)
		resp, err := http.DefaultTransport.RoundTrip(req)
		require.NoError(t, err)
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode == http.StatusServiceUnavailable {
			busy = resp
			assert.Contains(t, string(b), "<code>30000</code>")
			assert.Contains(t, string(b), "server busy")
		}
	}
	require.NotNil(t, busy, "no 503 while the budget was spent")
	assert.Equal(t, "5", busy.Header.Get("Retry-After"))
	assert.True(t, busy.Close, "the connection is closed after a 503")

	// The stalled request is cut off, and the budget comes back.
	require.NoError(t, conn.SetReadDeadline(time.Now().Add(20*time.Second)))
	out, _ := io.ReadAll(conn)
	assert.Contains(t, string(out), "<code>30003</code>", "the stalled request is answered and closed: %s", out)
	assert.Contains(t, string(out), "request body")
	status, _, resp := e.post(soapPath, soapCall(authU("alice@acme.test"), e.companyInfo()), nil)
	assert.Equal(t, 200, status, resp)
}

// ---------------------------------------------------------------------------
// Names and messages

// An uploaded name as long as UploadFile accepts is exported, original
// and converted (the converted name takes a longer extension); a longer
// one is refused at upload with a fault that names the limit.
func TestLongUploadNameExports(t *testing.T) {
	e := newEnv(t, "")
	photo := gradientPNG(t, 40, 30)
	long := strings.Repeat("é", 118) + ".png" // 240 bytes
	require.Len(t, long, 240)
	status, _, resp := e.do("127.0.0.1", e.uploadRequest("alice@acme.test", password, e.uploadParams("long-name"), [][2]string{{"long/" + long, string(photo)}}))
	require.Equal(t, 200, status, resp)
	_, found, _ := e.call("alice@acme.test", `<getAssetsByNameParam xmlns="`+ns14+`"><companyHandle>`+e.acme.Handle+
		`</companyHandle><nameArray><items>`+strings.TrimSuffix(long, ".png")+`</items></nameArray></getAssetsByNameParam>`)
	items := found.at("assetArray", "items")
	require.Len(t, items, 1)
	handle := items[0].text("assetHandle")

	e.submit("long-orig", []string{handle}, `<fmt>orig</fmt>`)
	zipURL, _ := e.awaitArchive("long-orig")
	_, zipBytes := fetch(t, zipURL, "")
	files := unzip(t, zipBytes)
	assert.Equal(t, photo, files["long/"+long], "fmt=orig byte for byte; files: %v", keys(files))

	e.submit("long-tif", []string{handle}, `<fmt>convert</fmt><is_modifier>fmt=tif</is_modifier>`)
	zipURL, _ = e.awaitArchive("long-tif")
	_, zipBytes = fetch(t, zipURL, "")
	files = unzip(t, zipBytes)
	tiffName := "long/" + strings.TrimSuffix(long, ".png") + ".tiff"
	require.Contains(t, files, tiffName, "files: %v", keys(files))
	w, h := tiffSize(t, files[tiffName])
	assert.Equal(t, []int{40, 30}, []int{w, h})

	tooLong := strings.Repeat("é", 119) + ".jpg" // 242 bytes
	status, _, resp = e.do("127.0.0.1", e.uploadRequest("alice@acme.test", password, e.uploadParams("too-long"), [][2]string{{tooLong, string(photo)}}))
	assert.Equal(t, 500, status)
	assert.Contains(t, resp, "<code>30001</code>", resp)
	assert.Contains(t, resp, "242 bytes long")
	assert.Contains(t, resp, "at most 240")
}

// A storage failure during an export is logged in the job in words of
// keys and causes, never with the server's directories.
func TestBlobFailureMessageHasNoPaths(t *testing.T) {
	e := newEnv(t, "")
	// A file where the exports directory goes: every export write fails
	// (whoever runs the test, root included).
	exports := filepath.Join(e.app.dataDir, "files", "exports")
	require.NoError(t, os.RemoveAll(exports))
	require.NoError(t, os.WriteFile(exports, []byte("in the way"), 0o644))

	job := e.submit("no-room", e.handles("/hero.png"), `<fmt>orig</fmt>`)
	e.awaitEnd(job)
	rows, _, err := e.app.Store.JobAssets(context.Background(), store.JobAssetQuery{JobHandle: job})
	require.NoError(t, err)
	require.NotEmpty(t, rows)
	var failed int
	for _, r := range rows {
		if r.Outcome != store.OutcomeError {
			continue
		}
		failed++
		t.Logf("job log: %s", r.Message)
		assert.NotContains(t, r.Message, e.app.dataDir)
		assert.NotContains(t, r.Message, "/files/")
		assert.Contains(t, r.Message, "exports/"+job, "the message names the key")
	}
	assert.Equal(t, 1, failed, "the asset failed")

	// And through the wire, as a client reads it.
	_, root, _ := e.call("alice@acme.test", `<getJobLogDetailsParam xmlns="`+ns14+`"><companyHandle>`+e.acme.Handle+`</companyHandle><jobHandle>`+job+`</jobHandle></getJobLogDetailsParam>`)
	for _, d := range root.at("jobLogArray", "items", "detailArray", "items") {
		assert.NotContains(t, d.text("message"), e.app.dataDir)
	}
}

func (s *safeBuffer) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.b.Reset()
}
