package service

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ipsexport/ipsd/internal/ipsapi"
	"github.com/ipsexport/ipsd/internal/jobs"
	"github.com/ipsexport/ipsd/internal/soap"
	"github.com/ipsexport/ipsd/internal/store"
	"github.com/ipsexport/ipsd/internal/store/sqlite"
)

// fakeEngine records what the service asks of the job engine.
type fakeEngine struct {
	prepared   []jobs.ExportSpec
	handles    [][]string
	submitted  []store.NewJob
	scheduled  []jobs.ScheduleSpec
	controlled []string
	controlErr error
}

func (f *fakeEngine) PrepareExport(_ context.Context, _ store.Company, spec jobs.ExportSpec, handles []string, _ map[string]*store.Asset) (*jobs.Export, error) {
	f.prepared = append(f.prepared, spec)
	f.handles = append(f.handles, handles)
	return &jobs.Export{Spec: spec}, nil
}

func (f *fakeEngine) SubmitExport(_ context.Context, nj store.NewJob, _ *jobs.Export) (store.Job, error) {
	f.submitted = append(f.submitted, nj)
	return store.Job{Handle: fmt.Sprintf("j|1|%d", len(f.submitted))}, nil
}

func (f *fakeEngine) AddSchedule(_ context.Context, s store.Schedule, spec jobs.ScheduleSpec) (store.Schedule, error) {
	f.scheduled = append(f.scheduled, spec)
	s.Handle = "s|1|1"
	return s, nil
}

func (f *fakeEngine) Now() time.Time           { return time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC) }
func (f *fakeEngine) Location() *time.Location { return time.UTC }

func (f *fakeEngine) control(op string) error {
	f.controlled = append(f.controlled, op)
	return f.controlErr
}
func (f *fakeEngine) PauseJob(context.Context, store.Job) error   { return f.control("pause") }
func (f *fakeEngine) ResumeJob(context.Context, store.Job) error  { return f.control("resume") }
func (f *fakeEngine) StopJob(context.Context, store.Job) error    { return f.control("stop") }
func (f *fakeEngine) DeleteJob(context.Context, store.Job) error  { return f.control("delete") }
func (f *fakeEngine) ExecuteJob(context.Context, store.Job) error { return f.control("execute") }
func (f *fakeEngine) PauseSchedule(context.Context, store.Schedule) error {
	return f.control("pause schedule")
}
func (f *fakeEngine) ResumeSchedule(context.Context, store.Schedule) error {
	return f.control("resume schedule")
}
func (f *fakeEngine) ExecuteSchedule(context.Context, store.Schedule) (store.Job, error) {
	return store.Job{}, f.control("execute schedule")
}
func (f *fakeEngine) DeleteSchedule(context.Context, store.Schedule) error {
	return f.control("delete schedule")
}
func (f *fakeEngine) ArchiveURL(base string, j store.Job) string { return base + "/zip/" + j.Handle }
func (f *fakeEngine) FileURL(base string, j store.Job, path string) string {
	return base + "/file/" + j.Handle + "/" + path
}
func (f *fakeEngine) PublicURL() string { return "http://ips.test" }

// svcEnv is the service over the embedded store, with a fake engine.
type svcEnv struct {
	svc    *Service
	st     *sqlite.Store
	eng    *fakeEngine
	co     store.Company
	assets map[string]store.Asset // by file name
}

const ns = "http://www.scene7.com/IpsApi/xsd/2014-04-03"

