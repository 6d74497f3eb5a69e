package modifier

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseSyntax(t *testing.T) {
	tests := []struct {
		name, in, canonical string
	}{
		{"empty", "", ""},
		{"leading question mark", "?wid=100", "wid=100"},
		{"leading and doubled ampersands", "&&wid=100&&hei=50&", "hei=50&wid=100"},
		{"command names are case-insensitive", "WID=100&ResMode=BICUB&FMT=PNG", "fmt=PNG&resMode=BICUB&wid=100"},
		{"comment", "wid=100&.built 2024-01-01 id 42&hei=20", "hei=20&wid=100"},
		{"whitespace around modifiers", " wid=100 &\n hei=20 ", "hei=20&wid=100"},
		{"repeated command: the last wins", "wid=100&wid=200", "wid=200"},
		{"crop and cropN are one command", "crop=0,0,10,10&cropN=0,0,.5,.5", "cropN=0,0,.5,.5"},
		{"cropN then crop", "cropN=0,0,.5,.5&crop=0,0,10,10", "crop=0,0,10,10"},
		{"values are %-decoded after splitting", "bgc=%46F0000&wid=1%30", "bgc=FF0000&wid=10"},
		{"an encoded ampersand stays in the value", "icc=My%26Profile", "icc=My%26Profile"},
		{"an encoded comma still separates arguments", "align=-1%2C1", "align=-1,1"},
		{"plus is not a space", "icc=a+b", "icc=a+b"},
		{"spaces are kept encoded", "icc=Web%20Coated", "icc=Web%20Coated"},
		{"no-value command", "cache", "cache"},
		{"enum case is lenient, kept as written", "flip=LR&fit=Crop&wid=1", "fit=Crop&flip=LR&wid=1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, err := Parse(tc.in, nil)
			require.NoError(t, err)
			assert.Equal(t, tc.canonical, r.Canonical())
			again, err := Parse(r.Canonical(), nil)
			require.NoError(t, err)
			assert.Equal(t, r.Canonical(), again.Canonical())
		})
	}
}

