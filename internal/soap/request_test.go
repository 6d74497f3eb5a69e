package soap

import (
	"encoding/xml"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const (
	nsV   = "http://www.scene7.com/IpsApi/xsd/2014-04-03"
	nsU   = "http://www.scene7.com/IpsApi/xsd"
	ns16  = "http://www.scene7.com/IpsApi/xsd/2016-01-14-beta"
	ns17  = "http://www.scene7.com/IpsApi/xsd/2017-10-29-beta"
	ns10  = "http://www.scene7.com/IpsApi/xsd/2010-01-31"
	nsXSI = "http://www.w3.org/2001/XMLSchema-instance"
)

// testParam mimics a generated message type: the XMLName tag carries the
// namespace of the newest schema, children carry none.
type testParam struct {
	XMLName       xml.Name `xml:"http://example.com/newest getAssetsByNameParam"`
	CompanyHandle string   `xml:"companyHandle,omitempty"`
	NameArray     *struct {
		Items []string `xml:"items,omitempty"`
	} `xml:"nameArray,omitempty"`
	RecordsPerPage int32 `xml:"recordsPerPage,omitempty"`
	Flag           bool  `xml:"flag,omitempty"`
}

// Request shapes from docs/clients.md, "Requests as clients write them".
var clientShapes = []struct {
	name      string
	body      string
	transport Transport
	ns        string
	user      string
	appName   string
}{
	{
		name: "PHP SoapClient (SOAP-ENV, ns1, nulls)", transport: SOAP11, ns: nsV, user: "php@example.com",
		body: `<?xml version="1.0" encoding="UTF-8"?>
<SOAP-ENV:Envelope xmlns:SOAP-ENV="http://schemas.xmlsoap.org/soap/envelope/" xmlns:ns1="` + nsV + `" xmlns:xsi="` + nsXSI + `"><SOAP-ENV:Header><ns1:authHeader><ns1:user>php@example.com</ns1:user><ns1:password>pw</ns1:password><ns1:locale xsi:nil="true"/><ns1:appName>php</ns1:appName><ns1:appVersion>1</ns1:appVersion></ns1:authHeader></SOAP-ENV:Header><SOAP-ENV:Body><ns1:getAssetsByNameParam><ns1:companyHandle>c|1</ns1:companyHandle><ns1:nameArray><ns1:items>a</ns1:items><ns1:items>b</ns1:items></ns1:nameArray><ns1:recordsPerPage xsi:nil="true"/><ns1:flag/></ns1:getAssetsByNameParam></SOAP-ENV:Body></SOAP-ENV:Envelope>`,
		appName: "php",
	},
	{
		name: ".NET proxy (soap, default namespaces, Expect)", transport: SOAP11, ns: nsV, user: "dotnet@example.com", appName: "tervis",
		body: `<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:xsd="http://www.w3.org/2001/XMLSchema"><soap:Header><authHeader xmlns="` + nsV + `"><user>dotnet@example.com</user><password>pw</password><appName>tervis</appName><appVersion>1.0</appVersion></authHeader></soap:Header><soap:Body><getAssetsByNameParam xmlns="` + nsV + `"><companyHandle>c|1</companyHandle><nameArray><items>a</items><items>b</items></nameArray></getAssetsByNameParam></soap:Body></soap:Envelope>`,
	},
	{
		name: "zeep (soap-env, ns0, Basic only)", transport: SOAP11, ns: nsV,
		body: `<soap-env:Envelope xmlns:soap-env="http://schemas.xmlsoap.org/soap/envelope/"><soap-env:Body><ns0:getAssetsByNameParam xmlns:ns0="` + nsV + `"><ns0:companyHandle>c|1</ns0:companyHandle><ns0:nameArray><ns0:items>a</ns0:items><ns0:items>b</ns0:items></ns0:nameArray></ns0:getAssetsByNameParam></soap-env:Body></soap-env:Envelope>`,
	},
	{
		name: "Savon (env, header unversioned, body versioned, order forced)", transport: SOAP11, ns: ns10, user: "ruby@example.com", appName: "scene7-wrapper",
		body: `<?xml version="1.0" encoding="UTF-8"?><env:Envelope xmlns:ns="http://www.scene7.com/IpsApi" xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:env="http://schemas.xmlsoap.org/soap/envelope/"><env:Header><authHeader xmlns="` + nsU + `"><user>ruby@example.com</user><password>pw</password><appName>scene7-wrapper</appName><appVersion>0.1</appVersion></authHeader></env:Header><env:Body><getAssetsByNameParam xmlns="` + ns10 + `"><nameArray><items>a</items><items>b</items></nameArray><companyHandle>c|1</companyHandle></getAssetsByNameParam></env:Body></env:Envelope>`,
	},
	{
		name: "Axis2 SOAP 1.2 (soapenv 1.2, ns1 everywhere)", transport: SOAP12, ns: ns16, user: "axis@example.com", appName: "Adobe.Scene7.UGC",
		body: `<?xml version='1.0' encoding='UTF-8'?><soapenv:Envelope xmlns:soapenv="http://www.w3.org/2003/05/soap-envelope"><soapenv:Header><ns1:authHeader xmlns:ns1="` + ns16 + `"><ns1:user>axis@example.com</ns1:user><ns1:password>pw</ns1:password><ns1:locale>en</ns1:locale><ns1:appName>Adobe.Scene7.UGC</ns1:appName><ns1:appVersion>1</ns1:appVersion><ns1:gzipResponse>true</ns1:gzipResponse></ns1:authHeader></soapenv:Header><soapenv:Body><ns1:getAssetsByNameParam xmlns:ns1="` + ns16 + `"><ns1:companyHandle>c|1</ns1:companyHandle><ns1:nameArray><ns1:items>a</ns1:items><ns1:items>b</ns1:items></ns1:nameArray></ns1:getAssetsByNameParam></soapenv:Body></soapenv:Envelope>`,
	},
	{
		name: "raw Python SOAP 1.2 (ns:, comments, CRLF)", transport: SOAP12, ns: nsV, user: "py@example.com", appName: "script",
		body: "<soap:Envelope xmlns:soap=\"http://www.w3.org/2003/05/soap-envelope\" xmlns:ns=\"" + nsV + "\">\r\n   <soap:Header>\r\n      <ns:authHeader>\r\n         <ns:user>py@example.com</ns:user>\r\n         <ns:password>pw</ns:password>\r\n         <!--Optional:-->\r\n         <ns:appName>script</ns:appName>\r\n         <ns:appVersion>1</ns:appVersion>\r\n      </ns:authHeader>\r\n   </soap:Header>\r\n   <soap:Body>\r\n      <ns:getAssetsByNameParam>\r\n         <ns:companyHandle>c|1</ns:companyHandle>\r\n         <!--Optional:-->\r\n         <ns:nameArray>\r\n            <ns:items>a</ns:items>\r\n            <ns:items>b</ns:items>\r\n         </ns:nameArray>\r\n      </ns:getAssetsByNameParam>\r\n   </soap:Body>\r\n</soap:Envelope>",
	},
	{
		name: "Node raw (SOAP-ENV, unprefixed, faultHttpStatusCode)", transport: SOAP11, ns: ns16, user: "node@example.com", appName: "eaem",
		body: `<SOAP-ENV:Envelope xmlns:SOAP-ENV="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><SOAP-ENV:Header><authHeader xmlns="` + ns16 + `"><user>node@example.com</user><password>pw</password><locale>en-US</locale><appName>eaem</appName><appVersion>1</appVersion><faultHttpStatusCode>200</faultHttpStatusCode></authHeader></SOAP-ENV:Header><SOAP-ENV:Body><getAssetsByNameParam xmlns="` + ns16 + `"><companyHandle>c|1</companyHandle><nameArray><items>a</items><items>b</items></nameArray></getAssetsByNameParam></SOAP-ENV:Body></SOAP-ENV:Envelope>`,
	},
	{
		name: "AEM bare XML (JAXB fragments, pretty-printed)", transport: Bare, ns: ns17, user: "aem@example.com", appName: "EAEM Export",
		body: "<Request xmlns=\"" + ns17 + "\"><authHeader xmlns=\"" + ns17 + "\">\n    <user>aem@example.com</user>\n    <password>pw</password>\n    <appName>EAEM Export</appName>\n    <appVersion>1.0</appVersion>\n    <faultHttpStatusCode>200</faultHttpStatusCode>\n</authHeader><getAssetsByNameParam xmlns=\"" + ns17 + "\">\n    <companyHandle>c|1</companyHandle>\n    <nameArray>\n        <items>a</items>\n        <items>b</items>\n    </nameArray>\n</getAssetsByNameParam></Request>",
	},
	{
		name: "AEM bare XML with ns2 prefixes", transport: Bare, ns: ns17, user: "aem@example.com",
		body: `<Request xmlns="` + ns17 + `"><ns2:authHeader xmlns:ns2="` + ns17 + `"><ns2:user>aem@example.com</ns2:user><ns2:password>pw</ns2:password></ns2:authHeader><ns2:getAssetsByNameParam xmlns:ns2="` + ns17 + `"><ns2:companyHandle>c|1</ns2:companyHandle><ns2:nameArray><ns2:items>a</ns2:items><ns2:items>b</ns2:items></ns2:nameArray></ns2:getAssetsByNameParam></Request>`,
	},
	{
		name: "PHP struct fallback: unqualified authHeader children, CDATA", transport: SOAP11, ns: nsV, user: "php2@example.com",
		body: `<SOAP-ENV:Envelope xmlns:SOAP-ENV="http://schemas.xmlsoap.org/soap/envelope/" xmlns:ns1="` + nsV + `"><SOAP-ENV:Header><ns1:authHeader><user>php2@example.com</user><password><![CDATA[p<w>]]></password></ns1:authHeader></SOAP-ENV:Header><SOAP-ENV:Body><ns1:getAssetsByNameParam><ns1:companyHandle><![CDATA[c|1]]></ns1:companyHandle><ns1:nameArray><ns1:items>a</ns1:items><ns1:items>b</ns1:items></ns1:nameArray></ns1:getAssetsByNameParam></SOAP-ENV:Body></SOAP-ENV:Envelope>`,
	},
}

func TestParseClientShapes(t *testing.T) {
	for _, tc := range clientShapes {
		t.Run(tc.name, func(t *testing.T) {
			req, err := Parse([]byte(tc.body), DefaultLimits())
			require.NoError(t, err)
			assert.Equal(t, tc.transport, req.Transport)
			assert.Equal(t, "getAssetsByName", req.Operation)
			assert.Equal(t, tc.ns, req.Namespace)
			assert.Equal(t, tc.user, req.Auth.User)
			if tc.appName != "" {
				assert.Equal(t, tc.appName, req.Auth.AppName)
			}

			var p testParam
			require.NoError(t, req.Decode(&p))
			assert.Equal(t, "c|1", p.CompanyHandle)
			require.NotNil(t, p.NameArray)
			assert.Equal(t, []string{"a", "b"}, p.NameArray.Items)
			assert.Zero(t, p.RecordsPerPage)
		})
	}
}

func TestParseAuthHeaderFields(t *testing.T) {
	body := `<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Header>
	<authHeader xmlns="` + nsU + `"><faultHttpStatusCode>200</faultHttpStatusCode><gzipResponse>false</gzipResponse><locale>de-DE</locale><password>p</password><user>u@x</user></authHeader>
	<AuthUser xmlns="http://www.scene7.com/IpsApi">legacy@x</AuthUser><AuthPassword xmlns="http://www.scene7.com/IpsApi">lp</AuthPassword>
	</soapenv:Header><soapenv:Body><checkLoginParam xmlns="` + nsV + `"/></soapenv:Body></soapenv:Envelope>`
	req, err := Parse([]byte(body), DefaultLimits())
	require.NoError(t, err)
	assert.Equal(t, 200, req.Auth.FaultHTTPStatusCode)
	require.NotNil(t, req.Auth.GzipResponse)
	assert.False(t, *req.Auth.GzipResponse)
	assert.Equal(t, "de-DE", req.Locale())
	assert.Equal(t, "legacy@x", req.LegacyUser)
	u, p, ok := req.Credentials()
	assert.True(t, ok)
	assert.Equal(t, "u@x", u)
	assert.Equal(t, "p", p)
	assert.Equal(t, "checkLogin", req.Operation)
}

func TestCredentialsPrecedence(t *testing.T) {
	r := &Request{LegacyUser: "l", LegacyPassword: "lp", HasBasic: true, BasicUser: "b", BasicPassword: "bp"}
	u, _, _ := r.Credentials()
	assert.Equal(t, "l", u)
	r.LegacyUser, r.LegacyPassword = "", ""
	u, p, ok := r.Credentials()
	assert.Equal(t, "b", u)
	assert.Equal(t, "bp", p)
	assert.True(t, ok)
	r.HasBasic = false
	_, _, ok = r.Credentials()
	assert.False(t, ok)
}

func TestParseRejects(t *testing.T) {
	env := func(body string) string {
		return `<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body>` + body + `</soapenv:Body></soapenv:Envelope>`
	}
	deep := strings.Repeat("<a>", 100) + strings.Repeat("</a>", 100)
	tests := []struct {
		name, body, reason string
		code               int
	}{
		{"empty", "", "empty", CodeInvalidXML},
		{"not xml", "hello", "unexpected text", CodeInvalidXML},
		{"truncated", env(`<checkLoginParam xmlns="` + nsV + `"><email>x</email>`)[:90], "malformed", CodeInvalidXML},
		{"DTD", `<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]>` + env(`<checkLoginParam/>`), "DTD", CodeInvalidXML},
		{"undeclared entity", env(`<checkLoginParam><email>&xxe;</email></checkLoginParam>`), "malformed", CodeInvalidXML},
		{"too deep", env(`<checkLoginParam>` + deep + `</checkLoginParam>`), "deeper", CodeInvalidXML},
		{"unknown envelope ns", `<e:Envelope xmlns:e="urn:x"><e:Body/></e:Envelope>`, "envelope namespace", CodeInvalidXML},
		{"empty body", env(``), "no operation", CodeInvalidXML},
		{"two body elements", env(`<aParam/><bParam/>`), "more than one", CodeInvalidXML},
		{"two roots", env(`<aParam/>`) + `<x/>`, "more than one root", CodeInvalidXML},
		{"invalid utf-8", env("<checkLoginParam><email>\xff\xfe</email></checkLoginParam>"), "malformed", CodeInvalidXML},
		{"bad faultHttpStatusCode", `<Request><authHeader><faultHttpStatusCode>abc</faultHttpStatusCode></authHeader><checkLoginParam/></Request>`, "faultHttpStatusCode", CodeInvalidParameter},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.body), DefaultLimits())
			require.Error(t, err)
			f := AsFault(err)
			assert.Equal(t, tc.code, f.Code)
			assert.Contains(t, f.Reason, tc.reason)
		})
	}
}

