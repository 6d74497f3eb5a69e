package ipsapi

import (
	"regexp"
	"strings"
)

// Unversioned is the pre-4.0 schema namespace. The authHeader and the three
// fault elements of every version live in it too.
const Unversioned = "http://www.scene7.com/IpsApi/xsd"

// Version is an IPS schema version: a namespace requests arrive in and
// answers are written in.
type Version struct {
	// Name is the namespace's date suffix ("2014-04-03",
	// "2016-01-14-beta"), or "pre-4.0" for the unversioned namespace.
	Name string
	// Namespace is the schema namespace.
	Namespace string
	// WSDLFile and SchemaFile name this version's documents in packages wsdl
	// and schemas; both are empty for a version not served (see Layout).
	WSDLFile   string
	SchemaFile string
	// Layout is the Name of the served version whose schema shapes the
	// answers: the version itself when served, else the newest.
	Layout string
}

// Served reports whether the server publishes this version's WSDL and schema.
func (v Version) Served() bool { return v.WSDLFile != "" }

func served(name string) Version {
	if name == "" {
		return Version{Name: "pre-4.0", Namespace: Unversioned, WSDLFile: "IpsApi.wsdl", SchemaFile: "IpsApiSchema.xsd", Layout: "pre-4.0"}
	}
	return Version{
		Name:       name,
		Namespace:  Unversioned + "/" + name,
		WSDLFile:   "IpsApi-" + name + ".wsdl",
		SchemaFile: "IpsApiSchema-" + name + ".xsd",
		Layout:     name,
	}
}

// Versions are the served versions, oldest first: the pre-4.0 namespace and
// every versioned namespace whose submitJob has exportJob (docs/wire.md, "Versions").
var Versions = []Version{
	served(""),
	served("2012-02-14"),
	served("2013-02-15"),
	served("2014-04-03"),
	served("2016-01-14-beta"),
	served("2017-10-29-beta"),
	served("2021-01-11-beta"),
	served("2023-01-15"),
}

// Newest is the newest served version: the generated Go types follow its
// schema, which holds every element of every older one.
var Newest = Versions[len(Versions)-1]

var datedNamespace = regexp.MustCompile(`^http://www\.scene7\.com/IpsApi/xsd/(\d{4}-\d{2}-\d{2}(?:-beta)?)$`)

// VersionByNamespace finds the version of a request namespace. A served
// namespace gives its version; any other dated IPS namespace
// (http://www.scene7.com/IpsApi/xsd/YYYY-MM-DD[-beta], e.g. 2010-01-31)
// is accepted too: it is answered in its own namespace with the newest
// layout (Served false, Layout = Newest.Name). Anything else is not an IPS
// namespace.
func VersionByNamespace(ns string) (Version, bool) {
	ns = strings.TrimSpace(ns)
	for _, v := range Versions {
		if v.Namespace == ns {
			return v, true
		}
	}
	m := datedNamespace.FindStringSubmatch(ns)
	if m == nil {
		return Version{}, false
	}
	return Version{Name: m[1], Namespace: ns, Layout: Newest.Name}, true
}
