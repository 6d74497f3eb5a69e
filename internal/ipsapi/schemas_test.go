package ipsapi

import (
	"bytes"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/beevik/etree"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ipsexport/ipsd/schemas"
	"github.com/ipsexport/ipsd/wsdl"
)

const (
	schemaDir = "../../schemas"
	wsdlDir   = "../../wsdl"
)

// The operations the newest version declares (docs/wire.md, "Endpoints"),
// in their order.
var operations = []string{
	"checkLogin", "getCompanyInfo", "getUserInfo", "getAssets", "getAssetsByName", "searchAssets", "getFolders",
	"deleteAsset", "deleteAssets", "setUrlModifier", "getImageFormats", "saveImageFormat", "deleteImageFormat", "submitJob",
	"getActiveJobs", "getScheduledJobs", "getJobLogs", "getJobLogDetails", "getAssetJobLogs", "getOriginalFilePaths",
	"stopJob", "pauseJob", "resumeJob", "executeJob", "deleteJob",
}

// operationsIn are the operations version v declares: all of them, but
// getAssetJobLogs and setUrlModifier (IPS 4.0) are not in the pre-4.0 one.
func operationsIn(v Version) []string {
	if v.Namespace != Unversioned {
		return operations
	}
	return slices.DeleteFunc(slices.Clone(operations), func(op string) bool {
		return op == "getAssetJobLogs" || op == "setUrlModifier"
	})
}

func needXmllint(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("xmllint")
	if err != nil {
		t.Skip("xmllint not installed (Debian package libxml2-utils)")
	}
	return p
}

func names(fsys fs.FS, suffix string) []string {
	var out []string
	entries, _ := fs.ReadDir(fsys, ".")
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), suffix) {
			out = append(out, e.Name())
		}
	}
	sort.Strings(out)
	return out
}

func TestEmbeddedDocumentsMatchVersions(t *testing.T) {
	var wantWSDL, wantXSD []string
	for _, v := range Versions {
		wantWSDL = append(wantWSDL, v.WSDLFile)
		wantXSD = append(wantXSD, v.SchemaFile)
	}
	wantXSD = append(wantXSD, "IpsApiCommon.xsd")
	sort.Strings(wantWSDL)
	sort.Strings(wantXSD)
	assert.Equal(t, wantWSDL, names(wsdl.Files, ".wsdl"))
	assert.Equal(t, wantXSD, names(schemas.Files, ".xsd"))
	// The embedded files are the ones on disk.
	for _, n := range wantWSDL {
		disk, err := os.ReadFile(filepath.Join(wsdlDir, n))
		require.NoError(t, err)
		emb, _ := fs.ReadFile(wsdl.Files, n)
		assert.True(t, bytes.Equal(disk, emb), n)
	}
}

func TestXSDsCompile(t *testing.T) {
	xmllint := needXmllint(t)
	dummy := filepath.Join(t.TempDir(), "dummy.xml")
	require.NoError(t, os.WriteFile(dummy, []byte("<dummy/>"), 0o644))
	for _, n := range names(schemas.Files, ".xsd") {
		t.Run(n, func(t *testing.T) {
			// The instance is invalid on purpose: what matters is that the
			// schema compiles ("fails to validate", not "failed to compile").
			out, _ := exec.Command(xmllint, "--noout", "--schema", filepath.Join(schemaDir, n), dummy).CombinedOutput()
			assert.NotContains(t, string(out), "failed to compile", string(out))
			assert.Contains(t, string(out), "fails to validate", string(out))
		})
	}
}

