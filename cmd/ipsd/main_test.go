package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ipsexport/ipsd/internal/blob/s3blob/s3test"
	"github.com/ipsexport/ipsd/internal/testpg"
)

// pg is a real PostgreSQL (testpg), s3srv a real S3-compatible server
// (versitygw), each started by the first test that needs it.
var (
	pg    lazy[*testpg.Server]
	s3srv lazy[*s3test.Server]
)

type lazy[T interface{ Stop() error }] struct {
	once sync.Once
	v    T
	err  error
}

func (l *lazy[T]) get(t *testing.T, start func(context.Context) (T, error)) T {
	t.Helper()
	l.once.Do(func() { l.v, l.err = start(context.Background()) })
	if l.err != nil {
		t.Fatal(l.err)
	}
	return l.v
}

func (l *lazy[T]) stop() error {
	var zero T
	if any(l.v) == any(zero) {
		return nil
	}
	return l.v.Stop()
}

func postgresURL(t *testing.T) string      { return pg.get(t, testpg.Start).NewDatabase(t) }
func s3Server(t *testing.T) *s3test.Server { return s3srv.get(t, s3test.Start) }

func TestMain(m *testing.M) {
	code := m.Run()
	if err := errors.Join(pg.stop(), s3srv.stop()); err != nil {
		fmt.Fprintln(os.Stderr, err)
		if code == 0 {
			code = 1
		}
	}
	os.Exit(code)
}

// ipsd runs the command in-process and returns its exit code and output.
func ipsd(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := run(context.Background(), args, &out, &errOut)
	return code, out.String(), errOut.String()
}

func writePNG(t *testing.T, path string) {
	img := image.NewNRGBA(image.Rect(0, 0, 16, 9))
	for i := range img.Pix {
		img.Pix[i] = 200
	}
	img.SetNRGBA(0, 0, color.NRGBA{1, 2, 3, 255})
	var b bytes.Buffer
	require.NoError(t, png.Encode(&b, img))
	require.NoError(t, os.WriteFile(path, b.Bytes(), 0o644))
}