func TestParseElementLimit(t *testing.T) {
	items := strings.Repeat("<items>a</items>", 50)
	body := `<Request><getAssetsParam><assetHandleArray>` + items + `</assetHandleArray></getAssetsParam></Request>`
	_, err := Parse([]byte(body), Limits{MaxDepth: 10, MaxElements: 20})
	require.Error(t, err)
	assert.Contains(t, AsFault(err).Reason, "more than 20 elements")
}

func TestDecodeNamesBadField(t *testing.T) {
	body := `<Request xmlns="` + nsV + `"><getAssetsByNameParam><companyHandle>c|1</companyHandle><recordsPerPage>lots</recordsPerPage></getAssetsByNameParam></Request>`
	req, err := Parse([]byte(body), DefaultLimits())
	require.NoError(t, err)
	var p testParam
	err = req.Decode(&p)
	require.Error(t, err)
	f := AsFault(err)
	assert.Equal(t, CodeInvalidParameter, f.Code)
	assert.Contains(t, f.Reason, "recordsPerPage")
	assert.Contains(t, f.Reason, `"lots"`)
}

func TestParseLegacyCharset(t *testing.T) {
	// Java tools send String.getBytes() in the platform charset.
	body := "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><Request><getAssetsByNameParam><companyHandle>caf\xe9</companyHandle></getAssetsByNameParam></Request>"
	req, err := Parse([]byte(body), DefaultLimits())
	require.NoError(t, err)
	var p testParam
	require.NoError(t, req.Decode(&p))
	assert.Equal(t, "café", p.CompanyHandle)
}

