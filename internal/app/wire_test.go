package app

import (
	"bytes"
	"compress/gzip"
	"encoding/xml"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const (
	soapPath = "/scene7/services/IpsApiService"
	barePath = "/scene7/api/IpsApiService"
	nsU      = "http://www.scene7.com/IpsApi/xsd"
	ns14     = "http://www.scene7.com/IpsApi/xsd/2014-04-03"
	ns16     = "http://www.scene7.com/IpsApi/xsd/2016-01-14-beta"
	ns17     = "http://www.scene7.com/IpsApi/xsd/2017-10-29-beta"
	ns10     = "http://www.scene7.com/IpsApi/xsd/2010-01-31"
)

func tinyPNG(t *testing.T) []byte {
	img := image.NewNRGBA(image.Rect(0, 0, 8, 6))
	for y := 0; y < 6; y++ {
		for x := 0; x < 8; x++ {
			img.SetNRGBA(x, y, color.NRGBA{uint8(x * 30), uint8(y * 40), 90, 255})
		}
	}
	var b bytes.Buffer
	require.NoError(t, png.Encode(&b, img))
	return b.Bytes()
}

// body cuts the payload out the way string-slicing clients do.
func body(t *testing.T, resp string) string {
	t.Helper()
	i := strings.Index(resp, "<soapenv:Body>")
	j := strings.Index(resp, "</soapenv:Body>")
	require.True(t, i >= 0 && j > i, "no <soapenv:Body> in %s", resp)
	return resp[i+len("<soapenv:Body>") : j]
}

// node is a namespace-blind DOM, like the non-NS-aware parsers of the AEM
// tools and xml2js: element names are taken literally, prefix and all.
type node struct {
	XMLName xml.Name
	Attrs   []xml.Attr `xml:",any,attr"`
	Text    string     `xml:",chardata"`
	Kids    []node     `xml:",any"`
}

func parseBlind(t *testing.T, s string) node {
	t.Helper()
	var n node
	d := xml.NewDecoder(strings.NewReader(s))
	require.NoError(t, d.Decode(&n))
	return n
}

// at follows a path of local names; with xml.Decoder the prefix is stripped,
// so we also check the payload carries no prefix in the raw text.
func (n node) at(path ...string) []node {
	cur := []node{n}
	for _, p := range path {
		var next []node
		for _, c := range cur {
			for _, k := range c.Kids {
				if k.XMLName.Local == p {
					next = append(next, k)
				}
			}
		}
		cur = next
	}
	return cur
}

func (n node) text(path ...string) string {
	ns := n.at(path...)
	if len(ns) == 0 {
		return ""
	}
	return strings.TrimSpace(ns[0].Text)
}

func authU(user string) string {
	return `<authHeader xmlns="` + nsU + `"><user>` + user + `</user><password>` + password + `</password><appName>test</appName><appVersion>1</appVersion></authHeader>`
}

func TestWireClientShapes(t *testing.T) {
	e := newEnv(t, "")
	acme := e.acme.Handle

	t.Run(".NET proxy: default namespaces, quoted SOAPAction, Expect", func(t *testing.T) {
		env := `<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:xsd="http://www.w3.org/2001/XMLSchema"><soap:Header><authHeader xmlns="` + ns14 + `"><user>alice@acme.test</user><password>` + password + `</password><appName>tervis</appName><appVersion>1.0</appVersion></authHeader></soap:Header><soap:Body><getAssetsByNameParam xmlns="` + ns14 + `"><companyHandle>` + acme + `</companyHandle><nameArray><items>boot</items><items>hero</items><items>nope</items></nameArray></getAssetsByNameParam></soap:Body></soap:Envelope>`
		status, hdr, resp := e.post(soapPath, env, map[string]string{"Content-Type": "text/xml; charset=utf-8", "SOAPAction": `"getAssetsByName"`, "Expect": "100-continue"})
		require.Equal(t, 200, status, resp)
		assert.Equal(t, "text/xml; charset=utf-8", hdr.Get("Content-Type"))
		payload := body(t, resp)
		assert.True(t, strings.HasPrefix(payload, `<getAssetsByNameReturn xmlns="`+ns14+`"><assetArray><items>`), payload)
		root := parseBlind(t, payload)
		items := root.at("assetArray", "items")
		assert.Len(t, items, 3, "two boots in two folders and the hero")
		for _, it := range items {
			assert.NotEmpty(t, it.text("assetHandle"))
			assert.Equal(t, "Image", it.text("type"))
		}
	})

	t.Run("Savon: header unversioned, body in an unlisted dated namespace", func(t *testing.T) {
		env := `<?xml version="1.0" encoding="UTF-8"?><env:Envelope xmlns:ns="http://www.scene7.com/IpsApi" xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:env="http://schemas.xmlsoap.org/soap/envelope/"><env:Header>` + authU("alice@acme.test") + `</env:Header><env:Body><getCompanyInfoParam xmlns="` + ns10 + `"><companyName>Acme</companyName></getCompanyInfoParam></env:Body></env:Envelope>`
		status, _, resp := e.post(soapPath, env, map[string]string{"Content-Type": "text/xml;charset=UTF-8", "SOAPAction": `"getCompanyInfo"`})
		require.Equal(t, 200, status, resp)
		root := parseBlind(t, body(t, resp))
		assert.Equal(t, ns10, attr(root, "xmlns"))
		assert.Equal(t, acme, root.text("companyInfo", "companyHandle"))
		assert.Equal(t, "Acme/", root.text("companyInfo", "rootPath"))
		// Savon detects faults by these substrings; a success must not have them.
		assert.NotContains(t, resp, "Fault>")
	})

	t.Run("Axis2 SOAP 1.2: action parameter, chunked, gzipResponse=true", func(t *testing.T) {
		env := `<?xml version='1.0' encoding='UTF-8'?><soapenv:Envelope xmlns:soapenv="http://www.w3.org/2003/05/soap-envelope"><soapenv:Header><ns1:authHeader xmlns:ns1="` + ns16 + `"><ns1:user>alice@acme.test</ns1:user><ns1:password>` + password + `</ns1:password><ns1:locale>en</ns1:locale><ns1:appName>Adobe.Scene7.UGC</ns1:appName><ns1:appVersion>1</ns1:appVersion><ns1:gzipResponse>true</ns1:gzipResponse></ns1:authHeader></soapenv:Header><soapenv:Body><ns1:getUserInfoParam xmlns:ns1="` + ns16 + `"/></soapenv:Body></soapenv:Envelope>`
		pr, pw := io.Pipe()
		go func() { _, _ = pw.Write([]byte(env)); pw.Close() }()
		req, err := http.NewRequest(http.MethodPost, e.srv.URL+soapPath, pr) // no length: chunked
		require.NoError(t, err)
		req.Header.Set("Content-Type", `application/soap+xml; charset=UTF-8; action="getUserInfo"`)
		resp, err := (&http.Client{Transport: &http.Transport{DisableCompression: true}}).Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		require.Equal(t, "gzip", resp.Header.Get("Content-Encoding"), "gzipResponse=true gzips without Accept-Encoding")
		zr, err := gzip.NewReader(resp.Body)
		require.NoError(t, err)
		raw, _ := io.ReadAll(zr)
		assert.Equal(t, 200, resp.StatusCode, string(raw))
		assert.Equal(t, "application/soap+xml; charset=utf-8", resp.Header.Get("Content-Type"))
		root := parseBlind(t, body(t, string(raw)))
		assert.Equal(t, "alice@acme.test", root.text("userInfo", "email"))
		// The 2016-01-14-beta stub's User has isIpsAdmin and no defaultRole.
		assert.Equal(t, "false", root.text("userInfo", "isIpsAdmin"))
	})

	t.Run("string slicing Node script: unquoted SOAPAction, faultHttpStatusCode", func(t *testing.T) {
		env := `<SOAP-ENV:Envelope xmlns:SOAP-ENV="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><SOAP-ENV:Header><authHeader xmlns="` + ns16 + `"><user>alice@acme.test</user><password>` + password + `</password><locale>en-US</locale><appName>eaem</appName><appVersion>1</appVersion><faultHttpStatusCode>200</faultHttpStatusCode></authHeader></SOAP-ENV:Header><SOAP-ENV:Body><searchAssetsParam xmlns="` + ns16 + `"><companyHandle>` + acme + `</companyHandle><folder>shoes</folder><includeSubfolders>false</includeSubfolders><assetTypeArray><items>Image</items></assetTypeArray><responseFieldArray><items>assetArray/items/name</items></responseFieldArray></searchAssetsParam></SOAP-ENV:Body></SOAP-ENV:Envelope>`
		status, _, resp := e.post(soapPath, env, map[string]string{"SOAPAction": "searchAssets", "Content-Type": "text/xml"})
		require.Equal(t, 200, status, resp)
		payload := body(t, resp)
		assert.Contains(t, payload, "<totalRows>1</totalRows>", "only shoes/, not shoes/red/")
		root := parseBlind(t, payload)
		assert.Equal(t, "Acme/shoes/", root.text("assetArray", "items", "folder"))
	})

	t.Run("raw Python SOAP 1.2: no Content-Type, lower-case soapaction, comments, CRLF", func(t *testing.T) {
		env := "<soap:Envelope xmlns:soap=\"http://www.w3.org/2003/05/soap-envelope\" xmlns:ns=\"" + ns14 + "\">\r\n<soap:Header>\r\n<ns:authHeader>\r\n<ns:user>alice@acme.test</ns:user>\r\n<ns:password>" + password + "</ns:password>\r\n<!--Optional:-->\r\n<ns:appName>py</ns:appName>\r\n<ns:appVersion>1</ns:appVersion>\r\n</ns:authHeader>\r\n</soap:Header>\r\n<soap:Body>\r\n<ns:getAssetsByNameParam>\r\n<ns:companyHandle>" + acme + "</ns:companyHandle>\r\n<!--Optional:-->\r\n<ns:nameArray>\r\n<ns:items>hero</ns:items>\r\n</ns:nameArray>\r\n</ns:getAssetsByNameParam>\r\n</soap:Body>\r\n</soap:Envelope>"
		req, err := http.NewRequest(http.MethodPost, e.srv.URL+soapPath, strings.NewReader(env))
		require.NoError(t, err)
		req.Header["soapaction"] = []string{"getAssetsByName"}
		req.Header.Set("cache-control", "no-cache")
		resp, err := http.DefaultTransport.RoundTrip(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		require.Equal(t, 200, resp.StatusCode, string(raw))
		assert.Contains(t, string(raw), "http://www.w3.org/2003/05/soap-envelope")
		assert.Contains(t, string(raw), "<name>hero</name>")
	})

	t.Run("PHP SoapClient: SOAP-ENV, ns1, null fields", func(t *testing.T) {
		env := `<?xml version="1.0" encoding="UTF-8"?><SOAP-ENV:Envelope xmlns:SOAP-ENV="http://schemas.xmlsoap.org/soap/envelope/" xmlns:ns1="` + ns14 + `" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><SOAP-ENV:Header><ns1:authHeader><ns1:user>alice@acme.test</ns1:user><ns1:password>` + password + `</ns1:password><ns1:locale xsi:nil="true"/><ns1:appName>php</ns1:appName><ns1:appVersion>1</ns1:appVersion><ns1:gzipResponse xsi:nil="true"/><ns1:faultHttpStatusCode xsi:nil="true"/></ns1:authHeader></SOAP-ENV:Header><SOAP-ENV:Body><ns1:saveImageFormatParam><ns1:companyHandle>` + acme + `</ns1:companyHandle><ns1:imageFormatHandle xsi:nil="true"/><ns1:name>Thumb Nail</ns1:name><ns1:urlModifier>  &amp;wid=400&amp;hei=400&amp;fmt=jpeg&amp;qlt=85&amp;  </ns1:urlModifier></ns1:saveImageFormatParam></SOAP-ENV:Body></SOAP-ENV:Envelope>`
		status, _, resp := e.post(soapPath, env, map[string]string{"Content-Type": "text/xml; charset=utf-8", "SOAPAction": `"saveImageFormat"`})
		require.Equal(t, 200, status, resp)
		handle := parseBlind(t, body(t, resp)).text("imageFormatHandle")
		require.NotEmpty(t, handle)
		fs, err := e.app.Store.ImageFormats(t.Context(), e.acme.Handle)
		require.NoError(t, err)
		require.Len(t, fs, 1)
		assert.Equal(t, "wid=400&hei=400&fmt=jpeg&qlt=85", fs[0].URLModifier, "stored trimmed of whitespace and &")
	})

	t.Run("AEM bare XML: Request root, bare Return root", func(t *testing.T) {
		req := "<Request xmlns=\"" + ns17 + "\"><authHeader xmlns=\"" + ns17 + "\">\n    <user>alice@acme.test</user>\n    <password>" + password + "</password>\n    <appName>EAEM Export</appName>\n    <appVersion>1.0</appVersion>\n    <faultHttpStatusCode>200</faultHttpStatusCode>\n</authHeader><getCompanyInfoParam xmlns=\"" + ns17 + "\">\n    <companyHandle>" + acme + "</companyHandle>\n</getCompanyInfoParam></Request>"
		status, _, resp := e.post(barePath, req, map[string]string{"Content-Type": "text/xml"})
		require.Equal(t, 200, status, resp)
		assert.NotContains(t, resp, "Envelope")
		root := parseBlind(t, resp)
		assert.Equal(t, "getCompanyInfoReturn", root.XMLName.Local)
		assert.Equal(t, acme, root.text("companyInfo", "companyHandle"))
		assert.Contains(t, resp, "<companyInfo><companyHandle>", "children unprefixed")
	})
}

func attr(n node, name string) string {
	for _, a := range n.Attrs {
		if a.Name.Local == name && (a.Name.Space == "" || a.Name.Space == "xmlns") {
			return a.Value
		}
	}
	// encoding/xml reports a default namespace declaration as the element's space.
	if name == "xmlns" {
		return n.XMLName.Space
	}
	return ""
}

func soapCall(header, payload string) string {
	return `<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Header>` + header + `</soapenv:Header><soapenv:Body>` + payload + `</soapenv:Body></soapenv:Envelope>`
}

func TestWireFaults(t *testing.T) {
	e := newEnv(t, "")
	acme, globex := e.acme.Handle, e.globex.Handle
	companyInfo := func(handle string) string {
		return `<getCompanyInfoParam xmlns="` + ns14 + `"><companyHandle>` + handle + `</companyHandle></getCompanyInfoParam>`
	}
	badPass := `<authHeader xmlns="` + nsU + `"><user>alice@acme.test</user><password>wrong</password></authHeader>`
	ghost := `<authHeader xmlns="` + nsU + `"><user>ghost@nowhere.test</user><password>wrong</password></authHeader>`
	saml := `<authHeader xmlns="` + ns16 + `"><samlResponse>PHNhbWw+</samlResponse><appName>a</appName><appVersion>1</appVersion></authHeader>`
	tests := []struct {
		name    string
		body    string
		kind    string
		code    int
		reason  string
		status  int
		hdr     map[string]string
		path    string
		rawBody bool
	}{
		{name: "wrong password", body: soapCall(badPass, companyInfo(acme)), kind: "authenticationFault", code: 10001, reason: "Invalid username/password"},
		{name: "unknown user answers the same", body: soapCall(ghost, companyInfo(acme)), kind: "authenticationFault", code: 10001, reason: "Invalid username/password"},
		{name: "missing header", body: soapCall("", companyInfo(acme)), kind: "authenticationFault", code: 10000, reason: "no credentials"},
		{name: "SAML refused", body: soapCall(saml, companyInfo(acme)), kind: "authenticationFault", code: 10001, reason: "not supported"},
		{name: "foreign company", body: soapCall(authU("alice@acme.test"), companyInfo(globex)), kind: "authorizationFault", code: 20006, reason: globex},
		{name: "nonexistent company answers the same", body: soapCall(authU("alice@acme.test"), companyInfo("c|99999")), kind: "authorizationFault", code: 20006, reason: "c|99999"},
		{name: "role may not call", body: soapCall(authU("viewer@acme.test"), `<saveImageFormatParam xmlns="`+ns14+`"><companyHandle>`+acme+`</companyHandle><name>x</name><urlModifier>wid=1</urlModifier></saveImageFormatParam>`), kind: "authorizationFault", code: 20003, reason: "saveImageFormat"},
		{name: "malformed XML", body: `<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body><getCompanyInfoParam>`, kind: "ipsApiFault", code: 30003, reason: "malformed"},
		{name: "DTD", body: `<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;">]>` + soapCall(authU("alice@acme.test"), companyInfo(acme)), kind: "ipsApiFault", code: 30003, reason: "DTD"},
		{name: "oversized body", body: soapCall(authU("alice@acme.test"), `<getCompanyInfoParam><companyName>`+strings.Repeat("A", 2<<20)+`</companyName></getCompanyInfoParam>`), kind: "ipsApiFault", code: 30003, reason: "exceeds the limit"},
		{name: "unknown operation", body: soapCall(authU("alice@acme.test"), `<getProjectsParam xmlns="`+ns14+`"><companyHandle>`+acme+`</companyHandle></getProjectsParam>`), kind: "ipsApiFault", code: 30001, reason: "operation getProjects is not supported"},
		{name: "missing parameter", body: soapCall(authU("alice@acme.test"), `<getImageFormatsParam xmlns="`+ns14+`"/>`), kind: "ipsApiFault", code: 30002, reason: "companyHandle"},
		{name: "invalid value names the field", body: soapCall(authU("alice@acme.test"), `<searchAssetsParam xmlns="`+ns14+`"><companyHandle>`+acme+`</companyHandle><recordsPerPage>many</recordsPerPage></searchAssetsParam>`), kind: "ipsApiFault", code: 30001, reason: "recordsPerPage"},
		{name: "bad sortBy", body: soapCall(authU("alice@acme.test"), `<searchAssetsParam xmlns="`+ns14+`"><companyHandle>`+acme+`</companyHandle><sortBy>Colour</sortBy></searchAssetsParam>`), kind: "ipsApiFault", code: 30001, reason: "sortBy"},
		{name: "bare fault with faultHttpStatusCode", path: barePath, status: 200, body: `<Request xmlns="` + ns17 + `"><authHeader><user>alice@acme.test</user><password>nope</password><faultHttpStatusCode>200</faultHttpStatusCode></authHeader><getCompanyInfoParam><companyHandle>` + acme + `</companyHandle></getCompanyInfoParam></Request>`, kind: "authenticationFault", code: 10001},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := tc.path
			if path == "" {
				path = soapPath
			}
			status, _, resp := e.post(path, tc.body, tc.hdr)
			want := tc.status
			if want == 0 {
				want = 500
			}
			assert.Equal(t, want, status)
			assert.Contains(t, resp, fmt.Sprintf(`<%s xmlns="%s"><code>%d</code><reason>`, tc.kind, nsU, tc.code), resp)
			if tc.reason != "" {
				assert.Contains(t, resp, tc.reason)
			}
			assert.NotContains(t, resp, password, "no secret in a fault")
			assert.NotContains(t, resp, "<html")
		})
	}
	// After all that, the server keeps serving.
	status, _, resp := e.post(soapPath, soapCall(authU("alice@acme.test"), companyInfo(acme)), nil)
	assert.Equal(t, 200, status, resp)
}

