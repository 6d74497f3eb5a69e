package ipsapi

import (
	"context"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/beevik/etree"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ipsexport/ipsd/schemas"
	"github.com/ipsexport/ipsd/wsdl"
)

const (
	nsSOAP11 = "http://schemas.xmlsoap.org/soap/envelope/"
	nsSOAP12 = "http://www.w3.org/2003/05/soap-envelope"
)

// docServer serves wsdl/ and schemas/ as the server does
// (/scene7/webservice/<file>, the address placeholder replaced, schema
// locations left relative) and answers every submitJob at
// /scene7/services/IpsApiService, recording the request. The WSDL URL's
// "tk" query names the toolkit; it is carried into the service address so
// that requests can be told apart.
type docServer struct {
	*httptest.Server
	mu       sync.Mutex
	requests map[string][]byte // "tk namespace" → body
	schemas  *Schemas
}

func newDocServer(t *testing.T) *docServer {
	d := &docServer{requests: map[string][]byte{}, schemas: NewSchemas()}
	mux := http.NewServeMux()
	mux.HandleFunc("/scene7/webservice/", func(w http.ResponseWriter, r *http.Request) {
		name := path.Base(r.URL.Path)
		var data []byte
		var err error
		switch {
		case strings.HasSuffix(name, ".wsdl"):
			data, err = fs.ReadFile(wsdl.Files, name)
			address := d.URL + "/scene7/services/IpsApiService?tk=" + r.URL.Query().Get("tk")
			data = []byte(strings.ReplaceAll(string(data), wsdl.AddressPlaceholder, address))
		case strings.HasSuffix(name, ".xsd"):
			data, err = fs.ReadFile(schemas.Files, name)
		default:
			err = fs.ErrNotExist
		}
		if err != nil {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/xml; charset=utf-8")
		_, _ = w.Write(data)
	})
	mux.HandleFunc("/scene7/services/IpsApiService", func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		doc := etree.NewDocument()
		if err := doc.ReadFromBytes(body); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		env := doc.Root()
		var payload *etree.Element
		if b := env.SelectElement("Body"); b != nil && len(b.ChildElements()) > 0 {
			payload = b.ChildElements()[0]
		}
		if payload == nil || !strings.HasSuffix(payload.Tag, "Param") {
			http.Error(w, "expected an <op>Param", http.StatusBadRequest)
			return
		}
		ns, tk := payload.NamespaceURI(), r.URL.Query().Get("tk")
		v, ok := VersionByNamespace(ns)
		if !ok {
			http.Error(w, "not an IPS namespace: "+ns, http.StatusBadRequest)
			return
		}
		var answer string
		if payload.Tag == "submitJobParam" {
			d.mu.Lock()
			d.requests[tk+" "+ns] = body
			d.mu.Unlock()
			answer = fmt.Sprintf(`<submitJobReturn xmlns="%s"><jobHandle>j|%s|%s||</jobHandle></submitJobReturn>`, ns, tk, v.Name)
		} else {
			// Any other operation: a full answer of the newest layout,
			// projected onto the request's version, as the server does.
			ret := strings.TrimSuffix(payload.Tag, "Param") + "Return"
			msg, ok := NewMessage(ret)
			if !ok {
				http.Error(w, "no such operation", http.StatusBadRequest)
				return
			}
			fill(reflect.ValueOf(msg), true, 10)
			out, err := xml.Marshal(msg)
			if err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
			doc := etree.NewDocument()
			_ = doc.ReadFromBytes(out)
			d.schemas.Project(ns, doc.Root())
			doc.Root().CreateAttr("xmlns", ns)
			answer, _ = doc.WriteToString()
		}
		ct := "text/xml; charset=utf-8"
		if env.NamespaceURI() == nsSOAP12 {
			ct = "application/soap+xml; charset=utf-8"
		}
		w.Header().Set("Content-Type", ct)
		fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="%s"><soapenv:Header/><soapenv:Body>%s</soapenv:Body></soapenv:Envelope>`,
			env.NamespaceURI(), answer)
	})
	d.Server = httptest.NewServer(mux)
	t.Cleanup(d.Close)
	return d
}

func (d *docServer) request(tk, ns string) []byte {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.requests[tk+" "+ns]
}

type toolkitResult struct {
	WSDL           string   `json:"wsdl"`
	Port           string   `json:"port"`
	Operations     []string `json:"operations"`
	SubmitJobParam []string `json:"submitJobParam"`
	ExportJob      []string `json:"exportJob"`
	JobHandle      string   `json:"jobHandle"`
	// From a full getActiveJobs and getJobLogDetails answer projected onto
	// the version: the first job's handle and exportJob/fmt (none before
	// 6.0), the first detail's assetName.
	ActiveJobHandle string `json:"activeJobHandle"`
	ActiveExportFmt string `json:"activeExportFmt"`
	DetailAssetName string `json:"detailAssetName"`
	Error           string `json:"error"`
}

type toolkit struct {
	name string
	// available returns why the toolkit cannot run, or "".
	available func(t *testing.T) string
	cmd       func(ctx context.Context, base string, args []string) *exec.Cmd
	soap12    bool
}

func toolkits() []toolkit {
	php := func(tk, version string) toolkit {
		return toolkit{
			name:   tk,
			soap12: version == "1.2",
			available: func(*testing.T) string {
				if err := exec.Command("php", "-r", `exit(class_exists("SoapClient") ? 0 : 1);`).Run(); err != nil {
					return "PHP SoapClient not available (Debian packages php-cli, php-soap): " + err.Error()
				}
				return ""
			},
			cmd: func(ctx context.Context, base string, args []string) *exec.Cmd {
				return exec.CommandContext(ctx, "php", append([]string{"testdata/toolkits/php_check.php", base, tk, version}, args...)...)
			},
		}
	}
	return []toolkit{
		{
			name: "zeep",
			available: func(*testing.T) string {
				// Debian's python3-zeep, for the system interpreter: the
				// python3 first on PATH may be another build.
				if err := exec.Command("/usr/bin/python3", "-c", "import zeep").Run(); err != nil {
					return "zeep not importable by /usr/bin/python3 (Debian package python3-zeep): " + err.Error()
				}
				return ""
			},
			cmd: func(ctx context.Context, base string, args []string) *exec.Cmd {
				return exec.CommandContext(ctx, "/usr/bin/python3", append([]string{"testdata/toolkits/zeep_check.py", base, "zeep"}, args...)...)
			},
		},
		php("php", "1.1"),
		php("php12", "1.2"),
		{
			name:      "node-soap",
			available: nodeSoap,
			cmd: func(ctx context.Context, base string, args []string) *exec.Cmd {
				c := exec.CommandContext(ctx, "node", append([]string{"node_check.js", base, "node-soap"}, args...)...)
				c.Dir = "testdata/nodesoap"
				return c
			},
		},
	}
}

// nodeSoap installs the pinned npm "soap" into testdata/nodesoap when it is
// not there yet (npm ci from package-lock.json). Node comes from the
// machine, never from Debian (its Node 18 is too old for soap 1.13).
func nodeSoap(t *testing.T) string {
	if _, err := exec.LookPath("node"); err != nil {
		return "node not installed"
	}
	dir := filepath.Join("testdata", "nodesoap")
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "soap", "package.json")); err == nil {
		return ""
	}
	if _, err := exec.LookPath("npm"); err != nil {
		return "npm not installed, and " + dir + "/node_modules is missing"
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "npm", "ci", "--no-audit", "--no-fund", "--silent")
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "npm ci in %s: %s", dir, out)
	return ""
}

// Real SOAP toolkits load every WSDL (with its imported schemas), list the
// operations, see exportJob's fields, send a submitJob with an exportJob that
// arrives in the version's namespace and order, and read full answers of
// getActiveJobs and getJobLogDetails projected onto their version (zeep
// refuses elements its schema does not declare).
func TestToolkitsLoadWSDLs(t *testing.T) {
	if testing.Short() {
		t.Skip("runs external SOAP toolkits")
	}
	srv := newDocServer(t)
	var args []string
	for _, v := range Versions {
		args = append(args, v.WSDLFile, v.Namespace)
	}
	exportFields := []string{"assetHandleArray", "fmt", "is_modifier", "macro", "emailSetting", "clientId"}
	for _, tk := range toolkits() {
		t.Run(tk.name, func(t *testing.T) {
			if why := tk.available(t); why != "" {
				t.Skip(why)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
			defer cancel()
			cmd := tk.cmd(ctx, srv.URL, args)
			out, err := cmd.Output()
			var stderr []byte
			if ee, ok := err.(*exec.ExitError); ok {
				stderr = ee.Stderr
			}
			require.NoError(t, err, "%s\n%s", out, stderr)
			var results []toolkitResult
			require.NoError(t, json.Unmarshal(out, &results), string(out))
			require.Len(t, results, len(Versions))
			for i, v := range Versions {
				r := results[i]
				t.Run(v.Name, func(t *testing.T) {
					require.Equal(t, v.WSDLFile, r.WSDL)
					require.Empty(t, r.Error)
					if r.Port != "" {
						assert.Equal(t, "IpsApiSoapPort", r.Port, "the SOAP 1.1 port comes first")
					}
					want := slices.Clone(operationsIn(v))
					slices.Sort(want)
					assert.Equal(t, want, r.Operations)
					assert.Contains(t, r.SubmitJobParam, "exportJob")
					assert.Equal(t, exportFields, r.ExportJob)
					assert.Equal(t, "j|"+tk.name+"|"+v.Name+"||", r.JobHandle, "the answer was read")
					assert.Equal(t, "x|1", r.ActiveJobHandle, "getActiveJobs answer read")
					assert.Equal(t, "x|1", r.DetailAssetName, "getJobLogDetails answer read")
					if v.Namespace == Unversioned {
						assert.Empty(t, r.ActiveExportFmt, "pre-4.0 ActiveJob has no exportJob")
					} else {
						assert.Equal(t, "x|1", r.ActiveExportFmt)
					}
					checkSubmitJobRequest(t, srv.request(tk.name, v.Namespace), v, tk.soap12)
				})
			}
		})
	}
}

// checkSubmitJobRequest looks at what a toolkit sent: an authHeader, and a
// submitJobParam in the version's namespace whose exportJob holds the
// fields in schema order.
func checkSubmitJobRequest(t *testing.T, body []byte, v Version, soap12 bool) {
	t.Helper()
	require.NotEmpty(t, body, "no request recorded")
	doc := etree.NewDocument()
	require.NoError(t, doc.ReadFromBytes(body))
	env := doc.Root()
	if soap12 {
		assert.Equal(t, nsSOAP12, env.NamespaceURI())
	} else {
		assert.Equal(t, nsSOAP11, env.NamespaceURI())
	}
	hdr := env.FindElement("./Header/authHeader")
	require.NotNil(t, hdr, "authHeader: %s", body)
	assert.Equal(t, "pw", hdr.FindElement("./password").Text())
	param := env.FindElement("./Body/submitJobParam")
	require.NotNil(t, param)
	assert.Equal(t, v.Namespace, param.NamespaceURI())
	var top []string
	for _, c := range param.ChildElements() {
		top = append(top, c.Tag)
		assert.Equal(t, v.Namespace, c.NamespaceURI(), c.Tag)
	}
	assert.Equal(t, []string{"companyHandle", "jobName", "exportJob"}, top)
	ej := param.SelectElement("exportJob")
	require.NotNil(t, ej)
	var fields []string
	for _, c := range ej.ChildElements() {
		fields = append(fields, c.Tag)
		assert.Equal(t, v.Namespace, c.NamespaceURI(), c.Tag)
	}
	assert.Equal(t, []string{"assetHandleArray", "fmt", "is_modifier", "macro", "emailSetting"}, fields)
	var items []string
	for _, it := range ej.FindElements("./assetHandleArray/items") {
		items = append(items, it.Text())
	}
	assert.Equal(t, []string{"a|1", "a|2"}, items)
	assert.Equal(t, "wid=100&fmt=png", ej.SelectElement("is_modifier").Text())
	assert.Equal(t, "$thumb$", ej.SelectElement("macro").Text())
}
