package app

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ipsexport/ipsd/internal/catalog"
	"github.com/ipsexport/ipsd/internal/ipsapi"
)

// Real SOAP toolkits follow an export end to end through the served WSDL:
// saveImageFormat, submitJob (orig and convert with is_modifier + macro),
// getActiveJobs / getJobLogDetails(originalName) polling until the
// ExportArchive link appears, a GET of that link with no credentials, and
// getJobLogs for the counts. Scripts: testdata/interop/*_export.*.

// exportSource is an asset seeded for the export tests, with its bytes.
type exportSource struct {
	key   string // e.assets key: folder + "/" + file name
	entry string // its path inside an orig export's zip
	body  []byte
}

// exportFixture adds a real JPEG (400×300) and a wide PNG (320×80) under
// photos/ to newEnv's three tiny PNGs, and names the orig sources.
func exportFixture(t *testing.T, e *env) []exportSource {
	t.Helper()
	photo := gradientJPEG(t, 400, 300)
	wide := gradientPNG(t, 320, 80)
	im := &catalog.Importer{Store: e.app.Store, Blob: e.app.Blob}
	for _, f := range []struct {
		name string
		body []byte
	}{{"photo.jpg", photo}, {"wide.png", wide}} {
		a, err := im.Import(context.Background(), catalog.File{CompanyHandle: e.acme.Handle, FolderPath: "photos", FileName: f.name, Body: bytes.NewReader(f.body)})
		require.NoError(t, err)
		e.assets["photos/"+f.name] = a
	}
	tiny := tinyPNG(t)
	return []exportSource{
		{"/hero.png", "hero.png", tiny},
		{"shoes/boot.png", "shoes/boot.png", tiny},
		{"shoes/red/boot.png", "shoes/red/boot.png", tiny},
		{"photos/photo.jpg", "photos/photo.jpg", photo},
	}
}

func gradientJPEG(t *testing.T, w, h int) []byte {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.Set(x, y, color.RGBA{uint8(x * 255 / w), 64, uint8(y * 255 / h), 255})
		}
	}
	var b bytes.Buffer
	require.NoError(t, jpeg.Encode(&b, img, &jpeg.Options{Quality: 90}))
	return b.Bytes()
}

// conversion is what one toolkit asks of its convert export and what must
// come out: the macro's fmt wins over is_modifier's (docs/exports.md, "Conversion"), and a lone
// wid or hei keeps the aspect ratio.
type conversion struct {
	macro, isModifier string
	format            string            // magic-byte format of every output
	sizes             map[string][2]int // zip entry → width, height
}

// exportToolkit runs one toolkit's export script with a JSON config.
type exportToolkit struct {
	name string
	cmd  func(ctx context.Context, config string) *exec.Cmd
	conv conversion
}

func exportToolkits(t *testing.T) []exportToolkit {
	dir := filepath.Join(repoRoot(t), "testdata", "interop")
	return []exportToolkit{
		{"zeep", func(ctx context.Context, c string) *exec.Cmd {
			// Debian's python3 has zeep; the first python3 on PATH may not.
			return exec.CommandContext(ctx, "/usr/bin/python3", filepath.Join(dir, "zeep_export.py"), c)
		}, conversion{"fmt=png&wid=200", "fmt=jpeg&qlt=90", "png",
			map[string][2]int{"photos/photo.png": {200, 150}, "photos/wide.png": {200, 50}}}},
		{"php", func(ctx context.Context, c string) *exec.Cmd {
			return exec.CommandContext(ctx, "php", filepath.Join(dir, "php_export.php"), c)
		}, conversion{"fmt=jpeg&wid=100", "fmt=png", "jpeg",
			map[string][2]int{"photos/photo.jpg": {100, 75}, "photos/wide.jpg": {100, 25}}}},
		{"node-soap", func(ctx context.Context, c string) *exec.Cmd {
			cmd := exec.CommandContext(ctx, "node", filepath.Join(dir, "node_export.js"), c)
			cmd.Env = append(os.Environ(), "NODE_PATH="+nodeModules(t))
			return cmd
		}, conversion{"fmt=tif&hei=60", "fmt=jpeg", "tiff",
			map[string][2]int{"photos/photo.tiff": {80, 60}, "photos/wide.tiff": {240, 60}}}},
	}
}

type zipEntryReport struct {
	Name   string `json:"name"`
	Size   int    `json:"size"`
	SHA256 string `json:"sha256"`
	Head   string `json:"head"`
	Format string `json:"format"`
}

