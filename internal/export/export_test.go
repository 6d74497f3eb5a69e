package export

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestRelativeFolder(t *testing.T) {
	for in, want := range map[string]string{"Acme/": "", "Acme/a/": "a/", "Acme/a/b/": "a/b/", "": ""} {
		assert.Equal(t, want, RelativeFolder(in, "Acme/"), in)
	}
}