func FuzzParse(f *testing.F) {
	for _, tc := range clientShapes {
		f.Add([]byte(tc.body))
	}
	f.Add([]byte(`<Request><authHeader><user>x</user></authHeader><checkLoginParam/></Request>`))
	f.Add([]byte(`<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "b">]><x/>`))
	f.Fuzz(func(t *testing.T, body []byte) {
		req, err := Parse(body, DefaultLimits())
		if err != nil {
			f := AsFault(err)
			if f.Code != CodeInvalidXML && f.Code != CodeInvalidParameter {
				t.Fatalf("unexpected fault code %d: %s", f.Code, f.Reason)
			}
			return
		}
		var p testParam
		if err := req.Decode(&p); err != nil {
			if c := AsFault(err).Code; c != CodeInvalidXML && c != CodeInvalidParameter {
				t.Fatalf("unexpected decode fault %d", c)
			}
		}
		// Whatever was parsed must encode back without error.
		if _, err := EncodeResponse(req.Transport, req.Namespace, req.Operation, &p, nil); err != nil {
			// An operation name that is not a valid XML name cannot come from a parsed element.
			t.Fatalf("encode: %v", err)
		}
	})
}

func TestPresent(t *testing.T) {
	body := `<Request><searchAssetsParam><companyHandle>c</companyHandle><includeSubfolders>false</includeSubfolders><trash/><x><y>1</y></x></searchAssetsParam></Request>`
	req, err := Parse([]byte(body), DefaultLimits())
	require.NoError(t, err)
	assert.True(t, req.Present("includeSubfolders"))
	assert.True(t, req.Present("x/y"))
	assert.False(t, req.Present("trash"), "empty means absent")
	assert.False(t, req.Present("y"))
	assert.False(t, req.Present("searchAssetsParam"))

	// Released, the body is gone: nothing is present, nothing decodes.
	req.Release()
	assert.False(t, req.Present("includeSubfolders"))
	var p struct {
		CompanyHandle string `xml:"companyHandle"`
	}
	err = req.Decode(&p)
	require.Error(t, err)
	assert.Equal(t, CodeInvalidXML, AsFault(err).Code)
	assert.Empty(t, p.CompanyHandle)
}

// A UTF-8 byte-order mark before the document, as WCF clients and
// Windows-saved templates send it, is read past on every shape; one
// anywhere else is text, refused as before.
func TestParseByteOrderMark(t *testing.T) {
	const bom = "\xef\xbb\xbf"
	for _, tc := range clientShapes {
		t.Run(tc.name, func(t *testing.T) {
			req, err := Parse([]byte(bom+tc.body), DefaultLimits())
			require.NoError(t, err)
			assert.Equal(t, tc.transport, req.Transport)
			assert.Equal(t, "getAssetsByName", req.Operation)
		})
	}
	_, err := Parse([]byte(" "+bom+clientShapes[1].body), DefaultLimits())
	assert.Error(t, err, "a mark after a space is text before the root")
	_, err = Parse([]byte(bom+bom+clientShapes[1].body), DefaultLimits())
	assert.Error(t, err, "one mark only")
}
