package soap

import (
	"bytes"
	"encoding/xml"
	"fmt"

	"github.com/beevik/etree"
)

// NamespaceFaults is where the three fault elements live in every version.
const NamespaceFaults = "http://www.scene7.com/IpsApi/xsd"

// Projector removes from an encoded <opReturn> the elements that the
// namespace's schema version does not declare. nil keeps everything.
type Projector func(namespace string, root *etree.Element)

const xmlDecl = `<?xml version="1.0" encoding="UTF-8"?>` + "\n"

// Real IPS answers exactly like this: prefix soapenv, an empty Header, a Body
// without attributes, and an unprefixed payload with a default namespace.
// Clients slice the text between "<soapenv:Body>" and "</soapenv:Body>".
func envelopeOpen(t Transport) string {
	ns := NamespaceSOAP11
	if t == SOAP12 {
		ns = NamespaceSOAP12
	}
	return xmlDecl + `<soapenv:Envelope xmlns:soapenv="` + ns + `"><soapenv:Header/><soapenv:Body>`
}

const envelopeClose = `</soapenv:Body></soapenv:Envelope>`

// ContentType is the response media type of a transport.
func ContentType(t Transport) string {
	if t == SOAP12 {
		return "application/soap+xml; charset=utf-8"
	}
	return "text/xml; charset=utf-8"
}

// EncodeResponse writes payload as <operation+"Return" xmlns=namespace>,
// wrapped for the transport. A nil payload writes the empty element that void
// operations answer.
func EncodeResponse(t Transport, namespace, operation string, payload any, project Projector) ([]byte, error) {
	name := xml.Name{Space: namespace, Local: operation + "Return"}
	var inner bytes.Buffer
	if payload == nil {
		fmt.Fprintf(&inner, `<%s xmlns="%s"></%s>`, name.Local, escapeAttr(namespace), name.Local)
	} else {
		enc := xml.NewEncoder(&inner)
		if err := enc.EncodeElement(payload, xml.StartElement{Name: name}); err != nil {
			return nil, fmt.Errorf("encode %s: %w", name.Local, err)
		}
		if err := enc.Close(); err != nil {
			return nil, fmt.Errorf("encode %s: %w", name.Local, err)
		}
	}
	if project != nil && payload != nil {
		doc := etree.NewDocument()
		if err := doc.ReadFromBytes(inner.Bytes()); err != nil {
			return nil, fmt.Errorf("reparse %s: %w", name.Local, err)
		}
		if root := doc.Root(); root != nil {
			project(namespace, root)
		}
		doc.WriteSettings.CanonicalEndTags = true
		inner.Reset()
		if _, err := doc.WriteTo(&inner); err != nil {
			return nil, fmt.Errorf("write %s: %w", name.Local, err)
		}
	}
	return wrap(t, inner.Bytes()), nil
}

func wrap(t Transport, inner []byte) []byte {
	var out bytes.Buffer
	if t == Bare {
		out.Grow(len(xmlDecl) + len(inner))
		out.WriteString(xmlDecl)
		out.Write(inner)
		return out.Bytes()
	}
	out.Grow(len(inner) + 200)
	out.WriteString(envelopeOpen(t))
	out.Write(inner)
	out.WriteString(envelopeClose)
	return out.Bytes()
}

// EncodeFault writes a fault for the transport: a SOAP 1.1 or 1.2 Fault
// whose detail holds the IPS fault element, or the bare fault element.
func EncodeFault(t Transport, f *Fault) []byte {
	detail := fmt.Sprintf(`<%s xmlns="%s"><code>%d</code><reason>%s</reason></%s>`,
		f.Kind, NamespaceFaults, f.Code, escapeText(f.Reason), f.Kind)
	switch t {
	case Bare:
		return []byte(xmlDecl + detail)
	case SOAP12:
		code := "soapenv:Sender"
		if !f.ClientCaused() {
			code = "soapenv:Receiver"
		}
		return wrap(t, []byte(`<soapenv:Fault><soapenv:Code><soapenv:Value>`+code+
			`</soapenv:Value></soapenv:Code><soapenv:Reason><soapenv:Text xml:lang="en">`+string(f.Kind)+
			`</soapenv:Text></soapenv:Reason><soapenv:Detail>`+detail+`</soapenv:Detail></soapenv:Fault>`))
	default:
		code := "soapenv:Client"
		if !f.ClientCaused() {
			code = "soapenv:Server"
		}
		return wrap(SOAP11, []byte(`<soapenv:Fault><faultcode>`+code+`</faultcode><faultstring>`+
			string(f.Kind)+`</faultstring><detail>`+detail+`</detail></soapenv:Fault>`))
	}
}

func escapeText(s string) string {
	var b bytes.Buffer
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}

func escapeAttr(s string) string { return escapeText(s) }
