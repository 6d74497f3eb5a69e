package soap

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/xml"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/beevik/etree"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ipsexport/ipsd/internal/httplimit"
)

type echoReturn struct {
	CompanyHandle string `xml:"companyHandle"`
	Count         int    `xml:"count"`
	Extra         string `xml:"extra"`
}

type fakeDispatcher struct{}

func (fakeDispatcher) Dispatch(ctx context.Context, req *Request) (any, error) {
	switch req.Operation {
	case "echo":
		var p struct {
			XMLName       xml.Name `xml:"urn:newest echoParam"`
			CompanyHandle string   `xml:"companyHandle"`
		}
		if err := req.Decode(&p); err != nil {
			return nil, err
		}
		u, _, _ := req.Credentials()
		return &echoReturn{CompanyHandle: p.CompanyHandle + "/" + u}, nil
	case "void":
		return nil, nil
	case "fault":
		return nil, Invalid("fmt", "bmp", "expected orig or convert")
	case "boom":
		panic("boom")
	case "oops":
		return nil, errors.New("database exploded at /var/secret")
	}
	return nil, Errorf(CodeInvalidParameter, "operation %s is not supported by this server", req.Operation)
}

func newTestServer(t *testing.T) *httptest.Server {
	h := &Handler{Dispatcher: fakeDispatcher{}, MaxBodyBytes: 4096}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

func post(t *testing.T, srv *httptest.Server, body string, hdr map[string]string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, srv.URL, strings.NewReader(body))
	require.NoError(t, err)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	// Use a transport that does not add Accept-Encoding by itself.
	tr := &http.Transport{DisableCompression: true}
	resp, err := (&http.Client{Transport: tr}).Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	var r io.Reader = resp.Body
	if resp.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(resp.Body)
		require.NoError(t, err)
		r = zr
	}
	b, err := io.ReadAll(r)
	require.NoError(t, err)
	return resp, string(b)
}

func soap11(header, body string) string {
	return `<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Header>` + header +
		`</soap:Header><soap:Body>` + body + `</soap:Body></soap:Envelope>`
}

func auth(extra string) string {
	return `<authHeader xmlns="` + nsU + `"><user>u@x</user><password>p</password>` + extra + `</authHeader>`
}

func TestHandlerResponseShape(t *testing.T) {
	srv := newTestServer(t)
	resp, body := post(t, srv, soap11(auth(""), `<echoParam xmlns="`+nsV+`"><companyHandle>c|1</companyHandle></echoParam>`), map[string]string{"SOAPAction": `"echo"`})
	assert.Equal(t, 200, resp.StatusCode)
	assert.Equal(t, "text/xml; charset=utf-8", resp.Header.Get("Content-Type"))
	inner, ok := between(body, "<soapenv:Body>", "</soapenv:Body>")
	require.True(t, ok, body)
	assert.Equal(t, `<echoReturn xmlns="`+nsV+`"><companyHandle>c|1/u@x</companyHandle><count>0</count><extra></extra></echoReturn>`, inner)
	assert.Contains(t, body, `<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Header/><soapenv:Body>`)
}

func TestHandlerSOAP12AndBare(t *testing.T) {
	srv := newTestServer(t)
	env12 := `<e:Envelope xmlns:e="http://www.w3.org/2003/05/soap-envelope"><e:Body><echoParam xmlns="` + ns16 + `"><companyHandle>c|2</companyHandle></echoParam></e:Body></e:Envelope>`
	resp, body := post(t, srv, env12, map[string]string{"Content-Type": `application/soap+xml; charset=UTF-8; action="echo"`})
	assert.Equal(t, 200, resp.StatusCode)
	assert.Equal(t, "application/soap+xml; charset=utf-8", resp.Header.Get("Content-Type"))
	assert.Contains(t, body, `xmlns:soapenv="http://www.w3.org/2003/05/soap-envelope"`)
	assert.Contains(t, body, `<echoReturn xmlns="`+ns16+`"><companyHandle>c|2/</companyHandle>`)

	bare := `<Request xmlns="` + ns17 + `">` + auth("") + `<echoParam xmlns="` + ns17 + `"><companyHandle>c|3</companyHandle></echoParam></Request>`
	resp, body = post(t, srv, bare, map[string]string{"Content-Type": "text/xml"})
	assert.Equal(t, 200, resp.StatusCode)
	assert.True(t, strings.HasPrefix(body, `<?xml version="1.0" encoding="UTF-8"?>`+"\n"+`<echoReturn xmlns="`+ns17+`">`), body)
	assert.NotContains(t, body, "Envelope")
}

