package modifier

import "testing"

// BenchmarkParse is the modifier parser on what exports send: a plain
// resize, a preset with its colour and sharpening commands, and a macro
// reference resolved from a catalogue (submitJob parses the conversion
// once per job, each chunk of a running job once more).
func BenchmarkParse(b *testing.B) {
	macros := MacroFunc(func(name string) (string, bool, error) {
		if name == "thumb" {
			return "wid=400&hei=400&fit=constrain&fmt=jpeg&qlt=85,1&op_usm=1.2,0.5,4,0&bgc=ffffff&iccEmbed=1", true, nil
		}
		return "", false, nil
	})
	cases := []struct{ name, isModifier, macro string }{
		{"resize", "wid=800&fmt=jpeg&qlt=80", ""},
		{"preset", "wid=1200&hei=900&fit=crop,1&align=0,-1&fmt=webp-alpha&qlt=90&op_sharpen=1&op_brightness=10&op_contrast=-5&bgc=255,255,255&resMode=bisharp&printRes=300", ""},
		{"macro", "fmt=png&wid=300", "$thumb$"},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := ParseExport(c.isModifier, c.macro, macros); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
