package render

import (
	"context"
	"testing"

	"github.com/h2non/bimg"
	"github.com/stretchr/testify/require"

	"github.com/ipsexport/ipsd/internal/modifier"
)

// benchPhoto is a 3000×2000 JPEG (docs/rendering.md, "Measured on this machine"): smooth
// gradients with grain, so encoders see photo-like content.
func benchPhoto(b *testing.B) []byte {
	b.Helper()
	w, h := 3000, 2000
	pix := gradientPixels(w, h)
	s := uint32(1)
	for i := range pix {
		s = s*1664525 + 1013904223
		v := int(pix[i]) + int(s>>28) - 8
		pix[i] = byte(min(max(v, 0), 255))
	}
	out, err := encodeImage(rawImage{W: w, H: h, Bands: 3, Pix: pix}, "jpegsave_buffer", "Q=90")
	require.NoError(b, err)
	return out
}

// BenchmarkRender compares a render with the same operation done by a bare
// bimg call, in the same run, and reports renders/s and their ratio:
//
//	go test -run '^$' -bench Render -benchtime 20x ./internal/render/
func BenchmarkRender(b *testing.B) {
	src := benchPhoto(b)
	r := newTestRenderer(b)
	white := bimg.Color{R: 255, G: 255, B: 255}
	cases := []struct {
		name     string
		modifier string
		bare     bimg.Options
	}{
		{"webp-800", "wid=800&fmt=webp&qlt=80", bimg.Options{Width: 800, Type: bimg.WEBP, Quality: 80}},
		{"jpeg-800", "wid=800&fmt=jpeg&qlt=80", bimg.Options{Width: 800, Type: bimg.JPEG, Quality: 80}},
		{"preset-400x400", "wid=400&hei=400&fmt=jpeg&qlt=85",
			bimg.Options{Width: 400, Height: 400, Embed: true, Extend: bimg.ExtendBackground, Background: white, Type: bimg.JPEG, Quality: 85}},
		{"full-size-png", "fmt=png", bimg.Options{Type: bimg.PNG, Compression: 6}},
	}
	for _, c := range cases {
		req, err := modifier.Parse(c.modifier, nil)
		require.NoError(b, err)
		var ours, bare float64
		b.Run(c.name+"/ipsd", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := r.Render(context.Background(), src, req); err != nil {
					b.Fatal(err)
				}
			}
			ours = float64(b.N) / b.Elapsed().Seconds()
			b.ReportMetric(ours, "renders/s")
		})
		b.Run(c.name+"/bimg", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := bimg.NewImage(src).Process(c.bare); err != nil {
					b.Fatal(err)
				}
			}
			bare = float64(b.N) / b.Elapsed().Seconds()
			b.ReportMetric(bare, "renders/s")
		})
		b.Run(c.name+"/ratio", func(b *testing.B) {
			for b.Loop() {
			}
			if bare > 0 {
				b.ReportMetric(ours/bare, "ipsd/bimg")
			}
		})
	}
}
