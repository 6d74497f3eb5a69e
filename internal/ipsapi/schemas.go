package ipsapi

import (
	"fmt"
	"io/fs"
	"strings"
	"sync"

	"github.com/beevik/etree"

	"github.com/ipsexport/ipsd/internal/ipsapi/internal/xsdmodel"
	"github.com/ipsexport/ipsd/schemas"
)

// Child is an element that a complex type declares: its name in that
// version, its type, whether it is required or repeated, and its name in
// the newest version.
type Child = xsdmodel.Child

// Schemas is the model of every served version's schema, read from the
// embedded XSDs (package schemas). Build it once (NewSchemas) and share it:
// it is read-only after construction and safe for concurrent use.
type Schemas struct {
	byLayout map[string]*Schema
}

// Schema is one version's schema.
type Schema struct {
	Version Version
	xsd     *xsdmodel.Schema
	// byNewest indexes each type's and element's children by their name in
	// the newest version, which is what an encoded answer carries.
	types    map[string]*projection
	elements map[string]*projection
}

type projection struct {
	open     bool
	byNewest map[string]Child
}

// NewSchemas reads the embedded schemas. They are part of the binary and
// covered by the package's tests, so a failure is a build defect: it panics.
func NewSchemas() *Schemas {
	s, err := LoadSchemas(schemas.Files)
	if err != nil {
		panic(err)
	}
	return s
}

// LoadSchemas reads the schemas of every served version from fsys (the
// layout of package schemas).
func LoadSchemas(fsys fs.FS) (*Schemas, error) {
	out := &Schemas{byLayout: map[string]*Schema{}}
	for _, v := range Versions {
		x, err := xsdmodel.Parse(fsys, v.SchemaFile)
		if err != nil {
			return nil, fmt.Errorf("schema %s: %w", v.SchemaFile, err)
		}
		if x.Namespace != v.Namespace {
			return nil, fmt.Errorf("schema %s: namespace %s, want %s", v.SchemaFile, x.Namespace, v.Namespace)
		}
		sc := &Schema{Version: v, xsd: x, types: map[string]*projection{}, elements: map[string]*projection{}}
		for n, c := range x.Types {
			sc.types[n] = index(c)
		}
		for n, c := range x.Elements {
			sc.elements[n] = index(c)
		}
		out.byLayout[v.Layout] = sc
	}
	return out, nil
}

func index(c *xsdmodel.Content) *projection {
	p := &projection{open: c.Open, byNewest: make(map[string]Child, len(c.Children))}
	for _, ch := range c.Children {
		p.byNewest[ch.NewestName] = ch
	}
	return p
}

var defaultSchemas = sync.OnceValue(NewSchemas)

// Schema returns the schema that shapes answers in version v (its Layout),
// or nil for a Version that VersionByNamespace did not make.
func (s *Schemas) Schema(v Version) *Schema { return s.byLayout[v.Layout] }

// Project removes from root, an element encoded in the newest layout (an
// <op>Return), every descendant element that the schema of namespace's
// version does not declare for its parent's type, and renames those whose
// name differs in that version (User/defaultRole is role in pre-4.0). It
// looks at local names only and leaves namespaces to the caller. Since
// every older layout is an ordered subsequence of the newest, what remains
// is in that version's order. A namespace that is not an IPS version, or a
// root the schema does not declare, is left alone.
//
// Its signature is the one soap.Projector expects.
func (s *Schemas) Project(namespace string, root *etree.Element) {
	v, ok := VersionByNamespace(namespace)
	if !ok {
		return
	}
	if sc := s.Schema(v); sc != nil {
		sc.Project(root)
	}
}

// Project applies the version's schema to root; see Schemas.Project.
func (v Version) Project(root *etree.Element) {
	if sc := defaultSchemas().Schema(v); sc != nil {
		sc.Project(root)
	}
}

// Project applies this schema to root; see Schemas.Project.
func (sc *Schema) Project(root *etree.Element) {
	if root == nil {
		return
	}
	p, ok := sc.elements[root.Tag]
	if !ok {
		return
	}
	sc.project(root, p)
}

func (sc *Schema) project(el *etree.Element, p *projection) {
	if p.open {
		return
	}
	for _, child := range el.ChildElements() {
		decl, ok := p.byNewest[child.Tag]
		if !ok {
			el.RemoveChild(child)
			continue
		}
		child.Tag = decl.Name
		if !decl.Builtin {
			if cp, ok := sc.types[decl.Type]; ok {
				sc.project(child, cp)
			}
		}
	}
}

// Elements lists the schema's top-level elements in document order.
func (sc *Schema) Elements() []string {
	return append([]string(nil), sc.xsd.ElementOrder...)
}

// ReturnElements lists every <op>Return element, in document order.
func (sc *Schema) ReturnElements() []string {
	var out []string
	for _, e := range sc.xsd.ElementOrder {
		if strings.HasSuffix(e, "Return") {
			out = append(out, e)
		}
	}
	return out
}

// ElementChildren returns the children a top-level element declares, in order.
func (sc *Schema) ElementChildren(element string) ([]Child, bool) {
	c, ok := sc.xsd.Elements[element]
	if !ok {
		return nil, false
	}
	return append([]Child(nil), c.Children...), true
}

// TypeChildren returns the children a named complex type declares, in
// order; open is true for a type that accepts any element.
func (sc *Schema) TypeChildren(typ string) (children []Child, open, ok bool) {
	c, ok := sc.xsd.Types[typ]
	if !ok {
		return nil, false, false
	}
	return append([]Child(nil), c.Children...), c.Open, true
}

// Types lists the schema's named complex types.
func (sc *Schema) Types() []string {
	out := make([]string, 0, len(sc.xsd.Types))
	for n := range sc.xsd.Types {
		out = append(out, n)
	}
	return out
}
