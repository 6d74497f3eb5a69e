package app

import (
	"context"
	"errors"

	"github.com/ipsexport/ipsd/internal/export"
	"github.com/ipsexport/ipsd/internal/modifier"
	"github.com/ipsexport/ipsd/internal/render"
)

// exportRenderer is the libvips renderer as an export sees it: the bytes,
// the warnings, and a source that is no image as export.ErrNotConvertible.
type exportRenderer struct{ r *render.Renderer }

func (x exportRenderer) Render(ctx context.Context, src []byte, req *modifier.Request) (export.Rendered, error) {
	out, err := x.r.Render(ctx, src, req)
	if errors.Is(err, render.ErrUnsupportedSource) {
		return export.Rendered{}, notConvertible{err}
	}
	if errors.Is(err, render.ErrOutputBytes) {
		return export.Rendered{}, fileTooLarge{err}
	}
	if err != nil {
		return export.Rendered{}, err
	}
	return export.Rendered{Data: out.Data, Warnings: out.Warnings}, nil
}

// notConvertible marks a render error as export.ErrNotConvertible and
// keeps its message, which the job log shows.
type notConvertible struct{ err error }

func (e notConvertible) Error() string   { return e.err.Error() }
func (e notConvertible) Unwrap() []error { return []error{export.ErrNotConvertible, e.err} }

// fileTooLarge marks a render refused by its output's size as
// export.ErrFileTooLarge, the export's per-file limit, and keeps its
// message.
type fileTooLarge struct{ err error }

func (e fileTooLarge) Error() string   { return e.err.Error() }
func (e fileTooLarge) Unwrap() []error { return []error{export.ErrFileTooLarge, e.err} }
