// Package soap reads and writes IPS messages: SOAP 1.1 and 1.2 envelopes and
// the bare-XML binding, the authHeader, faults and gzip. It knows nothing of
// the operations themselves: a Dispatcher does.
package soap

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/text/encoding/htmlindex"
)

// Envelope namespaces.
const (
	NamespaceSOAP11 = "http://schemas.xmlsoap.org/soap/envelope/"
	NamespaceSOAP12 = "http://www.w3.org/2003/05/soap-envelope"
	// NamespaceLegacyAuth holds the pre-3.8 AuthUser/AuthPassword headers.
	NamespaceLegacyAuth = "http://www.scene7.com/IpsApi"
	namespaceXSI        = "http://www.w3.org/2001/XMLSchema-instance"
)

// Transport is the message shape a request came in, and its answer goes out, with.
type Transport int

// Transports.
const (
	SOAP11 Transport = iota + 1
	SOAP12
	Bare // <Request><authHeader/><opParam/></Request>, answered by a bare <opReturn>
)

func (t Transport) String() string {
	switch t {
	case SOAP11:
		return "soap11"
	case SOAP12:
		return "soap12"
	case Bare:
		return "bare"
	}
	return "unknown"
}

// AuthHeader is the IPS authHeader, matched by local name in any namespace.
type AuthHeader struct {
	Present             bool
	User                string
	Password            string
	Locale              string
	AppName             string
	AppVersion          string
	GzipResponse        *bool
	FaultHTTPStatusCode int // 0 = not given, or not a status a client may choose (Fault.Status)
	AccessToken         string
	SAMLResponse        string
}

// Limits bound what a request may hold.
type Limits struct {
	MaxDepth    int // element nesting
	MaxElements int // elements in the whole document
}

// DefaultLimits fit a 10,000-handle array with room to spare.
var defaultLimits = Limits{MaxDepth: 64, MaxElements: 250_000}

// DefaultLimits returns the default parse limits.
func DefaultLimits() Limits { return defaultLimits }

// Request is one parsed IPS call.
type Request struct {
	Transport Transport
	// Operation is the body element's local name without the "Param" suffix.
	Operation string
	// Namespace is the body element's namespace; the answer uses it.
	Namespace string
	Auth      AuthHeader
	// LegacyUser and LegacyPassword come from the deprecated AuthUser and
	// AuthPassword SOAP headers.
	LegacyUser, LegacyPassword string

	// Filled by the HTTP handler.
	BasicUser, BasicPassword string
	HasBasic                 bool
	AcceptLanguage           string
	RemoteAddr               string
	// BaseURL is the scheme and host the client reached ("https://host"),
	// for absolute links in answers; "" when unknown.
	BaseURL string

	param []xml.Token // the body element's subtree, filtered (see filterTokens)
}

// Credentials returns the user and password the caller presented: authHeader
// first, then the legacy headers, then HTTP Basic.
func (r *Request) Credentials() (user, password string, ok bool) {
	switch {
	case r.Auth.User != "" || r.Auth.Password != "":
		return r.Auth.User, r.Auth.Password, true
	case r.LegacyUser != "" || r.LegacyPassword != "":
		return r.LegacyUser, r.LegacyPassword, true
	case r.HasBasic:
		return r.BasicUser, r.BasicPassword, true
	}
	return "", "", false
}

// Locale is the request locale: authHeader locale, else Accept-Language's
// first tag, else "".
func (r *Request) Locale() string {
	if r.Auth.Locale != "" {
		return r.Auth.Locale
	}
	tag, _, _ := strings.Cut(r.AcceptLanguage, ",")
	tag, _, _ = strings.Cut(tag, ";")
	return strings.TrimSpace(tag)
}

