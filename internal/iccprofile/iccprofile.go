// Package iccprofile keeps the ICC profiles an operator registers for
// icc=NAME (`ipsd admin icc add`) and finds them again when a process that
// renders starts. Where they live follows the file storage: with local
// files, in DATA/icc on the machine; with a bucket, in the bucket under
// icc/NAME.icc, so every worker on every machine sees the same profiles
// (docs/operations.md). libvips reads profiles from files, so a shared
// profile is copied to DATA/icc/shared/ at start.
package iccprofile

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/ipsexport/ipsd/internal/blob"
)

const (
	// LocalDir is the profiles' directory inside the data directory.
	LocalDir = "icc"
	// BlobPrefix is where shared profiles are kept in the file storage.
	BlobPrefix = "icc/"
	// sharedCache is where, inside LocalDir, shared profiles are copied.
	sharedCache = "shared"
	ext         = ".icc"
	// maxProfileBytes is far above any real profile (a few KiB to a few
	// MiB): a key that large in the bucket is not one.
	maxProfileBytes = 64 << 20
)

// ValidName checks a profile name: letters, digits, '-', '_' and '.', as
// it is written in icc= and used as a file name.
func ValidName(name string) error {
	if name == "" || name == "." || name == ".." || len(name) > 100 {
		return fmt.Errorf("icc profile name %q: 1 to 100 of letters, digits, '-', '_' and '.'", name)
	}
	for _, r := range name {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.') {
			return fmt.Errorf("icc profile name %q: use letters, digits, '-', '_' and '.'", name)
		}
	}
	return nil
}

// Check tells an ICC profile from other data: every profile has the
// signature "acsp" at byte 36 of its 128-byte header.
func Check(data []byte) error {
	if len(data) < 128 || string(data[36:40]) != "acsp" {
		return errors.New("not an ICC profile (no 'acsp' signature in a 128-byte header)")
	}
	if len(data) > maxProfileBytes {
		return fmt.Errorf("%d bytes is more than an ICC profile holds (%d at most here)", len(data), maxProfileBytes)
	}
	return nil
}

// Add registers data as profile name, replacing one of the same name:
// into shared under icc/NAME.icc when shared is set (a bucket), else into
// DATA/icc/NAME.icc. It returns where the profile now is.
func Add(ctx context.Context, dataDir string, shared blob.Store, name string, data []byte) (string, error) {
	if err := ValidName(name); err != nil {
		return "", err
	}
	if err := Check(data); err != nil {
		return "", fmt.Errorf("icc profile %s: %w", name, err)
	}
	if shared != nil {
		key := BlobPrefix + name + ext
		if _, err := shared.Put(ctx, key, bytes.NewReader(data)); err != nil {
			return "", fmt.Errorf("icc profile %s: %w", name, err)
		}
		return key, nil
	}
	dest := filepath.Join(dataDir, LocalDir, name+ext)
	if err := writeFile(dest, data); err != nil {
		return "", fmt.Errorf("icc profile %s: %w", name, err)
	}
	return dest, nil
}

// Load returns every registered profile, name → file: those in
// DATA/icc, and with shared set, those in it, copied into
// DATA/icc/shared/ (a name in both is the shared one: it is what the
// other processes use).
func Load(ctx context.Context, dataDir string, shared blob.Store) (map[string]string, error) {
	dir := filepath.Join(dataDir, LocalDir)
	out := map[string]string{}
	entries, err := os.ReadDir(dir)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("icc profiles: %w", err)
	}
	for _, e := range entries {
		if name, ok := strings.CutSuffix(e.Name(), ext); ok && e.Type().IsRegular() && ValidName(name) == nil {
			out[name] = filepath.Join(dir, e.Name())
		}
	}
	if shared == nil {
		return out, nil
	}
	lister, ok := shared.(blob.Lister)
	if !ok {
		return nil, fmt.Errorf("icc profiles: %T cannot list its keys", shared)
	}
	keys, err := lister.List(ctx, BlobPrefix)
	if err != nil {
		return nil, fmt.Errorf("icc profiles: %w", err)
	}
	for _, k := range keys {
		name, ok := strings.CutSuffix(strings.TrimPrefix(k.Key, BlobPrefix), ext)
		if !ok || path.Base(k.Key) != name+ext || ValidName(name) != nil {
			continue // not one Add wrote
		}
		dest := filepath.Join(dir, sharedCache, name+ext)
		if err := fetch(ctx, shared, k.Key, dest); err != nil {
			return nil, fmt.Errorf("icc profile %s: %w", name, err)
		}
		out[name] = dest
	}
	return out, nil
}

// fetch copies key to dest whole: other processes on the machine may
// read dest or fetch it at the same time.
func fetch(ctx context.Context, st blob.Store, key, dest string) error {
	r, _, err := st.Open(ctx, key)
	if err != nil {
		return err
	}
	defer r.Close()
	data, err := io.ReadAll(io.LimitReader(r, maxProfileBytes+1))
	if err != nil {
		return err
	}
	if err := Check(data); err != nil {
		return fmt.Errorf("%s: %w", key, err)
	}
	return writeFile(dest, data)
}

// writeFile writes data to path through a temporary file and a rename, so
// a reader sees the old profile or the new one, never a part.
func writeFile(path string, data []byte) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(dir, ".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
