package app

// The SoapUI project under testdata/soapui is what users open against a
// local server (`make run`). This test keeps it true: it reads the project
// as SoapUI 5.x stores it, replays every test step against a real server
// seeded like `make run`, and evaluates every assertion the way SoapUI does.
//
// The replayer implements the subset of SoapUI the project uses, and fails
// on anything else, so the project cannot drift into features nobody checks:
//   - property expansion ${#Project#p}, ${#TestSuite#p}, ${#TestCase#p} in
//     request bodies, endpoints, XPath expressions, expected values and
//     delays (an unknown property is an error here, where SoapUI would
//     expand it to nothing);
//   - request steps on a WSDL interface (SOAP 1.1 or 1.2, SOAPAction from
//     the interface's operation), checked against the served WSDL;
//   - assertions "SOAP Response", "SOAP Fault Assertion" (Not SOAP Fault),
//     "Valid HTTP Status Codes" and "XPath Match" (declare namespace lines,
//     node, boolean, number and string results, any selected node may match,
//     allowWildcards), evaluated with github.com/antchfx/xpath (XPath 1.0;
//     SoapUI evaluates XPath 2.0 with Saxon, so the project keeps to
//     expressions that mean the same in both);
//   - Property Transfer steps from a request step's Response by XPath into
//     a #Project#, #TestSuite# or #TestCase# property (no target path; a
//     source that matches nothing is an error here);
//   - Delay steps and Conditional Goto steps (XPATH conditions on the
//     previous request step's response, jumping while a condition is true),
//     bounded by the test case's timeout.

import (
	"encoding/xml"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/antchfx/xmlquery"
	"github.com/antchfx/xpath"
	"github.com/stretchr/testify/require"
)

const soapuiProjectFile = "../../testdata/soapui/ips-export-soapui-project.xml"

// The SoapUI project model: encoding/xml matches these local names in the
// http://eviware.com/soapui/config namespace, and the unqualified children
// of assertion and delay configurations.
type suiProject struct {
	Name        string         `xml:"name,attr"`
	Description string         `xml:"description"`
	Interfaces  []suiInterface `xml:"interface"`
	TestSuites  []suiTestSuite `xml:"testSuite"`
	Properties  suiProperties  `xml:"properties"`
}

type suiProperties struct {
	Items []struct {
		Name  string `xml:"name"`
		Value string `xml:"value"`
	} `xml:"property"`
}

func (p suiProperties) holder() map[string]string {
	m := map[string]string{}
	for _, it := range p.Items {
		m[it.Name] = it.Value
	}
	return m
}

type suiInterface struct {
	Type        string   `xml:"http://www.w3.org/2001/XMLSchema-instance type,attr"`
	Name        string   `xml:"name,attr"`
	BindingName string   `xml:"bindingName,attr"`
	SoapVersion string   `xml:"soapVersion,attr"`
	Definition  string   `xml:"definition,attr"`
	Endpoints   []string `xml:"endpoints>endpoint"`
	Operations  []struct {
		Name                 string `xml:"name,attr"`
		Action               string `xml:"action,attr"`
		BindingOperationName string `xml:"bindingOperationName,attr"`
		InputName            string `xml:"inputName,attr"`
		OutputName           string `xml:"outputName,attr"`
	} `xml:"operation"`
}

type suiTestSuite struct {
	Name       string        `xml:"name,attr"`
	Disabled   bool          `xml:"disabled,attr"`
	TestCases  []suiTestCase `xml:"testCase"`
	Properties suiProperties `xml:"properties"`
}

type suiTestCase struct {
	Name        string        `xml:"name,attr"`
	Disabled    bool          `xml:"disabled,attr"`
	FailOnError *bool         `xml:"failOnError,attr"`
	Timeout     int64         `xml:"timeout,attr"` // milliseconds, 0: none
	Description string        `xml:"description"`
	Steps       []suiTestStep `xml:"testStep"`
	Properties  suiProperties `xml:"properties"`
}

