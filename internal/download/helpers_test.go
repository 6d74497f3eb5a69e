package download

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/ipsexport/ipsd/internal/blob"
	"github.com/stretchr/testify/require"
)

// memStore is an in-memory blob.Store. Its readers seek unless
// noSeek is set; delay slows every Open.
type memStore struct {
	mu     sync.Mutex
	data   map[string][]byte
	noSeek bool
	delay  time.Duration
	// sizeLies makes Open report these sizes for these keys.
	sizeLies map[string]int64
}

func newMemStore() *memStore { return &memStore{data: map[string][]byte{}} }

func (m *memStore) Put(_ context.Context, key string, r io.Reader) (blob.Info, error) {
	b, err := io.ReadAll(r)
	if err != nil {
		return blob.Info{}, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.data[key] = b
	return blob.Info{Key: key, Size: int64(len(b)), Modified: testNow}, nil
}

func (m *memStore) Open(_ context.Context, key string) (io.ReadCloser, blob.Info, error) {
	if m.delay > 0 {
		time.Sleep(m.delay)
	}
	m.mu.Lock()
	b, ok := m.data[key]
	m.mu.Unlock()
	if !ok {
		return nil, blob.Info{}, blob.ErrNotFound
	}
	info := blob.Info{Key: key, Size: int64(len(b)), Modified: testNow}
	if n, ok := m.sizeLies[key]; ok {
		info.Size = n
	}
	if m.noSeek {
		return io.NopCloser(onlyReader{bytes.NewReader(b)}), info, nil
	}
	return nopSeekCloser{bytes.NewReader(b)}, info, nil
}

func (m *memStore) Stat(ctx context.Context, key string) (blob.Info, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	b, ok := m.data[key]
	if !ok {
		return blob.Info{}, blob.ErrNotFound
	}
	return blob.Info{Key: key, Size: int64(len(b)), Modified: testNow}, nil
}

func (m *memStore) Delete(_ context.Context, key string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.data, key)
	return nil
}

func (m *memStore) DeletePrefix(context.Context, string) error { return nil }

type nopSeekCloser struct{ *bytes.Reader }

func (nopSeekCloser) Close() error { return nil }

// incompressible returns n random bytes, like JPEG data.
func incompressible(seed uint64, n int) []byte {
	r := rand.New(rand.NewPCG(seed, 1))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// compressible returns n bytes like an uncompressed image: smooth ramps
// with a little noise.
func compressible(seed uint64, n int) []byte {
	r := rand.New(rand.NewPCG(seed, 2))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i/64+(i>>12)) + byte(r.IntN(3))
	}
	return b
}

// putFiles stores n files of size bytes under exports/<job>/ and returns
// their listing; ext picks the kind of content.
func putFiles(t testing.TB, st blob.Store, job string, n, size int, ext string) []File {
	t.Helper()
	files := make([]File, n)
	for i := range files {
		var data []byte
		if ext == ".jpg" {
			data = incompressible(uint64(i), size)
		} else {
			data = compressible(uint64(i), size)
		}
		p := fmt.Sprintf("folder%d/file%04d%s", i%4, i, ext)
		key := "exports/" + job + "/" + p
		_, err := st.Put(context.Background(), key, bytes.NewReader(data))
		require.NoError(t, err)
		files[i] = File{Path: p, BlobKey: key, Size: int64(size)}
	}
	return files
}
