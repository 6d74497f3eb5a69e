package notify

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"mime"
	"mime/quotedprintable"
	"net/mail"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestPolicy(t *testing.T) {
	// Each row: for one setting and event, the answer for
	// (hadErrors, hadWarnings) = (f,f), (f,t), (t,f), (t,t).
	type flags [4]bool
	const T, F = true, false
	tests := []struct {
		setting string
		event   Event
		want    flags
	}{
		{"All", Started, flags{T, T, T, T}},
		{"All", AssetError, flags{T, T, T, T}},
		{"All", AssetWarning, flags{T, T, T, T}},
		{"All", Completed, flags{T, T, T, T}},

		{"Error", Started, flags{F, F, F, F}},
		{"Error", AssetError, flags{F, F, F, F}}, // once at completion, not per asset
		{"Error", AssetWarning, flags{F, F, F, F}},
		{"Error", Completed, flags{F, F, T, T}},

		{"ErrorAndWarning", Started, flags{F, F, F, F}},
		{"ErrorAndWarning", AssetError, flags{F, F, F, F}},
		{"ErrorAndWarning", AssetWarning, flags{F, F, F, F}},
		{"ErrorAndWarning", Completed, flags{F, T, T, T}},

		{"JobCompletion", Started, flags{F, F, F, F}},
		{"JobCompletion", AssetError, flags{F, F, F, F}},
		{"JobCompletion", AssetWarning, flags{F, F, F, F}},
		{"JobCompletion", Completed, flags{T, T, T, T}},

		{"None", Started, flags{F, F, F, F}},
		{"None", AssetError, flags{F, F, F, F}},
		{"None", AssetWarning, flags{F, F, F, F}},
		{"None", Completed, flags{F, F, F, F}},

		// A missing emailSetting means None; unknown ones never send.
		{"", Completed, flags{F, F, F, F}},
		{"Always", Completed, flags{F, F, F, F}},
		// Case and surrounding space do not matter.
		{"jobcompletion", Completed, flags{T, T, T, T}},
		{" ERRORANDWARNING ", Completed, flags{F, T, T, T}},
		{"all", AssetWarning, flags{T, T, T, T}},
		// An invalid event never sends.
		{"All", Event(0), flags{F, F, F, F}},
		{"All", Event(99), flags{F, F, F, F}},
	}
	for _, tc := range tests {
		for i, f := range [][2]bool{{false, false}, {false, true}, {true, false}, {true, true}} {
			t.Run(fmt.Sprintf("%s/%s/errors=%v,warnings=%v", tc.setting, tc.event, f[0], f[1]), func(t *testing.T) {
				assert.Equal(t, tc.want[i], Policy(tc.setting, tc.event, f[0], f[1]))
			})
		}
	}
}

func TestLanguage(t *testing.T) {
	tests := map[string]string{
		"en": "en", "en-US": "en", "de": "de", "de-DE": "de", "de_AT": "de", "DE-ch": "de",
		"fr": "fr", "fr-CA": "fr", "es-ES": "es", "es_MX": "es", "ja": "ja", "ja-JP": "ja", "ja_JP.UTF-8": "ja",
		"": "en", "pt-BR": "en", "zh-Hans-CN": "en", "x": "en", "../de": "en", "de/../fr": "en", "deu": "en",
	}
	for in, want := range tests {
		assert.Equal(t, want, Language(in), in)
	}
	assert.ElementsMatch(t, []string{"de", "en", "es", "fr", "ja"}, Languages())
}

func summary(locale string, e Event) JobSummary {
	return JobSummary{
		JobName: "spring-catalog", JobHandle: "acme|J42", CompanyName: "Acme Corp", Locale: locale,
		Event: e, Total: 120, Succeeded: 117, Warnings: 4, Errors: 3,
		ZipURL:      "https://ips.example.com/scene7/export/acme%7CJ42.zip?expires=1796000000&sig=AbCdEfGhIjKlMnOpQrStUvWxYz0123456789-_AbCdE",
		LinkExpires: time.Date(2026, 12, 5, 10, 30, 0, 0, time.UTC),
		Messages:    []string{"shoe-01.tif: unsupported fmt pdf", "shoe-02.jpg: icc profile 'x' unknown"},
	}
}