type exportJobReport struct {
	JobName        string           `json:"jobName"`
	JobHandle      string           `json:"jobHandle"`
	ActiveStates   []string         `json:"activeStates"`
	Polls          int              `json:"polls"`
	DetailTypes    []string         `json:"detailTypes"`
	ZipURL         string           `json:"zipURL"`
	DownloadStatus int              `json:"downloadStatus"`
	ZipPath        string           `json:"zipPath"`
	ZipReader      string           `json:"zipReader"`
	Entries        []zipEntryReport `json:"entries"`
	Log            *struct {
		JobHandle        string `json:"jobHandle"`
		LogType          string `json:"logType"`
		TotalFileCount   int    `json:"totalFileCount"`
		FileSuccessCount int    `json:"fileSuccessCount"`
		FileErrorCount   int    `json:"fileErrorCount"`
		FileWarningCount int    `json:"fileWarningCount"`
	} `json:"log"`
}

type exportReport struct {
	CompanyHandle  string          `json:"companyHandle"`
	MacroHandle    string          `json:"macroHandle"`
	ConvertHandles []string        `json:"convertHandles"`
	Orig           exportJobReport `json:"orig"`
	Convert        exportJobReport `json:"convert"`
}

func sha256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// checkJobReport checks what every toolkit must see of a finished job, reads
// the zip the script saved, and checks that the script listed it as Go does.
func checkJobReport(t *testing.T, e *env, r exportJobReport, handles int) map[string][]byte {
	t.Helper()
	assert.NotEmpty(t, r.JobHandle, "submitJob answered a jobHandle")
	assert.GreaterOrEqual(t, r.Polls, 1)
	for _, s := range r.ActiveStates {
		assert.Contains(t, []string{"New", "Running", "WaitingClient", "Stopping"}, s)
	}
	assert.True(t, strings.HasPrefix(r.ZipURL, e.srv.URL+"/"), "absolute link on the server reached: %s", r.ZipURL)
	assert.Equal(t, 200, r.DownloadStatus, "the link is fetched without credentials")
	want := append([]string{"BeginExport", "OriginalJobName", "JobClient", "JobType", "TotalFileCount"},
		slices.Repeat([]string{"ExportSuccess"}, handles)...)
	assert.Equal(t, append(want, "EndExport", "ExportArchive"), r.DetailTypes)
	if assert.NotNil(t, r.Log, "getJobLogs lists job %s", r.JobHandle) {
		assert.Equal(t, r.JobHandle, r.Log.JobHandle)
		assert.Equal(t, "EndExport", r.Log.LogType)
		assert.Equal(t, handles, r.Log.TotalFileCount, "totalFileCount = number of handles")
		assert.Equal(t, r.Log.TotalFileCount, r.Log.FileSuccessCount+r.Log.FileErrorCount, "success + error = total")
		assert.Equal(t, 0, r.Log.FileErrorCount)
	}
	raw, err := os.ReadFile(r.ZipPath)
	require.NoError(t, err)
	files := unzip(t, raw)
	got := map[string]zipEntryReport{}
	for _, en := range r.Entries {
		got[en.Name] = en
	}
	assert.Len(t, r.Entries, len(files), "the script saw every entry")
	for name, b := range files {
		en, ok := got[name]
		if assert.True(t, ok, "script missed %s", name) {
			assert.Equal(t, len(b), en.Size, name)
			assert.Equal(t, sha256Hex(b), en.SHA256, name)
			n := min(16, len(b))
			assert.Equal(t, hex.EncodeToString(b[:n]), en.Head, name)
		}
	}
	return files
}

// imageSize reads a PNG's or JPEG's size with the standard library, and a
// TIFF's from its first IFD.
func imageSize(t *testing.T, format string, b []byte) (int, int) {
	t.Helper()
	switch format {
	case "png":
		c, err := png.DecodeConfig(bytes.NewReader(b))
		require.NoError(t, err)
		_, err = png.Decode(bytes.NewReader(b))
		require.NoError(t, err, "the whole PNG decodes")
		return c.Width, c.Height
	case "jpeg":
		img, err := jpeg.Decode(bytes.NewReader(b))
		require.NoError(t, err)
		return img.Bounds().Dx(), img.Bounds().Dy()
	case "tiff":
		return tiffSize(t, b)
	}
	t.Fatalf("no decoder for %s", format)
	return 0, 0
}

func magicFormat(b []byte) string {
	switch {
	case bytes.HasPrefix(b, []byte("\x89PNG\r\n\x1a\n")):
		return "png"
	case bytes.HasPrefix(b, []byte{0xff, 0xd8, 0xff}):
		return "jpeg"
	case bytes.HasPrefix(b, []byte("II*\x00")), bytes.HasPrefix(b, []byte("MM\x00*")):
		return "tiff"
	}
	return "unknown"
}

