package main

import (
	"bytes"
	"context"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

const (
	soapPath      = "/scene7/services/IpsApiService"
	nsU           = "http://www.scene7.com/IpsApi/xsd"
	ns14          = "http://www.scene7.com/IpsApi/xsd/2014-04-03"
	benchCompany  = "Bench"
	benchUser     = "bench@bench.test"
	benchPassword = "bench-password"
)

// client speaks IPS SOAP to one server, as an integration would.
type client struct {
	base    string
	company string
	http    *http.Client
}

func newClient(base, company string, conns int) *client {
	tr := &http.Transport{
		MaxIdleConns: conns, MaxIdleConnsPerHost: conns, IdleConnTimeout: time.Minute,
		DisableCompression: true, // the zip and the envelopes come as they are
	}
	return &client{base: base, company: company, http: &http.Client{Transport: tr}}
}

func envelope(payload string) []byte {
	return []byte(`<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Header>` +
		`<authHeader xmlns="` + nsU + `"><user>` + benchUser + `</user><password>` + benchPassword +
		`</password><appName>ipsbench</appName><appVersion>1</appVersion></authHeader>` +
		`</soapenv:Header><soapenv:Body>` + payload + `</soapenv:Body></soapenv:Envelope>`)
}

// call posts one SOAP request and returns the response body.
func (c *client) call(ctx context.Context, op string, body []byte) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+soapPath, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "text/xml; charset=utf-8")
	req.Header.Set("SOAPAction", op)
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != 200 {
		return nil, fmt.Errorf("%s: HTTP %d: %s", op, resp.StatusCode, truncate(string(b), 400))
	}
	return b, nil
}

// submitBody is a submitJob envelope with an exportJob.
func (c *client) submitBody(jobName string, handles []string, fmtName, modifier string) []byte {
	var p strings.Builder
	p.Grow(len(handles)*48 + 512)
	p.WriteString(`<submitJobParam xmlns="` + ns14 + `"><companyHandle>`)
	xmlEscape(&p, c.company)
	p.WriteString(`</companyHandle><jobName>`)
	xmlEscape(&p, jobName)
	p.WriteString(`</jobName><exportJob><assetHandleArray>`)
	for _, h := range handles {
		p.WriteString("<items>")
		xmlEscape(&p, h)
		p.WriteString("</items>")
	}
	p.WriteString(`</assetHandleArray><fmt>` + fmtName + `</fmt>`)
	if modifier != "" {
		p.WriteString("<is_modifier>")
		xmlEscape(&p, modifier)
		p.WriteString("</is_modifier>")
	}
	p.WriteString(`<emailSetting>None</emailSetting></exportJob></submitJobParam>`)
	return envelope(p.String())
}

// submit sends a submitJob and returns the job handle.
func (c *client) submit(ctx context.Context, body []byte) (string, error) {
	b, err := c.call(ctx, "submitJob", body)
	if err != nil {
		return "", err
	}
	h := firstText(b, "jobHandle")
	if h == "" {
		return "", fmt.Errorf("submitJob: no jobHandle in %s", truncate(string(b), 400))
	}
	return h, nil
}

// awaitArchive polls getJobLogDetails for the job's ExportArchive detail,
// as the AEM export client does (it polls every 500 ms; here every poll
// interval, asking only for the archive row so a poll stays cheap), and
// returns the link and the job's counts.
func (c *client) awaitArchive(ctx context.Context, jobHandle string, every time.Duration) (link string, succeeded, total string, err error) {
	var x strings.Builder
	x.WriteString(`<getJobLogDetailsParam xmlns="` + ns14 + `"><companyHandle>`)
	xmlEscape(&x, c.company)
	x.WriteString(`</companyHandle><jobHandle>`)
	xmlEscape(&x, jobHandle)
	x.WriteString(`</jobHandle><logTypeArray><items>ExportArchive</items></logTypeArray></getJobLogDetailsParam>`)
	body := envelope(x.String())
	for {
		b, err := c.call(ctx, "getJobLogDetails", body)
		if err != nil {
			return "", "", "", err
		}
		if name := firstText(b, "assetName"); strings.HasPrefix(name, "http") {
			return name, firstText(b, "fileSuccessCount"), firstText(b, "totalFileCount"), nil
		}
		if lt := firstText(b, "logType"); lt == "EndExport" {
			return "", firstText(b, "fileSuccessCount"), firstText(b, "totalFileCount"),
				fmt.Errorf("job %s ended without an archive: %s", jobHandle, truncate(string(b), 600))
		}
		select {
		case <-ctx.Done():
			return "", "", "", ctx.Err()
		case <-time.After(every):
		}
	}
}

// download streams url into w and returns the bytes read.
func (c *client) download(ctx context.Context, url string, w io.Writer) (int64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 400))
		return 0, fmt.Errorf("GET zip: HTTP %d: %s", resp.StatusCode, b)
	}
	buf := make([]byte, 256<<10)
	return io.CopyBuffer(w, onlyReader{resp.Body}, buf)
}

type onlyReader struct{ io.Reader }

// firstText is the text of the first element with this local name.
func firstText(doc []byte, local string) string {
	d := xml.NewDecoder(bytes.NewReader(doc))
	for {
		tok, err := d.Token()
		if err != nil {
			return ""
		}
		if se, ok := tok.(xml.StartElement); ok && se.Name.Local == local {
			var s string
			if err := d.DecodeElement(&s, &se); err != nil {
				return ""
			}
			return strings.TrimSpace(s)
		}
	}
}

func xmlEscape(b *strings.Builder, s string) {
	_ = xml.EscapeText(b, []byte(s))
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
