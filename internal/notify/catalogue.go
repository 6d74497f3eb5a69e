package notify

import (
	"bytes"
	"fmt"
	"text/template"
)

// Catalogue holds every language's templates, parsed once: the job log's
// messages come from it, in the job's language, from the same files as
// the job's mail (templates/<lang>.tmpl, templates "log-<key>").
type Catalogue struct {
	langs map[string]*template.Template
}

// NewCatalogue parses the templates of every language.
func NewCatalogue() (*Catalogue, error) {
	c := &Catalogue{langs: map[string]*template.Template{}}
	for _, lang := range Languages() {
		t, err := template.New(lang).Option("missingkey=error").ParseFS(templates, "templates/"+lang+".tmpl")
		if err != nil {
			return nil, fmt.Errorf("templates %s: %w", lang, err)
		}
		c.langs[lang] = t
	}
	if c.langs[DefaultLanguage] == nil {
		return nil, fmt.Errorf("templates: no %s", DefaultLanguage)
	}
	return c, nil
}

// LogData is what a job log message may tell: one file (Path, its Link,
// Type, Size, Handle, and Message, the reason or detail recorded with it),
// or the job's counts.
type LogData struct {
	Path, Link, Message, Type, Handle string
	Size                              int64
	Count                             int
	Until                             string
	Total, Succeeded, Warnings        int
	Errors, Cancelled, Updated        int
	// Reused counts an export's assets taken from the rendition cache.
	Reused int
}

// LogMessage is the job log message key ("begin-export", "export-error"
// …) in the language of locale, English where that language lacks it.
func (c *Catalogue) LogMessage(locale, key string, data LogData) string {
	if c == nil {
		return key
	}
	name := "log-" + key
	for _, lang := range []string{Language(locale), DefaultLanguage} {
		t := c.langs[lang].Lookup(name)
		if t == nil {
			continue
		}
		var b bytes.Buffer
		if err := t.Execute(&b, data); err == nil {
			return oneLine(b.String())
		}
	}
	return key
}