// Decode unmarshals the body element into v, a pointer to a generated message
// type. Elements may come in any order, with any prefix and namespace; empty
// and xsi:nil elements count as absent.
func (r *Request) Decode(v any) error {
	if len(r.param) == 0 {
		return Errorf(CodeInvalidXML, "request has no body element")
	}
	sr := &sliceReader{tokens: r.param}
	if ns, ok := xmlNameNamespace(v); ok {
		// The generated type pins its own namespace; the caller's may be any
		// IPS version, so present the element in the one the type expects.
		// Only the outer start and end change: the reader substitutes them
		// rather than copying the whole token slice (a 10,000-handle
		// submitJob has 30,000 tokens).
		start := r.param[0].(xml.StartElement)
		start.Name.Space = ns
		end := r.param[len(r.param)-1].(xml.EndElement)
		end.Name.Space = ns
		sr.first, sr.last = start, end
	}
	d := xml.NewTokenDecoder(sr)
	tok, err := d.Token()
	if err != nil {
		return r.decodeFault(err)
	}
	start := tok.(xml.StartElement)
	if err := d.DecodeElement(v, &start); err != nil {
		return r.decodeFault(err)
	}
	return nil
}

// decodeFault names the element whose value could not be read: a value of
// the wrong type is the caller's invalid parameter (30001), anything else
// is unreadable XML (30003).
func (r *Request) decodeFault(err error) *Fault {
	var numErr *strconv.NumError
	if errors.As(err, &numErr) {
		path := elementPathWithText(r.param, numErr.Num)
		return Invalid(path, numErr.Num, "not a valid "+numberKind(numErr.Func))
	}
	var te *time.ParseError
	if errors.As(err, &te) {
		path := elementPathWithText(r.param, te.Value)
		return Invalid(path, te.Value, "not a valid xsd:dateTime (e.g. 2026-11-28T10:00:00Z)")
	}
	var ve *ValueError
	if errors.As(err, &ve) {
		path := elementPathWithText(r.param, ve.Value)
		return Invalid(path, ve.Value, ve.Why)
	}
	return Errorf(CodeInvalidXML, "cannot read %sParam: %s", r.Operation, cleanXMLError(err))
}

// ValueError is returned by custom unmarshalers (dates, enums) for a value
// they cannot read, so the fault can name the element.
type ValueError struct {
	Value string
	Why   string
}

func (e *ValueError) Error() string { return fmt.Sprintf("invalid value %q: %s", e.Value, e.Why) }

func numberKind(fn string) string {
	switch fn {
	case "ParseBool":
		return "boolean (true or false)"
	case "ParseFloat":
		return "number"
	}
	return "integer"
}

// elementPathWithText finds the element holding text and returns its path
// below the operation element, e.g. "exportJob/numRows".
func elementPathWithText(toks []xml.Token, text string) string {
	var stack []string
	for _, tok := range toks {
		switch t := tok.(type) {
		case xml.StartElement:
			stack = append(stack, t.Name.Local)
		case xml.EndElement:
			if len(stack) > 0 {
				stack = stack[:len(stack)-1]
			}
		case xml.CharData:
			if strings.TrimSpace(string(t)) == strings.TrimSpace(text) && len(stack) > 1 {
				return strings.Join(stack[1:], "/")
			}
		}
	}
	if len(stack) > 0 {
		return stack[0]
	}
	return "request"
}

// xmlNameNamespace returns the namespace in v's XMLName tag, which decoding
// requires the start element to carry.
func xmlNameNamespace(v any) (string, bool) {
	t := reflect.TypeOf(v)
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct {
		return "", false
	}
	f, ok := t.FieldByName("XMLName")
	if !ok {
		return "", false
	}
	tag := f.Tag.Get("xml")
	tag, _, _ = strings.Cut(tag, ",")
	ns, _, found := strings.Cut(tag, " ")
	if !found {
		return "", false
	}
	return ns, true
}

// ParseError describes why a document is not an IPS request.
func parseFault(format string, args ...any) *Fault {
	return Errorf(CodeInvalidXML, format, args...)
}

// Parse reads an envelope (SOAP 1.1, 1.2) or a bare <Request>. It refuses
// DTDs and entity declarations, and documents past the limits.
func Parse(body []byte, lim Limits) (*Request, error) {
	// A UTF-8 byte-order mark leads documents that WCF clients and
	// Windows editors write (docs/wire.md, "Requests"); Go's decoder would
	// read it as text before the root.
	body = bytes.TrimPrefix(body, utf8BOM)
	d := xml.NewDecoder(bytes.NewReader(body))
	d.Strict = true
	d.CharsetReader = charsetReader
	p := parser{d: d, lim: lim}
	req, err := p.parse()
	if err != nil {
		var f *Fault
		if errors.As(err, &f) {
			return nil, f
		}
		return nil, parseFault("malformed request XML: %s", cleanXMLError(err))
	}
	return req, nil
}