type suiTestStep struct {
	Type     string `xml:"type,attr"`
	Name     string `xml:"name,attr"`
	Disabled bool   `xml:"disabled,attr"`
	Config   struct {
		// request
		Interface string      `xml:"interface"`
		Operation string      `xml:"operation"`
		Request   *suiRequest `xml:"request"`
		// transfer
		Transfers []suiTransfer `xml:"transfers"`
		// delay
		Delay string `xml:"delay"`
		// goto
		Conditions []struct {
			Name       string `xml:"name"`
			Type       string `xml:"type"`
			Expression string `xml:"expression"`
			TargetStep string `xml:"targetStep"`
		} `xml:"condition"`
	} `xml:"config"`
}

type suiRequest struct {
	Name       string         `xml:"name,attr"`
	Encoding   string         `xml:"encoding"`
	Endpoint   string         `xml:"endpoint"`
	Body       string         `xml:"request"`
	Assertions []suiAssertion `xml:"assertion"`
}

type suiAssertion struct {
	Type     string `xml:"type,attr"`
	Name     string `xml:"name,attr"`
	Disabled bool   `xml:"disabled,attr"`
	Config   struct {
		Path           string `xml:"path"`
		Content        string `xml:"content"`
		AllowWildcards bool   `xml:"allowWildcards"`
		Codes          string `xml:"codes"`
	} `xml:"configuration"`
}

type suiTransfer struct {
	Disabled   bool   `xml:"disabled,attr"`
	UseXQuery  bool   `xml:"useXQuery,attr"`
	Name       string `xml:"name"`
	SourceType string `xml:"sourceType"`
	SourceStep string `xml:"sourceStep"`
	SourcePath string `xml:"sourcePath"`
	TargetType string `xml:"targetType"`
	TargetStep string `xml:"targetStep"`
	TargetPath string `xml:"targetPath"`
	Type       string `xml:"type"`
}

func loadSoapUIProject(t *testing.T, path string) suiProject {
	t.Helper()
	raw, err := os.ReadFile(path)
	require.NoError(t, err)
	var root struct{ XMLName xml.Name }
	require.NoError(t, xml.Unmarshal(raw, &root))
	require.Equal(t, xml.Name{Space: "http://eviware.com/soapui/config", Local: "soapui-project"}, root.XMLName)
	var p suiProject
	require.NoError(t, xml.Unmarshal(raw, &p))
	return p
}

func TestSoapuiProject(t *testing.T) {
	proj := loadSoapUIProject(t, soapuiProjectFile)
	require.NotEmpty(t, proj.TestSuites, "the project has a TestSuite")

	// A real server seeded like `make run`: the demo company, user, images
	// and formats of `ipsd admin demo`, beside newEnv's own companies.
	e := newEnv(t, "")
	_, err := SeedDemo(t.Context(), e.app.Store, e.app.Blob, nil)
	require.NoError(t, err)

	projectProps := proj.Properties.holder()
	// The defaults are what `make run` serves and seeds.
	require.Equal(t, "http://localhost:8080", projectProps["endpoint"])
	require.Equal(t, DemoEmail, projectProps["user"])
	require.Equal(t, DemoPassword, projectProps["password"])
	require.Equal(t, DemoCompany, projectProps["companyName"])
	// Pointed at the test server, as a user edits the endpoint property;
	// polled quickly, so that the Conditional Goto loops are exercised.
	projectProps["endpoint"] = e.srv.URL
	projectProps["pollMillis"] = "20"

	ifaces := map[string]suiInterface{}
	for _, in := range proj.Interfaces {
		checkSoapUIInterface(t, in, projectProps["endpoint"])
		ifaces[in.Name] = in
	}

	steps := 0
	for _, suite := range proj.TestSuites {
		if suite.Disabled {
			continue
		}
		for _, tc := range suite.TestCases {
			if tc.Disabled {
				continue
			}
			t.Run(suite.Name+"/"+tc.Name, func(t *testing.T) {
				r := &soapuiRun{
					t: t, ifaces: ifaces,
					props: map[string]map[string]string{
						"Project": projectProps, "TestSuite": suite.Properties.holder(), "TestCase": tc.Properties.holder(),
					},
					responses: map[string]string{},
					client:    &http.Client{Timeout: 30 * time.Second},
				}
				steps += r.runTestCase(tc)
			})
		}
	}
	if !t.Failed() {
		require.Positive(t, steps, "no test step ran")
	}
}