func TestAdminCLI(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	photo := filepath.Join(dir, "photo.png")
	writePNG(t, photo)
	text := filepath.Join(dir, "notes.pdf")
	require.NoError(t, os.WriteFile(text, []byte("%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"), 0o644))
	icc := filepath.Join(dir, "profile.icc")
	header := make([]byte, 128)
	copy(header[36:], "acsp")
	require.NoError(t, os.WriteFile(icc, header, 0o644))

	handle := regexp.MustCompile(`^[A-Za-z0-9|_.-]+\n$`)
	steps := []struct {
		args []string
		code int
		out  *regexp.Regexp // stdout must match
		err  string         // stderr must contain
	}{
		{[]string{"migrate"}, 0, regexp.MustCompile(`^migrated\n$`), ""},
		{[]string{"admin", "company", "add", "Acme"}, 0, handle, ""},
		{[]string{"admin", "company", "add", "acme"}, 1, regexp.MustCompile(`^$`), "already exists"},
		{[]string{"admin", "user", "add", "--email", "a@acme.test", "--password", "pw-123456", "--role", "IpsUser", "--company", "Acme"}, 0, handle, ""},
		{[]string{"admin", "user", "add", "--email", "b@acme.test", "--password", "pw", "--role", "Wizard"}, 2, regexp.MustCompile(`^$`), "unknown role"},
		{[]string{"admin", "asset", "import", "--company", "Acme", "--folder", "shoes/red", photo, text}, 0,
			regexp.MustCompile(`^[^\t]+\tphoto\tImage\n[^\t]+\tnotes\tPdf\n$`), ""},
		{[]string{"admin", "asset", "import", "--company", "Nope", photo}, 1, regexp.MustCompile(`^$`), "Nope"},
		{[]string{"admin", "format", "set", "--company", "Acme", "thumb", "wid=100&fmt=jpeg"}, 0, handle, ""},
		{[]string{"admin", "format", "set", "--company", "Acme", "broken", "wid=abc"}, 1, regexp.MustCompile(`^$`), "wid"},
		{[]string{"admin", "company", "set-defaults", "--company", "acme", "--jpeg-quality", "85", "--background", "ffffff",
			"--resample", "bilin", "--icc-rgb", "AdobeRGB", "--icc-cmyk", "CoatedFogra39", "--default-pix", "800,600"}, 0,
			regexp.MustCompile(`^JpegQuality\t85\nBkgColor\tffffff\nResMode\tbilin\nIccProfileRgb\tAdobeRGB\nIccProfileCmyk\tCoatedFogra39\nDefaultPix\t800,600\n$`), ""},
		{[]string{"admin", "company", "set-defaults", "--company", "Acme", "--icc-rgb", "", "--jpeg-quality", "90,1"}, 0,
			regexp.MustCompile(`(?s)^JpegQuality\t90,1\n.*IccProfileRgb\t-\nIccProfileCmyk\tCoatedFogra39\n`), ""},
		{[]string{"admin", "company", "set-defaults", "--company", "Acme", "--default-pix", "800"}, 1, regexp.MustCompile(`^$`), "DefaultPix"},
		{[]string{"admin", "company", "set-defaults", "--company", "Acme"}, 2, regexp.MustCompile(`^$`), "no default given"},
		{[]string{"admin", "company", "show", "Acme"}, 0,
			regexp.MustCompile(`^companyHandle\tc\|1\nname\tAcme\nJpegQuality\t90,1\n(?s:.*)DefaultPix\t800,600\n$`), ""},
		{[]string{"admin", "icc", "add", "press", icc}, 0, regexp.MustCompile(`^press\t.*press\.icc\n$`), ""},
		{[]string{"admin", "icc", "add", "bad", photo}, 1, regexp.MustCompile(`^$`), "not an ICC profile"},
		{[]string{"admin", "frobnicate", "now"}, 2, regexp.MustCompile(`^$`), "unknown admin command"},
		{[]string{"nonsense"}, 2, regexp.MustCompile(`^$`), "unknown command"},
	}
	for _, s := range steps {
		args := append([]string{"--data", data}, s.args...)
		code, out, errOut := ipsd(t, args...)
		assert.Equal(t, s.code, code, "%v: %s", s.args, errOut)
		assert.Regexp(t, s.out, out, "%v", s.args)
		assert.Contains(t, errOut, s.err, "%v", s.args)
	}

	// A set of the imported assets, by handle.
	_, out, _ := ipsd(t, "--data", data, "admin", "asset", "import", "--company", "Acme", photo)
	member := strings.Split(out, "\t")[0]
	code, out, errOut := ipsd(t, "--data", data, "admin", "set", "add", "--company", "Acme", "--type", "ImageSet", "--name", "look", member)
	assert.Equal(t, 0, code, errOut)
	assert.Regexp(t, handle, out)
	code, _, errOut = ipsd(t, "--data", data, "admin", "set", "add", "--company", "Acme", "--type", "ImageSet", "--name", "ghost", "a|9|9")
	assert.Equal(t, 1, code)
	assert.Contains(t, errOut, "a|9|9")

	// The environment selects the data directory too.
	t.Setenv("IPSD_DATA", data)
	code, out, _ = ipsd(t, "admin", "company", "add", "Globex")
	assert.Equal(t, 0, code)
	assert.Regexp(t, handle, out)
}

func TestDemoSeedsOnce(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	code, out, errOut := ipsd(t, "--data", data, "admin", "demo", "--if-new")
	require.Equal(t, 0, code, errOut)
	assert.Contains(t, out, "demo login: user demo@example.com, password demo-password")
	assert.Equal(t, 4, strings.Count(out, "\n"), "three images and the login")
	code, out, _ = ipsd(t, "--data", data, "admin", "demo", "--if-new")
	assert.Equal(t, 0, code)
	assert.Equal(t, 1, strings.Count(out, "\n"), "only the login the second time")
}