func newSvcEnv(t *testing.T, cfg Config) *svcEnv {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "ipsd.db"))
	require.NoError(t, err)
	t.Cleanup(func() { st.Close() })
	require.NoError(t, st.Migrate(ctx))
	e := &svcEnv{st: st, eng: &fakeEngine{}, assets: map[string]store.Asset{}}
	cfg.Jobs = e.eng
	e.svc = New(st, slog.New(slog.NewTextHandler(io.Discard, nil)), cfg)

	e.co, err = st.CreateCompany(ctx, "Acme")
	require.NoError(t, err)
	hash, err := HashPassword("pw")
	require.NoError(t, err)
	u, err := st.CreateUser(ctx, store.NewUser{Email: "alice@acme.test", Role: store.RoleIpsUser, PasswordHash: hash})
	require.NoError(t, err)
	require.NoError(t, st.AddMembership(ctx, u.Handle, e.co.Handle))
	root, err := st.EnsureFolder(ctx, e.co.Handle, "")
	require.NoError(t, err)
	for i, name := range []string{"b.jpg", "a.jpg", "c.png", "set"} {
		typ := "Image"
		if name == "set" {
			typ = "ImageSet"
		}
		a, err := st.CreateAsset(ctx, store.NewAsset{CompanyHandle: e.co.Handle, FolderHandle: root.Handle,
			Name: strings.TrimSuffix(name, filepathExt(name)), FileName: name, Type: typ, Size: int64(i + 1)})
		require.NoError(t, err)
		e.assets[name] = a
	}
	_, err = st.SaveImageFormat(ctx, store.ImageFormat{CompanyHandle: e.co.Handle, Name: "web", URLModifier: "fmt=png&wid=10"})
	require.NoError(t, err)
	return e
}

func filepathExt(name string) string { return filepath.Ext(name) }

// call dispatches one operation as alice, the way the SOAP handler does.
func (e *svcEnv) call(t *testing.T, payload string) (any, error) {
	t.Helper()
	env := `<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Header>` +
		`<authHeader xmlns="` + ns + `"><user>alice@acme.test</user><password>pw</password></authHeader>` +
		`</soapenv:Header><soapenv:Body>` + payload + `</soapenv:Body></soapenv:Envelope>`
	req, err := soap.Parse([]byte(env), soap.DefaultLimits())
	require.NoError(t, err)
	return e.svc.Dispatch(context.Background(), req)
}

func (e *svcEnv) submit(t *testing.T, handles []string, exportFields string, extra string) (any, error) {
	var items strings.Builder
	for _, h := range handles {
		items.WriteString("<items>" + h + "</items>")
	}
	return e.call(t, `<submitJobParam xmlns="`+ns+`"><companyHandle>`+e.co.Handle+`</companyHandle><jobName>x</jobName>`+extra+
		`<exportJob><assetHandleArray>`+items.String()+`</assetHandleArray>`+exportFields+`</exportJob></submitJobParam>`)
}

// faultOf asserts err is a SOAP fault with code whose reason names want.
func faultOf(t *testing.T, err error, code int, want string) {
	t.Helper()
	f := soap.AsFault(err)
	require.NotNil(t, f, "want fault %d, got %v", code, err)
	assert.Equal(t, code, f.Code, f.Reason)
	assert.Contains(t, f.Reason, want)
}

