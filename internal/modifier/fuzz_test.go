package modifier

import (
	"errors"
	"testing"
)

var fuzzMacros = MacroMap{
	"thumb": "wid=400&hei=400&fmt=jpeg&qlt=75,0&op_sharpen=0&resMode=bicub&op_usm=0.0,0.0,0,0&iccEmbed=0",
	"view":  "wid=240&fmt=jpeg&qlt=85&op_usm=5,2&bgc=200,200,200&align=-1,-1",
	"outer": "$inner$&fmt=png",
	"inner": "wid=$w$&hei=$w$",
	"a":     "$b$",
	"b":     "$a$",
	"test":  "fmt=tif",
}

// FuzzParse: Parse never panics, fails only with a *ParseError, and its
// Canonical form parses again to the same request.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"", "?wid=100", "&fmt=png&$test$", "$thumb$&wid=200", "wid=400&hei=400&fmt=jpeg&qlt=85&op_usm=1.1,0.5,1,0",
		"$w=64&$outer$", "$a$", "bgc=0xddeegs&color=22,23,24,25,26KS", "icc=Web%20Coated,relative,1,0&iccEmbed=1",
		"fmt=tif,,lzw&rect=0,0,100,100,0.5", "crop=-10,-10,100,100&extend=5,5,5,5&bgColor=ff000080",
		"op_colorize=160,176,192,norm,50&op_noise=20,gaussian,1", "quantize=adaptive,off,2,000000,ffffff&fmt=gif-alpha",
		"fit=crop,1&wid=10&hei=10&align=-1,1", "$var2=apple&$var1=my$var2$tree&icc=$var1$", "wid=1%30&.comment&WID=5",
		"layer=comp&src=x", "req=mask&fmt=png", "rgn=1,2,3,4&scl=0.5", "dpr=on,2&wid=50", "res=12&textAttr=1",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := Parse(s, fuzzMacros)
		if err != nil {
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("Parse(%q): error %v is not a *ParseError", s, err)
			}
			if pe.Command == "" && pe.Reason == "" {
				t.Fatalf("Parse(%q): empty ParseError", s)
			}
			return
		}
		if r.Ext() == "" || r.MIME() == "" {
			t.Fatalf("Parse(%q): no extension", s)
		}
		c := r.Canonical()
		r2, err := Parse(c, nil)
		if err != nil {
			t.Fatalf("Parse(%q) canonical %q does not parse: %v", s, c, err)
		}
		if c2 := r2.Canonical(); c2 != c {
			t.Fatalf("Parse(%q): canonical %q parses to %q", s, c, c2)
		}
		if len(r2.Warnings) != len(r.Warnings) {
			t.Fatalf("Parse(%q): %d warnings, canonical %q has %d", s, len(r.Warnings), c, len(r2.Warnings))
		}
	})
}