func TestHandlerVoid(t *testing.T) {
	srv := newTestServer(t)
	_, body := post(t, srv, soap11("", `<voidParam xmlns="`+ns10+`"/>`), nil)
	assert.Contains(t, body, `<soapenv:Body><voidReturn xmlns="`+ns10+`"></voidReturn></soapenv:Body>`)
}

func TestHandlerFaults(t *testing.T) {
	srv := newTestServer(t)
	tests := []struct {
		name, body string
		hdr        map[string]string
		status     int
		want       []string
	}{
		{"soap11 client fault", soap11("", `<faultParam xmlns="`+nsV+`"/>`), nil, 500, []string{
			`<soapenv:Fault><faultcode>soapenv:Client</faultcode><faultstring>ipsApiFault</faultstring><detail><ipsApiFault xmlns="` + nsU + `"><code>30001</code><reason>invalid value &#34;bmp&#34; for fmt: expected orig or convert</reason></ipsApiFault></detail></soapenv:Fault>`}},
		{"faultHttpStatusCode 200", soap11(auth("<faultHttpStatusCode>200</faultHttpStatusCode>"), `<faultParam xmlns="`+nsV+`"/>`), nil, 200, []string{"<code>30001</code>"}},
		{"unknown operation", soap11("", `<frobnicateParam xmlns="`+nsV+`"/>`), nil, 500, []string{"<code>30001</code>", "frobnicate"}},
		{"panic becomes 30000", soap11("", `<boomParam xmlns="`+nsV+`"/>`), nil, 500, []string{"<faultcode>soapenv:Server</faultcode>", "<code>30000</code>"}},
		{"internal error hides details", soap11("", `<oopsParam xmlns="`+nsV+`"/>`), nil, 500, []string{"<code>30000</code>", "internal server error"}},
		{"malformed", `<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><x>`, nil, 500, []string{"<code>30003</code>"}},
		{"soap12 fault", `<e:Envelope xmlns:e="http://www.w3.org/2003/05/soap-envelope"><e:Body><faultParam/></e:Body></e:Envelope>`, nil, 500, []string{"<soapenv:Value>soapenv:Sender</soapenv:Value>", "<soapenv:Detail><ipsApiFault"}},
		{"soap12 unparsable by content type", `garbage`, map[string]string{"Content-Type": "application/soap+xml"}, 500, []string{"soap-envelope", "<code>30003</code>"}},
		{"bare fault", `<Request>` + auth("<faultHttpStatusCode>200</faultHttpStatusCode>") + `<faultParam/></Request>`, nil, 200, []string{"<?xml", `<ipsApiFault xmlns="` + nsU + `"><code>30001</code>`}},
		{"oversized", soap11("", `<echoParam>`+strings.Repeat("x", 5000)+`</echoParam>`), nil, 500, []string{"exceeds the limit"}},
		// A client may choose 200 or an error status, nothing else.
		{"faultHttpStatusCode 101 falls back", soap11(auth("<faultHttpStatusCode>101</faultHttpStatusCode>"), `<faultParam xmlns="`+nsV+`"/>`), nil, 500, []string{"<code>30001</code>"}},
		{"faultHttpStatusCode 302 falls back", soap11(auth("<faultHttpStatusCode>302</faultHttpStatusCode>"), `<faultParam xmlns="`+nsV+`"/>`), nil, 500, []string{"<code>30001</code>"}},
		{"faultHttpStatusCode 422", soap11(auth("<faultHttpStatusCode>422</faultHttpStatusCode>"), `<faultParam xmlns="`+nsV+`"/>`), nil, 422, []string{"<code>30001</code>"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := post(t, srv, tc.body, tc.hdr)
			assert.Equal(t, tc.status, resp.StatusCode)
			for _, w := range tc.want {
				assert.Contains(t, body, w)
			}
			assert.NotContains(t, body, "/var/secret")
		})
	}
	// And the server keeps serving.
	resp, _ := post(t, srv, soap11("", `<voidParam/>`), nil)
	assert.Equal(t, 200, resp.StatusCode)
}

func TestHandlerGzip(t *testing.T) {
	srv := newTestServer(t)
	echo := `<echoParam xmlns="` + nsV + `"><companyHandle>c</companyHandle></echoParam>`
	tests := []struct {
		name   string
		extra  string
		accept string
		gz     bool
	}{
		{"absent, no Accept-Encoding", "", "", false},
		{"absent, Accept-Encoding gzip", "", "gzip, deflate", true},
		{"absent, gzip;q=0", "", "gzip;q=0", false},
		{"true forces gzip", "<gzipResponse>true</gzipResponse>", "", true},
		{"false forbids gzip", "<gzipResponse>false</gzipResponse>", "gzip", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			hdr := map[string]string{}
			if tc.accept != "" {
				hdr["Accept-Encoding"] = tc.accept
			}
			resp, body := post(t, srv, soap11(auth(tc.extra), echo), hdr)
			assert.Equal(t, tc.gz, resp.Header.Get("Content-Encoding") == "gzip")
			assert.Contains(t, body, "<echoReturn")
		})
	}
}

