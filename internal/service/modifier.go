package service

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/ipsexport/ipsd/internal/jobs"
	"github.com/ipsexport/ipsd/internal/modifier"
	"github.com/ipsexport/ipsd/internal/soap"
)

// CleanURLModifier checks the urlModifier of an image format before it is
// saved, so that a broken preset fails at saveImageFormat and not at every
// export that uses it. The format may refer to other formats; a reference
// to itself (directly or through others) is a cycle and refused. It returns
// the modifier trimmed of blanks and of leading and trailing '&'.
func CleanURLModifier(ctx context.Context, st jobs.ImageFormats, companyHandle, name, urlModifier string) (string, error) {
	mod := strings.Trim(strings.TrimSpace(urlModifier), "&")
	macros := jobs.Macros(ctx, st, companyHandle)
	// The saved definition replaces the stored one, so cycles through the
	// new text are caught.
	self := modifier.MacroFunc(func(n string) (string, bool, error) {
		if strings.EqualFold(n, name) {
			return mod, true, nil
		}
		return macros.LookupMacro(n)
	})
	if _, err := modifier.Parse(mod, self); err != nil {
		var pe *modifier.ParseError
		if errors.As(err, &pe) {
			return "", soap.Errorf(soap.CodeInvalidParameter, "urlModifier: %s", pe.Error())
		}
		return "", fmt.Errorf("urlModifier of %s: %w", name, err)
	}
	return mod, nil
}

// cleanStoredModifier checks an asset's urlModifier or urlPostApplyModifier
// (field) before setUrlModifier stores it, against the company's image
// formats as a conversion would read it, and trims it as image formats are
// (docs/rendering.md, "What a conversion is made of").
func cleanStoredModifier(ctx context.Context, st jobs.ImageFormats, companyHandle, field, mod string) (string, error) {
	mod = strings.Trim(strings.TrimSpace(mod), "&")
	if _, err := modifier.Parse(mod, jobs.Macros(ctx, st, companyHandle)); err != nil {
		var pe *modifier.ParseError
		if errors.As(err, &pe) {
			return "", soap.Errorf(soap.CodeInvalidParameter, "%s: %s", field, pe.Error())
		}
		return "", fmt.Errorf("%s: %w", field, err)
	}
	return mod, nil
}
