// Command typegen generates the Go message types of package ipsapi: it runs
// gowsdl (the module's tool, github.com/hooklift/gowsdl v0.5.0) on the newest
// WSDL and post-processes its output, reading the newest XSD:
//
//   - required elements (minOccurs ≥ 1) lose ",omitempty", so that they are
//     written even when zero, false or empty (gowsdl puts omitempty on all);
//   - required xsd:dateTime elements get the package's DateTime type, which
//     is always written (gowsdl's soap.XSDDateTime writes nothing for a zero
//     time, which is right for the optional ones, kept as they are);
//   - the generated SOAP client (port type interface, its implementation and
//     constructor) and gowsdl's unused helper types are removed: the server
//     encodes and decodes itself;
//   - the unversioned authHeader, whose Go name collides with the versioned
//     one, becomes UnversionedAuthHeader.
//
// It also writes registry_gen.go: NewMessage, a constructor of every
// top-level element's type by element name.
//
//	go run ./internal/typegen -wsdl ../../wsdl -schemas ../../schemas -newest IpsApi-2023-01-15.wsdl
package main

import (
	"bytes"
	"flag"
	"fmt"
	"go/ast"
	"go/format"
	"go/parser"
	"go/token"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"github.com/ipsexport/ipsd/internal/ipsapi/internal/xsdmodel"
)

const nsUnversioned = "http://www.scene7.com/IpsApi/xsd"

func main() {
	log.SetFlags(0)
	log.SetPrefix("typegen: ")
	wsdlDir := flag.String("wsdl", "../../wsdl", "directory of the WSDLs")
	schemaDir := flag.String("schemas", "../../schemas", "directory of the XSDs")
	newest := flag.String("newest", "IpsApi-2023-01-15.wsdl", "the WSDL to generate from")
	out := flag.String("o", "messages_gen.go", "output file of the types")
	registry := flag.String("registry", "registry_gen.go", "output file of NewMessage")
	flag.Parse()

	src, err := runGowsdl(*wsdlDir, *schemaDir, *newest)
	if err != nil {
		log.Fatal(err)
	}
	schemaFile := strings.Replace(strings.TrimSuffix(*newest, ".wsdl"), "IpsApi", "IpsApiSchema", 1) + ".xsd"
	versioned, err := xsdmodel.Parse(os.DirFS(*schemaDir), schemaFile)
	if err != nil {
		log.Fatal(err)
	}
	common, err := xsdmodel.Parse(os.DirFS(*schemaDir), "IpsApiCommon.xsd")
	if err != nil {
		log.Fatal(err)
	}
	code, reg, err := process(src, versioned, common)
	if err != nil {
		log.Fatal(err)
	}
	if err := os.WriteFile(*out, code, 0o644); err != nil {
		log.Fatal(err)
	}
	if err := os.WriteFile(*registry, reg, 0o644); err != nil {
		log.Fatal(err)
	}
}

// runGowsdl runs gowsdl on a copy of the newest WSDL placed next to the
// schemas it imports (as the server serves them), and returns its output.
func runGowsdl(wsdlDir, schemaDir, newest string) ([]byte, error) {
	tmp, err := os.MkdirTemp("", "typegen")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	in := filepath.Join(tmp, "in")
	if err := os.Mkdir(in, 0o755); err != nil {
		return nil, err
	}
	copyFile := func(from string) error {
		data, err := os.ReadFile(from)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(in, filepath.Base(from)), data, 0o644)
	}
	if err := copyFile(filepath.Join(wsdlDir, newest)); err != nil {
		return nil, err
	}
	xsds, err := filepath.Glob(filepath.Join(schemaDir, "*.xsd"))
	if err != nil {
		return nil, err
	}
	for _, x := range xsds {
		if err := copyFile(x); err != nil {
			return nil, err
		}
	}
	cmd := exec.Command("go", "tool", "gowsdl", "-d", tmp, "-p", "ipsapi", "-o", "messages.go", filepath.Join(in, newest))
	var outBuf bytes.Buffer
	cmd.Stdout, cmd.Stderr = &outBuf, &outBuf
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("gowsdl: %w\n%s", err, outBuf.Bytes())
	}
	data, err := os.ReadFile(filepath.Join(tmp, "ipsapi", "messages.go"))
	if err != nil {
		return nil, fmt.Errorf("gowsdl wrote nothing: %w\n%s", err, outBuf.Bytes())
	}
	return data, nil
}

