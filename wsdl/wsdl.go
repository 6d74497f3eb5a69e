// Package wsdl holds the WSDL documents of the IPS API, one per supported
// schema version: IpsApi.wsdl (pre-4.0, namespace
// http://www.scene7.com/IpsApi/xsd) and IpsApi-<version>.wsdl. They import
// the XSDs of package schemas by relative schemaLocation. They are generated
// by go generate in internal/ipsapi (internal/ipsapi/internal/schemagen); do
// not edit them by hand.
package wsdl

import "embed"

// Files holds every *.wsdl of this directory.
//
//go:embed *.wsdl
var Files embed.FS

// AddressPlaceholder is the soap:address location of both ports in every
// WSDL: serve a WSDL with this exact string replaced by the service URL the
// client reached.
const AddressPlaceholder = "http://localhost/scene7/services/IpsApiService"