func TestParseValues(t *testing.T) {
	r, err := Parse("wid=400&hei=300&fmt=tif,cmyk,lzw&qlt=85,1&op_usm=1.1,0.5,1,0&bgc=0,0,255&align=-1,1&fit=crop,1", nil)
	require.NoError(t, err)
	assert.Equal(t, 400, r.Wid)
	assert.Equal(t, 300, r.Hei)
	assert.Equal(t, "tif", r.Format())
	assert.Equal(t, "cmyk", r.PixelType)
	assert.Equal(t, "lzw", r.Compression)
	assert.Equal(t, 85, r.Qlt)
	assert.True(t, r.Chroma)
	assert.Equal(t, &USMSpec{Amount: 1.1, Radius: 0.5, Threshold: 1}, r.USM)
	assert.Equal(t, [3]float64{0, 0, 255}, r.Bgc.RGB())
	assert.Equal(t, [2]float64{-1, 1}, r.Align)
	assert.Equal(t, &FitSpec{Mode: "crop", Upscale: true}, r.Fit)

	// Omitted middle arguments take defaults ("fmt=tif,,jpeg" in r-is-http-fmt.md).
	r, err = Parse("fmt=tif,,jpeg&qlt=95", nil)
	require.NoError(t, err)
	assert.Equal(t, "", r.PixelType)
	assert.Equal(t, "jpeg", r.Compression)

	// op_usm's missing trailing arguments are 0.
	r, err = Parse("op_usm=1", nil)
	require.NoError(t, err)
	assert.Equal(t, &USMSpec{Amount: 1}, r.USM)

	// The colorize colour may itself hold commas.
	r, err = Parse("op_colorize=160,176,192,norm,50", nil)
	require.NoError(t, err)
	assert.Equal(t, [3]float64{160, 176, 192}, r.Colorize.Color.RGB())
	assert.True(t, r.Colorize.Norm)
	assert.Equal(t, 50.0, r.Colorize.Contrast)
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name, in  string
		command   string
		pos       int
		rejected  bool
		reasonHas string
	}{
		{"unknown command", "wid=100&wdth=200", "wdth", 9, false, "unknown command"},
		{"not an integer", "wid=abc", "wid", 1, false, "not an integer"},
		{"zero width", "hei=0", "hei", 1, false, "outside"},
		{"qlt above 100 (the saveImageFormat example's typo)", "wid=400&qlt=750", "qlt", 9, false, "outside 1…100"},
		{"unknown format", "fmt=tiff", "fmt", 1, false, "not an IS format"},
		{"pixel type the format lacks", "fmt=png,cmyk", "fmt", 1, false, "pixel type cmyk"},
		{"compression on jpeg", "fmt=jpeg,rgb,lzw", "fmt", 1, false, "takes no compression"},
		{"jpeg compression on tif-alpha", "fmt=tif-alpha,,jpeg", "fmt", 1, false, "not available for tif-alpha"},
		{"bad escape", "icc=%zz", "icc", 1, false, "bad escape"},
		{"bad colour", "bgc=12345", "bgc", 1, false, "colour"},
		{"colorize with a gray colour", "op_colorize=50g", "op_colorize", 1, false, "RGB"},
		{"fit without wid or hei", "fit=crop&fmt=png", "fit", 1, false, "needs wid= or hei="},
		{"align out of range", "align=2,0", "align", 1, false, "outside"},
		{"too many values", "wid=1,2", "wid", 1, false, "at most 1"},
		{"missing value", "op_invert", "op_invert", 1, false, "required"},
		{"hex float is not an IS real", "scl=0x1p2", "scl", 1, false, "not a number"},
		{"infinity is not a number", "rotate=inf", "rotate", 1, false, "not a number"},
		{"negative jpegSize", "jpegSize=-1", "jpegSize", 1, false, "outside"},
		{"mac palette with gif-alpha", "fmt=gif-alpha&quantize=mac", "quantize", 15, false, "mac palette"},
		{"src is rejected", "wid=10&src=other", "src", 8, true, "source image"},
		{"text is rejected", "text=hello", "text", 1, true, "not rendered"},
		{"other layers are rejected", "layer=1&wid=10", "layer", 1, true, "layer=comp"},
		{"req=props is rejected", "req=props", "req", 1, true, "req=props"},
		{"sizeN is rejected for layer 0", "sizeN=.5,.5", "sizeN", 1, true, "layer 0"},
		{"malformed macro call", "$a$b", "$a$b", 1, false, "$name$"},
		{"bad variable name", "$a b=1", "$a b", 1, false, "variable name"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse(tc.in, nil)
			var pe *ParseError
			require.ErrorAs(t, err, &pe)
			assert.Equal(t, tc.command, pe.Command)
			assert.Equal(t, tc.pos, pe.Pos)
			assert.Equal(t, tc.rejected, pe.Rejected)
			assert.Contains(t, pe.Reason, tc.reasonHas)
			assert.Contains(t, err.Error(), tc.command)
		})
	}
}

func TestParseWarnings(t *testing.T) {
	tests := []struct {
		in      string
		command string
		has     string
	}{
		{"res=12", "res", "not rendered"},
		{"wid=10&textAttr=72", "textAttr", "not rendered"},
		{"fmt=pjpeg&pscan=4", "pscan", "scans"},
		{"resMode=sharp", "resMode", "sharp2"},
		{"resMode=trilin", "resMode", "bilin"},
		{"icc=sRGB,perceptual,1,1", "icc", "dithering"},
		{"layer=0&wid=10", "layer", "composite"},
		{"hide=1", "hide", "not rendered"},
		{"fmt=gif&quantize=web,off,6", "quantize", "up to 8"},
		{"fmt=png8&quantize=adaptive,diffuse,8,ff0000", "quantize", "up to 16"},
		{"op_grow=2", "op_grow", "not rendered"},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			r, err := Parse(tc.in, nil)
			require.NoError(t, err)
			require.Len(t, r.Warnings, 1, "%v", r.Warnings)
			assert.Equal(t, tc.command, r.Warnings[0].Command)
			assert.Contains(t, r.Warnings[0].Message, tc.has)
			assert.Positive(t, r.Warnings[0].Pos)
		})
	}

	// No warnings for rendered commands and faithful no-ops; an overridden
	// warned value does not warn.
	for _, in := range []string{
		"wid=400&hei=400&fmt=jpeg&qlt=85&op_usm=1,1,0,0&cache=off&id=3&anchor=0,0&pos=1,1",
		"pscan=3&pscan=auto&fmt=pjpeg",
		"hide=1&hide=0",
	} {
		r, err := Parse(in, nil)
		require.NoError(t, err)
		assert.Empty(t, r.Warnings, in)
	}
}