func TestWSDLsWellFormedAndShaped(t *testing.T) {
	xmllint, _ := exec.LookPath("xmllint")
	for _, v := range Versions {
		t.Run(v.Name, func(t *testing.T) {
			data, err := fs.ReadFile(wsdl.Files, v.WSDLFile)
			require.NoError(t, err)
			if xmllint != "" {
				out, err := exec.Command(xmllint, "--noout", filepath.Join(wsdlDir, v.WSDLFile)).CombinedOutput()
				require.NoError(t, err, string(out))
			}
			doc := etree.NewDocument()
			require.NoError(t, doc.ReadFromBytes(data))
			root := doc.Root()
			assert.Equal(t, "definitions", root.Tag)
			assert.Equal(t, "http://www.scene7.com/IpsApi", root.SelectAttrValue("targetNamespace", ""))
			assert.Equal(t, v.Namespace, root.SelectAttrValue("xmlns:types", ""))
			assert.Equal(t, Unversioned, root.SelectAttrValue("xmlns:hdr", ""))

			// Imports point at embedded schemas, relatively.
			var imported []string
			for _, imp := range root.FindElements("./types/schema/import") {
				loc := imp.SelectAttrValue("schemaLocation", "")
				assert.NotContains(t, loc, "/", "relative schemaLocation")
				_, err := fs.Stat(schemas.Files, loc)
				assert.NoError(t, err, loc)
				imported = append(imported, imp.SelectAttrValue("namespace", ""))
			}
			if v.Namespace == Unversioned {
				assert.Equal(t, []string{Unversioned}, imported)
			} else {
				assert.Equal(t, []string{v.Namespace, Unversioned}, imported)
			}

			// Messages: <op>Param in, <op>Return out, the faults unversioned.
			for _, f := range []string{"ipsApiFault", "authenticationFault", "authorizationFault"} {
				part := root.FindElement("./message[@name='" + f + "Exception']/part")
				require.NotNil(t, part, f)
				assert.Equal(t, "hdr:"+f, part.SelectAttrValue("element", ""))
			}
			hdr := root.FindElement("./message[@name='authHeader']/part")
			require.NotNil(t, hdr)
			assert.Equal(t, "types:authHeader", hdr.SelectAttrValue("element", ""))

			var ops []string
			for _, o := range root.FindElements("./portType[@name='IpsApiPortType']/operation") {
				ops = append(ops, o.SelectAttrValue("name", ""))
				assert.Len(t, o.SelectElements("fault"), 3, o.SelectAttrValue("name", ""))
			}
			assert.Equal(t, operationsIn(v), ops)
			for _, op := range operationsIn(v) {
				in := root.FindElement("./message[@name='" + op + "']/part")
				out := root.FindElement("./message[@name='" + op + "Response']/part")
				require.NotNil(t, in, op)
				require.NotNil(t, out, op)
				assert.Equal(t, "types:"+op+"Param", in.SelectAttrValue("element", ""))
				assert.Equal(t, "types:"+op+"Return", out.SelectAttrValue("element", ""))
			}

			// Two bindings, soapAction = operation, header on every input.
			for _, b := range []struct{ name, prefix string }{{"IpsApiServiceSoapBinding", "soap"}, {"IpsApiServiceSoap12Binding", "soap12"}} {
				bind := root.FindElement("./binding[@name='" + b.name + "']")
				require.NotNil(t, bind, b.name)
				require.NotNil(t, bind.FindElement("./"+b.prefix+":binding[@style='document']"))
				bops := bind.SelectElements("operation")
				require.Len(t, bops, len(operationsIn(v)))
				for _, bo := range bops {
					name := bo.SelectAttrValue("name", "")
					assert.Equal(t, name, bo.FindElement("./"+b.prefix+":operation").SelectAttrValue("soapAction", ""))
					h := bo.FindElement("./input/" + b.prefix + ":header")
					require.NotNil(t, h, name)
					assert.Equal(t, "tns:authHeader", h.SelectAttrValue("message", ""))
					assert.Equal(t, "authHeader", h.SelectAttrValue("part", ""))
					assert.Equal(t, "literal", bo.FindElement("./input/"+b.prefix+":body").SelectAttrValue("use", ""))
					assert.Len(t, bo.SelectElements("fault"), 3)
				}
			}

			// Service: the SOAP 1.1 port first, both at the placeholder.
			ports := root.FindElements("./service[@name='IpsApiService']/port")
			require.Len(t, ports, 2)
			assert.Equal(t, "IpsApiSoapPort", ports[0].SelectAttrValue("name", ""))
			assert.Equal(t, "IpsApiSoap12Port", ports[1].SelectAttrValue("name", ""))
			assert.Equal(t, wsdl.AddressPlaceholder, ports[0].FindElement("./soap:address").SelectAttrValue("location", ""))
			assert.Equal(t, wsdl.AddressPlaceholder, ports[1].FindElement("./soap12:address").SelectAttrValue("location", ""))
			assert.Equal(t, 2, bytes.Count(data, []byte(wsdl.AddressPlaceholder)), "the placeholder appears only in the two addresses")
		})
	}
}

func TestSchemasDeclareEveryOperation(t *testing.T) {
	s := NewSchemas()
	for _, v := range Versions {
		sc := s.Schema(v)
		require.NotNil(t, sc, v.Name)
		for _, op := range operationsIn(v) {
			_, ok := sc.ElementChildren(op + "Param")
			assert.True(t, ok, "%s %sParam", v.Name, op)
			_, ok = sc.ElementChildren(op + "Return")
			assert.True(t, ok, "%s %sReturn", v.Name, op)
		}
		// submitJob takes exportJob in every version, pre-4.0 included.
		p, _ := sc.ElementChildren("submitJobParam")
		assert.True(t, slices.ContainsFunc(p, func(c Child) bool { return c.Name == "exportJob" && c.Type == "ExportJob" }), v.Name)
		ej, _, ok := sc.TypeChildren("ExportJob")
		require.True(t, ok)
		var got []string
		for _, c := range ej {
			got = append(got, c.Name)
		}
		assert.Equal(t, []string{"assetHandleArray", "fmt", "is_modifier", "macro", "emailSetting", "clientId"}, got)
	}
}