// Every language renders every event with the job, the counts and the
// link; the wording differs per language and per event.
func TestComposeAllLanguagesAllEvents(t *testing.T) {
	words := map[string]struct{ subject, body []string }{
		"en": {[]string{"started", "an asset failed", "asset warning", "completed with errors"}, []string{"Hello", "Exported:", "Download all exported files"}},
		"de": {[]string{"gestartet", "Fehler bei einem Asset", "Warnung zu einem Asset", "mit Fehlern abgeschlossen"}, []string{"Guten Tag", "Exportiert:", "herunterladen"}},
		"fr": {[]string{"démarrée", "échec d’une ressource", "avertissement sur une ressource", "terminée avec des erreurs"}, []string{"Bonjour", "Exportées :", "Télécharger"}},
		"es": {[]string{"iniciado", "error en un recurso", "advertencia en un recurso", "finalizado con errores"}, []string{"Hola", "Exportados:", "Descargar"}},
		"ja": {[]string{"開始しました", "エラーが発生しました", "警告が発生しました", "完了しました（エラーあり）"}, []string{"", "エクスポート済み：", "ダウンロード"}},
	}
	for _, lang := range Languages() {
		w, ok := words[lang]
		require.True(t, ok, "no expectations for language %s", lang)
		for i, e := range []Event{Started, AssetError, AssetWarning, Completed} {
			t.Run(lang+"/"+e.String(), func(t *testing.T) {
				s := summary(lang+"-XX", e)
				if e != Completed {
					s.ZipURL = ""
				}
				m, err := Compose("Ann <ann@example.com>", s)
				require.NoError(t, err)
				assert.Equal(t, "Ann <ann@example.com>", m.To)
				assert.Contains(t, m.Subject, "spring-catalog")
				assert.Contains(t, m.Subject, w.subject[i])
				assert.NotContains(t, m.Subject, "\n")
				assert.Contains(t, m.Text, "acme|J42")
				assert.Contains(t, m.Text, "Acme Corp")
				assert.Contains(t, m.Text, "120")
				assert.NotContains(t, m.Text, "<no value>")
				assert.True(t, strings.HasSuffix(m.Text, "\n-- \nIPS Export\n"), "signature: %q", m.Text)
				if e == Started {
					assert.NotContains(t, m.Text, "117")
				} else {
					assert.Contains(t, m.Text, w.body[1])
					for _, n := range []string{"117", "4", "3"} {
						assert.Contains(t, m.Text, n)
					}
					assert.Contains(t, m.Text, "shoe-01.tif: unsupported fmt pdf")
				}
				if e == Completed {
					assert.Contains(t, m.Text, s.ZipURL)
					assert.Contains(t, m.Text, "2026-12-05 10:30 UTC")
					assert.Contains(t, m.Text, w.body[2])
				} else {
					assert.NotContains(t, m.Text, "https://")
				}
				if w.body[0] != "" {
					assert.Contains(t, m.Text, w.body[0]) // greeting
				}
			})
		}
	}
}

// Upload jobs (UploadFile) get their own wording in every language: files
// uploaded, no zip link.
func TestComposeUploadAllLanguagesAllEvents(t *testing.T) {
	words := map[string]struct {
		subject  []string
		uploaded string
	}{
		"en": {[]string{"upload job", "upload job", "a file failed", "file warning", "completed with errors"}, "Uploaded:"},
		"de": {[]string{"Uploadauftrag", "gestartet", "Fehler bei einer Datei", "Warnung zu einer Datei", "mit Fehlern abgeschlossen"}, "Hochgeladen:"},
		"fr": {[]string{"Tâche de chargement", "démarrée", "échec d’un fichier", "avertissement sur un fichier", "terminée avec des erreurs"}, "Chargés :"},
		"es": {[]string{"Trabajo de carga", "iniciado", "error en un archivo", "advertencia en un archivo", "finalizado con errores"}, "Cargados:"},
		"ja": {[]string{"アップロードジョブ", "開始しました", "ファイルのエラー", "ファイルの警告", "完了しました（エラーあり）"}, "アップロード済み："},
	}
	for _, lang := range Languages() {
		w, ok := words[lang]
		require.True(t, ok, "no expectations for language %s", lang)
		for i, e := range []Event{Started, AssetError, AssetWarning, Completed} {
			t.Run(lang+"/"+e.String(), func(t *testing.T) {
				s := summary(lang+"-XX", e)
				s.Upload, s.ZipURL, s.LinkExpires = true, "", time.Time{}
				m, err := Compose("ann@example.com", s)
				require.NoError(t, err)
				assert.Contains(t, m.Subject, w.subject[0])
				assert.Contains(t, m.Subject, w.subject[i+1])
				assert.Contains(t, m.Subject, "spring-catalog")
				assert.Contains(t, m.Text, "acme|J42")
				assert.NotContains(t, m.Text, "<no value>")
				assert.NotContains(t, m.Text, "https://")
				assert.True(t, strings.HasSuffix(m.Text, "\n-- \nIPS Export\n"), "signature: %q", m.Text)
				if e == Started {
					assert.NotContains(t, m.Text, w.uploaded)
				} else {
					assert.Contains(t, m.Text, w.uploaded)
					assert.Contains(t, m.Text, "117")
					assert.Contains(t, m.Text, "shoe-01.tif: unsupported fmt pdf")
				}
			})
		}
	}
}