// checkSoapUIInterface holds the interface to the served WSDL: the
// definition URL is served, the binding exists, and each operation's
// SOAPAction, input and output names are the binding's.
func checkSoapUIInterface(t *testing.T, in suiInterface, endpoint string) {
	t.Helper()
	require.Equal(t, "con:WsdlInterface", in.Type, "interface %s", in.Name)
	def, err := url.Parse(in.Definition)
	require.NoError(t, err)
	base, err := url.Parse(endpoint)
	require.NoError(t, err)
	// The definition is loaded from the server the project's endpoint
	// property names by default.
	require.Equal(t, "localhost:8080", def.Host, "definition %s", in.Definition)
	for _, ep := range in.Endpoints {
		u, err := url.Parse(ep)
		require.NoError(t, err)
		require.Equal(t, def.Host, u.Host, "endpoint %s", ep)
		require.Equal(t, soapPath, u.Path, "endpoint %s", ep)
	}
	def.Scheme, def.Host = base.Scheme, base.Host
	resp, err := http.Get(def.String())
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode, "WSDL %s", def.Path)
	doc, err := xmlquery.Parse(resp.Body)
	require.NoError(t, err)

	ns := map[string]string{
		"wsdl": "http://schemas.xmlsoap.org/wsdl/", "soap": "http://schemas.xmlsoap.org/wsdl/soap/",
		"soap12": "http://schemas.xmlsoap.org/wsdl/soap12/",
	}
	root := xmlquery.FindOne(doc, "/*")
	require.NotNil(t, root)
	tns := root.SelectAttr("targetNamespace")
	bq := regexp.MustCompile(`^\{([^}]*)\}(.+)$`).FindStringSubmatch(in.BindingName)
	require.NotNil(t, bq, "bindingName %q", in.BindingName)
	require.Equal(t, tns, bq[1], "bindingName namespace")
	find := func(n *xmlquery.Node, expr string) *xmlquery.Node {
		x, err := xpath.CompileWithNS(expr, ns)
		require.NoError(t, err, expr)
		return xmlquery.QuerySelector(n, x)
	}
	binding := find(doc, fmt.Sprintf("/wsdl:definitions/wsdl:binding[@name=%s]", xpathString(bq[2])))
	require.NotNil(t, binding, "binding %s in %s", bq[2], def.Path)
	soapNS := "soap"
	if in.SoapVersion == "1_2" {
		soapNS = "soap12"
	}
	require.NotNil(t, find(binding, soapNS+":binding"), "binding %s is not SOAP %s", bq[2], in.SoapVersion)
	for _, op := range in.Operations {
		bop := find(binding, fmt.Sprintf("wsdl:operation[@name=%s]", xpathString(op.BindingOperationName)))
		require.NotNil(t, bop, "operation %s not in binding %s", op.Name, bq[2])
		require.Equal(t, op.Name, op.BindingOperationName)
		so := find(bop, soapNS+":operation")
		require.NotNil(t, so)
		require.Equal(t, so.SelectAttr("soapAction"), op.Action, "SOAPAction of %s", op.Name)
		input, output := find(bop, "wsdl:input"), find(bop, "wsdl:output")
		require.True(t, input != nil && output != nil, "operation %s is not request-response", op.Name)
		require.Equal(t, input.SelectAttr("name"), op.InputName, "inputName of %s", op.Name)
		require.Equal(t, output.SelectAttr("name"), op.OutputName, "outputName of %s", op.Name)
	}
}

// xpathString quotes s as an XPath string literal.
func xpathString(s string) string {
	if !strings.Contains(s, "'") {
		return "'" + s + "'"
	}
	return `"` + s + `"`
}

