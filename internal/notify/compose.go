package notify

import (
	"bytes"
	"embed"
	"fmt"
	"io/fs"
	"strings"
	"text/template"
)

// templates holds one file per language, templates/<lang>.tmpl, each
// defining "subject" and "body". Adding a file adds a language.
//
//go:embed templates/*.tmpl
var templates embed.FS

// DefaultLanguage is used when the job's locale has no translation.
const DefaultLanguage = "en"

// Language returns the language whose templates serve locale: its primary
// subtag ("de-DE", "de_DE" and "DE" → "de") when a translation exists,
// DefaultLanguage otherwise.
func Language(locale string) string {
	l := strings.ToLower(strings.TrimSpace(locale))
	if i := strings.IndexAny(l, "-_.@"); i >= 0 {
		l = l[:i]
	}
	if len(l) < 2 || len(l) > 3 || strings.Trim(l, "abcdefghijklmnopqrstuvwxyz") != "" {
		return DefaultLanguage
	}
	if _, err := fs.Stat(templates, "templates/"+l+".tmpl"); err != nil {
		return DefaultLanguage
	}
	return l
}

// Languages lists the languages with a translation.
func Languages() []string {
	ents, _ := fs.ReadDir(templates, "templates")
	langs := make([]string, 0, len(ents))
	for _, e := range ents {
		langs = append(langs, strings.TrimSuffix(e.Name(), ".tmpl"))
	}
	return langs
}

// view is the data the templates see.
type view struct {
	JobSummary
	Started, AssetError, AssetWarning, Completed bool

	Shown   []string // Messages, at most MaxMessages
	More    int      // how many were left out
	Expires string   // LinkExpires, formatted; "" when zero
}

// Compose writes the mail for sum to "to" (one address or a list, RFC
// 5322) in the language of sum.Locale. From, Date and Message-ID are left
// for the sender to fill.
func Compose(to string, sum JobSummary) (Mail, error) {
	if sum.Event < Started || sum.Event > Completed {
		return Mail{}, fmt.Errorf("compose mail for job %s: invalid event %s", sum.JobHandle, sum.Event)
	}
	lang := Language(sum.Locale)
	t, err := template.New(lang).Option("missingkey=error").ParseFS(templates, "templates/"+lang+".tmpl")
	if err != nil {
		return Mail{}, fmt.Errorf("compose mail: templates %s: %w", lang, err)
	}
	v := view{
		JobSummary:   sum,
		Started:      sum.Event == Started,
		AssetError:   sum.Event == AssetError,
		AssetWarning: sum.Event == AssetWarning,
		Completed:    sum.Event == Completed,
	}
	v.JobName = oneLine(sum.JobName)
	v.CompanyName = oneLine(sum.CompanyName)
	for i, msg := range sum.Messages {
		if i == MaxMessages {
			v.More = len(sum.Messages) - MaxMessages
			break
		}
		v.Shown = append(v.Shown, oneLine(msg))
	}
	if !sum.LinkExpires.IsZero() {
		v.Expires = sum.LinkExpires.UTC().Format("2006-01-02 15:04 UTC")
	}
	subject, bodyName := "subject", "body"
	if sum.Upload {
		subject, bodyName = "upload-subject", "upload-body"
	}
	var subj, body bytes.Buffer
	if err := t.ExecuteTemplate(&subj, subject, v); err != nil {
		return Mail{}, fmt.Errorf("compose mail: subject %s: %w", lang, err)
	}
	if err := t.ExecuteTemplate(&body, bodyName, v); err != nil {
		return Mail{}, fmt.Errorf("compose mail: body %s: %w", lang, err)
	}
	text := strings.TrimSpace(body.String()) + "\n"
	return Mail{To: to, Subject: oneLine(subj.String()), Text: text}, nil
}

// oneLine makes s safe for one line of a header or a list item: control
// characters (CR, LF, tab, …) become spaces, runs of spaces one.
func oneLine(s string) string {
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || r == '\u2028' || r == '\u2029' {
			return ' '
		}
		return r
	}, s)
	return strings.Join(strings.Fields(s), " ")
}
