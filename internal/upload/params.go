package upload

import (
	"bytes"
	"encoding/xml"
	"errors"
	"mime"
	"regexp"
	"strings"

	"github.com/ipsexport/ipsd/internal/soap"
)

// authDoc is the auth part: an authHeader document, its children matched by
// local name in any namespace (the reference's example puts it in the
// versioned namespace, not the unversioned one its SOAP page names).
type authDoc struct {
	User                string `xml:"user"`
	Password            string `xml:"password"`
	Locale              string `xml:"locale"`
	AppName             string `xml:"appName"`
	AppVersion          string `xml:"appVersion"`
	GzipResponse        *bool  `xml:"gzipResponse"`
	FaultHTTPStatusCode *int   `xml:"faultHttpStatusCode"`
	AccessToken         string `xml:"accessToken"`
	SAMLResponse        string `xml:"samlResponse"`
}

// uploadPostParam is the uploadParams part (c-http-post.md; no schema of
// ours declares it, so it is written here by hand with the reference's
// element names).
type uploadPostParam struct {
	CompanyHandle string         `xml:"companyHandle"`
	JobName       string         `xml:"jobName"`
	JobHandle     string         `xml:"jobHandle"`
	Locale        string         `xml:"locale"`
	Description   string         `xml:"description"`
	DestFolder    string         `xml:"destFolder"`
	FileName      string         `xml:"fileName"`
	EndJob        bool           `xml:"endJob"`
	UploadParams  *uploadPostJob `xml:"uploadParams"`
}

// uploadPostJob is UploadPostJob (types/c-data-types/r-upload-post-job.md).
// The options this server reads have fields; every other child is kept by
// name only, to say in each file's log detail which processing was asked
// for and not done.
type uploadPostJob struct {
	Overwrite            *bool              `xml:"overwrite"`
	ReadyForPublish      *bool              `xml:"readyForPublish"`
	PreservePublishState *bool              `xml:"preservePublishState"`
	CreateMask           *bool              `xml:"createMask"`
	PreserveCrop         *bool              `xml:"preserveCrop"`
	EmailSetting         string             `xml:"emailSetting"`
	XMPKeywords          string             `xml:"xmpKeywords"`
	PostHTTPURL          string             `xml:"postHttpUrl"`
	ManualCropOptions    *manualCropOptions `xml:"manualCropOptions"`
	Other                []anyElement       `xml:",any"`
}

type manualCropOptions struct {
	Left   int `xml:"left"`
	Right  int `xml:"right"`
	Top    int `xml:"top"`
	Bottom int `xml:"bottom"`
}

type anyElement struct {
	XMLName xml.Name
}

// uploadPostReturn is the answer (c-http-post.md, "UploadPOST response").
type uploadPostReturn struct {
	JobHandle string `xml:"jobHandle"`
}

// Bounds on the XML parts, which are read into memory (files never are).
const (
	maxAuthPartBytes   = 64 << 10
	maxParamsPartBytes = 1 << 20
)

// parsedAuth is the auth part, read.
type parsedAuth struct {
	soap.AuthHeader
	Namespace string
}

// parseAuth reads an authHeader document with the soap package's parser
// (DTDs refused, limits, charsets, empty and xsi:nil elements as absent).
func parseAuth(doc []byte, contentType string) (parsedAuth, *soap.Fault) {
	req, err := soap.Parse(withCharset(doc, contentType), soap.DefaultLimits())
	if err != nil {
		return parsedAuth{}, partFault("auth", err)
	}
	if req.Operation != "authHeader" {
		return parsedAuth{}, soap.Errorf(soap.CodeInvalidXML,
			"auth part: expected an authHeader document as its root element")
	}
	var a authDoc
	if err := req.Decode(&a); err != nil {
		return parsedAuth{}, partFault("auth", err)
	}
	out := parsedAuth{Namespace: req.Namespace, AuthHeader: soap.AuthHeader{
		Present: true, User: strings.TrimSpace(a.User), Password: a.Password,
		Locale: strings.TrimSpace(a.Locale), AppName: strings.TrimSpace(a.AppName),
		AppVersion: strings.TrimSpace(a.AppVersion), GzipResponse: a.GzipResponse,
		AccessToken: strings.TrimSpace(a.AccessToken), SAMLResponse: strings.TrimSpace(a.SAMLResponse),
	}}
	// Any status a client may not choose falls back to the default
	// (soap.Fault.Status), as on the SOAP endpoint.
	if c := a.FaultHTTPStatusCode; c != nil && soap.HonouredStatus(*c) {
		out.FaultHTTPStatusCode = *c
	}
	return out, nil
}

// parsedParams is the uploadParams part, read.
type parsedParams struct {
	uploadPostParam
	Namespace string
	// Present tells which optional elements were given ("endJob",
	// "uploadParams/overwrite"): a boolean's false and its absence differ.
	Present func(path string) bool
	// Auth is an authHeader that came with the parameters, when the part
	// is a bare <Request> holding both (as the /scene7/api binding takes).
	Auth *soap.AuthHeader
}

// Root element names taken for the uploadParams part: the example's
// uploadPostParam, the "uploadPostParams" the page's prose says, and the
// part's own name.
var paramsRoots = map[string]bool{"uploadPost": true, "uploadPostParams": true, "uploadParams": true}

func parseParams(doc []byte, contentType string) (parsedParams, *soap.Fault) {
	req, err := soap.Parse(withCharset(doc, contentType), soap.DefaultLimits())
	if err != nil {
		return parsedParams{}, partFault("uploadParams", err)
	}
	if !paramsRoots[req.Operation] {
		return parsedParams{}, soap.Errorf(soap.CodeInvalidXML,
			"uploadParams part: expected an uploadPostParam document as its root element")
	}
	var p parsedParams
	if err := req.Decode(&p.uploadPostParam); err != nil {
		return parsedParams{}, partFault("uploadParams", err)
	}
	p.Namespace = req.Namespace
	p.Present = req.Present
	if req.Auth.Present {
		a := req.Auth
		p.Auth = &a
	}
	return p, nil
}

// partFault names the part in a parse fault's reason.
func partFault(part string, err error) *soap.Fault {
	var f *soap.Fault
	if errors.As(err, &f) {
		g := *f
		g.Reason = part + " part: " + f.Reason
		return &g
	}
	return soap.Errorf(soap.CodeInvalidXML, "%s part: %v", part, err)
}

var charsetName = regexp.MustCompile(`^[A-Za-z0-9._:-]{1,40}$`)

// withCharset honours the part's charset for a document without an XML
// declaration, by writing one (soap.Parse decodes declared charsets).
func withCharset(doc []byte, contentType string) []byte {
	_, params, err := mime.ParseMediaType(contentType)
	if err != nil {
		return doc
	}
	cs := strings.ToLower(strings.TrimSpace(params["charset"]))
	switch cs {
	case "", "utf-8", "utf8", "us-ascii", "ascii":
		return doc
	}
	if !charsetName.MatchString(cs) {
		return doc
	}
	trimmed := bytes.TrimLeft(doc, " \t\r\n")
	if bytes.HasPrefix(trimmed, []byte("<?xml")) || bytes.HasPrefix(doc, []byte("\xef\xbb\xbf")) ||
		bytes.HasPrefix(doc, []byte("\xfe\xff")) || bytes.HasPrefix(doc, []byte("\xff\xfe")) {
		return doc
	}
	return append([]byte(`<?xml version="1.0" encoding="`+cs+`"?>`), trimmed...)
}
