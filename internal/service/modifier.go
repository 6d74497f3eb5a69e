package service

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/ipsexport/ipsd/internal/render"
	"github.com/ipsexport/ipsd/internal/soap"
	"github.com/ipsexport/ipsd/internal/store"
)

// companyMacros resolves $name$ against the company's image formats, the
// way Image Serving resolves a catalog's macros.
func companyMacros(ctx context.Context, st store.Store, companyHandle string) render.MacroSource {
	return render.MacroFunc(func(name string) (string, bool, error) {
		f, err := st.ImageFormatByName(ctx, companyHandle, name)
		if errors.Is(err, store.ErrNotFound) {
			return "", false, nil
		}
		if err != nil {
			return "", false, fmt.Errorf("macro $%s$: %w", name, err)
		}
		return f.URLModifier, true, nil
	})
}

// CleanURLModifier checks the urlModifier of an image format before it is
// saved, so that a broken preset fails at saveImageFormat and not at every
// export that uses it. The format may refer to other formats; a reference
// to itself (directly or through others) is a cycle and refused. It returns
// the modifier trimmed of blanks and of leading and trailing '&'.
func CleanURLModifier(ctx context.Context, st store.Store, companyHandle, name, modifier string) (string, error) {
	mod := strings.Trim(strings.TrimSpace(modifier), "&")
	macros := companyMacros(ctx, st, companyHandle)
	// The saved definition replaces the stored one, so cycles through the
	// new text are caught.
	self := render.MacroFunc(func(n string) (string, bool, error) {
		if strings.EqualFold(n, name) {
			return mod, true, nil
		}
		return macros.LookupMacro(n)
	})
	if _, err := render.Parse(mod, self); err != nil {
		var pe *render.ParseError
		if errors.As(err, &pe) {
			return "", soap.Errorf(soap.CodeInvalidParameter, "urlModifier: %s", pe.Error())
		}
		return "", fmt.Errorf("urlModifier of %s: %w", name, err)
	}
	return mod, nil
}
