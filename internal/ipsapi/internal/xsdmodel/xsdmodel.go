// Package xsdmodel reads the subset of XML Schema that the generated IPS
// schemas use (named complex types with a sequence or all of elements,
// anonymous complex types of top-level elements, xsd:any, xsd:include) into
// a model of which children each element and type declares, in order.
//
// Both the type post-processor (typegen: which elements are required) and
// the server's projection (ipsapi.Schemas: which elements a version
// declares) read the schemas through it, so they cannot disagree.
package xsdmodel

import (
	"encoding/xml"
	"fmt"
	"io/fs"
	"path"
	"strings"
)

// NamespaceXSD is the XML Schema namespace.
const NamespaceXSD = "http://www.w3.org/2001/XMLSchema"

// AppinfoNewestName marks, in an xsd:appinfo, the name an element has in the
// newest schema when it differs in this one.
const AppinfoNewestName = "urn:ipsexport:ipsd:newest-name"

// Child is one element a complex type declares.
type Child struct {
	Name string
	// Type is the local name of the element's type: an XML Schema builtin
	// (string, int, boolean, dateTime…) when Builtin, else a complex type
	// of the same schema.
	Type     string
	Builtin  bool
	Required bool // minOccurs ≥ 1
	Repeated bool // maxOccurs > 1 or unbounded
	// NewestName is the element's name in the newest schema (equal to
	// Name unless the schema says otherwise).
	NewestName string
}

// Content is the declared content of a complex type.
type Content struct {
	Children []Child
	// Open types accept any element (xsd:any).
	Open bool
}

// Child returns the declared child of that name.
func (c *Content) Child(name string) (Child, bool) {
	for _, ch := range c.Children {
		if ch.Name == name {
			return ch, true
		}
	}
	return Child{}, false
}

// Schema is one target namespace's declarations, includes resolved.
type Schema struct {
	Namespace string
	// Types are the named complex types.
	Types map[string]*Content
	// Elements are the top-level elements (their anonymous or named
	// type's content), and ElementOrder their document order.
	Elements     map[string]*Content
	ElementOrder []string
}

type xElement struct {
	Name        string     `xml:"name,attr"`
	Type        string     `xml:"type,attr"`
	MinOccurs   string     `xml:"minOccurs,attr"`
	MaxOccurs   string     `xml:"maxOccurs,attr"`
	Appinfo     []xAppinfo `xml:"annotation>appinfo"`
	ComplexType *xComplex  `xml:"complexType"`
}

type xAppinfo struct {
	Source string `xml:"source,attr"`
	Text   string `xml:",chardata"`
}

type xGroup struct {
	Elements []xElement `xml:"element"`
	Any      []struct{} `xml:"any"`
}

type xComplex struct {
	Name     string  `xml:"name,attr"`
	Sequence *xGroup `xml:"sequence"`
	All      *xGroup `xml:"all"`
}

type xSchema struct {
	TargetNamespace string `xml:"targetNamespace,attr"`
	Includes        []struct {
		SchemaLocation string `xml:"schemaLocation,attr"`
	} `xml:"include"`
	ComplexTypes []xComplex `xml:"complexType"`
	Elements     []xElement `xml:"element"`
}

// Parse reads the schema document name from fsys, with the documents it
// includes (same namespace).
func Parse(fsys fs.FS, name string) (*Schema, error) {
	s := &Schema{Types: map[string]*Content{}, Elements: map[string]*Content{}}
	if err := s.read(fsys, name, map[string]bool{}); err != nil {
		return nil, err
	}
	return s, nil
}

func (s *Schema) read(fsys fs.FS, name string, seen map[string]bool) error {
	if seen[name] {
		return nil
	}
	seen[name] = true
	data, err := fs.ReadFile(fsys, name)
	if err != nil {
		return err
	}
	var doc xSchema
	if err := xml.Unmarshal(data, &doc); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	if s.Namespace == "" {
		s.Namespace = doc.TargetNamespace
	} else if doc.TargetNamespace != s.Namespace {
		return fmt.Errorf("%s: namespace %s, included into %s", name, doc.TargetNamespace, s.Namespace)
	}
	for _, inc := range doc.Includes {
		if err := s.read(fsys, path.Join(path.Dir(name), inc.SchemaLocation), seen); err != nil {
			return err
		}
	}
	for _, ct := range doc.ComplexTypes {
		c, err := content(&ct)
		if err != nil {
			return fmt.Errorf("%s: type %s: %w", name, ct.Name, err)
		}
		s.Types[ct.Name] = c
	}
	for _, e := range doc.Elements {
		var c *Content
		switch {
		case e.ComplexType != nil:
			if c, err = content(e.ComplexType); err != nil {
				return fmt.Errorf("%s: element %s: %w", name, e.Name, err)
			}
		case e.Type != "":
			// Resolved after every document is read.
			c = &Content{Children: []Child{{Name: "", Type: localName(e.Type)}}}
		default:
			c = &Content{}
		}
		s.Elements[e.Name] = c
		s.ElementOrder = append(s.ElementOrder, e.Name)
	}
	for n, c := range s.Elements {
		if len(c.Children) == 1 && c.Children[0].Name == "" {
			t, ok := s.Types[c.Children[0].Type]
			if !ok {
				return fmt.Errorf("element %s: unknown type %s", n, c.Children[0].Type)
			}
			s.Elements[n] = t
		}
	}
	return nil
}

func content(ct *xComplex) (*Content, error) {
	c := &Content{}
	g := ct.Sequence
	if g == nil {
		g = ct.All
	}
	if g == nil {
		return c, nil
	}
	c.Open = len(g.Any) > 0
	for _, e := range g.Elements {
		if e.ComplexType != nil {
			return nil, fmt.Errorf("element %s: nested anonymous types are not used", e.Name)
		}
		ch := Child{
			Name:       e.Name,
			Type:       localName(e.Type),
			Builtin:    strings.HasPrefix(e.Type, "xsd:"),
			Required:   e.MinOccurs != "0",
			Repeated:   e.MaxOccurs != "" && e.MaxOccurs != "0" && e.MaxOccurs != "1",
			NewestName: e.Name,
		}
		for _, ai := range e.Appinfo {
			if ai.Source == AppinfoNewestName {
				ch.NewestName = strings.TrimSpace(ai.Text)
			}
		}
		c.Children = append(c.Children, ch)
	}
	return c, nil
}

func localName(qname string) string {
	if i := strings.IndexByte(qname, ':'); i >= 0 {
		return qname[i+1:]
	}
	return qname
}