type soapuiRun struct {
	t         *testing.T
	ifaces    map[string]suiInterface
	props     map[string]map[string]string // by holder: Project, TestSuite, TestCase
	responses map[string]string            // by request step name: the last response
	client    *http.Client
	deadline  time.Time
}

// runTestCase runs the steps in order, following Conditional Gotos, and
// returns how many steps ran.
func (r *soapuiRun) runTestCase(tc suiTestCase) int {
	t := r.t
	// SoapUI ends a test case that exceeds its timeout; without one, a
	// loop here still ends.
	limit := 3 * time.Minute
	if tc.Timeout > 0 {
		limit = time.Duration(tc.Timeout) * time.Millisecond
	}
	r.deadline = time.Now().Add(limit)
	index := map[string]int{}
	for i, s := range tc.Steps {
		_, dup := index[s.Name]
		require.False(t, dup, "two steps named %q", s.Name)
		index[s.Name] = i
	}
	ran, jumps := 0, 0
	for i := 0; i < len(tc.Steps); i++ {
		s := tc.Steps[i]
		if s.Disabled {
			continue
		}
		if time.Now().After(r.deadline) {
			t.Fatalf("test case %q exceeded its timeout of %v at step %q", tc.Name, limit, s.Name)
		}
		ran++
		switch s.Type {
		case "request":
			r.request(s)
		case "transfer":
			r.transfer(s)
		case "delay":
			ms, err := strconv.Atoi(strings.TrimSpace(r.expand(s.Config.Delay)))
			require.NoError(t, err, "delay of step %q", s.Name)
			time.Sleep(time.Duration(ms) * time.Millisecond)
		case "goto":
			if target, ok := r.gotoTarget(tc, i); ok {
				j, found := index[target]
				require.True(t, found, "step %q: no target step %q", s.Name, target)
				i = j - 1
				jumps++
			}
		default:
			t.Fatalf("step %q: the replayer does not support SoapUI step type %q", s.Name, s.Type)
		}
	}
	t.Logf("test case %q: %d steps run, %d Conditional Goto jumps", tc.Name, ran, jumps)
	return ran
}

var soapuiExpansion = regexp.MustCompile(`\$\{([^}]*)\}`)

// expand replaces the property expansions SoapUI would.
func (r *soapuiRun) expand(s string) string {
	r.t.Helper()
	return soapuiExpansion.ReplaceAllStringFunc(s, func(m string) string {
		ref := m[2 : len(m)-1]
		parts := strings.Split(ref, "#")
		if len(parts) != 3 || parts[0] != "" {
			r.t.Fatalf("property expansion %s: the replayer supports ${#Project#p}, ${#TestSuite#p} and ${#TestCase#p}", m)
		}
		holder, ok := r.props[parts[1]]
		if !ok {
			r.t.Fatalf("property expansion %s: unknown scope %q", m, parts[1])
		}
		v, ok := holder[parts[2]]
		if !ok {
			r.t.Fatalf("property expansion %s: no %s property %q", m, parts[1], parts[2])
		}
		return v
	})
}

func (r *soapuiRun) request(s suiTestStep) {
	t := r.t
	t.Helper()
	req := s.Config.Request
	require.NotNil(t, req, "request step %q has no request", s.Name)
	in, ok := r.ifaces[s.Config.Interface]
	require.True(t, ok, "step %q: no interface %q", s.Name, s.Config.Interface)
	action := ""
	found := false
	for _, op := range in.Operations {
		if op.Name == s.Config.Operation {
			action, found = op.Action, true
		}
	}
	require.True(t, found, "step %q: no operation %q in %s", s.Name, s.Config.Operation, in.Name)

	body := r.expand(req.Body)
	endpoint := r.expand(req.Endpoint)
	// What SoapUI sends for a request of this operation.
	checkSoapUIRequestBody(t, s.Name, body, s.Config.Operation)
	hreq, err := http.NewRequestWithContext(t.Context(), http.MethodPost, endpoint, strings.NewReader(body))
	require.NoError(t, err)
	enc := req.Encoding
	if enc == "" {
		enc = "UTF-8"
	}
	if in.SoapVersion == "1_2" {
		hreq.Header.Set("Content-Type", fmt.Sprintf(`application/soap+xml;charset=%s;action="%s"`, enc, action))
	} else {
		hreq.Header.Set("Content-Type", "text/xml;charset="+enc)
		hreq.Header.Set("SOAPAction", `"`+action+`"`)
	}
	hreq.Header.Set("User-Agent", "Apache-HttpClient/4.5.5 (Java/16.0.1)")
	resp, err := r.client.Do(hreq)
	require.NoError(t, err, "step %q", s.Name)
	raw, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.NoError(t, err)
	text := string(raw)
	r.responses[s.Name] = text

	for _, a := range req.Assertions {
		if a.Disabled {
			continue
		}
		if msg := r.assert(a, in, resp.StatusCode, text); msg != "" {
			t.Fatalf("step %q, assertion %q (%s) failed: %s\nrequest:\n%s\nresponse (HTTP %d):\n%s", s.Name, a.Name, a.Type, msg, body, resp.StatusCode, text)
		}
	}
}