// decl is what a generated struct stands for in the schema.
type decl struct {
	content *xsdmodel.Content
	element string // top-level element name, or "" for a named type
	unver   bool   // declared in the unversioned namespace
}

func process(src []byte, versioned, common *xsdmodel.Schema) ([]byte, []byte, error) {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "messages.go", src, parser.ParseComments)
	if err != nil {
		return nil, nil, err
	}
	drop := map[string]bool{"IpsApiPortType": true, "ipsApiPortType": true, "AnyType": true, "AnyURI": true, "NCName": true}
	var kept []ast.Decl
	seen := map[string]bool{}
	var elements []string // top-level elements of the newest version, for the registry
	elementType := map[string]string{}
	for _, d := range f.Decls {
		switch d := d.(type) {
		case *ast.FuncDecl:
			continue // the client
		case *ast.GenDecl:
			if d.Tok == token.VAR {
				continue // var _ time.Time, var _ xml.Name
			}
			if d.Tok == token.TYPE {
				ts := d.Specs[0].(*ast.TypeSpec)
				if drop[ts.Name.Name] {
					continue
				}
				st, ok := ts.Type.(*ast.StructType)
				if !ok {
					return nil, nil, fmt.Errorf("type %s: not a struct", ts.Name.Name)
				}
				dc, err := lookup(ts.Name.Name, st, versioned, common)
				if err != nil {
					return nil, nil, err
				}
				if dc.unver && dc.element == "authHeader" {
					ts.Name.Name = "UnversionedAuthHeader"
				}
				if seen[ts.Name.Name] {
					return nil, nil, fmt.Errorf("type %s generated twice", ts.Name.Name)
				}
				seen[ts.Name.Name] = true
				if err := fixFields(ts.Name.Name, st, dc); err != nil {
					return nil, nil, err
				}
				if dc.element != "" && ts.Name.Name != "UnversionedAuthHeader" {
					elements = append(elements, dc.element)
					elementType[dc.element] = ts.Name.Name
				}
			}
		}
		kept = append(kept, d)
	}
	f.Decls = kept
	// Keep only the comments inside kept declarations (the client's go).
	var comments []*ast.CommentGroup
	for _, cg := range f.Comments {
		if cg.Pos() < f.Package {
			comments = append(comments, cg)
			continue
		}
		for _, d := range kept {
			if cg.Pos() >= d.Pos() && cg.End() <= d.End() {
				comments = append(comments, cg)
				break
			}
		}
	}
	f.Comments = comments
	// Imports: encoding/xml and gowsdl's soap (optional dateTimes) stay.
	for _, d := range f.Decls {
		gd, ok := d.(*ast.GenDecl)
		if !ok || gd.Tok != token.IMPORT {
			continue
		}
		var specs []ast.Spec
		for _, s := range gd.Specs {
			p, _ := strconv.Unquote(s.(*ast.ImportSpec).Path.Value)
			if p == "encoding/xml" || p == "github.com/hooklift/gowsdl/soap" {
				specs = append(specs, s)
			}
		}
		gd.Specs = specs
	}

	var buf bytes.Buffer
	buf.WriteString("// Code generated by gowsdl DO NOT EDIT.\n")
	buf.WriteString("//\n// Generated by go generate: gowsdl v0.5.0 on wsdl/IpsApi-2023-01-15.wsdl, then\n")
	buf.WriteString("// internal/typegen (required elements without omitempty, required dateTimes\n")
	buf.WriteString("// as DateTime, the SOAP client removed).\n\n")
	f.Doc = nil
	// The header comment of gowsdl is replaced by the one above.
	if len(f.Comments) > 0 && f.Comments[0].Pos() < f.Package {
		f.Comments = f.Comments[1:]
	}
	if err := format.Node(&buf, fset, f); err != nil {
		return nil, nil, err
	}
	code, err := format.Source(buf.Bytes())
	if err != nil {
		return nil, nil, fmt.Errorf("format: %w", err)
	}
	if !bytes.Contains(code, []byte("soap.")) {
		code = bytes.Replace(code, []byte("\t\"github.com/hooklift/gowsdl/soap\"\n"), nil, 1)
		if code, err = format.Source(code); err != nil {
			return nil, nil, err
		}
	}
	reg, err := registry(elements, elementType)
	if err != nil {
		return nil, nil, err
	}
	return code, reg, nil
}

