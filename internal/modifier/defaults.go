package modifier

import (
	"fmt"
	"strconv"
	"strings"
)

// Defaults are a catalogue's default request attributes (a company's, set
// with `ipsd admin company set-defaults`): each applies where a request
// leaves its command open, as Image Serving's catalog attributes do
// (docs/rendering.md, "What a conversion is made of"). Each is written as
// the attribute is; "" leaves the server's own default.
type Defaults struct {
	// JpegQuality is attribute::JpegQuality, the default of qlt=:
	// "quality[,chroma]".
	JpegQuality string `json:"jpegQuality,omitempty"`
	// BkgColor is attribute::BkgColor, the default of bgc=.
	BkgColor string `json:"bkgColor,omitempty"`
	// ResMode is attribute::ResMode, the default of resMode=: bilin,
	// bicub, sharp2 or bisharp.
	ResMode string `json:"resMode,omitempty"`
	// IccProfileRgb and IccProfileCmyk are the output profiles of RGB and
	// CMYK replies when icc= names none: names as icc= takes them.
	IccProfileRgb  string `json:"iccProfileRgb,omitempty"`
	IccProfileCmyk string `json:"iccProfileCmyk,omitempty"`
	// DefaultPix is attribute::DefaultPix, "width,height": the reply is
	// scaled down to fit inside it when the request gives none of wid=,
	// hei= and scl=; 0 leaves a side unconstrained.
	DefaultPix string `json:"defaultPix,omitempty"`
}

// IsZero reports defaults that leave every server default.
func (d Defaults) IsZero() bool { return d == Defaults{} }

// maxDefaultPix bounds a DefaultPix side; the renderer's output limit
// applies after it anyway.
const maxDefaultPix = 1_000_000

// Check validates each attribute as its command would take it and returns
// them trimmed; an error names the attribute.
func (d Defaults) Check() (Defaults, error) {
	_, _, err := d.parse()
	if err != nil {
		return d, err
	}
	return d.trimmed(), nil
}

func (d Defaults) trimmed() Defaults {
	return Defaults{
		JpegQuality: strings.TrimSpace(d.JpegQuality), BkgColor: strings.TrimSpace(d.BkgColor),
		ResMode: strings.TrimSpace(d.ResMode), IccProfileRgb: strings.TrimSpace(d.IccProfileRgb),
		IccProfileCmyk: strings.TrimSpace(d.IccProfileCmyk), DefaultPix: strings.TrimSpace(d.DefaultPix),
	}
}

// parse reads the attributes through the commands they are the default
// of, so they are checked exactly as those are.
func (d Defaults) parse() (*Request, [2]int, error) {
	d = d.trimmed()
	var pix [2]int
	var mods []string
	for _, a := range []struct{ attr, cmd, v string }{
		{"JpegQuality", "qlt", d.JpegQuality},
		{"BkgColor", "bgc", d.BkgColor},
		{"ResMode", "resMode", d.ResMode},
		{"IccProfileRgb", "icc", d.IccProfileRgb},
		{"IccProfileCmyk", "icc", d.IccProfileCmyk},
	} {
		if a.v == "" {
			continue
		}
		if strings.ContainsAny(a.v, "&$%=") || (a.cmd == "icc" && strings.Contains(a.v, ",")) {
			return nil, pix, fmt.Errorf("%s %q: not a value of %s=", a.attr, a.v, a.cmd)
		}
		if _, err := Parse(a.cmd+"="+a.v, nil); err != nil {
			msg := err.Error()
			if pe, ok := err.(*ParseError); ok {
				msg = pe.Reason
			}
			return nil, pix, fmt.Errorf("%s %q: %s", a.attr, a.v, msg)
		}
		if a.cmd != "icc" {
			mods = append(mods, a.cmd+"="+a.v)
		}
	}
	r, err := Parse(strings.Join(mods, "&"), nil)
	if err != nil {
		return nil, pix, fmt.Errorf("defaults: %w", err)
	}
	if d.DefaultPix != "" {
		w, h, ok := strings.Cut(d.DefaultPix, ",")
		if !ok {
			return nil, pix, fmt.Errorf("DefaultPix %q: width,height", d.DefaultPix)
		}
		for i, s := range []string{w, h} {
			n, err := strconv.Atoi(strings.TrimSpace(s))
			if err != nil || n < 0 || n > maxDefaultPix {
				return nil, pix, fmt.Errorf("DefaultPix %q: width,height, each 0 (unconstrained) to %d", d.DefaultPix, maxDefaultPix)
			}
			pix[i] = n
		}
	}
	return r, pix, nil
}

// ApplyDefaults fills in what r leaves open with d: qlt=, bgc=, resMode=
// when not given, icc= when not given by the output's pixel type (rgb:
// IccProfileRgb, cmyk: IccProfileCmyk; the profile is then a default,
// ICCSpec.Default), and DefaultPix.
func (r *Request) ApplyDefaults(d Defaults) error {
	if d.IsZero() {
		return nil
	}
	dr, pix, err := d.parse()
	if err != nil {
		return err
	}
	d = d.trimmed()
	if r.Qlt == 0 && dr.Qlt > 0 {
		r.Qlt, r.Chroma = dr.Qlt, dr.Chroma
	}
	if r.Bgc == nil && dr.Bgc != nil {
		c := *dr.Bgc
		r.Bgc = &c
	}
	if r.ResMode == "" {
		r.ResMode = dr.ResMode
	}
	if r.ICC == nil {
		name := ""
		switch r.OutPixelType() {
		case "rgb":
			name = d.IccProfileRgb
		case "cmyk":
			name = d.IccProfileCmyk
		}
		if name != "" {
			r.ICC = &ICCSpec{Name: name, Default: true}
		}
	}
	r.DefaultPix = pix
	return nil
}