// checkSoapUIRequestBody: the request is well-formed XML whose body holds
// the operation's input element, <op>Param in an IPS namespace.
func checkSoapUIRequestBody(t *testing.T, step, body, op string) {
	t.Helper()
	doc, err := xmlquery.Parse(strings.NewReader(body))
	require.NoError(t, err, "step %q: request is not XML", step)
	env := xmlquery.FindOne(doc, "/*")
	require.NotNil(t, env)
	var payload *xmlquery.Node
	for _, c := range env.ChildNodes() {
		if c.Type == xmlquery.ElementNode && c.Data == "Body" {
			for _, p := range c.ChildNodes() {
				if p.Type == xmlquery.ElementNode {
					payload = p
					break
				}
			}
		}
	}
	require.NotNil(t, payload, "step %q: no element in the SOAP Body", step)
	require.Equal(t, op+"Param", payload.Data, "step %q", step)
	require.True(t, strings.HasPrefix(payload.NamespaceURI, nsU), "step %q: %s in namespace %q", step, payload.Data, payload.NamespaceURI)
}

var soapEnvelopeNS = map[string]string{
	"1_1": "http://schemas.xmlsoap.org/soap/envelope/",
	"1_2": "http://www.w3.org/2003/05/soap-envelope",
}

// assert evaluates one assertion; "" means it holds.
func (r *soapuiRun) assert(a suiAssertion, in suiInterface, status int, resp string) string {
	switch a.Type {
	case "Valid HTTP Status Codes":
		for _, c := range strings.Split(a.Config.Codes, ",") {
			if strings.TrimSpace(c) == strconv.Itoa(status) {
				return ""
			}
		}
		return fmt.Sprintf("HTTP status %d not in [%s]", status, a.Config.Codes)
	case "SOAP Response", "SOAP Fault Assertion":
		envNS := soapEnvelopeNS[in.SoapVersion]
		if envNS == "" {
			envNS = soapEnvelopeNS["1_1"]
		}
		doc, err := parseForXPath(resp)
		if err != nil {
			return "response is " + err.Error()
		}
		ns := map[string]string{"soapenv": envNS}
		if a.Type == "SOAP Response" {
			if !xpathBool(r.t, doc, "/soapenv:Envelope[count(soapenv:Body) = 1 and count(*) = count(soapenv:Header | soapenv:Body)]", ns) {
				return "not a SOAP " + strings.ReplaceAll(in.SoapVersion, "_", ".") + " envelope with a Body"
			}
			return ""
		}
		if xpathBool(r.t, doc, "/soapenv:Envelope/soapenv:Body/soapenv:Fault", ns) {
			return "response is a SOAP Fault"
		}
		return ""
	case "XPath Match":
		return r.xpathMatch(a, resp)
	}
	r.t.Fatalf("assertion %q: the replayer does not support SoapUI assertion type %q", a.Name, a.Type)
	return ""
}

