package export

import (
	"bytes"
	"context"
	"io"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ipsexport/ipsd/internal/blob"
	"github.com/ipsexport/ipsd/internal/modifier"
	"github.com/ipsexport/ipsd/internal/store"
)

func TestRelativeFolder(t *testing.T) {
	for in, want := range map[string]string{"Acme/": "", "Acme/a/": "a/", "Acme/a/b/": "a/b/", "": ""} {
		assert.Equal(t, want, RelativeFolder(in, "Acme/"), in)
	}
}

// fixedRenderer returns the same bytes for every request.
type fixedRenderer struct{ out []byte }

func (r fixedRenderer) Render(context.Context, []byte, *modifier.Request) (Rendered, error) {
	return Rendered{Data: r.out}, nil
}

// countingBudget admits up to left bytes and records what it gave back.
type countingBudget struct {
	left, returned int64
}

func (b *countingBudget) Admit(_ context.Context, n int64) error {
	if n > b.left {
		return &LimitError{Limit: ErrJobFull, Msg: "it does not fit the test budget"}
	}
	b.left -= n
	return nil
}

func (b *countingBudget) Return(_ context.Context, n int64) { b.left += n; b.returned += n }

// A file over MaxFileBytes or the budget never reaches storage; one that
// fits is written and admitted; a failed write gives its bytes back.
func TestExportLimits(t *testing.T) {
	ctx := context.Background()
	st, err := blob.NewLocal(t.TempDir())
	require.NoError(t, err)
	orig := bytes.Repeat([]byte("o"), 3000)
	info, err := st.Put(ctx, "originals/a", bytes.NewReader(orig))
	require.NoError(t, err)
	asset := store.Asset{Handle: "a|1|1", Type: "Image", FileName: "a.png", StorageKey: "originals/a", SHA256: info.SHA256}
	req, err := modifier.Parse("fmt=png", nil)
	require.NoError(t, err)
	x := &Exporter{Blob: st, Renderer: fixedRenderer{bytes.Repeat([]byte("r"), 5000)}, MaxFileBytes: 4000}

	b := &countingBudget{left: 10_000}
	r := x.Export(ctx, Task{Asset: asset, Key: "exports/j/a.png", Request: req, Budget: b})
	require.ErrorIs(t, r.Err, ErrFileTooLarge)
	assert.Equal(t, "the converted file is 5000 bytes (4.9 KiB), above the limit of 4000 bytes (3.9 KiB) per exported file", r.Err.Error())
	assert.Equal(t, int64(10_000), b.left, "nothing admitted")

	r = x.Export(ctx, Task{Asset: asset, Key: "exports/j/a.png", Budget: b})
	require.NoError(t, r.Err)
	assert.Equal(t, int64(3000), r.Size)
	assert.Equal(t, int64(7000), b.left)

	small := &countingBudget{left: 2999}
	r = x.Export(ctx, Task{Asset: asset, Key: "exports/k/a.png", Budget: small})
	require.ErrorIs(t, r.Err, ErrJobFull)
	assert.Equal(t, "the original of 3000 bytes (2.9 KiB): it does not fit the test budget", r.Err.Error())
	_, err = st.Stat(ctx, "exports/k/a.png")
	assert.ErrorIs(t, err, blob.ErrNotFound, "refused before storage")

	// A catalogue checksum that does not match: the file is removed and
	// its bytes given back.
	bad := asset
	bad.SHA256 = strings.Repeat("0", 64)
	r = x.Export(ctx, Task{Asset: bad, Key: "exports/l/a.png", Budget: b})
	require.ErrorIs(t, r.Err, ErrChecksum)
	assert.Equal(t, int64(7000), b.left)
	assert.Equal(t, int64(3000), b.returned)
}

// capped fails a source longer than it said, so a write never passes
// what was admitted.
func TestCapped(t *testing.T) {
	var out bytes.Buffer
	_, err := io.Copy(&out, &capped{r: strings.NewReader("abcdef"), left: 4})
	require.ErrorIs(t, err, errGrew)
	out.Reset()
	_, err = io.Copy(&out, &capped{r: strings.NewReader("abcd"), left: 4})
	require.NoError(t, err)
	assert.Equal(t, "abcd", out.String())
}

func TestByteSize(t *testing.T) {
	for n, want := range map[int64]string{
		0: "0 bytes", 1023: "1023 bytes", 1024: "1024 bytes (1.0 KiB)",
		201326592: "201326592 bytes (192.0 MiB)", 100 << 30: "107374182400 bytes (100.0 GiB)",
	} {
		assert.Equal(t, want, ByteSize(n))
	}
}
