package jobs

import (
	"context"
	"errors"
	"fmt"

	"github.com/ipsexport/ipsd/internal/export"
	"github.com/ipsexport/ipsd/internal/modifier"
	"github.com/ipsexport/ipsd/internal/store"
)

// Conversion is an export's fmt=convert resolved once, at submit:
// is_modifier and the macro expanded against the company's image formats
// (the macro's commands win, docs/exports.md "Conversion"), in the canonical
// form that parses again without any macro, with the output format and the
// file extension fixed. The worker renders from it, so an image format
// edited after the submit changes neither the job's bytes nor its names.
type Conversion struct {
	Modifier string `json:"modifier"`
	Format   string `json:"format"`
	Ext      string `json:"ext"`
	// Warnings are the parse's, as the submitted strings placed them
	// (a re-parse of Modifier would place them in the canonical string).
	Warnings []modifier.Warning `json:"warnings,omitempty"`
}

// Request parses the resolved conversion again, macro-free, with the
// warnings of the original parse.
func (c *Conversion) Request() (*modifier.Request, error) {
	req, err := modifier.Parse(c.Modifier, nil)
	if err != nil {
		return nil, fmt.Errorf("resolved conversion %q: %w", c.Modifier, err)
	}
	req.Warnings = c.Warnings
	return req, nil
}

// ImageFormats is where macros are looked up: a company's image formats.
type ImageFormats interface {
	ImageFormatByName(ctx context.Context, companyHandle, name string) (store.ImageFormat, error)
}

// Macros resolves $name$ against a company's image formats, as Image
// Serving resolves a catalog's macros.
func Macros(ctx context.Context, formats ImageFormats, companyHandle string) modifier.MacroSource {
	return modifier.MacroFunc(func(name string) (string, bool, error) {
		f, err := formats.ImageFormatByName(ctx, companyHandle, name)
		if errors.Is(err, store.ErrNotFound) {
			return "", false, nil
		}
		if err != nil {
			return "", false, fmt.Errorf("macro $%s$: %w", name, err)
		}
		return f.URLModifier, true, nil
	})
}

// ResolveConversion resolves spec's conversion against the company's image
// formats: spec comes back with Conversion set for fmt=convert (and as it
// was for fmt=orig). A malformed conversion is a *modifier.ParseError.
func ResolveConversion(ctx context.Context, formats ImageFormats, companyHandle string, spec ExportSpec) (ExportSpec, error) {
	if spec.Fmt != export.FormatConvert {
		spec.Conversion = nil
		return spec, nil
	}
	req, err := modifier.ParseExport(spec.IsModifier, spec.Macro, Macros(ctx, formats, companyHandle))
	if err != nil {
		return spec, err
	}
	spec.Conversion = &Conversion{
		Modifier: req.Canonical(), Format: req.Format(), Ext: req.Ext(), Warnings: req.Warnings,
	}
	return spec, nil
}
