// Package schemas holds the XML Schemas of the IPS API that the WSDLs in
// package wsdl import: IpsApiCommon.xsd (the unversioned authHeader and the
// three faults), IpsApiSchema.xsd (pre-4.0) and IpsApiSchema-<version>.xsd.
// They are generated, with the WSDLs, by go generate in internal/ipsapi
// (internal/ipsapi/internal/schemagen); do not edit them by hand.
package schemas

import "embed"

// Files holds every *.xsd of this directory, served at /scene7/webservice/<name>.
//
//go:embed *.xsd
var Files embed.FS