// utf8BOM is the UTF-8 encoding of U+FEFF.
var utf8BOM = []byte("\xef\xbb\xbf")

func charsetReader(label string, input io.Reader) (io.Reader, error) {
	enc, err := htmlindex.Get(label)
	if err != nil {
		return nil, fmt.Errorf("unsupported encoding %q", label)
	}
	return enc.NewDecoder().Reader(input), nil
}

type parser struct {
	d        *xml.Decoder
	lim      Limits
	depth    int
	elements int
}

// next returns the next token, enforcing limits and refusing directives.
func (p *parser) next() (xml.Token, error) {
	tok, err := p.d.Token()
	if err != nil {
		return nil, err
	}
	switch t := tok.(type) {
	case xml.StartElement:
		p.depth++
		p.elements++
		if p.lim.MaxDepth > 0 && p.depth > p.lim.MaxDepth {
			return nil, parseFault("request XML nests deeper than %d elements", p.lim.MaxDepth)
		}
		if p.lim.MaxElements > 0 && p.elements > p.lim.MaxElements {
			return nil, parseFault("request XML has more than %d elements", p.lim.MaxElements)
		}
	case xml.EndElement:
		p.depth--
	case xml.Directive:
		// Never expand entities: a DTD is refused outright.
		return nil, parseFault("DTDs and entity declarations are not allowed in requests")
	default:
		_ = t
	}
	return tok, nil
}

// nextStart skips to the next start element at the current level; it returns
// nil at the end of the enclosing element.
func (p *parser) nextStart() (*xml.StartElement, error) {
	for {
		tok, err := p.next()
		if err != nil {
			return nil, err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			return &t, nil
		case xml.EndElement:
			return nil, nil
		case xml.CharData:
			if len(bytes.TrimSpace(t)) > 0 {
				return nil, parseFault("unexpected text %q", Shorten(string(t), 40))
			}
		}
	}
}

func (p *parser) parse() (*Request, error) {
	root, err := p.nextStart()
	if err != nil {
		if err == io.EOF {
			return nil, parseFault("request body is empty")
		}
		return nil, err
	}
	if root == nil {
		return nil, parseFault("request body has no root element")
	}
	req := &Request{}
	switch {
	case root.Name.Local == "Envelope" && root.Name.Space == NamespaceSOAP11:
		req.Transport = SOAP11
		err = p.envelope(req)
	case root.Name.Local == "Envelope" && root.Name.Space == NamespaceSOAP12:
		req.Transport = SOAP12
		err = p.envelope(req)
	case root.Name.Local == "Envelope":
		return nil, parseFault("unknown SOAP envelope namespace %q", root.Name.Space)
	case root.Name.Local == "Request":
		req.Transport = Bare
		err = p.bareRequest(req)
	default:
		// A lone <opParam> document, authenticated by HTTP Basic.
		req.Transport = Bare
		err = p.param(req, *root)
	}
	if err != nil {
		return nil, err
	}
	if err := p.trailer(); err != nil {
		return nil, err
	}
	if req.param == nil {
		return nil, parseFault("request has no operation element")
	}
	return req, nil
}

// trailer checks nothing but whitespace, comments and PIs follow the root.
func (p *parser) trailer() error {
	for {
		tok, err := p.next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			return parseFault("more than one root element")
		case xml.CharData:
			if len(bytes.TrimSpace(t)) > 0 {
				return parseFault("text after the root element")
			}
		}
	}
}

func (p *parser) envelope(req *Request) error {
	for {
		el, err := p.nextStart()
		if err != nil {
			return err
		}
		if el == nil {
			return nil
		}
		switch el.Name.Local {
		case "Header":
			if err := p.header(req); err != nil {
				return err
			}
		case "Body":
			if err := p.body(req); err != nil {
				return err
			}
		default:
			if err := p.skip(); err != nil {
				return err
			}
		}
	}
}