func TestMacros(t *testing.T) {
	macros := MacroMap{
		"view":   "wid=240&fmt=jpeg&qlt=85&op_usm=5,2&bgc=200,200,200&align=-1,-1",
		"Thumb":  "$base$&wid=100",
		"base":   "hei=100&fmt=png&wid=50",
		"test":   "fmt=tif",
		"loop1":  "wid=1&$loop2$",
		"loop2":  "$LOOP1$",
		"self":   "$self$",
		"bad":    "wid=10&hei=oops",
		"varuse": "wid=$w$&hei=$w$",
		"amped":  "&&wid=7&",
	}
	tests := []struct {
		name, in, canonical string
	}{
		{"reference: override after the macro", "$view$&wid=480", "align=-1,-1&bgc=200,200,200&fmt=jpeg&op_usm=5,2&qlt=85&wid=480"},
		{"reference: wid before the macro has no effect", "wid=480&$view$", "align=-1,-1&bgc=200,200,200&fmt=jpeg&op_usm=5,2&qlt=85&wid=240"},
		{"names are case-insensitive", "$VIEW$", "align=-1,-1&bgc=200,200,200&fmt=jpeg&op_usm=5,2&qlt=85&wid=240"},
		{"nested macros", "$thumb$", "fmt=png&hei=100&wid=100"},
		{"variables pass values into a macro", "$w=64&$varuse$", "hei=64&wid=64"},
		{"stored definitions with stray ampersands", "$amped$", "wid=7"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, err := Parse(tc.in, macros)
			require.NoError(t, err)
			assert.Equal(t, tc.canonical, r.Canonical())
		})
	}

	t.Run("reference ExportJob example gives .tiff", func(t *testing.T) {
		// r-exportjob.md: fileToExport.jpg, is_modifier=&fmt=png, macro=$test$
		// (fmt=tif) → fileToExport.tiff.
		r, err := ParseExport("&fmt=png", "$test$", macros)
		require.NoError(t, err)
		assert.Equal(t, "tif", r.Format())
		assert.Equal(t, ".tiff", r.Ext())
		assert.Equal(t, "image/tiff", r.MIME())
	})

	exportTests := []struct {
		name, isModifier, macro, canonical string
	}{
		{"the macro's commands win", "wid=10&fmt=png&hei=5", "TEST", "fmt=tif&hei=5&wid=10"},
		{"without dollars, any case", "fmt=png", "Test", "fmt=tif"},
		{"no macro", "fmt=png", "", "fmt=png"},
		{"no is_modifier", "", "$view$", "align=-1,-1&bgc=200,200,200&fmt=jpeg&op_usm=5,2&qlt=85&wid=240"},
		{"a format name no $name$ call could spell", "wid=3", "Web Thumb (v2)", "fmt=webp&qlt=60&wid=100"},
		{"a $name$ inside is_modifier keeps its position", "$test$&fmt=png", "thumb", "fmt=png&hei=100&wid=100"},
	}
	exportMacros := MacroMap{"Web Thumb (v2)": "wid=100&fmt=webp&qlt=60"}
	for k, v := range macros {
		exportMacros[k] = v
	}
	for _, tc := range exportTests {
		t.Run("ParseExport: "+tc.name, func(t *testing.T) {
			r, err := ParseExport(tc.isModifier, tc.macro, exportMacros)
			require.NoError(t, err)
			assert.Equal(t, tc.canonical, r.Canonical())
		})
	}
	t.Run("ParseExport: unknown macro and faults inside it", func(t *testing.T) {
		_, err := ParseExport("wid=10", "nope", macros)
		var pe *ParseError
		require.ErrorAs(t, err, &pe)
		assert.Equal(t, "$nope$", pe.Command)
		assert.Equal(t, 7, pe.Pos, "just past is_modifier")
		_, err = ParseExport("wid=10", "bad", macros)
		require.ErrorAs(t, err, &pe)
		assert.Equal(t, "hei", pe.Command)
		assert.Equal(t, "bad", pe.Macro)
		_, err = ParseExport("", "loop1", macros)
		require.ErrorAs(t, err, &pe)
		assert.Contains(t, pe.Reason, "cycle")
	})

	errTests := []struct {
		name, in  string
		command   string
		pos       int
		macro     string
		macroPos  int
		reasonHas string
	}{
		{"unknown macro", "wid=1&$nope$", "$nope$", 7, "", 0, "unknown macro"},
		{"cycle", "$loop1$", "$LOOP1$", 1, "loop2", 1, "$loop1$ → $loop2$ → $LOOP1$"},
		{"self cycle", "fmt=png&$self$", "$self$", 9, "self", 1, "cycle"},
		{"error inside a macro names the macro", "wid=5&$bad$", "hei", 7, "bad", 8, "not an integer"},
	}
	for _, tc := range errTests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse(tc.in, macros)
			var pe *ParseError
			require.ErrorAs(t, err, &pe)
			assert.Equal(t, tc.command, pe.Command)
			assert.Equal(t, tc.pos, pe.Pos)
			assert.Equal(t, tc.macro, pe.Macro)
			assert.Equal(t, tc.macroPos, pe.MacroPos)
			assert.Contains(t, pe.Reason, tc.reasonHas)
		})
	}

	t.Run("no macro source", func(t *testing.T) {
		_, err := Parse("$view$", nil)
		var pe *ParseError
		require.ErrorAs(t, err, &pe)
	})

	t.Run("lookup failures are not parse errors", func(t *testing.T) {
		boom := errors.New("database down")
		_, err := Parse("$view$", MacroFunc(func(string) (string, bool, error) { return "", false, boom }))
		require.ErrorIs(t, err, boom)
		var pe *ParseError
		assert.False(t, errors.As(err, &pe))
	})

	t.Run("exponential definitions are bounded", func(t *testing.T) {
		m := MacroMap{"m0": "wid=1"}
		for i := 1; i <= 20; i++ {
			prev := "$m" + string(rune('a'+i-1)) + "$"
			if i == 1 {
				prev = "$m0$"
			}
			m["m"+string(rune('a'+i))] = prev + "&" + prev
		}
		_, err := Parse("$mu$", m)
		var pe *ParseError
		require.ErrorAs(t, err, &pe)
		assert.Contains(t, pe.Reason, "more than")
	})
}

