package notify

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"
)

// DefaultFrom is the From of spooled mail when neither the mail nor the
// SpoolSender gives one.
const DefaultFrom = "IPS Export <ipsd@localhost>"

// SpoolSender writes each mail as an RFC 5322 .eml file under Dir, for a
// deployment without a mail server (docs/exports.md, "Mail": "written as an .eml file
// under the data directory"). Files are named
// <UTC time>-<random>.eml, so they sort by time of sending, and appear
// atomically: written to a temporary file in Dir, synced, then renamed.
// A reader that skips names starting with "." never sees a partial mail.
type SpoolSender struct {
	Dir string
	// From is the header From of a mail that has none; DefaultFrom when
	// empty.
	From string
	// Log receives one line per mail; nil means slog.Default().
	Log *slog.Logger
}

// Send writes m to a new file in Dir.
func (s *SpoolSender) Send(ctx context.Context, m Mail) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("spool mail: %w", err)
	}
	if m.From == "" {
		m.From = s.From
	}
	if m.From == "" {
		m.From = DefaultFrom
	}
	now := time.Now()
	msg, env, err := m.render(now)
	if err != nil {
		return fmt.Errorf("spool mail: %w", err)
	}
	if err := os.MkdirAll(s.Dir, 0o750); err != nil {
		return fmt.Errorf("spool mail: %w", err)
	}
	var r [6]byte
	_, _ = rand.Read(r[:])
	name := filepath.Join(s.Dir, now.UTC().Format("20060102T150405.000000000Z")+"-"+hex.EncodeToString(r[:])+".eml")

	tmp, err := os.CreateTemp(s.Dir, ".tmp-*.eml")
	if err != nil {
		return fmt.Errorf("spool mail: %w", err)
	}
	done := false
	defer func() {
		if !done {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if _, err := tmp.Write(msg); err != nil {
		return fmt.Errorf("spool mail %s: %w", name, err)
	}
	if err := tmp.Chmod(0o640); err != nil {
		return fmt.Errorf("spool mail %s: %w", name, err)
	}
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("spool mail %s: %w", name, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("spool mail %s: %w", name, err)
	}
	if err := os.Rename(tmp.Name(), name); err != nil {
		return fmt.Errorf("spool mail %s: %w", name, err)
	}
	done = true
	s.log().Info("mail spooled", "file", name, "to", env.to, "bytes", len(msg))
	return nil
}

func (s *SpoolSender) log() *slog.Logger {
	if s.Log != nil {
		return s.Log
	}
	return slog.Default()
}