func xpathBool(t *testing.T, doc *xmlquery.Node, expr string, ns map[string]string) bool {
	t.Helper()
	x, err := compileSoapUIXPath("boolean("+expr+")", ns)
	require.NoError(t, err, expr)
	return x.Evaluate(xmlquery.CreateXPathNavigator(doc)).(bool)
}

var soapuiDeclareNamespace = regexp.MustCompile(`^\s*declare\s+namespace\s+([A-Za-z_][\w.-]*)\s*=\s*(?:'([^']*)'|"([^"]*)")\s*;`)

// parseSoapUIXPath splits SoapUI's `declare namespace p='uri';` prolog off
// an XPath expression.
func parseSoapUIXPath(s string) (string, map[string]string) {
	ns := map[string]string{}
	for {
		m := soapuiDeclareNamespace.FindStringSubmatchIndex(s)
		if m == nil {
			return strings.TrimSpace(s), ns
		}
		var uri string
		if m[4] >= 0 {
			uri = s[m[4]:m[5]]
		} else {
			uri = s[m[6]:m[7]]
		}
		ns[s[m[2]:m[3]]] = uri
		s = s[m[1]:]
	}
}

var (
	xpathStringLiteral = regexp.MustCompile(`'[^']*'|"[^"]*"`)
	xpathPrefixedName  = regexp.MustCompile(`(?:^|[^\w.:-])([A-Za-z_][\w.-]*):[A-Za-z_*]`)
)

// compileSoapUIXPath compiles with the declared namespaces. As in SoapUI
// (Saxon), a prefix must be declared: antchfx/xpath would otherwise match
// it against the document's own prefixes.
func compileSoapUIXPath(expr string, ns map[string]string) (*xpath.Expr, error) {
	for _, m := range xpathPrefixedName.FindAllStringSubmatch(xpathStringLiteral.ReplaceAllString(expr, "''"), -1) {
		if _, ok := ns[m[1]]; !ok {
			return nil, fmt.Errorf("XPath %q: prefix %q is not declared (declare namespace %s='…';)", expr, m[1], m[1])
		}
	}
	x, err := xpath.CompileWithNS(expr, ns)
	if err != nil {
		return nil, fmt.Errorf("XPath %q: %w", expr, err)
	}
	return x, nil
}

// parseForXPath parses an XML text for XPath 1.0 name tests: an element in
// a default namespace gets a prefix no expression can write, so that an
// unprefixed name matches only elements in no namespace, as in XPath 1.0
// and Saxon (antchfx/xpath compares an unprefixed name by prefix).
func parseForXPath(text string) (*xmlquery.Node, error) {
	doc, err := xmlquery.Parse(strings.NewReader(text))
	if err != nil {
		return nil, fmt.Errorf("not XML: %w", err)
	}
	var walk func(n *xmlquery.Node)
	walk = func(n *xmlquery.Node) {
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			if c.Type == xmlquery.ElementNode {
				if c.Prefix == "" && c.NamespaceURI != "" {
					c.Prefix = "\x00default"
				}
				walk(c)
			}
		}
	}
	walk(doc)
	return doc, nil
}

// evalSoapUIXPath evaluates a SoapUI XPath (after property expansion) on
// an XML text: the values of the selected nodes, or the one value of a
// boolean, number or string expression. nodes reports a node-set.
func evalSoapUIXPath(t *testing.T, text, path string) (values []string, nodes bool, err error) {
	t.Helper()
	expr, ns := parseSoapUIXPath(path)
	x, err := compileSoapUIXPath(expr, ns)
	if err != nil {
		return nil, false, err
	}
	doc, err := parseForXPath(text)
	if err != nil {
		return nil, false, err
	}
	switch v := x.Evaluate(xmlquery.CreateXPathNavigator(doc)).(type) {
	case *xpath.NodeIterator:
		for v.MoveNext() {
			nav := v.Current().(*xmlquery.NodeNavigator)
			switch nav.NodeType() {
			case xpath.ElementNode:
				values = append(values, soapuiElementText(nav.Current()))
			default: // attribute, text
				values = append(values, nav.Value())
			}
		}
		return values, true, nil
	case bool:
		return []string{strconv.FormatBool(v)}, false, nil
	case float64:
		// As Saxon prints xs:integer and xs:double values.
		if v == math.Trunc(v) && math.Abs(v) < 1e15 {
			return []string{strconv.FormatInt(int64(v), 10)}, false, nil
		}
		return []string{strconv.FormatFloat(v, 'f', -1, 64)}, false, nil
	case string:
		return []string{v}, false, nil
	default:
		return nil, false, fmt.Errorf("XPath %q: unexpected result %T", expr, v)
	}
}

