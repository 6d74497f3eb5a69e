package httplimit

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestReadAll(t *testing.T) {
	tests := []struct {
		name   string
		body   string
		limit  int64
		budget int64
		err    error
	}{
		{"empty", "", 10, 1 << 20, nil},
		{"at the limit", strings.Repeat("a", 10_000), 10_000, 1 << 20, nil},
		{"over the limit", strings.Repeat("a", 10_001), 10_000, 1 << 20, ErrTooLarge},
		{"unbounded budget", strings.Repeat("a", 100_000), 1 << 20, 0, nil},
		{"budget spent", strings.Repeat("a", 100_000), 1 << 20, 64 << 10, ErrBusy},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := NewBudget(tc.budget)
			h := b.Hold()
			got, err := ReadAll(iotest.OneByteReader(strings.NewReader(tc.body)), tc.limit, h)
			if tc.err != nil {
				require.ErrorIs(t, err, tc.err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.body, string(got))
			if b != nil {
				assert.LessOrEqual(t, h.n, 2*int64(len(tc.body))+4<<10, "charged about what the buffer holds")
			}
		})
	}
}

// What one request holds, others cannot take until it is released; the
// budget is never overdrawn.
func TestBudgetShared(t *testing.T) {
	b := NewBudget(100 << 10)
	first := b.Hold()
	_, err := ReadAll(bytes.NewReader(make([]byte, 60<<10)), 1<<20, first)
	require.NoError(t, err)
	second := b.Hold()
	_, err = ReadAll(bytes.NewReader(make([]byte, 60<<10)), 1<<20, second)
	require.True(t, errors.Is(err, ErrBusy), "%v", err)
	second.Release()
	first.Release()
	first.Release() // twice is harmless
	third := b.Hold()
	_, err = ReadAll(bytes.NewReader(make([]byte, 60<<10)), 1<<20, third)
	assert.NoError(t, err, "released bytes are available again")
	assert.True(t, b.sem.TryAcquire(100<<10-third.n), "nothing is charged but what third holds")
}