func TestSubmitJobValidation(t *testing.T) {
	e := newSvcEnv(t, Config{MaxExportHandles: 5})
	a, b := e.assets["a.jpg"].Handle, e.assets["b.jpg"].Handle
	tests := []struct {
		name    string
		handles []string
		fields  string
		extra   string
		code    int    // 0: accepted
		reason  string // a fault's reason names this
	}{
		{"no handles", nil, `<fmt>orig</fmt>`, "", soap.CodeMissingParameter, "exportJob/assetHandleArray"},
		{"over the cap", []string{a, a, a, a, a, a}, `<fmt>orig</fmt>`, "", soap.CodeInvalidParameter, "more than the 5 allowed"},
		{"no fmt", []string{a}, ``, "", soap.CodeMissingParameter, "exportJob/fmt"},
		{"bad fmt", []string{a}, `<fmt>gif</fmt>`, "", soap.CodeInvalidParameter, "exportJob/fmt"},
		{"unknown handle", []string{a, "a|9|9"}, `<fmt>orig</fmt>`, "", soap.CodeInvalidParameter, "a|9|9 (no such asset)"},
		{"set", []string{e.assets["set"].Handle}, `<fmt>orig</fmt>`, "", soap.CodeInvalidParameter, "set type"},
		{"bad emailSetting", []string{a}, `<fmt>orig</fmt><emailSetting>Sometimes</emailSetting>`, "", soap.CodeInvalidParameter, "exportJob/emailSetting"},
		{"convert without a conversion", []string{a}, `<fmt>convert</fmt>`, "", soap.CodeMissingParameter, "exportJob/is_modifier or exportJob/macro"},
		{"bad is_modifier", []string{a}, `<fmt>convert</fmt><is_modifier>wid=-3</is_modifier>`, "", soap.CodeInvalidParameter, "exportJob/is_modifier"},
		{"unknown macro", []string{a}, `<fmt>convert</fmt><macro>$nope$</macro>`, "", soap.CodeInvalidParameter, "exportJob/macro"},
		{"rejected command", []string{a}, `<fmt>convert</fmt><is_modifier>text=hello</is_modifier>`, "", soap.CodeInvalidParameter, "not supported by this server"},
		{"time and schedule", []string{a}, `<fmt>orig</fmt>`, `<execTime>2031-01-01T00:00:00Z</execTime><execSchedule>0 0 0 * *</execSchedule>`, soap.CodeInvalidParameter, "execTime and execSchedule"},
		{"bad schedule", []string{a}, `<fmt>orig</fmt>`, `<execSchedule>every day</execSchedule>`, soap.CodeInvalidParameter, "execSchedule"},
		{"orig", []string{a, b, a}, `<fmt>ORIG</fmt>`, "", 0, ""},
		{"convert", []string{b}, `<fmt>convert</fmt><is_modifier>fmt=jpeg&amp;wid=5</is_modifier><macro>$web$</macro>`, "", 0, ""},
		{"schedule", []string{a}, `<fmt>orig</fmt>`, `<execSchedule>0 0 0 * *</execSchedule>`, 0, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := len(e.eng.submitted) + len(e.eng.scheduled)
			ret, err := e.submit(t, tc.handles, tc.fields, tc.extra)
			if tc.code != 0 {
				faultOf(t, err, tc.code, tc.reason)
				assert.Equal(t, before, len(e.eng.submitted)+len(e.eng.scheduled), "nothing submitted")
				return
			}
			require.NoError(t, err)
			assert.NotEmpty(t, ret.(*ipsapi.SubmitJobReturn).JobHandle)
			assert.Equal(t, before+1, len(e.eng.submitted)+len(e.eng.scheduled))
		})
	}
	// What reached the engine: the handles in order, with duplicates (a
	// job exports each occurrence), fmt lower-cased, and the conversion
	// resolved once with the macro's commands winning.
	require.Len(t, e.eng.prepared, 2)
	assert.Equal(t, []string{a, b, a}, e.eng.handles[0])
	assert.Equal(t, "orig", e.eng.prepared[0].Fmt)
	assert.Nil(t, e.eng.prepared[0].Conversion)
	conv := e.eng.prepared[1].Conversion
	require.NotNil(t, conv)
	assert.Equal(t, "png", conv.Format, "the macro's fmt wins")
	assert.Equal(t, ".png", conv.Ext)
	assert.Contains(t, conv.Modifier, "wid=10", "the macro's wid wins too")
	assert.NotContains(t, conv.Modifier, "$", "no macro left to look up")
	assert.Equal(t, "x_20300102T030405.000Z", e.eng.submitted[0].Name)
}

func TestSearchAssetsPagingAndSorting(t *testing.T) {
	e := newSvcEnv(t, Config{MaxPageSize: 2})
	search := func(t *testing.T, fields string) ([]string, int32, error) {
		ret, err := e.call(t, `<searchAssetsParam xmlns="`+ns+`"><companyHandle>`+e.co.Handle+`</companyHandle>`+fields+`</searchAssetsParam>`)
		if err != nil {
			return nil, 0, err
		}
		r := ret.(*ipsapi.SearchAssetsReturn)
		var names []string
		for _, a := range r.AssetArray.Items {
			names = append(names, a.FileName)
		}
		return names, r.TotalRows, nil
	}
	tests := []struct {
		name   string
		fields string
		want   []string
		code   int
		reason string
	}{
		{"first page, by name", ``, []string{"a.jpg", "b.jpg"}, 0, ""},
		{"second page", `<recordsPerPage>2</recordsPerPage><resultsPage>2</resultsPage>`, []string{"c.png", "set"}, 0, ""},
		{"descending", `<sortBy>Name</sortBy><sortDirection>Descending</sortDirection>`, []string{"set", "c.png"}, 0, ""},
		{"by size", `<sortBy>FileSize</sortBy><recordsPerPage>1</recordsPerPage>`, []string{"b.jpg"}, 0, ""},
		{"page too large", `<recordsPerPage>3</recordsPerPage>`, nil, soap.CodeInvalidParameter, "recordsPerPage"},
		{"page zero", `<resultsPage>-1</resultsPage>`, nil, soap.CodeInvalidParameter, "resultsPage"},
		{"unknown sort", `<sortBy>Colour</sortBy>`, nil, soap.CodeInvalidParameter, "sortBy"},
		{"unknown direction", `<sortDirection>Sideways</sortDirection>`, nil, soap.CodeInvalidParameter, "sortDirection"},
		{"unknown folder", `<folder>nowhere</folder>`, nil, soap.CodeInvalidParameter, "folder"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			names, total, err := search(t, tc.fields)
			if tc.code != 0 {
				faultOf(t, err, tc.code, tc.reason)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, names)
			assert.EqualValues(t, 4, total, "totalRows counts every match")
		})
	}
}