// soapuiElementText is an element's own text (its text children), as
// SoapUI's XmlUtils.getElementText compares it.
func soapuiElementText(n *xmlquery.Node) string {
	var b strings.Builder
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		if c.Type == xmlquery.TextNode || c.Type == xmlquery.CharDataNode {
			b.WriteString(c.Data)
		}
	}
	return b.String()
}

// xpathMatch is SoapUI's XPathContainsAssertion: the expected content is
// compared with each selected value, and one match is enough.
func (r *soapuiRun) xpathMatch(a suiAssertion, resp string) string {
	path := r.expand(a.Config.Path)
	want := r.expand(a.Config.Content)
	if strings.HasPrefix(strings.TrimSpace(want), "<") {
		r.t.Fatalf("assertion %q: XML expected content is not supported by the replayer", a.Name)
	}
	values, nodes, err := evalSoapUIXPath(r.t, resp, path)
	if err != nil {
		return err.Error()
	}
	if len(values) == 0 {
		return fmt.Sprintf("missing content for xpath [%s]", path)
	}
	for _, v := range values {
		if v == want || (nodes && a.Config.AllowWildcards && soapuiSimilar(want, v)) {
			return ""
		}
	}
	return fmt.Sprintf("expecting [%s], actual was %q", want, values)
}

// soapuiSimilar matches with '*' as a wildcard for any text.
func soapuiSimilar(pattern, s string) bool {
	parts := strings.Split(pattern, "*")
	for i, p := range parts {
		parts[i] = regexp.QuoteMeta(p)
	}
	return regexp.MustCompile(`(?s)^` + strings.Join(parts, ".*") + `$`).MatchString(s)
}

func (r *soapuiRun) transfer(s suiTestStep) {
	t := r.t
	t.Helper()
	for _, tr := range s.Config.Transfers {
		if tr.Disabled {
			continue
		}
		require.False(t, tr.UseXQuery, "transfer %q: XQuery is not supported by the replayer", tr.Name)
		require.Contains(t, []string{"", "XPATH"}, tr.Type, "transfer %q", tr.Name)
		require.Equal(t, "Response", tr.SourceType, "transfer %q: the replayer transfers from a Response", tr.Name)
		require.Empty(t, strings.TrimSpace(tr.TargetPath), "transfer %q: target paths are not supported by the replayer", tr.Name)
		resp, ok := r.responses[tr.SourceStep]
		require.True(t, ok, "transfer %q: step %q has not run", tr.Name, tr.SourceStep)
		values, nodes, err := evalSoapUIXPath(t, resp, r.expand(tr.SourcePath))
		require.NoError(t, err, "transfer %q", tr.Name)
		require.True(t, nodes, "transfer %q: the source path selects no node", tr.Name)
		require.NotEmpty(t, values, "transfer %q: no match for %s in the response of %q:\n%s", tr.Name, tr.SourcePath, tr.SourceStep, resp)
		scope := strings.Trim(tr.TargetStep, "#")
		holder, ok := r.props[scope]
		require.True(t, ok && strings.HasPrefix(tr.TargetStep, "#"), "transfer %q: target %q is not #Project#, #TestSuite# or #TestCase#", tr.Name, tr.TargetStep)
		_, declared := holder[tr.TargetType]
		require.True(t, declared, "transfer %q: %s has no property %q (SoapUI needs it declared)", tr.Name, tr.TargetStep, tr.TargetType)
		holder[tr.TargetType] = values[0]
	}
}

