package app

import (
	"bytes"
	"context"
	"fmt"
	"mime"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ipsexport/ipsd/internal/catalog"
	"github.com/ipsexport/ipsd/internal/notify"
	"github.com/ipsexport/ipsd/internal/notify/smtptest"
	"github.com/ipsexport/ipsd/internal/store"
)

// mailJob imports a convertible image, a text file (exported as original
// with a warning) and an image whose stored file is gone (an error).
func mailJob(t *testing.T, e *env) []string {
	t.Helper()
	ctx := context.Background()
	im := &catalog.Importer{Store: e.app.Store, Blob: e.app.Blob}
	good, err := im.Import(ctx, catalog.File{CompanyHandle: e.acme.Handle, FileName: "good.png", Body: bytes.NewReader(gradientPNG(t, 40, 30))})
	require.NoError(t, err)
	text, err := im.Import(ctx, catalog.File{CompanyHandle: e.acme.Handle, FileName: "readme.txt", Body: strings.NewReader("not an image")})
	require.NoError(t, err)
	lost, err := im.Import(ctx, catalog.File{CompanyHandle: e.acme.Handle, FileName: "lost.png", Body: bytes.NewReader(gradientPNG(t, 40, 30))})
	require.NoError(t, err)
	require.NoError(t, e.app.Blob.Delete(ctx, lost.StorageKey))
	return []string{good.Handle, text.Handle, lost.Handle}
}

func subject(t *testing.T, m smtptest.Message) string {
	s, err := new(mime.WordDecoder).DecodeHeader(m.Header().Get("Subject"))
	require.NoError(t, err)
	return s
}

func TestJobMailBySMTP(t *testing.T) {
	smtpd := smtptest.Start(t)
	e := newEnv(t, "", func(c *Config) {
		c.SMTP = &notify.SMTPSender{Addr: smtpd.Addr, From: "ipsd@export.test", TLS: notify.TLSNone}
	})
	handles := mailJob(t, e)
	tests := []struct {
		setting  string
		subjects []string // in order of sending; "" matches any
	}{
		{"None", nil},
		{"JobCompletion", []string{"completed"}},
		{"Error", []string{"completed"}},
		{"ErrorAndWarning", []string{"completed"}},
		{"All", []string{"started", "", "", "completed"}},
	}
	seen := 0
	for _, tc := range tests {
		t.Run(tc.setting, func(t *testing.T) {
			name := "mail-" + tc.setting
			e.submit(name, handles, `<fmt>convert</fmt><is_modifier>wid=20&amp;fmt=jpeg</is_modifier><emailSetting>`+tc.setting+`</emailSetting>`)
			_, root := e.awaitArchive(name)
			log := root.at("jobLogArray", "items")[0]
			assert.Equal(t, "3", log.text("totalFileCount"))
			assert.Equal(t, "2", log.text("fileSuccessCount"))
			assert.Equal(t, "1", log.text("fileWarningCount"))
			assert.Equal(t, "1", log.text("fileErrorCount"))
			// The completion mail is sent before the job is seen ended.
			msgs := smtpd.Wait(seen+len(tc.subjects), 10*time.Second)[seen:]
			seen += len(msgs)
			require.Len(t, msgs, len(tc.subjects))
			for i, m := range msgs {
				assert.Equal(t, []string{"alice@acme.test"}, m.To)
				s := subject(t, m)
				assert.Contains(t, s, name)
				assert.Contains(t, strings.ToLower(s), tc.subjects[i])
			}
			if n := len(msgs); n > 0 {
				last := string(msgs[n-1].Data)
				assert.Contains(t, last, "/scene7/export/", "the completion mail links the zip")
				assert.Contains(t, last, "lost", "and names the failure")
			}
		})
	}

	t.Run("userHandle and locale", func(t *testing.T) {
		status, _, resp := e.post(soapPath, soapCall(authU("alice@acme.test"), `<submitJobParam xmlns="`+ns14+`"><companyHandle>`+e.acme.Handle+`</companyHandle><userHandle>`+e.viewer.Handle+`</userHandle><jobName>mail-de</jobName><locale>de-DE</locale><exportJob><assetHandleArray><items>`+handles[0]+`</items></assetHandleArray><fmt>orig</fmt><emailSetting>JobCompletion</emailSetting></exportJob></submitJobParam>`), nil)
		require.Equal(t, 200, status, resp)
		e.awaitArchive("mail-de")
		msgs := smtpd.Wait(seen+1, 10*time.Second)[seen:]
		require.Len(t, msgs, 1)
		assert.Equal(t, []string{"viewer@acme.test"}, msgs[0].To)
		assert.Contains(t, subject(t, msgs[0]), "abgeschlossen")
	})
}