func TestVariables(t *testing.T) {
	tests := []struct {
		name, in, canonical string
	}{
		// Canonical writes a literal '$' as %24, so it is never taken for a reference.
		{"reference", "$var2=apple&$var1=my$var2$tree&icc=$var1$", "icc=my%24var2%24tree"},
		{"names are case-insensitive", "$Size=50&wid=$SIZE$", "wid=50"},
		{"undefined references stay literal", "icc=a$b$c", "icc=a%24b%24c"},
		{"must be defined before use", "icc=$x$&$x=1", "icc=%24x%24"},
		{"values are decoded once, after substitution", "$c=%2C&align=0$c$1", "align=0,1"},
		{"several references", "$a=1&$b=2&rgn=$a$,$b$,10,10", "rgn=1,2,10,10"},
		{"a later definition wins", "$a=1&$a=2&wid=$a$", "wid=2"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, err := Parse(tc.in, nil)
			require.NoError(t, err)
			assert.Equal(t, tc.canonical, r.Canonical())
		})
	}
	r, err := Parse("$var2=apple&$var1=my$var2$tree&icc=$var1$", nil)
	require.NoError(t, err)
	assert.Equal(t, "my$var2$tree", r.ICC.Name, "references are not nested")

	// "wid=$number$ is not [valid], because wid requires a numeric argument".
	_, err = Parse("wid=$number$", nil)
	var pe *ParseError
	require.ErrorAs(t, err, &pe)
	assert.Equal(t, "wid", pe.Command)
}

