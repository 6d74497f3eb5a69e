package ipsapi

import (
	"encoding/xml"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/beevik/etree"
	"github.com/hooklift/gowsdl/soap"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var (
	typeDateTime    = reflect.TypeOf(DateTime{})
	typeXSDDateTime = reflect.TypeOf(soap.XSDDateTime{})
	sampleTime      = time.Date(2026, 11, 28, 10, 30, 15, 123_000_000, time.UTC)
)

// xmlField is a struct field's element name and options.
func xmlField(f reflect.StructField) (name string, omitempty, any bool) {
	tag := f.Tag.Get("xml")
	name, opts, _ := strings.Cut(tag, ",")
	return name, strings.Contains(opts, "omitempty"), strings.Contains(opts, "any")
}

// fill sets the fields of the struct v points to. full sets every field
// (slices get two items, recursion stops at depth 0); otherwise only the
// required ones (no omitempty) that need a value to be written at all:
// pointers to structs.
func fill(v reflect.Value, full bool, depth int) {
	v = v.Elem()
	t := v.Type()
	for i := range t.NumField() {
		sf := t.Field(i)
		if sf.Name == "XMLName" {
			continue
		}
		_, omit, any := xmlField(sf)
		if any {
			continue // the open job types: nothing to declare
		}
		f := v.Field(i)
		if !full && omit {
			continue
		}
		switch {
		case sf.Type == typeDateTime:
			if full {
				f.Set(reflect.ValueOf(NewDateTime(sampleTime)))
			}
		case sf.Type == typeXSDDateTime:
			f.Set(reflect.ValueOf(OptionalDateTime(sampleTime)))
		case sf.Type.Kind() == reflect.Pointer:
			if !omit || depth > 0 {
				p := reflect.New(sf.Type.Elem())
				fill(p, full && depth > 0, depth-1)
				f.Set(p)
			}
		case sf.Type.Kind() == reflect.Slice:
			if !full || depth <= 0 {
				continue
			}
			el := sf.Type.Elem()
			s := reflect.MakeSlice(sf.Type, 2, 2)
			for j := range 2 {
				if el.Kind() == reflect.Pointer {
					p := reflect.New(el.Elem())
					fill(p, true, depth-1)
					s.Index(j).Set(p)
				} else {
					s.Index(j).Set(scalar(el, j))
				}
			}
			f.Set(s)
		default:
			if full {
				f.Set(scalar(sf.Type, 0))
			}
		}
	}
}

func scalar(t reflect.Type, i int) reflect.Value {
	v := reflect.New(t).Elem()
	switch t.Kind() {
	case reflect.String:
		v.SetString([]string{"x|1", "y|2"}[i])
	case reflect.Int32, reflect.Int64:
		v.SetInt(int64(7 + i))
	case reflect.Float64:
		v.SetFloat(0.5)
	case reflect.Bool:
		v.SetBool(true)
	default:
		panic("no sample for " + t.String())
	}
	return v
}

func encode(t *testing.T, v any) *etree.Element {
	t.Helper()
	data, err := xml.Marshal(v)
	require.NoError(t, err)
	doc := etree.NewDocument()
	require.NoError(t, doc.ReadFromBytes(data))
	return doc.Root()
}

// checkRequired asserts that el has every child its content requires, and
// recurses into each complex child. all also requires the optional ones,
// except below a recursive type (Folder/subfolderArray), where the sample
// stops.
func checkRequired(t *testing.T, sc *Schema, path string, el *etree.Element, children []Child, all bool) {
	t.Helper()
	for _, c := range children {
		got := el.SelectElements(c.Name)
		recursive := strings.Contains(path, "/"+c.Name+"/")
		if (c.Required || (all && !recursive)) && !assert.NotEmpty(t, got, "%s/%s missing", path, c.Name) {
			continue
		}
		if c.Builtin {
			continue
		}
		sub, open, ok := sc.TypeChildren(c.Type)
		require.True(t, ok, c.Type)
		if open {
			continue
		}
		for _, g := range got {
			checkRequired(t, sc, path+"/"+c.Name, g, sub, all)
		}
	}
}

// Every <op>Return: a zero value, with its required nested structs
// allocated, writes every required element, even when zero, false or empty.
func TestZeroReturnsWriteRequiredElements(t *testing.T) {
	sc := NewSchemas().Schema(Newest)
	returns := sc.ReturnElements()
	require.Len(t, returns, len(operations))
	for _, name := range returns {
		t.Run(name, func(t *testing.T) {
			v, ok := NewMessage(name)
			require.True(t, ok, "NewMessage(%s)", name)
			fill(reflect.ValueOf(v), false, 0)
			root := encode(t, v)
			assert.Equal(t, name, root.Tag)
			assert.Equal(t, Newest.Namespace, root.SelectAttrValue("xmlns", ""))
			children, _ := sc.ElementChildren(name)
			checkRequired(t, sc, name, root, children, false)
		})
	}
	// The cases the wire contract names (docs/wire.md, "Answers"): zero counts and false.
	root := encode(t, &GetJobLogsReturn{JobLogArray: &JobLogArray{Items: []*JobLog{{}}}})
	assert.Equal(t, "0", root.FindElement("./jobLogArray/items/fileErrorCount").Text())
	assert.Equal(t, "false", root.FindElement("./jobLogArray/items/fatalError").Text())
	assert.NotNil(t, root.FindElement("./jobLogArray/items/description"))
	// A required element of struct type is a pointer (as gowsdl makes it):
	// the caller must set it; an empty array is then an empty wrapper.
	root = encode(t, &GetActiveJobsReturn{JobArray: &ActiveJobArray{Items: []*ActiveJob{{TaskProgressArray: &TaskProgressArray{}}}}})
	assert.Equal(t, "0001-01-01T00:00:00.000Z", root.FindElement("./jobArray/items/triggerTime").Text())
	assert.NotNil(t, root.FindElement("./jobArray/items/taskProgressArray"))
	assert.Nil(t, root.FindElement("./jobArray/items/locale"), "empty optional elements are left out")
	root = encode(t, &StopJobReturn{})
	assert.Empty(t, root.ChildElements())
}

// The generated types are exactly the newest schema: every field is a
// declared element, every declared element a field, in order, and a field
// is omitempty exactly when its element is optional.
func TestGoTypesMatchNewestSchema(t *testing.T) {
	sc := NewSchemas().Schema(Newest)
	seen := map[string]bool{}
	var check func(goType reflect.Type, what string, children []Child, open bool)
	check = func(goType reflect.Type, what string, children []Child, open bool) {
		if seen[goType.Name()] {
			return
		}
		seen[goType.Name()] = true
		var fields []reflect.StructField
		for i := range goType.NumField() {
			if f := goType.Field(i); f.Name != "XMLName" {
				fields = append(fields, f)
			}
		}
		if open {
			require.Len(t, fields, 1, what)
			_, _, any := xmlField(fields[0])
			assert.True(t, any, what)
			return
		}
		require.Len(t, fields, len(children), "%s (%s): fields", what, goType.Name())
		for i, c := range children {
			f := fields[i]
			name, omit, _ := xmlField(f)
			assert.Equal(t, c.Name, name, "%s: field %d", what, i)
			assert.Equal(t, !c.Required, omit, "%s/%s: omitempty", what, c.Name)
			ft := f.Type
			if c.Repeated {
				require.Equal(t, reflect.Slice, ft.Kind(), "%s/%s", what, c.Name)
				ft = ft.Elem()
			}
			if c.Builtin {
				if c.Type == "dateTime" {
					want := typeXSDDateTime
					if c.Required {
						want = typeDateTime
					}
					assert.Equal(t, want, ft, "%s/%s", what, c.Name)
				}
				continue
			}
			require.Equal(t, reflect.Pointer, ft.Kind(), "%s/%s", what, c.Name)
			sub, open, ok := sc.TypeChildren(c.Type)
			require.True(t, ok, c.Type)
			assert.Equal(t, c.Type, ft.Elem().Name(), "%s/%s: Go type", what, c.Name)
			check(ft.Elem(), c.Type, sub, open)
		}
	}
	elements := MessageElements()
	for _, el := range sc.Elements() {
		assert.Contains(t, elements, el)
	}
	for _, el := range elements {
		v, ok := NewMessage(el)
		require.True(t, ok)
		children, ok := sc.ElementChildren(el)
		if !ok {
			// The faults, declared in IpsApiCommon.xsd.
			assert.True(t, strings.HasSuffix(el, "Fault"), el)
			continue
		}
		check(reflect.TypeOf(v).Elem(), el, children, false)
	}
	for _, typ := range sc.Types() {
		assert.True(t, seen[typ], "type %s has no Go type reachable from an element", typ)
	}
}

// A full answer of the newest layout, projected onto each version, is valid
// against that version's schema.
func TestProjectedSamplesValidate(t *testing.T) {
	xmllint := needXmllint(t)
	s := NewSchemas()
	dir := t.TempDir()
	newest := s.Schema(Newest)
	var files []string
	samples := map[string][]byte{}
	for _, name := range newest.ReturnElements() {
		v, _ := NewMessage(name)
		fill(reflect.ValueOf(v), true, 10)
		data, err := xml.Marshal(v)
		require.NoError(t, err)
		samples[name] = data
		// The sample is full: every declared element is there.
		doc := etree.NewDocument()
		require.NoError(t, doc.ReadFromBytes(data))
		children, _ := newest.ElementChildren(name)
		checkRequired(t, newest, name, doc.Root(), children, true)
	}
	for _, v := range Versions {
		vdir := filepath.Join(dir, v.Name)
		require.NoError(t, os.Mkdir(vdir, 0o755))
		files = files[:0]
		for _, name := range newest.ReturnElements() {
			if !slices.Contains(s.Schema(v).ReturnElements(), name) {
				continue // an operation this version does not declare
			}
			doc := etree.NewDocument()
			require.NoError(t, doc.ReadFromBytes(samples[name]))
			s.Project(v.Namespace, doc.Root())
			doc.Root().CreateAttr("xmlns", v.Namespace)
			f := filepath.Join(vdir, name+".xml")
			require.NoError(t, doc.WriteToFile(f))
			files = append(files, f)
		}
		args := append([]string{"--noout", "--schema", filepath.Join(schemaDir, v.SchemaFile)}, files...)
		out, err := exec.Command(xmllint, args...).CombinedOutput()
		assert.NoError(t, err, "%s:\n%s", v.Name, out)
	}
}

func TestProjectDropsAndRenames(t *testing.T) {
	s := NewSchemas()
	user := &GetUserInfoReturn{UserInfo: &User{UserHandle: "u|1", FirstName: "A", LastName: "B", Email: "a@b", ImsUserId: "ims", DefaultRole: "IpsUser", IsValid: true, IsIpsAdmin: false}}
	for _, c := range []struct {
		ns   string
		want []string
	}{
		{Unversioned, []string{"userHandle", "firstName", "lastName", "email", "role", "isValid"}},
		{Versions[3].Namespace, []string{"userHandle", "firstName", "lastName", "email", "defaultRole", "isValid"}},
		{Versions[4].Namespace, []string{"userHandle", "firstName", "lastName", "email", "imsUserId", "isValid", "isIpsAdmin"}},
		{Newest.Namespace, []string{"userHandle", "firstName", "lastName", "email", "imsUserId", "defaultRole", "isValid", "isIpsAdmin"}},
		{"http://www.scene7.com/IpsApi/xsd/2010-01-31", []string{"userHandle", "firstName", "lastName", "email", "imsUserId", "defaultRole", "isValid", "isIpsAdmin"}},
	} {
		root := encode(t, user)
		s.Project(c.ns, root)
		var got []string
		for _, e := range root.SelectElement("userInfo").ChildElements() {
			got = append(got, e.Tag)
		}
		assert.Equal(t, c.want, got, c.ns)
		if slices.Contains(c.want, "role") {
			assert.Equal(t, "IpsUser", root.FindElement("./userInfo/role").Text())
		}
	}

	job := &GetActiveJobsReturn{JobArray: &ActiveJobArray{Items: []*ActiveJob{{
		JobHandle: "j|1", TaskProgressArray: &TaskProgressArray{Items: []*TaskProgress{{TaskType: "export"}}},
		ExportJob: &ExportJob{AssetHandleArray: &HandleArray{Items: []string{"a|1"}}, Fmt: "orig", EmailSetting: "None"},
	}}}}
	root := encode(t, job)
	Versions[0].Project(root) // pre-4.0: no taskProgressArray, no exportJob, no triggerTime
	item := root.FindElement("./jobArray/items")
	assert.Nil(t, item.SelectElement("taskProgressArray"))
	assert.Nil(t, item.SelectElement("exportJob"))
	assert.Nil(t, item.SelectElement("triggerTime"))
	assert.NotNil(t, item.SelectElement("lastProgressUpdate"))
	root = encode(t, job)
	Versions[1].Project(root) // 2012-02-14: taskProgressArray (with taskState) and exportJob, no triggerTime
	item = root.FindElement("./jobArray/items")
	assert.NotNil(t, item.FindElement("./taskProgressArray/items/taskState"))
	assert.NotNil(t, item.FindElement("./exportJob/assetHandleArray/items"))
	assert.Nil(t, item.SelectElement("triggerTime"))

	// Not an IPS namespace, or an undeclared root: left alone.
	root = encode(t, user)
	s.Project("urn:other", root)
	assert.NotNil(t, root.FindElement("./userInfo/imsUserId"))
	other := etree.NewElement("somethingElse")
	other.CreateElement("x")
	s.Project(Unversioned, other)
	assert.Len(t, other.ChildElements(), 1)
	s.Project(Unversioned, nil)
}

func TestDateTime(t *testing.T) {
	type doc struct {
		XMLName xml.Name `xml:"d"`
		Req     DateTime `xml:"req"`
		Opt     soap.XSDDateTime
	}
	out, err := xml.Marshal(doc{Req: NewDateTime(time.Date(2011, 3, 30, 14, 32, 8, 858_000_000, time.FixedZone("", -5*3600)))})
	require.NoError(t, err)
	assert.Equal(t, `<d><req>2011-03-30T14:32:08.858-05:00</req></d>`, string(out))
	out, err = xml.Marshal(doc{})
	require.NoError(t, err)
	assert.Equal(t, `<d><req>0001-01-01T00:00:00.000Z</req></d>`, string(out))
	assert.Equal(t, soap.XSDDateTime{}, OptionalDateTime(time.Time{}))

	for in, want := range map[string]time.Time{
		"2026-11-28T10:00:00Z":              time.Date(2026, 11, 28, 10, 0, 0, 0, time.UTC),
		"2026-11-28T10:00:00.1234567+01:00": time.Date(2026, 11, 28, 9, 0, 0, 123456700, time.UTC),
		"2026-11-28T10:00:00":               time.Date(2026, 11, 28, 10, 0, 0, 0, time.UTC),
		" 2026-11-28T10:00:00.5 ":           time.Date(2026, 11, 28, 10, 0, 0, 500_000_000, time.UTC),
		"":                                  {},
	} {
		var d doc
		require.NoError(t, xml.Unmarshal([]byte("<d><req>"+in+"</req></d>"), &d), in)
		assert.True(t, want.Equal(d.Req.Time), "%q: %v", in, d.Req.Time)
	}
	var d doc
	err = xml.Unmarshal([]byte("<d><req>yesterday</req></d>"), &d)
	var pe *time.ParseError
	assert.ErrorAs(t, err, &pe)
}
