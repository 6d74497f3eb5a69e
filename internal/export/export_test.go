package export

import (
	"testing"

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
		req  *modifier.Request
		want []string
	}{
		{"orig keeps names and folders", nil,
			[]string{"fileToExport.jpg", "shoes/boot.png", "shoes/red/boot.png", "shoes/BOOT-2.png", "docs/clip.mp4"}},
		{"convert takes the written format's extension; the macro's fmt wins", tiff,
			[]string{"fileToExport.tiff", "shoes/boot.tiff", "shoes/red/boot.tiff", "shoes/BOOT-2.tiff", "docs/clip.mp4"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			n := NewNamer("Acme/", tc.req, len(assets))
			var got []string
			for _, a := range assets {
				got = append(got, n.Name(a))
			}
			assert.Equal(t, tc.want, got)
		})
	}
}

func TestRelativeFolder(t *testing.T) {
	for in, want := range map[string]string{"Acme/": "", "Acme/a/": "a/", "Acme/a/b/": "a/b/", "": ""} {
		assert.Equal(t, want, RelativeFolder(in, "Acme/"), in)
	}
}