func (p *parser) header(req *Request) error {
	for {
		el, err := p.nextStart()
		if err != nil || el == nil {
			return err
		}
		switch el.Name.Local {
		case "authHeader":
			if err := p.authHeader(req); err != nil {
				return err
			}
		case "AuthUser":
			if req.LegacyUser, err = p.text(); err != nil {
				return err
			}
		case "AuthPassword":
			if req.LegacyPassword, err = p.text(); err != nil {
				return err
			}
		default:
			if err := p.skip(); err != nil {
				return err
			}
		}
	}
}

func (p *parser) body(req *Request) error {
	for {
		el, err := p.nextStart()
		if err != nil || el == nil {
			return err
		}
		if req.param != nil {
			return parseFault("SOAP Body holds more than one element")
		}
		if err := p.param(req, *el); err != nil {
			return err
		}
	}
}

func (p *parser) bareRequest(req *Request) error {
	for {
		el, err := p.nextStart()
		if err != nil || el == nil {
			return err
		}
		if el.Name.Local == "authHeader" {
			if err := p.authHeader(req); err != nil {
				return err
			}
			continue
		}
		if req.param != nil {
			return parseFault("Request holds more than one operation element")
		}
		if err := p.param(req, *el); err != nil {
			return err
		}
	}
}

// param records the operation element's subtree.
func (p *parser) param(req *Request, start xml.StartElement) error {
	req.Operation = strings.TrimSuffix(start.Name.Local, "Param")
	req.Namespace = start.Name.Space
	toks := []xml.Token{start.Copy()}
	depth := 1
	for depth > 0 {
		tok, err := p.next()
		if err != nil {
			if err == io.EOF {
				return parseFault("request XML ends inside %s", start.Name.Local)
			}
			return err
		}
		// Keep the decoder's boxed token where it holds nothing the next
		// Token call overwrites (names are strings; an element without
		// attributes has no slice to alias), copy the rest: one allocation
		// per element saved on a 10,000-handle array.
		switch t := tok.(type) {
		case xml.StartElement:
			depth++
			if len(t.Attr) > 0 {
				tok = t.Copy()
			}
		case xml.EndElement:
			depth--
		case xml.Comment, xml.ProcInst:
			continue
		default:
			tok = xml.CopyToken(tok)
		}
		toks = append(toks, tok)
	}
	req.param = filterTokens(toks)
	return nil
}

func (p *parser) authHeader(req *Request) error {
	req.Auth.Present = true
	for {
		el, err := p.nextStart()
		if err != nil || el == nil {
			return err
		}
		val, err := p.text()
		if err != nil {
			return err
		}
		if isNil(*el) {
			continue
		}
		a := &req.Auth
		switch el.Name.Local {
		case "user":
			a.User = val
		case "password":
			a.Password = val
		case "locale":
			a.Locale = val
		case "appName":
			a.AppName = val
		case "appVersion":
			a.AppVersion = val
		case "accessToken":
			a.AccessToken = val
		case "samlResponse":
			a.SAMLResponse = val
		case "gzipResponse":
			if val == "" {
				continue
			}
			b, err := strconv.ParseBool(val)
			if err != nil {
				return Invalid("authHeader/gzipResponse", val, "expected true or false")
			}
			a.GzipResponse = &b
		case "faultHttpStatusCode":
			if val == "" {
				continue
			}
			n, err := strconv.Atoi(val)
			if err != nil {
				return Invalid("authHeader/faultHttpStatusCode", val, "expected an HTTP status code")
			}
			// Any other number falls back to the default (Fault.Status).
			if HonouredStatus(n) {
				a.FaultHTTPStatusCode = n
			}
		}
	}
}

// text reads the text content of the current element (which must hold no
// child elements) and consumes its end.
func (p *parser) text() (string, error) {
	var b strings.Builder
	for {
		tok, err := p.next()
		if err != nil {
			return "", err
		}
		switch t := tok.(type) {
		case xml.CharData:
			b.Write(t)
		case xml.StartElement:
			if err := p.skip(); err != nil {
				return "", err
			}
		case xml.EndElement:
			return strings.TrimSpace(b.String()), nil
		}
	}
}

// skip consumes the rest of the current element.
func (p *parser) skip() error {
	depth := 1
	for depth > 0 {
		tok, err := p.next()
		if err != nil {
			return err
		}
		switch tok.(type) {
		case xml.StartElement:
			depth++
		case xml.EndElement:
			depth--
		}
	}
	return nil
}