func TestComposeCompletedWithoutErrors(t *testing.T) {
	s := summary("en", Completed)
	s.Errors, s.Warnings, s.Succeeded, s.Messages = 0, 0, 120, nil
	m, err := Compose("ann@example.com", s)
	require.NoError(t, err)
	assert.Equal(t, `IPS export job "spring-catalog" completed`, m.Subject)
	assert.NotContains(t, m.Text, "Messages:")
	assert.Contains(t, m.Text, "has completed.")
}

func TestComposeFallsBackToEnglish(t *testing.T) {
	for _, loc := range []string{"", "pt-BR", "zh_CN", "nonsense"} {
		m, err := Compose("ann@example.com", summary(loc, Completed))
		require.NoError(t, err)
		assert.Contains(t, m.Subject, "IPS export job", loc)
	}
}

func TestComposeMessagesCapped(t *testing.T) {
	s := summary("de", Completed)
	s.Messages = nil
	for i := range MaxMessages + 7 {
		s.Messages = append(s.Messages, fmt.Sprintf("asset-%03d failed", i))
	}
	m, err := Compose("ann@example.com", s)
	require.NoError(t, err)
	assert.Contains(t, m.Text, "asset-049 failed")
	assert.NotContains(t, m.Text, "asset-050 failed")
	assert.Contains(t, m.Text, "… und 7 weitere")
}

func TestComposeInvalidEvent(t *testing.T) {
	_, err := Compose("ann@example.com", summary("en", Event(0)))
	assert.Error(t, err)
}

// A job name is user input: it cannot add headers or lines.
func TestComposeHeaderInjection(t *testing.T) {
	s := summary("en", Completed)
	s.JobName = "evil\r\nBcc: victim@example.com\r\n\r\nbody"
	s.Messages = []string{"line1\nFrom: x"}
	m, err := Compose("ann@example.com", s)
	require.NoError(t, err)
	assert.Equal(t, `IPS export job "evil Bcc: victim@example.com body" completed with errors`, m.Subject)
	assert.Contains(t, m.Text, "- line1 From: x\n")

	raw, err := (Mail{From: "ipsd@example.com", To: m.To, Subject: "x\r\nBcc: v@example.com", Text: m.Text}).Bytes(time.Now())
	require.NoError(t, err)
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	require.NoError(t, err)
	assert.Empty(t, msg.Header.Get("Bcc"))
	assert.Equal(t, "x Bcc: v@example.com", msg.Header.Get("Subject"))
}

// parsed is a rendered mail read back with net/mail.
type parsed struct {
	header  mail.Header
	subject string
	body    string
}

func parseMail(t *testing.T, raw []byte) parsed {
	t.Helper()
	for i, line := range strings.Split(string(raw), "\r\n") {
		assert.LessOrEqual(t, len(line), 78, "line %d too long: %q", i, line)
	}
	assert.NotContains(t, strings.ReplaceAll(string(raw), "\r\n", ""), "\n", "bare LF")
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	require.NoError(t, err)
	subj, err := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
	require.NoError(t, err)
	require.Equal(t, "quoted-printable", msg.Header.Get("Content-Transfer-Encoding"))
	body, err := io.ReadAll(quotedprintable.NewReader(msg.Body))
	require.NoError(t, err)
	return parsed{header: msg.Header, subject: subj, body: string(body)}
}