func TestJobLogsSortingAndControl(t *testing.T) {
	e := newSvcEnv(t, Config{})
	ctx := context.Background()
	made := map[string]store.Job{}
	for _, name := range []string{"b", "a", "c"} {
		j, err := e.st.CreateJob(ctx, store.NewJob{CompanyHandle: e.co.Handle, Type: store.JobTypeExport,
			Name: name + "_1", OriginalName: name, State: store.JobNew, Spec: []byte(`{"fmt":"orig"}`)},
			[]store.JobAsset{{AssetHandle: e.assets["a.jpg"].Handle, AssetName: "a", OutputPath: "a.jpg"}})
		require.NoError(t, err)
		made[name] = j
	}
	logs := func(t *testing.T, fields string) ([]string, error) {
		ret, err := e.call(t, `<getJobLogsParam xmlns="`+ns+`"><companyHandle>`+e.co.Handle+`</companyHandle>`+fields+`</getJobLogsParam>`)
		if err != nil {
			return nil, err
		}
		var names []string
		for _, l := range ret.(*ipsapi.GetJobLogsReturn).JobLogArray.Items {
			names = append(names, l.OriginalJobName)
		}
		return names, nil
	}
	for _, tc := range []struct {
		name, fields string
		want         []string
		reason       string
	}{
		{"newest first by default", ``, []string{"c", "a", "b"}, ""},
		{"by name", `<sortBy>JobName</sortBy><sortDirection>Ascending</sortDirection>`, []string{"a", "b", "c"}, ""},
		{"by name, limited", `<sortBy>JobName</sortBy><sortDirection>Descending</sortDirection><numRows>2</numRows>`, []string{"c", "b"}, ""},
		{"unknown sort field", `<sortBy>Size</sortBy>`, nil, "sortBy"},
		{"unknown direction", `<sortDirection>Up</sortDirection>`, nil, "sortDirection"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			names, err := logs(t, tc.fields)
			if tc.reason != "" {
				faultOf(t, err, soap.CodeInvalidParameter, tc.reason)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, names)
		})
	}

	// Fault mapping of the engine's answers to pauseJob.
	pause := func(t *testing.T, handle string) error {
		_, err := e.call(t, `<pauseJobParam xmlns="`+ns+`"><companyHandle>`+e.co.Handle+`</companyHandle><jobHandle>`+handle+`</jobHandle></pauseJobParam>`)
		return err
	}
	j := made["a"]
	e.eng.controlErr = nil
	require.NoError(t, pause(t, j.Handle))
	e.eng.controlErr = &jobs.TransitionError{Job: j.Handle, Event: jobs.EvPause, State: store.JobStopped}
	faultOf(t, pause(t, j.Handle), soap.CodeInvalidParameter, "job is Stopped, pauseJob does not apply")
	e.eng.controlErr = errors.New("database on fire")
	// A failure of the engine is not the client's: 30000, its cause not shown.
	faultOf(t, pause(t, j.Handle), soap.CodeException, "internal server error")
	faultOf(t, pause(t, "j|9|9"), soap.CodeInvalidParameter, "no such job")
	faultOf(t, pause(t, ""), soap.CodeMissingParameter, "jobHandle")
	assert.Equal(t, []string{"pause", "pause", "pause"}, e.eng.controlled, "unknown jobs never reach the engine")
}