func isNil(el xml.StartElement) bool {
	for _, a := range el.Attr {
		if a.Name.Local == "nil" && (a.Name.Space == namespaceXSI || a.Name.Space == "xsi") {
			v := strings.TrimSpace(a.Value)
			return v == "true" || v == "1"
		}
	}
	return false
}

// filterTokens drops, below the root, elements marked xsi:nil and elements
// with no child element and only whitespace text: PHP and other stubs send
// absent optionals that way, and both mean "absent".
func filterTokens(toks []xml.Token) []xml.Token {
	out := make([]xml.Token, 0, len(toks))
	out = append(out, toks[0])
	out = appendFiltered(out, toks[1:len(toks)-1])
	return append(out, toks[len(toks)-1])
}

func appendFiltered(out, toks []xml.Token) []xml.Token {
	for i := 0; i < len(toks); i++ {
		start, ok := toks[i].(xml.StartElement)
		if !ok {
			out = append(out, toks[i])
			continue
		}
		end := matchingEnd(toks, i)
		inner := toks[i+1 : end]
		if isNil(start) || blank(inner) {
			i = end
			continue
		}
		out = append(out, toks[i]) // the boxed token as it is: no new allocation
		out = appendFiltered(out, inner)
		out = append(out, toks[end])
		i = end
	}
	return out
}

func matchingEnd(toks []xml.Token, i int) int {
	depth := 0
	for j := i; j < len(toks); j++ {
		switch toks[j].(type) {
		case xml.StartElement:
			depth++
		case xml.EndElement:
			depth--
			if depth == 0 {
				return j
			}
		}
	}
	return len(toks) - 1 // unreachable: the parser balanced the subtree
}

func blank(toks []xml.Token) bool {
	for _, t := range toks {
		switch t := t.(type) {
		case xml.StartElement:
			return false
		case xml.CharData:
			if len(bytes.TrimSpace(t)) > 0 {
				return false
			}
		}
	}
	return true
}

// sliceReader replays recorded tokens; first and last, when set, stand in
// for the outermost start and end element.
type sliceReader struct {
	tokens      []xml.Token
	i           int
	first, last xml.Token
}

func (s *sliceReader) Token() (xml.Token, error) {
	if s.i >= len(s.tokens) {
		return nil, io.EOF
	}
	t := s.tokens[s.i]
	switch {
	case s.i == 0 && s.first != nil:
		t = s.first
	case s.i == len(s.tokens)-1 && s.last != nil:
		t = s.last
	}
	s.i++
	return t, nil
}

// cleanXMLError keeps decoder errors short and free of Go type names.
func cleanXMLError(err error) string {
	var se *xml.SyntaxError
	if errors.As(err, &se) {
		return fmt.Sprintf("line %d: %s", se.Line, se.Msg)
	}
	msg := err.Error()
	if i := strings.Index(msg, "strconv."); i >= 0 {
		// "strconv.ParseInt: parsing \"x\": invalid syntax" → the value and why.
		msg = msg[i:]
		if _, rest, ok := strings.Cut(msg, ": "); ok {
			msg = rest
		}
	}
	return msg
}

// Release drops the parsed body once the operation has read what it
// needs, so that a large request's tokens (3–4 MB for a 10,000-handle
// submitJob) do not live through the rest of the call. Decode and Present
// see no body afterwards.
func (r *Request) Release() { r.param = nil }

// Present tells whether the operation element has a (non-empty, non-nil)
// child at the slash-separated path of local names, e.g.
// "includeSubfolders" or "exportJob/emailSetting". Generated types cannot
// tell an absent boolean from false; this can.
func (r *Request) Present(path string) bool {
	want := strings.Split(path, "/")
	var stack []string
	for _, tok := range r.param[min(1, len(r.param)):] {
		switch t := tok.(type) {
		case xml.StartElement:
			stack = append(stack, t.Name.Local)
			if slices.Equal(stack, want) {
				return true
			}
		case xml.EndElement:
			if len(stack) > 0 {
				stack = stack[:len(stack)-1]
			}
		}
	}
	return false
}
