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
// file extension fixed, and the company's default request attributes as
// they were then. The worker renders from it, so an image format or a
// company default edited after the submit changes neither the job's bytes
// nor its names.
//
// A job has one; an asset whose catalogue entry stores modifiers
// (setUrlModifier) has its own, in its job asset (AssetConversion,
// docs/rendering.md "What a conversion is made of").
type Conversion struct {
	Modifier string `json:"modifier"`
	Format   string `json:"format"`
	Ext      string `json:"ext"`
	// Warnings are the parse's, as the submitted strings placed them
	// (a re-parse of Modifier would place them in the canonical string).
	Warnings []modifier.Warning `json:"warnings,omitempty"`
	// Defaults are the company's default request attributes; nil when it
	// has none.
	Defaults *modifier.Defaults `json:"defaults,omitempty"`
	// Error is why an asset's own conversion does not parse (its stored
	// modifiers, or an image format they call, are broken): the asset
	// fails with it, the job's other assets are exported.
	Error string `json:"error,omitempty"`
}

// Request parses the resolved conversion again, macro-free, with the
// warnings of the original parse and the company's defaults applied.
func (c *Conversion) Request() (*modifier.Request, error) {
	if c.Error != "" {
		return nil, errors.New(c.Error)
	}
	req, err := modifier.Parse(c.Modifier, nil)
	if err != nil {
		return nil, fmt.Errorf("resolved conversion %q: %w", c.Modifier, err)
	}
	req.Warnings = c.Warnings
	if c.Defaults != nil {
		if err := req.ApplyDefaults(*c.Defaults); err != nil {
			return nil, fmt.Errorf("company defaults: %w", err)
		}
	}
	return req, nil
}

// ImageFormats is where macros are looked up: a company's image formats.
type ImageFormats interface {
	ImageFormatByName(ctx context.Context, companyHandle, name string) (store.ImageFormat, error)
}

// Catalogue is what a conversion is resolved against: the company's image
// formats and its default request attributes.
type Catalogue interface {
	ImageFormats
	CompanyDefaults(ctx context.Context, companyHandle string) (store.CompanyDefaults, error)
}

// CompanyDefaults reads a company's default request attributes as the
// modifier package takes them; nil when it has none.
func CompanyDefaults(ctx context.Context, cat Catalogue, companyHandle string) (*modifier.Defaults, error) {
	sd, err := cat.CompanyDefaults(ctx, companyHandle)
	if err != nil {
		return nil, fmt.Errorf("company defaults: %w", err)
	}
	d := modifier.Defaults(sd)
	if d.IsZero() {
		return nil, nil
	}
	return &d, nil
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
// formats and default request attributes: spec comes back with Conversion
// set for fmt=convert (and as it was for fmt=orig). A malformed conversion
// is a *modifier.ParseError.
func ResolveConversion(ctx context.Context, cat Catalogue, companyHandle string, spec ExportSpec) (ExportSpec, error) {
	if spec.Fmt != export.FormatConvert {
		spec.Conversion = nil
		return spec, nil
	}
	req, err := modifier.ParseExport(spec.IsModifier, spec.Macro, Macros(ctx, cat, companyHandle))
	if err != nil {
		return spec, err
	}
	defaults, err := CompanyDefaults(ctx, cat, companyHandle)
	if err != nil {
		return spec, err
	}
	spec.Conversion = &Conversion{
		Modifier: req.Canonical(), Format: req.Format(), Ext: req.Ext(), Warnings: req.Warnings,
		Defaults: defaults,
	}
	return spec, nil
}

// AssetConversion is the conversion of asset a in an export of spec, whose
// own conversion is resolved: nil when it is the job's (fmt=orig, an asset
// that is not converted, or one with no stored modifier), else the asset's
// urlModifier, the export's commands and its urlPostApplyModifier
// (modifier.ParseExportFor) with the job's defaults. Stored modifiers that
// no longer parse make a Conversion with Error, so that the asset alone
// fails; it keeps the job's extension for its name.
func AssetConversion(ctx context.Context, formats ImageFormats, companyHandle string, spec ExportSpec, a *store.Asset) *Conversion {
	stored := modifier.Stored{URLModifier: a.URLModifier, URLPostApplyModifier: a.URLPostApplyModifier}
	job := spec.Conversion
	if spec.Fmt != export.FormatConvert || job == nil || job.Error != "" || stored.IsZero() || !export.Convertible(a.Type) {
		return nil
	}
	req, err := modifier.ParseExportFor(stored, spec.IsModifier, spec.Macro, Macros(ctx, formats, companyHandle))
	if err != nil {
		return &Conversion{Format: job.Format, Ext: job.Ext, Defaults: job.Defaults, Error: "conversion: " + err.Error()}
	}
	return &Conversion{
		Modifier: req.Canonical(), Format: req.Format(), Ext: req.Ext(), Warnings: req.Warnings,
		Defaults: job.Defaults,
	}
}