// gotoTarget evaluates a Conditional Goto step at index i: its conditions
// run on the response of the request step before it; the first that
// selects boolean true names the step to go to.
func (r *soapuiRun) gotoTarget(tc suiTestCase, i int) (string, bool) {
	t := r.t
	t.Helper()
	s := tc.Steps[i]
	prev := ""
	for j := i - 1; j >= 0; j-- {
		if tc.Steps[j].Type == "request" {
			prev = tc.Steps[j].Name
			break
		}
	}
	require.NotEmpty(t, prev, "goto %q: no request step before it", s.Name)
	resp, ok := r.responses[prev]
	require.True(t, ok, "goto %q: step %q has not run", s.Name, prev)
	for _, c := range s.Config.Conditions {
		require.Equal(t, "XPATH", c.Type, "goto %q condition %q", s.Name, c.Name)
		expr, ns := parseSoapUIXPath(r.expand(c.Expression))
		x, err := compileSoapUIXPath(expr, ns)
		require.NoError(t, err, "goto %q condition %q", s.Name, c.Name)
		doc, err := parseForXPath(resp)
		require.NoError(t, err, "goto %q: response of %q", s.Name, prev)
		if b, ok := x.Evaluate(xmlquery.CreateXPathNavigator(doc)).(bool); ok && b {
			return strings.TrimSpace(c.TargetStep), true
		}
	}
	return "", false
}

// The replayer itself: SoapUI's semantics on small documents.
func TestSoapuiReplayerSemantics(t *testing.T) {
	doc := `<e:Envelope xmlns:e="http://schemas.xmlsoap.org/soap/envelope/"><e:Body><r xmlns="urn:x"><a>1</a><a>2</a><b at="v">x<c>y</c>z</b></r></e:Body></e:Envelope>`
	path := func(p string) string {
		return "declare namespace ns='urn:x';\n declare namespace s=\"http://schemas.xmlsoap.org/soap/envelope/\";\n" + p
	}
	for _, c := range []struct {
		path  string
		want  []string
		nodes bool
	}{
		{"//ns:a", []string{"1", "2"}, true},
		{"count(//ns:a)", []string{"2"}, false},
		{"count(//ns:a) = 2", []string{"true"}, false},
		{"string-length(//ns:b/ns:c) > 0", []string{"true"}, false},
		{"//ns:b", []string{"xz"}, true},
		{"//ns:b/@at", []string{"v"}, true},
		{"sum(//ns:a) div 4", []string{"0.75"}, false},
		{"/s:Envelope/s:Body/ns:r/ns:missing", nil, true},
		{"//a", nil, true}, // unprefixed names are in no namespace
	} {
		got, nodes, err := evalSoapUIXPath(t, doc, path(c.path))
		require.NoError(t, err, c.path)
		require.Equal(t, c.want, got, c.path)
		require.Equal(t, c.nodes, nodes, c.path)
	}
	_, _, err := evalSoapUIXPath(t, doc, "//e:Body")
	require.ErrorContains(t, err, "not declared", "the document's own prefixes are not in scope")
	_, _, err = evalSoapUIXPath(t, doc, path("//ns:a[. = 'x:y'] | child::s:Envelope"))
	require.NoError(t, err, "prefixes in string literals and axes are not names")
	r := &soapuiRun{t: t, props: map[string]map[string]string{"Project": {"n": "2"}, "TestCase": {}}}
	a := suiAssertion{Type: "XPath Match"}
	a.Config.Path, a.Config.Content = path("//ns:a"), "${#Project#n}"
	require.Empty(t, r.xpathMatch(a, doc), "any selected node may match")
	a.Config.Content = "3"
	require.NotEmpty(t, r.xpathMatch(a, doc))
	a.Config.Path, a.Config.Content, a.Config.AllowWildcards = path("//ns:b"), "x*", true
	require.Empty(t, r.xpathMatch(a, doc))
	a.Config.Path = path("//ns:missing")
	require.Contains(t, r.xpathMatch(a, doc), "missing content")
	require.Equal(t, "a2b", r.expand("a${#Project#n}b"))
	require.Equal(t, "$x$", r.expand("$x$"))
}