// Every older layout must be an ordered subsequence of the newest, by the
// newest names: the server encodes the newest layout and drops the rest.
func TestOlderLayoutsAreSubsequencesOfNewest(t *testing.T) {
	s := NewSchemas()
	newest := s.Schema(Newest)
	subseq := func(t *testing.T, what string, older, newer []Child) {
		t.Helper()
		j := 0
		for _, c := range older {
			for j < len(newer) && newer[j].Name != c.NewestName {
				j++
			}
			if !assert.Less(t, j, len(newer), "%s: %s (newest name %s) is not in the newest layout, or out of order", what, c.Name, c.NewestName) {
				return
			}
			assert.Equal(t, newer[j].Type, c.Type, "%s/%s: type", what, c.Name)
			assert.Equal(t, newer[j].Repeated, c.Repeated, "%s/%s: repeated", what, c.Name)
			j++
		}
	}
	for _, v := range Versions {
		sc := s.Schema(v)
		t.Run(v.Name, func(t *testing.T) {
			for _, typ := range sc.Types() {
				older, oOpen, _ := sc.TypeChildren(typ)
				newer, nOpen, ok := newest.TypeChildren(typ)
				if !assert.True(t, ok, "type %s is not in the newest schema", typ) {
					continue
				}
				assert.Equal(t, nOpen, oOpen, "type %s: open", typ)
				subseq(t, typ, older, newer)
			}
			for _, el := range sc.Elements() {
				if strings.HasSuffix(el, "Fault") {
					continue // the unversioned faults, included by pre-4.0 only
				}
				older, _ := sc.ElementChildren(el)
				newer, ok := newest.ElementChildren(el)
				if !assert.True(t, ok, "element %s is not in the newest schema", el) {
					continue
				}
				subseq(t, el, older, newer)
			}
		})
	}
}

func TestVersionByNamespace(t *testing.T) {
	for _, v := range Versions {
		got, ok := VersionByNamespace(v.Namespace)
		assert.True(t, ok)
		assert.Equal(t, v, got)
		assert.True(t, got.Served())
	}
	v, ok := VersionByNamespace(Unversioned)
	require.True(t, ok)
	assert.Equal(t, "IpsApi.wsdl", v.WSDLFile)
	assert.Equal(t, "pre-4.0", v.Layout)

	for _, ns := range []string{"http://www.scene7.com/IpsApi/xsd/2010-01-31", "http://www.scene7.com/IpsApi/xsd/2011-11-04-beta", " http://www.scene7.com/IpsApi/xsd/2030-01-01 "} {
		v, ok := VersionByNamespace(ns)
		require.True(t, ok, ns)
		assert.Equal(t, strings.TrimSpace(ns), v.Namespace, "answered in its own namespace")
		assert.Equal(t, Newest.Name, v.Layout)
		assert.False(t, v.Served())
		assert.NotNil(t, NewSchemas().Schema(v))
	}
	for _, ns := range []string{"", "http://www.scene7.com/IpsApi", "http://www.scene7.com/IpsApi/xsd/latest", "http://example.com/IpsApi/xsd/2014-04-03", "http://www.scene7.com/IpsApi/xsd/2014-04-03/"} {
		_, ok := VersionByNamespace(ns)
		assert.False(t, ok, ns)
	}
	assert.Equal(t, "2023-01-15", Newest.Name)
	assert.Equal(t, "IpsApi-2023-01-15.wsdl", Newest.WSDLFile)
}

// go generate must reproduce the committed documents and types byte for byte.
func TestGeneratedFilesAreUpToDate(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the generators")
	}
	tmp := t.TempDir()
	sdir, wdir := filepath.Join(tmp, "schemas"), filepath.Join(tmp, "wsdl")
	out, err := exec.Command("go", "run", "./internal/schemagen", "-schemas", sdir, "-wsdl", wdir).CombinedOutput()
	require.NoError(t, err, string(out))
	compareDirs(t, schemaDir, sdir, ".xsd")
	compareDirs(t, wsdlDir, wdir, ".wsdl")

	msgs, reg := filepath.Join(tmp, "messages_gen.go"), filepath.Join(tmp, "registry_gen.go")
	out, err = exec.Command("go", "run", "./internal/typegen", "-wsdl", wdir, "-schemas", sdir, "-newest", Newest.WSDLFile, "-o", msgs, "-registry", reg).CombinedOutput()
	require.NoError(t, err, string(out))
	for _, f := range []string{"messages_gen.go", "registry_gen.go"} {
		want, err := os.ReadFile(f)
		require.NoError(t, err)
		got, err := os.ReadFile(filepath.Join(tmp, f))
		require.NoError(t, err)
		assert.True(t, bytes.Equal(want, got), "%s is stale: run go generate ./internal/ipsapi", f)
	}
}

func compareDirs(t *testing.T, committed, fresh, suffix string) {
	t.Helper()
	a, b := names(os.DirFS(committed), suffix), names(os.DirFS(fresh), suffix)
	require.Equal(t, a, b, "files in %s", committed)
	for _, n := range a {
		want, _ := os.ReadFile(filepath.Join(committed, n))
		got, _ := os.ReadFile(filepath.Join(fresh, n))
		assert.True(t, bytes.Equal(want, got), "%s/%s is stale: run go generate ./internal/ipsapi", committed, n)
	}
}