func TestWireIsolation(t *testing.T) {
	e := newEnv(t, "")
	acme := e.acme.Handle
	// Globex's asset handle through Acme's company is answered as unknown.
	status, _, resp := e.post(soapPath, soapCall(authU("alice@acme.test"),
		`<getAssetsParam xmlns="`+ns14+`"><companyHandle>`+acme+`</companyHandle><assetHandleArray><items>`+e.globexAsset.Handle+`</items><items>a|0|0</items></assetHandleArray></getAssetsParam>`), nil)
	require.Equal(t, 200, status, resp)
	assert.Contains(t, body(t, resp), "<assetArray></assetArray>")
	assert.NotContains(t, resp, "secret")

	// Deleting it the same: "no such asset", exactly as for a made-up handle.
	_, _, foreign := e.post(soapPath, soapCall(authU("alice@acme.test"),
		`<deleteAssetParam xmlns="`+ns14+`"><companyHandle>`+acme+`</companyHandle><assetHandle>`+e.globexAsset.Handle+`</assetHandle></deleteAssetParam>`), nil)
	_, _, madeUp := e.post(soapPath, soapCall(authU("alice@acme.test"),
		`<deleteAssetParam xmlns="`+ns14+`"><companyHandle>`+acme+`</companyHandle><assetHandle>a|0|0</assetHandle></deleteAssetParam>`), nil)
	assert.Equal(t, strings.ReplaceAll(foreign, e.globexAsset.Handle, "X"), strings.ReplaceAll(madeUp, "a|0|0", "X"))
	got, err := e.app.Store.AssetsByHandles(t.Context(), e.globex.Handle, []string{e.globexAsset.Handle})
	require.NoError(t, err)
	assert.Len(t, got, 1, "Globex's asset survives")

	// An IpsAdmin sees every company.
	status, _, resp = e.post(soapPath, soapCall(authU("root@ips.test"),
		`<getCompanyInfoParam xmlns="`+ns14+`"><companyHandle>`+e.globex.Handle+`</companyHandle></getCompanyInfoParam>`), nil)
	assert.Equal(t, 200, status, resp)

	// Empty arrays give empty results, not faults (PHP's quirk, docs/clients.md, "Empty arrays").
	status, _, resp = e.post(soapPath, soapCall(authU("alice@acme.test"),
		`<getAssetsParam xmlns="`+ns14+`"><companyHandle>`+acme+`</companyHandle><assetHandleArray/></getAssetsParam>`), nil)
	assert.Equal(t, 200, status, resp)
	assert.Contains(t, resp, "<assetArray></assetArray>")
}

func TestWSDLServed(t *testing.T) {
	e := newEnv(t, "")
	for _, path := range []string{
		"/scene7/webservice/IpsApi.wsdl",
		"/scene7/webservice/IpsApi-2014-04-03.wsdl",
		"/scene7/IpsApi-2014-04-03.wsdl",
		"/scene7/services/IpsApiService?wsdl",
	} {
		status, doc := e.get(path)
		require.Equal(t, 200, status, path)
		assert.Contains(t, doc, `location="`+e.srv.URL+`/scene7/services/IpsApiService"`, path)
	}
	req, _ := http.NewRequest(http.MethodGet, e.srv.URL+"/scene7/webservice/IpsApi-2016-01-14-beta.wsdl", nil)
	req.Header.Set("X-Forwarded-Proto", "https")
	req.Header.Set("X-Forwarded-Host", "ips.example.com")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	doc, _ := io.ReadAll(resp.Body)
	assert.Contains(t, string(doc), `location="https://ips.example.com/scene7/services/IpsApiService"`)
	status, _ := e.get("/scene7/webservice/IpsApi-1999-01-01.wsdl")
	assert.Equal(t, 404, status)
}