func TestMailRender(t *testing.T) {
	now := time.Date(2026, 11, 28, 9, 15, 0, 0, time.UTC)
	for _, lang := range Languages() {
		t.Run(lang, func(t *testing.T) {
			m, err := Compose("Zoë Müller <zoe@example.com>, bob@example.org", summary(lang, Completed))
			require.NoError(t, err)
			m.From = "IPS Export <ipsd@ips.example.com>"
			raw, err := m.Bytes(now)
			require.NoError(t, err)
			p := parseMail(t, raw)

			assert.Equal(t, m.Subject, p.subject)
			assert.Equal(t, strings.ReplaceAll(m.Text, "\n", "\r\n"), p.body)
			assert.Contains(t, p.body, summary(lang, Completed).ZipURL)

			from, err := p.header.AddressList("From")
			require.NoError(t, err)
			assert.Equal(t, []*mail.Address{{Name: "IPS Export", Address: "ipsd@ips.example.com"}}, from)
			to, err := p.header.AddressList("To")
			require.NoError(t, err)
			assert.Equal(t, []*mail.Address{{Name: "Zoë Müller", Address: "zoe@example.com"}, {Address: "bob@example.org"}}, to)
			date, err := p.header.Date()
			require.NoError(t, err)
			assert.True(t, now.Equal(date))
			assert.Regexp(t, `^<[0-9a-f]{32}@ips\.example\.com>$`, p.header.Get("Message-ID"))
			assert.Equal(t, "1.0", p.header.Get("MIME-Version"))
			assert.Equal(t, "text/plain; charset=utf-8", p.header.Get("Content-Type"))
			assert.Equal(t, "auto-generated", p.header.Get("Auto-Submitted"))
		})
	}
}

func TestMailRenderFoldsLongSubject(t *testing.T) {
	for _, subj := range []string{
		strings.Repeat("word ", 40),
		strings.Repeat("ワード ", 40),
	} {
		raw, err := Mail{From: "a@example.com", To: "b@example.com", Subject: subj, Text: "x"}.Bytes(time.Now())
		require.NoError(t, err)
		p := parseMail(t, raw)
		assert.Equal(t, strings.TrimSpace(subj), p.subject)
	}
}

func TestMailRenderErrors(t *testing.T) {
	tests := []struct {
		name string
		m    Mail
	}{
		{"no From", Mail{To: "b@example.com"}},
		{"bad From", Mail{From: "not an address", To: "b@example.com"}},
		{"no To", Mail{From: "a@example.com"}},
		{"bad To", Mail{From: "a@example.com", To: "b@example.com, @@"}},
		{"bad Message-ID", Mail{From: "a@example.com", To: "b@example.com", MessageID: "a b@c"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tc.m.Bytes(time.Now())
			assert.Error(t, err)
		})
	}
	raw, err := Mail{From: "a@example.com", To: "b@example.com", MessageID: "<given@x>"}.Bytes(time.Now())
	require.NoError(t, err)
	assert.Contains(t, string(raw), "\r\nMessage-ID: <given@x>\r\n")
}

type recordingSender struct{ mails []Mail }

func (r *recordingSender) Send(_ context.Context, m Mail) error {
	r.mails = append(r.mails, m)
	return nil
}

func TestNotify(t *testing.T) {
	ctx := context.Background()
	rs := &recordingSender{}
	clean := summary("en", Completed)
	clean.Errors, clean.Warnings = 0, 0

	sent, err := Notify(ctx, rs, "Error", "ann@example.com", clean)
	require.NoError(t, err)
	assert.False(t, sent)

	sent, err = Notify(ctx, rs, "Error", "ann@example.com", summary("fr", Completed))
	require.NoError(t, err)
	assert.True(t, sent)

	sent, err = Notify(ctx, rs, "Error", "ann@example.com", summary("fr", AssetError))
	require.NoError(t, err)
	assert.False(t, sent)

	sent, err = Notify(ctx, rs, "All", "  ", summary("en", Started))
	assert.ErrorIs(t, err, ErrNoRecipient)
	assert.False(t, sent)

	require.Len(t, rs.mails, 1)
	assert.Contains(t, rs.mails[0].Subject, "terminée avec des erreurs")
}
