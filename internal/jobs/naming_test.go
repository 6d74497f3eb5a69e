package jobs

import (
	"path"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ipsexport/ipsd/internal/modifier"
	"github.com/ipsexport/ipsd/internal/store"
)

func TestNamer(t *testing.T) {
	assets := []store.Asset{
		{FolderPath: "Acme/", FileName: "fileToExport.jpg", Type: "Image"},
		{FolderPath: "Acme/shoes/", FileName: "boot.png", Type: "Image"},
		{FolderPath: "Acme/shoes/red/", FileName: "boot.png", Type: "Image"},
		{FolderPath: "Acme/shoes/", FileName: "BOOT.png", Type: "Image"},
		{FolderPath: "Acme/docs/", FileName: "clip.mp4", Type: "Video"},
	}
	tiff, err := modifier.ParseExport("&fmt=png", "$test$", modifier.MacroMap{"test": "fmt=tif"})
	require.NoError(t, err)
	tests := []struct {
		name string
		ext  string
		want []string
	}{
		{"orig keeps names and folders", "",
			[]string{"fileToExport.jpg", "shoes/boot.png", "shoes/red/boot.png", "shoes/BOOT-2.png", "docs/clip.mp4"}},
		{"convert takes the written format's extension; the macro's fmt wins", tiff.Ext(),
			[]string{"fileToExport.tiff", "shoes/boot.tiff", "shoes/red/boot.tiff", "shoes/BOOT-2.tiff", "docs/clip.mp4"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			n := NewNamer("Acme/", tc.ext, len(assets))
			var got []string
			for _, a := range assets {
				got = append(got, n.Name(a))
			}
			assert.Equal(t, tc.want, got)
		})
	}
}

// TestNamerManyCopies: one asset named 10,000 times gets 10,000 distinct
// names in order, and a name that looks like a suffix ("a-3.jpg") is
// skipped, not given twice.
func TestNamerManyCopies(t *testing.T) {
	n := NewNamer("Acme/", "", 10_000)
	a := store.Asset{FolderPath: "Acme/", FileName: "a.jpg", Type: "Image"}
	taken := n.Name(store.Asset{FolderPath: "Acme/", FileName: "A-3.JPG", Type: "Image"})
	assert.Equal(t, "A-3.JPG", taken)
	seen := map[string]bool{"a-3.jpg": true}
	want := []string{"a.jpg", "a-2.jpg", "a-4.jpg", "a-5.jpg"}
	for i := range 10_000 {
		got := n.Name(a)
		if i < len(want) {
			assert.Equal(t, want[i], got)
		}
		require.False(t, seen[strings.ToLower(got)], "name %s given twice", got)
		seen[strings.ToLower(got)] = true
	}
	assert.Equal(t, "a-10002.jpg", n.Name(a), "the counter resumes after the last (a-3 was taken)")
}

// BenchmarkNamer names a job of 10,000 copies of one asset beside one of
// 10,000 distinct assets: linear naming keeps the two within a small
// factor (the old probe loop made the copies quadratic).
func BenchmarkNamer(b *testing.B) {
	same := make([]store.Asset, 10_000)
	distinct := make([]store.Asset, 10_000)
	for i := range same {
		same[i] = store.Asset{FolderPath: "Acme/", FileName: "a.jpg", Type: "Image"}
		distinct[i] = store.Asset{FolderPath: "Acme/", FileName: "a" + strconv.Itoa(i) + ".jpg", Type: "Image"}
	}
	for _, c := range []struct {
		name   string
		assets []store.Asset
	}{{"distinct", distinct}, {"copies", same}} {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				n := NewNamer("Acme/", ".png", len(c.assets))
				for _, a := range c.assets {
					_ = n.Name(a)
				}
			}
		})
	}
}

// TestNamerKeepsNamesShort: names of old assets near or past 255 bytes,
// with a longer extension and -N suffixes, stay within 255 bytes, valid
// UTF-8 and unique; the extension and suffix are kept.
func TestNamerKeepsNamesShort(t *testing.T) {
	long := strings.Repeat("é", 126) + ".j" // 254 bytes
	ascii := strings.Repeat("x", 300) + ".png"
	oddExt := "a." + strings.Repeat("e", 260)
	for _, ext := range []string{"", ".tiff"} {
		n := NewNamer("Acme/", ext, 30)
		seen := map[string]bool{}
		for i := range 30 {
			name := []string{long, ascii, oddExt}[i%3]
			got := n.Name(store.Asset{FolderPath: "Acme/some/folder/", FileName: name, Type: "Image"})
			base := path.Base(got)
			assert.LessOrEqual(t, len(base), 255, "%q", got)
			assert.True(t, utf8.ValidString(got), "%q", got)
			assert.True(t, strings.HasPrefix(got, "some/folder/"), got)
			require.False(t, seen[strings.ToLower(got)], "%q given twice", got)
			seen[strings.ToLower(got)] = true
			if i%3 == 0 {
				want := ".j"
				if ext != "" {
					want = ext
				}
				assert.Equal(t, want, path.Ext(got), "the extension stays")
				if i >= 3 {
					assert.Contains(t, got, "-"+strconv.Itoa(i/3+1)+want, "the suffix stays")
				}
			}
		}
	}
	assert.Equal(t, "a.jpg", fitName("a", "", ".jpg"))
	assert.Len(t, fitName(strings.Repeat("é", 200), "-1000", ".tiff"), 254, "cut on a character boundary")
}
