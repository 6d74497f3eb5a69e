package notify

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSpoolSend(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "mail", "outbox") // created on demand
	tests := []struct {
		name     string
		sender   SpoolSender
		mailFrom string
		wantFrom string
	}{
		{"configured From", SpoolSender{From: "IPS Export <ipsd@ips.example.com>"}, "", "ipsd@ips.example.com"},
		{"mail's own From wins", SpoolSender{From: "ipsd@ips.example.com"}, "jobs@ips.example.com", "jobs@ips.example.com"},
		{"default From", SpoolSender{}, "", "ipsd@localhost"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before, _ := filepath.Glob(filepath.Join(dir, "*.eml"))
			s := tc.sender
			s.Dir, s.Log = dir, quiet()
			sum := summary("ja-JP", Completed)
			m, err := Compose(rcpts, sum)
			require.NoError(t, err)
			m.From = tc.mailFrom
			require.NoError(t, s.Send(context.Background(), m))

			after, err := filepath.Glob(filepath.Join(dir, "*.eml"))
			require.NoError(t, err)
			require.Len(t, after, len(before)+1)
			name := after[len(after)-1]
			assert.Regexp(t, `^\d{8}T\d{6}\.\d{9}Z-[0-9a-f]{12}\.eml$`, filepath.Base(name))
			st, err := os.Stat(name)
			require.NoError(t, err)
			assert.Equal(t, os.FileMode(0o640), st.Mode().Perm())

			raw, err := os.ReadFile(name)
			require.NoError(t, err)
			p := parseMail(t, raw)
			from, err := p.header.AddressList("From")
			require.NoError(t, err)
			assert.Equal(t, tc.wantFrom, from[0].Address)
			to, err := p.header.AddressList("To")
			require.NoError(t, err)
			require.Len(t, to, 2)
			assert.Equal(t, "Ann Ökerlund", to[0].Name)
			assert.Equal(t, m.Subject, p.subject)
			assert.Contains(t, p.subject, "完了しました")
			assert.Contains(t, p.body, sum.ZipURL)
			assert.Contains(t, p.body, "エクスポート済み：117")
		})
	}
	// Nothing but finished .eml files is left behind.
	ents, err := os.ReadDir(dir)
	require.NoError(t, err)
	for _, e := range ents {
		assert.True(t, strings.HasSuffix(e.Name(), ".eml") && !strings.HasPrefix(e.Name(), "."), e.Name())
	}
}

func TestSpoolConcurrentSendsDoNotCollide(t *testing.T) {
	dir := t.TempDir()
	s := &SpoolSender{Dir: dir, Log: quiet()}
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() {
			assert.NoError(t, s.Send(context.Background(), Mail{To: "ann@example.com", Subject: "s", Text: "t"}))
		})
	}
	wg.Wait()
	files, err := filepath.Glob(filepath.Join(dir, "*.eml"))
	require.NoError(t, err)
	assert.Len(t, files, 20)
}

func TestSpoolErrors(t *testing.T) {
	t.Run("invalid mail leaves nothing", func(t *testing.T) {
		dir := t.TempDir()
		s := &SpoolSender{Dir: dir, Log: quiet()}
		assert.Error(t, s.Send(context.Background(), Mail{To: "not an address"}))
		ents, _ := os.ReadDir(dir)
		assert.Empty(t, ents)
	})
	t.Run("directory cannot be created", func(t *testing.T) {
		file := filepath.Join(t.TempDir(), "file")
		require.NoError(t, os.WriteFile(file, nil, 0o600))
		s := &SpoolSender{Dir: filepath.Join(file, "sub"), Log: quiet()}
		assert.Error(t, s.Send(context.Background(), Mail{To: "ann@example.com"}))
	})
	t.Run("canceled", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		s := &SpoolSender{Dir: t.TempDir(), Log: quiet()}
		assert.ErrorIs(t, s.Send(ctx, Mail{To: "ann@example.com"}), context.Canceled)
	})
}