func TestFormatExtensions(t *testing.T) {
	tests := []struct{ in, format, ext, mime string }{
		{"", "jpeg", ".jpg", "image/jpeg"},
		{"fmt=jpeg", "jpeg", ".jpg", "image/jpeg"},
		{"fmt=jpg", "jpg", ".jpg", "image/jpeg"},
		{"fmt=pjpeg", "pjpeg", ".jpg", "image/jpeg"},
		{"fmt=png", "png", ".png", "image/png"},
		{"fmt=png-alpha", "png-alpha", ".png", "image/png"},
		{"fmt=png8", "png8", ".png", "image/png"},
		{"fmt=png8-alpha", "png8-alpha", ".png", "image/png"},
		{"fmt=tif", "tif", ".tiff", "image/tiff"},
		{"fmt=tif-alpha,,zip", "tif-alpha", ".tiff", "image/tiff"},
		{"fmt=gif", "gif", ".gif", "image/gif"},
		{"fmt=gif-alpha", "gif-alpha", ".gif", "image/gif"},
		{"fmt=webp", "webp", ".webp", "image/webp"},
		{"fmt=web-alpha", "webp-alpha", ".webp", "image/webp"},
		{"fmt=avif", "avif", ".avif", "image/avif"},
		{"fmt=avif-alpha,,lossless", "avif-alpha", ".avif", "image/avif"},
		{"fmt=heic", "heic", ".heic", "image/heic"},
		{"fmt=jpeg2000", "jpeg2000", ".jp2", "image/jp2"},
		{"fmt=jpeg2000-alpha,gray,lossless", "jpeg2000-alpha", ".jp2", "image/jp2"},
		{"fmt=pdf", "pdf", ".pdf", "application/pdf"},
	}
	for _, tc := range tests {
		r, err := Parse(tc.in, nil)
		require.NoError(t, err, tc.in)
		assert.Equal(t, tc.format, r.Format(), tc.in)
		assert.Equal(t, tc.ext, r.Ext(), tc.in)
		assert.Equal(t, tc.mime, r.MIME(), tc.in)
	}
}

func TestParseColor(t *testing.T) {
	// The examples of c-data-types/r-is-http-color.md.
	tests := []struct {
		in     string
		kind   ColorKind
		v      []float64
		alpha  float64
		source bool
	}{
		{"0,100,200", ColorRGB, []float64{0, 100, 200}, 255, false},
		{"0,100,200,200rs", ColorRGB, []float64{0, 100, 200}, 200, true},
		{"0x010203S", ColorRGB, []float64{1, 2, 3}, 255, true},
		{"a0b1c2d3R", ColorRGB, []float64{160, 177, 194}, 211, false},
		{"100S", ColorGray, []float64{255}, 255, true},
		{"50,75g", ColorGray, []float64{127.5}, 191.25, false},
		{"0X70G", ColorGray, []float64{112}, 255, false},
		{"0xddeegs", ColorGray, []float64{221}, 238, true},
		{"94,11,50,33k", ColorCMYK, []float64{239.7, 28.05, 127.5, 84.15}, 255, false},
		{"22,23,24,25,26KS", ColorCMYK, []float64{56.1, 58.65, 61.2, 63.75}, 66.3, true},
		{"38393A3bK", ColorCMYK, []float64{56, 57, 58, 59}, 255, false},
		{"0x0a0b0C0d0eks", ColorCMYK, []float64{10, 11, 12, 13}, 14, true},
		{"FFFFFF", ColorRGB, []float64{255, 255, 255}, 255, false},
		{"000000", ColorRGB, []float64{0, 0, 0}, 255, false},
		{"0", ColorGray, []float64{0}, 255, false},
	}
	for _, tc := range tests {
		c, err := parseColor(tc.in)
		require.NoError(t, err, tc.in)
		assert.Equal(t, tc.kind, c.Kind, tc.in)
		for i, v := range tc.v {
			assert.InDelta(t, v, c.V[i], 0.01, "%s component %d", tc.in, i)
		}
		assert.InDelta(t, tc.alpha, c.A, 0.01, tc.in)
		assert.Equal(t, tc.source, c.Source, tc.in)
	}
	for _, bad := range []string{"", "s", "12345", "0x1", "fffffff", "256,0,0", "1,2", "1,2,3,4,5", "0xzz", "70", "50,50,50k", "ff00ffk"} {
		_, err := parseColor(bad)
		if bad == "1,2" || bad == "70" {
			// gray+alpha and gray percentages are valid
			assert.NoError(t, err, bad)
			continue
		}
		assert.Error(t, err, bad)
	}
	// Naive conversions between pixel types.
	cm, _ := parseColor("0,0,0,100k")
	assert.Equal(t, [3]float64{0, 0, 0}, cm.RGB())
	cm, _ = parseColor("100,0,0,0k")
	assert.Equal(t, [3]float64{0, 255, 255}, cm.RGB())
}