func TestDispatchFaults(t *testing.T) {
	e := newSvcEnv(t, Config{})
	_, err := e.call(t, `<frobnicateParam xmlns="`+ns+`"/>`)
	faultOf(t, err, soap.CodeInvalidParameter, "frobnicate")

	req, perr := soap.Parse([]byte(`<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body>`+
		`<getFoldersParam xmlns="`+ns+`"><companyHandle>`+e.co.Handle+`</companyHandle></getFoldersParam></soapenv:Body></soapenv:Envelope>`), soap.DefaultLimits())
	require.NoError(t, perr)
	_, err = e.svc.Dispatch(context.Background(), req)
	faultOf(t, err, soap.CodeNoCredentials, "no credentials")

	_, err = e.call(t, `<getFoldersParam xmlns="`+ns+`"><companyHandle>c|999</companyHandle></getFoldersParam>`)
	faultOf(t, err, soap.CodeIllegalCompany, "c|999")
}

// TestRequestArrayCaps: every request array is bounded by MaxRequestItems
// (a fault naming the array), and lookups take each entry once.
func TestRequestArrayCaps(t *testing.T) {
	e := newSvcEnv(t, Config{MaxRequestItems: 3})
	a, b := e.assets["a.jpg"].Handle, e.assets["b.jpg"].Handle
	items := func(vs ...string) string {
		var sb strings.Builder
		for _, v := range vs {
			sb.WriteString("<items>" + v + "</items>")
		}
		return sb.String()
	}
	co := `<companyHandle>` + e.co.Handle + `</companyHandle>`
	for _, tc := range []struct {
		name, payload, field string
	}{
		{"getAssets", `<getAssetsParam xmlns="` + ns + `">` + co + `<assetHandleArray>` + items(a, a, b, b) + `</assetHandleArray></getAssetsParam>`, "assetHandleArray"},
		{"getAssetsByName", `<getAssetsByNameParam xmlns="` + ns + `">` + co + `<nameArray>` + items("a", "b", "c", "d") + `</nameArray></getAssetsByNameParam>`, "nameArray"},
		{"getAssetsByName types", `<getAssetsByNameParam xmlns="` + ns + `">` + co + `<nameArray>` + items("a") + `</nameArray><assetTypeArray>` + items("Image", "Image", "Image", "Image") + `</assetTypeArray></getAssetsByNameParam>`, "assetTypeArray"},
		{"deleteAssets", `<deleteAssetsParam xmlns="` + ns + `">` + co + `<assetHandleArray>` + items(a, b, a, b) + `</assetHandleArray></deleteAssetsParam>`, "assetHandleArray"},
		{"searchAssets", `<searchAssetsParam xmlns="` + ns + `">` + co + `<excludeAssetTypeArray>` + items("A", "B", "C", "D") + `</excludeAssetTypeArray></searchAssetsParam>`, "excludeAssetTypeArray"},
		{"getJobLogDetails", `<getJobLogDetailsParam xmlns="` + ns + `">` + co + `<jobHandle>j|1|1</jobHandle><logTypeArray>` + items("ExportSuccess", "ExportError", "ExportWarning", "ExportArchive") + `</logTypeArray></getJobLogDetailsParam>`, "logTypeArray"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.call(t, tc.payload)
			faultOf(t, err, soap.CodeInvalidParameter, tc.field+": 4 items, more than the 3 allowed")
		})
	}

	ret, err := e.call(t, `<getAssetsParam xmlns="`+ns+`">`+co+`<assetHandleArray>`+items(b, a, b)+`</assetHandleArray></getAssetsParam>`)
	require.NoError(t, err)
	var got []string
	for _, as := range ret.(*ipsapi.GetAssetsReturn).AssetArray.Items {
		got = append(got, as.AssetHandle)
	}
	assert.Equal(t, []string{b, a}, got, "each asset once, in the order first asked")

	ret, err = e.call(t, `<deleteAssetsParam xmlns="`+ns+`">`+co+`<assetHandleArray>`+items(a, a, "a|9|9")+`</assetHandleArray></deleteAssetsParam>`)
	require.NoError(t, err)
	del := ret.(*ipsapi.DeleteAssetsReturn)
	assert.EqualValues(t, 1, del.SuccessCount, "a handle named twice is deleted once")
	assert.EqualValues(t, 1, del.ErrorCount, "the unknown handle")
}
