package notify

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// logKeys are the job log messages every language must have.
var logKeys = []string{"begin-export", "begin-upload", "end-export", "end-upload", "file-begin-export",
	"file-begin-upload", "export-success", "export-warning", "export-error", "file-cancel",
	"upload-success", "upload-updated", "upload-warning", "upload-error", "archive"}

func TestCatalogueEveryLanguageEveryLogMessage(t *testing.T) {
	c, err := NewCatalogue()
	require.NoError(t, err)
	data := LogData{Path: "shoes/boot.jpg", Link: "https://ips.test/x", Message: "a reason", Type: "Image",
		Handle: "a|1|2", Size: 1234, Count: 3, Until: "2030-01-02T03:04:05Z", Total: 9, Succeeded: 5,
		Warnings: 1, Errors: 2, Cancelled: 2, Updated: 1}
	english := map[string]string{}
	for _, key := range logKeys {
		english[key] = c.LogMessage("en-US", key, data)
	}
	for _, lang := range Languages() {
		for _, key := range logKeys {
			t.Run(lang+"/"+key, func(t *testing.T) {
				require.NotNil(t, c.langs[lang].Lookup("log-"+key), "%s defines log-%s", lang, key)
				msg := c.LogMessage(lang, key, data)
				assert.NotEqual(t, key, msg, "it executes")
				assert.NotContains(t, msg, "<no value>")
				assert.False(t, strings.ContainsAny(msg, "\r\n"), "one line")
				switch key {
				case "export-success", "file-begin-export", "file-begin-upload":
					assert.Contains(t, msg, data.Path)
				case "export-error", "upload-error", "upload-warning":
					assert.Contains(t, msg, data.Message, "the reason is quoted")
				case "end-export":
					assert.Contains(t, msg, "2", "counts")
				}
				// Messages that are pure data are the same in every
				// language; the others are translated.
				if lang != DefaultLanguage && !strings.HasPrefix(key, "upload-") {
					assert.NotEqual(t, english[key], msg, "translated")
				}
			})
		}
	}
	assert.Equal(t, english["begin-export"], c.LogMessage("xx-YY", "begin-export", data), "English otherwise")
	assert.Equal(t, "Export hat begonnen!", c.LogMessage("de-DE", "begin-export", data))
	assert.Equal(t, "bogus", c.LogMessage("de", "bogus", data), "an unknown key names itself")
}

// A stopped job's mail says so and counts what it cancelled; an upload's
// counts the files that replaced another.
func TestComposeStoppedAndReplaced(t *testing.T) {
	for _, lang := range Languages() {
		s := summary(lang, Completed)
		s.Stopped, s.Cancelled = true, 7
		m, err := Compose("ann@example.com", s)
		require.NoError(t, err, lang)
		plain := summary(lang, Completed)
		pm, err := Compose("ann@example.com", plain)
		require.NoError(t, err, lang)
		assert.NotEqual(t, pm.Subject, m.Subject, "%s: a stopped job's subject differs from a completed one's", lang)
		assert.Contains(t, m.Text, "7", lang)

		s = summary(lang, Completed)
		s.Upload, s.Updated = true, 4
		m, err = Compose("ann@example.com", s)
		require.NoError(t, err, lang)
		assert.Contains(t, m.Text, "4", lang)
	}
	s := summary("de", Completed)
	s.Stopped, s.Cancelled = true, 7
	m, err := Compose("ann@example.com", s)
	require.NoError(t, err)
	assert.Contains(t, m.Subject, "abgebrochen")
	assert.Contains(t, m.Text, "Storniert:   7")
}

// An export's end says how many of its assets the rendition cache gave, in
// every language, and nothing of the cache when it gave none.
func TestCatalogueEndExportReused(t *testing.T) {
	c, err := NewCatalogue()
	require.NoError(t, err)
	for _, lang := range Languages() {
		without := c.LogMessage(lang, "end-export", LogData{Total: 9, Succeeded: 9})
		with := c.LogMessage(lang, "end-export", LogData{Total: 9, Succeeded: 9, Reused: 7})
		assert.NotContains(t, without, "7", lang)
		assert.True(t, strings.HasPrefix(with, without), "%s: the count follows the message: %q", lang, with)
		assert.Contains(t, with[len(without):], "7", lang)
		assert.False(t, strings.ContainsAny(with, "\r\n"), "one line")
	}
}

// The completion mail counts the files the rendition cache gave, in every
// language, and says nothing of the cache when it gave none.
func TestComposeReused(t *testing.T) {
	for _, lang := range Languages() {
		plain, err := Compose("ann@example.com", summary(lang, Completed))
		require.NoError(t, err, lang)
		s := summary(lang, Completed)
		s.Reused = 37
		m, err := Compose("ann@example.com", s)
		require.NoError(t, err, lang)
		assert.NotContains(t, plain.Text, "37", lang)
		assert.Contains(t, m.Text, "37", lang)
		assert.Equal(t, strings.Count(plain.Text, "\n")+1, strings.Count(m.Text, "\n"), "%s: one line more", lang)
	}
	s := summary("en", Completed)
	s.Reused = 37
	m, err := Compose("ann@example.com", s)
	require.NoError(t, err)
	assert.Contains(t, m.Text, "Reused:    37 (from the rendition cache)")
}