// lookup finds the schema declaration a generated struct comes from: a
// top-level element when it has an XMLName, else the complex type of the
// same (exported) name.
func lookup(goName string, st *ast.StructType, versioned, common *xsdmodel.Schema) (decl, error) {
	for _, fld := range st.Fields.List {
		if len(fld.Names) == 1 && fld.Names[0].Name == "XMLName" {
			ns, local, _ := strings.Cut(tagName(fld), " ")
			s := versioned
			if ns == nsUnversioned {
				s = common
			} else if ns != versioned.Namespace {
				return decl{}, fmt.Errorf("%s: unexpected namespace %s", goName, ns)
			}
			c, ok := s.Elements[local]
			if !ok {
				return decl{}, fmt.Errorf("%s: no element %s in %s", goName, local, ns)
			}
			return decl{content: c, element: local, unver: ns == nsUnversioned}, nil
		}
	}
	for name, c := range versioned.Types {
		if exported(name) == goName {
			return decl{content: c}, nil
		}
	}
	return decl{}, fmt.Errorf("%s: no schema declaration", goName)
}

func exported(name string) string { return strings.ToUpper(name[:1]) + name[1:] }

func tagName(fld *ast.Field) string {
	if fld.Tag == nil {
		return ""
	}
	raw, _ := strconv.Unquote(fld.Tag.Value)
	return reflect.StructTag(raw).Get("xml")
}

func fixFields(goName string, st *ast.StructType, dc decl) error {
	for _, fld := range st.Fields.List {
		if len(fld.Names) != 1 || fld.Names[0].Name == "XMLName" {
			continue
		}
		xmlTag := tagName(fld)
		name, opts, _ := strings.Cut(xmlTag, ",")
		if opts == "any" && name == "" {
			continue // Items of an open type
		}
		ch, ok := dc.content.Child(name)
		if !ok {
			return fmt.Errorf("%s.%s: element %q is not declared", goName, fld.Names[0].Name, name)
		}
		if !ch.Required {
			continue
		}
		raw, _ := strconv.Unquote(fld.Tag.Value)
		tag := reflect.StructTag(raw)
		newTag := fmt.Sprintf(`xml:"%s" json:"%s"`, name, name)
		if tag.Get("json") == "" {
			newTag = fmt.Sprintf(`xml:"%s"`, name)
		}
		fld.Tag.Value = "`" + newTag + "`"
		if sel, ok := fld.Type.(*ast.SelectorExpr); ok && sel.Sel.Name == "XSDDateTime" {
			fld.Type = ast.NewIdent("DateTime")
		}
	}
	return nil
}

func registry(elements []string, elementType map[string]string) ([]byte, error) {
	slices.Sort(elements)
	var b bytes.Buffer
	b.WriteString("// Code generated by internal/typegen DO NOT EDIT.\n\npackage ipsapi\n\n")
	b.WriteString("// NewMessage returns a new, zero value of the generated type of a top-level\n")
	b.WriteString("// element of the newest schema (every <op>Param and <op>Return, the versioned\n")
	b.WriteString("// authHeader and the three faults), found by the element's local name.\n")
	b.WriteString("func NewMessage(element string) (any, bool) {\n\tswitch element {\n")
	for _, e := range elements {
		fmt.Fprintf(&b, "\tcase %q:\n\t\treturn new(%s), true\n", e, elementType[e])
	}
	b.WriteString("\t}\n\treturn nil, false\n}\n\n")
	b.WriteString("// MessageElements lists, sorted, the elements NewMessage knows.\n")
	b.WriteString("func MessageElements() []string {\n\treturn []string{\n")
	for _, e := range elements {
		fmt.Fprintf(&b, "\t\t%q,\n", e)
	}
	b.WriteString("\t}\n}\n")
	return format.Source(b.Bytes())
}
