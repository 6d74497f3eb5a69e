package upload

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ipsexport/ipsd/internal/store"
)

// A file name is held to 240 bytes, so that an export's longer extension
// and "-N" suffix still fit a file system's 255; folders may use all 255.
func TestResolveTargetLengths(t *testing.T) {
	co := store.Company{RootPath: "Acme/"}
	tests := []struct {
		name, path string
		ok         bool
		reason     string
	}{
		{"file name of 240 bytes", strings.Repeat("é", 118) + ".png", true, ""},
		{"file name of 241 bytes", strings.Repeat("a", 237) + ".png", false, "241 bytes long"},
		{"folder of 255 bytes", strings.Repeat("f", 255) + "/a.png", true, ""},
		{"folder of 256 bytes", strings.Repeat("f", 256) + "/a.png", false, "longer than 255"},
		{"whole path over 1024", strings.Repeat(strings.Repeat("f", 200)+"/", 6) + "a.png", false, "1024"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tg, f := resolveTarget(co, nil, "uploadParams/fileName", tc.path)
			if tc.ok {
				require.Nil(t, f)
				assert.Equal(t, tc.path, tg.Path())
				return
			}
			require.NotNil(t, f)
			assert.Contains(t, f.Reason, tc.reason)
			assert.Contains(t, f.Reason, "uploadParams/fileName")
			assert.Less(t, len(f.Reason), 600, "the value is cut in the fault")
		})
	}
}