func TestJobMailSpooledWithoutSMTP(t *testing.T) {
	e := newEnv(t, "")
	handles := mailJob(t, e)
	e.submit("spooled", handles[:1], `<fmt>orig</fmt><emailSetting>JobCompletion</emailSetting>`)
	e.awaitArchive("spooled")
	dir := filepath.Join(e.app.dataDir, "mail")
	var files []string
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline) && len(files) == 0; time.Sleep(20 * time.Millisecond) {
		files, _ = filepath.Glob(filepath.Join(dir, "*.eml"))
	}
	require.Len(t, files, 1)
	b, err := os.ReadFile(files[0])
	require.NoError(t, err)
	assert.Contains(t, string(b), "To: <alice@acme.test>")
	assert.Contains(t, string(b), "spooled")
}

func TestExportRetention(t *testing.T) {
	e := newEnv(t, "", func(c *Config) { c.Retention = 3 * time.Second })
	job := e.submit("short", e.handles("/hero.png"), `<fmt>orig</fmt>`)
	zipURL, _ := e.awaitArchive("short")
	status, _ := fetch(t, zipURL, "")
	require.Equal(t, 200, status)
	j, err := e.app.Store.JobByHandle(context.Background(), e.acme.Handle, job)
	require.NoError(t, err)
	time.Sleep(time.Until(j.Expires) + 100*time.Millisecond)
	require.NoError(t, e.app.Jobs.Tick(context.Background()))
	jobs, err := e.app.Store.ListJobs(context.Background(), store.JobQuery{CompanyHandle: e.acme.Handle})
	require.NoError(t, err)
	require.Len(t, jobs, 1)
	assert.True(t, jobs[0].Purged)
	status, _ = fetch(t, zipURL, "")
	assert.Equal(t, 403, status, "the signed link has expired too")
	// No file of the job is left in storage.
	left, _ := filepath.Glob(filepath.Join(e.app.dataDir, "files", "exports", "*", "*"))
	assert.Empty(t, left)
}

// Upload jobs mail through the same SMTP as exports, in their own words:
// All sends the start, each refused file and the end; JobCompletion the
// end only. No zip link: nothing was exported.
func TestUploadJobMailBySMTP(t *testing.T) {
	smtpd := smtptest.Start(t)
	e := newEnv(t, "", func(c *Config) {
		c.SMTP = &notify.SMTPSender{Addr: smtpd.Addr, From: "ipsd@export.test", TLS: notify.TLSNone}
	})
	photo := string(gradientPNG(t, 40, 30))
	upload := func(name, setting string, overwrite bool) {
		t.Helper()
		params := `<uploadPostParam xmlns="` + ns14 + `"><companyHandle>` + e.acme.Handle + `</companyHandle><jobName>` + name + `</jobName>` +
			`<endJob>true</endJob><uploadParams><overwrite>` + fmt.Sprint(overwrite) + `</overwrite><emailSetting>` + setting + `</emailSetting></uploadParams></uploadPostParam>`
		status, resp := e.uploadPOST(params, [][2]string{{"shelf/photo.png", photo}, {"shelf/other.png", photo}})
		require.Equal(t, 200, status, resp)
	}

	upload("up-completion", "JobCompletion", true)
	msgs := smtpd.Wait(1, 10*time.Second)
	require.Len(t, msgs, 1)
	assert.Equal(t, []string{"alice@acme.test"}, msgs[0].To)
	assert.Equal(t, `IPS upload job "up-completion" completed`, subject(t, msgs[0]))
	body := string(msgs[0].Data)
	assert.Contains(t, body, "Uploaded: 2")
	assert.NotContains(t, body, "/scene7/export/")

	// The same files again without overwrite: both refused.
	upload("up-all", "All", false)
	msgs = smtpd.Wait(5, 10*time.Second)[1:]
	require.Len(t, msgs, 4)
	var subjects []string
	for _, m := range msgs {
		subjects = append(subjects, subject(t, m))
	}
	assert.Equal(t, []string{
		`IPS upload job "up-all" started`,
		`IPS upload job "up-all": a file failed`,
		`IPS upload job "up-all": a file failed`,
		`IPS upload job "up-all" completed with errors`,
	}, subjects)
	assert.Contains(t, string(msgs[3].Data), "already has this name", "the end lists why")
}