func runExportToolkit(t *testing.T, e *env, tk exportToolkit, v ipsapi.Version, sources []exportSource) {
	t.Helper()
	var origHandles []string
	for _, s := range sources {
		origHandles = append(origHandles, e.assets[s.key].Handle)
	}
	prefix := tk.name + "-" + v.Name
	macro := prefix + "-export"
	cfg, err := json.Marshal(map[string]any{
		"wsdl": e.srv.URL + "/scene7/webservice/" + v.WSDLFile, "ns": v.Namespace,
		"user": "alice@acme.test", "password": password, "company": "Acme",
		"origHandles": origHandles, "convertNames": []string{"photo", "wide"},
		"macro":      map[string]string{"name": macro, "urlModifier": tk.conv.macro},
		"isModifier": tk.conv.isModifier, "jobPrefix": prefix, "outDir": t.TempDir(),
	})
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	out, err := tk.cmd(ctx, string(cfg)).Output()
	var stderr []byte
	if ee, ok := err.(*exec.ExitError); ok {
		stderr = ee.Stderr
	}
	require.NoError(t, err, "%s: %s\n%s", tk.name, out, stderr)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("%s printed: %s", tk.name, out)
		}
	})
	var r exportReport
	require.NoError(t, json.Unmarshal(out, &r), string(out))

	assert.Equal(t, e.acme.Handle, r.CompanyHandle)
	assert.NotEmpty(t, r.MacroHandle, "saveImageFormat answered a handle")
	fs, err := e.app.Store.ImageFormats(t.Context(), e.acme.Handle)
	require.NoError(t, err)
	var saved string
	for _, f := range fs {
		if f.Name == macro {
			saved = f.URLModifier
		}
	}
	assert.Equal(t, tk.conv.macro, saved, "the macro was saved through the toolkit")
	assert.ElementsMatch(t, e.handles("photos/photo.jpg", "photos/wide.png"), r.ConvertHandles, "getAssetsByName found the convert sources")

	t.Run("orig", func(t *testing.T) {
		files := checkJobReport(t, e, r.Orig, len(sources))
		assert.Len(t, files, len(sources))
		for _, s := range sources {
			b, ok := files[s.entry]
			if assert.True(t, ok, "%s in %v", s.entry, keys(files)) {
				assert.Equal(t, sha256Hex(s.body), sha256Hex(b), "%s byte-identical", s.entry)
			}
		}
		for _, en := range r.Orig.Entries {
			assert.Equal(t, magicFormat(files[en.Name]), en.Format, en.Name)
		}
	})
	t.Run("convert", func(t *testing.T) {
		files := checkJobReport(t, e, r.Convert, 2)
		assert.Len(t, files, len(tk.conv.sizes), "files: %v", keys(files))
		for name, size := range tk.conv.sizes {
			b, ok := files[name]
			if !assert.True(t, ok, "%s in %v", name, keys(files)) {
				continue
			}
			assert.Equal(t, tk.conv.format, magicFormat(b), "%s: the macro's fmt wins", name)
			w, h := imageSize(t, tk.conv.format, b)
			assert.Equal(t, size, [2]int{w, h}, name)
		}
		for _, en := range r.Convert.Entries {
			assert.Equal(t, tk.conv.format, en.Format, "the script sniffed %s", en.Name)
		}
	})
}

// TestInteropExport: zeep, PHP SoapClient and node-soap each follow an orig
// and a convert export, in every served version on SQLite and in one on
// PostgreSQL.
func TestInteropExport(t *testing.T) {
	if testing.Short() {
		t.Skip("starts external SOAP toolkits")
	}
	for _, db := range testDatabases(t) {
		t.Run(db.name, func(t *testing.T) {
			e := newEnv(t, db.url(t), func(c *Config) { c.Workers = 4 })
			sources := exportFixture(t, e)
			versions := ipsapi.Versions
			if db.name != "sqlite" {
				versions = []ipsapi.Version{mustVersion(t, "2014-04-03")}
			}
			for _, tk := range exportToolkits(t) {
				t.Run(tk.name, func(t *testing.T) {
					t.Parallel()
					for _, v := range versions {
						t.Run(v.Name, func(t *testing.T) { runExportToolkit(t, e, tk, v, sources) })
					}
				})
			}
		})
	}
}

func mustVersion(t *testing.T, name string) ipsapi.Version {
	for _, v := range ipsapi.Versions {
		if v.Name == name {
			return v
		}
	}
	t.Fatalf("no version %s", name)
	return ipsapi.Version{}
}