func TestHandlerGzipRequest(t *testing.T) {
	srv := newTestServer(t)
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	_, _ = zw.Write([]byte(soap11(auth(""), `<echoParam><companyHandle>zz</companyHandle></echoParam>`)))
	_ = zw.Close()
	resp, body := post(t, srv, buf.String(), map[string]string{"Content-Encoding": "gzip"})
	assert.Equal(t, 200, resp.StatusCode)
	assert.Contains(t, body, "zz/u@x")

	// A gzip bomb is cut at the limit, after decompression.
	buf.Reset()
	zw = gzip.NewWriter(&buf)
	_, _ = zw.Write([]byte(soap11("", `<echoParam><companyHandle>`+strings.Repeat("a", 1<<20)+`</companyHandle></echoParam>`)))
	_ = zw.Close()
	_, body = post(t, srv, buf.String(), map[string]string{"Content-Encoding": "gzip"})
	assert.Contains(t, body, "exceeds the limit")
}

func TestHandlerRefusesGet(t *testing.T) {
	srv := newTestServer(t)
	resp, err := http.Get(srv.URL)
	require.NoError(t, err)
	defer resp.Body.Close()
	assert.Equal(t, 500, resp.StatusCode)
	b, _ := io.ReadAll(resp.Body)
	assert.Contains(t, string(b), "<code>30003</code>")
}

func TestEncodeResponseProjects(t *testing.T) {
	project := func(ns string, root *etree.Element) {
		if ns == nsU {
			root.RemoveChild(root.SelectElement("extra"))
		}
	}
	out, err := EncodeResponse(SOAP11, nsU, "echo", &echoReturn{CompanyHandle: "c"}, project)
	require.NoError(t, err)
	assert.Contains(t, string(out), `<echoReturn xmlns="`+nsU+`"><companyHandle>c</companyHandle><count>0</count></echoReturn>`)
}

func between(s, a, b string) (string, bool) {
	i := strings.Index(s, a)
	j := strings.Index(s, b)
	if i < 0 || j < i {
		return "", false
	}
	return s[i+len(a) : j], true
}

func TestFaultStatus(t *testing.T) {
	tests := []struct {
		fault     *Fault
		requested int
		want      int
	}{
		{Errorf(CodeInvalidParameter, "x"), 0, 500},
		{Errorf(CodeInvalidParameter, "x"), 200, 200},
		{Errorf(CodeInvalidParameter, "x"), 400, 400},
		{Errorf(CodeInvalidParameter, "x"), 599, 599},
		{Errorf(CodeInvalidParameter, "x"), 101, 500},
		{Errorf(CodeInvalidParameter, "x"), 100, 500},
		{Errorf(CodeInvalidParameter, "x"), 204, 500},
		{Errorf(CodeInvalidParameter, "x"), 301, 500},
		{Errorf(CodeInvalidParameter, "x"), 600, 500},
		{Busy(), 200, 503},
	}
	for _, tc := range tests {
		assert.Equal(t, tc.want, tc.fault.Status(tc.requested), "requested %d", tc.requested)
	}
}

// A spent budget: the request is not read, the answer is 503 with
// Retry-After, and the connection is closed.
func TestHandlerBusy(t *testing.T) {
	budget := httplimit.NewBudget(8 << 10)
	hold := budget.Hold()
	require.NoError(t, hold.Grow(6<<10)) // another request holds most of it
	h := &Handler{Dispatcher: fakeDispatcher{}, MaxBodyBytes: 1 << 20, Budget: budget}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	resp, body := post(t, srv, soap11(auth(""), `<echoParam xmlns="`+nsV+`"><companyHandle>`+strings.Repeat("c", 8<<10)+`</companyHandle></echoParam>`), nil)
	assert.Equal(t, http.StatusServiceUnavailable, resp.StatusCode)
	assert.Equal(t, "5", resp.Header.Get("Retry-After"))
	assert.True(t, resp.Close)
	assert.Contains(t, body, "<code>30000</code>")
	assert.Contains(t, body, "server busy")

	hold.Release()
	resp, body = post(t, srv, soap11(auth(""), `<echoParam xmlns="`+nsV+`"><companyHandle>c</companyHandle></echoParam>`), nil)
	assert.Equal(t, 200, resp.StatusCode, body)
	assert.True(t, budget.Hold().Grow(8<<10) == nil, "every request gave its bytes back")
}
