package catalog

import (
	"context"
	"fmt"

	"github.com/ipsexport/ipsd/internal/modifier"
	"github.com/ipsexport/ipsd/internal/store"
)

// DefaultsStore is where a company's default request attributes live.
type DefaultsStore interface {
	CompanyDefaults(ctx context.Context, companyHandle string) (store.CompanyDefaults, error)
	SetCompanyDefaults(ctx context.Context, companyHandle string, d store.CompanyDefaults) error
}

// DefaultsChange changes some of a company's default request attributes:
// a nil field keeps the stored value, "" restores the server's default.
type DefaultsChange struct {
	JpegQuality, BkgColor, ResMode, IccProfileRgb, IccProfileCmyk, DefaultPix *string
}

// SetCompanyDefaults applies change to the company's default request
// attributes (`ipsd admin company set-defaults`), each checked as the
// command it is the default of (modifier.Defaults.Check), and returns
// them as stored. Exports submitted from then on use them; a job already
// submitted keeps the ones resolved into it (docs/rendering.md, "What a
// conversion is made of").
func SetCompanyDefaults(ctx context.Context, st DefaultsStore, companyHandle string, change DefaultsChange) (store.CompanyDefaults, error) {
	cur, err := st.CompanyDefaults(ctx, companyHandle)
	if err != nil {
		return store.CompanyDefaults{}, err
	}
	for _, f := range []struct {
		v   *string
		dst *string
	}{
		{change.JpegQuality, &cur.JpegQuality}, {change.BkgColor, &cur.BkgColor}, {change.ResMode, &cur.ResMode},
		{change.IccProfileRgb, &cur.IccProfileRgb}, {change.IccProfileCmyk, &cur.IccProfileCmyk},
		{change.DefaultPix, &cur.DefaultPix},
	} {
		if f.v != nil {
			*f.dst = *f.v
		}
	}
	checked, err := modifier.Defaults(cur).Check()
	if err != nil {
		return store.CompanyDefaults{}, fmt.Errorf("company defaults: %w", err)
	}
	cur = store.CompanyDefaults(checked)
	if err := st.SetCompanyDefaults(ctx, companyHandle, cur); err != nil {
		return store.CompanyDefaults{}, err
	}
	return cur, nil
}

// DefaultsLines are a company's default request attributes as the admin
// CLI prints them: attribute name and value, "-" for the server's own.
func DefaultsLines(d store.CompanyDefaults) [][2]string {
	or := func(v string) string {
		if v == "" {
			return "-"
		}
		return v
	}
	return [][2]string{
		{"JpegQuality", or(d.JpegQuality)}, {"BkgColor", or(d.BkgColor)}, {"ResMode", or(d.ResMode)},
		{"IccProfileRgb", or(d.IccProfileRgb)}, {"IccProfileCmyk", or(d.IccProfileCmyk)},
		{"DefaultPix", or(d.DefaultPix)},
	}
}
