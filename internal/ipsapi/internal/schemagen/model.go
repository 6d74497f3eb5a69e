package main

import (
	"fmt"
	"slices"
)

// ver indexes the served schema versions, oldest first. A field's presence
// and optionality are given per version, so one description yields every
// layout; the newest (V23) must hold every element any version declares, in
// the same relative order (the server encodes the newest layout and drops
// what an older version lacks).
type ver int

const (
	U   ver = iota // pre-4.0, http://www.scene7.com/IpsApi/xsd
	V12            // 2012-02-14 (IPS 6.0: exportJob added)
	V13            // 2013-02-15
	V14            // 2014-04-03
	V16            // 2016-01-14-beta
	V17            // 2017-10-29-beta
	V21            // 2021-01-11-beta
	V23            // 2023-01-15
	nVer
)

var verNames = [nVer]string{"", "2012-02-14", "2013-02-15", "2014-04-03", "2016-01-14-beta", "2017-10-29-beta", "2021-01-11-beta", "2023-01-15"}

const (
	nsBase       = "http://www.scene7.com/IpsApi/xsd"
	nsWSDL       = "http://www.scene7.com/IpsApi"
	nsXSD        = "http://www.w3.org/2001/XMLSchema"
	appinfoNewer = "urn:ipsexport:ipsd:newest-name"
)

func (v ver) namespace() string {
	if v == U {
		return nsBase
	}
	return nsBase + "/" + verNames[v]
}

func (v ver) schemaFile() string {
	if v == U {
		return "IpsApiSchema.xsd"
	}
	return "IpsApiSchema-" + verNames[v] + ".xsd"
}

func (v ver) wsdlFile() string {
	if v == U {
		return "IpsApi.wsdl"
	}
	return "IpsApi-" + verNames[v] + ".wsdl"
}

func (v ver) label() string {
	if v == U {
		return "pre-4.0 (unversioned)"
	}
	return verNames[v]
}

// Presence of an element in one version.
const (
	absent   int8 = -1
	optional int8 = 0
	required int8 = 1
)

// field is one element of a sequence.
type field struct {
	name string
	typ  string // xsd builtin (string, int, long, double, boolean, dateTime) or a complex type
	many bool   // maxOccurs="unbounded"
	pres [nVer]int8
	// alias is the element's name in a version where it differs from the
	// newest name (User/role before 6.0 is User/defaultRole later).
	alias map[ver]string
	doc   string
}

// el is a required element present in every version.
func el(name, typ string) *field {
	f := &field{name: name, typ: typ}
	for v := range f.pres {
		f.pres[v] = required
	}
	return f
}

// items is the repeated child of every IPS array type.
func items(typ string) *field {
	f := el("items", typ)
	f.many = true
	return f.opt()
}

// opt makes the element optional wherever it is present.
func (f *field) opt() *field {
	for v, p := range f.pres {
		if p != absent {
			f.pres[v] = optional
		}
	}
	return f
}

// from drops the element from every version before v.
func (f *field) from(v ver) *field {
	for w := U; w < v; w++ {
		f.pres[w] = absent
	}
	return f
}

// optFrom keeps the element required before v and makes it optional from v on.
func (f *field) optFrom(v ver) *field {
	for w := v; w < nVer; w++ {
		if f.pres[w] != absent {
			f.pres[w] = optional
		}
	}
	return f
}

// reqFrom makes the element required from v on.
func (f *field) reqFrom(v ver) *field {
	for w := v; w < nVer; w++ {
		if f.pres[w] != absent {
			f.pres[w] = required
		}
	}
	return f
}

// set gives the element's presence in the listed versions.
func (f *field) set(p int8, vs ...ver) *field {
	for _, v := range vs {
		f.pres[v] = p
	}
	return f
}

// named gives the element another name in version v.
func (f *field) named(v ver, name string) *field {
	if f.alias == nil {
		f.alias = map[ver]string{}
	}
	f.alias[v] = name
	return f
}

func (f *field) d(doc string) *field { f.doc = doc; return f }

func (f *field) nameIn(v ver) string {
	if n, ok := f.alias[v]; ok {
		return n
	}
	return f.name
}

// ctype is a named complex type. An open type declares no children but
// accepts any (xsd:any, lax): used for job options this server never reads
// nor writes, so that a generated client can still send them.
type ctype struct {
	name   string
	fields []*field
	open   bool
	doc    string
}

// op is an operation: <name>Param in, <name>Return out.
type op struct {
	name  string
	param []*field
	ret   []*field
	doc   string // on the <name>Param element
	since ver    // the first version that declares it (U: every one)
}

// in reports whether version v declares the operation.
func (o *op) in(v ver) bool { return v >= o.since }

type api struct {
	types  []*ctype
	ops    []*op
	byName map[string]*ctype
}

var builtin = map[string]bool{"string": true, "int": true, "long": true, "double": true, "boolean": true, "dateTime": true}

func (a *api) check() error {
	a.byName = map[string]*ctype{}
	for _, t := range a.types {
		if a.byName[t.name] != nil {
			return fmt.Errorf("type %s declared twice", t.name)
		}
		a.byName[t.name] = t
	}
	checkFields := func(where string, fs []*field) error {
		seen := map[string]bool{}
		for _, f := range fs {
			if seen[f.name] {
				return fmt.Errorf("%s: element %s twice", where, f.name)
			}
			seen[f.name] = true
			if !builtin[f.typ] && a.byName[f.typ] == nil {
				return fmt.Errorf("%s/%s: unknown type %s", where, f.name, f.typ)
			}
			if f.pres[V23] == absent && slices.ContainsFunc(f.pres[:], func(p int8) bool { return p != absent }) {
				return fmt.Errorf("%s/%s: present in an older version but not in the newest", where, f.name)
			}
			for v := range f.alias {
				if f.pres[v] == absent {
					return fmt.Errorf("%s/%s: alias in a version that lacks it", where, f.name)
				}
			}
		}
		return nil
	}
	for _, t := range a.types {
		if err := checkFields(t.name, t.fields); err != nil {
			return err
		}
	}
	for _, o := range a.ops {
		if err := checkFields(o.name+"Param", o.param); err != nil {
			return err
		}
		if err := checkFields(o.name+"Return", o.ret); err != nil {
			return err
		}
	}
	return nil
}

// reachable lists, in declaration order, the complex types version v needs.
func (a *api) reachable(v ver) []*ctype {
	need := map[string]bool{}
	var walk func(fs []*field)
	walk = func(fs []*field) {
		for _, f := range fs {
			if f.pres[v] == absent || builtin[f.typ] || need[f.typ] {
				continue
			}
			need[f.typ] = true
			walk(a.byName[f.typ].fields)
		}
	}
	for _, o := range a.ops {
		if !o.in(v) {
			continue
		}
		walk(o.param)
		walk(o.ret)
	}
	var out []*ctype
	for _, t := range a.types {
		if need[t.name] {
			out = append(out, t)
		}
	}
	return out
}
