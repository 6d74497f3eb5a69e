package blob

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
)

// Local stores files under a directory (also any shared mount).
type Local struct {
	root string
}

var _ Lister = (*Local)(nil)

// NewLocal returns a store rooted at dir, creating it.
func NewLocal(dir string) (*Local, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("blob root %s: %w", dir, err)
	}
	if err := os.MkdirAll(abs, 0o750); err != nil {
		return nil, fmt.Errorf("blob root %s: %w", dir, err)
	}
	return &Local{root: abs}, nil
}

// Root is the directory files live under.
func (l *Local) Root() string { return l.root }

// CleanKey validates a key: relative, slash-separated, no "..", no NUL, no
// empty segments. Keys come from our own code, but we check anyway so no
// bug can write outside the root.
func CleanKey(key string) (string, error) {
	if key == "" || strings.ContainsRune(key, 0) || strings.HasPrefix(key, "/") || strings.Contains(key, "\\") {
		return "", fmt.Errorf("invalid blob key %q", key)
	}
	c := path.Clean(key)
	if c != key || c == "." || strings.HasPrefix(c, "../") || c == ".." {
		return "", fmt.Errorf("invalid blob key %q", key)
	}
	return c, nil
}

func (l *Local) path(key string) (string, error) {
	k, err := CleanKey(key)
	if err != nil {
		return "", err
	}
	return filepath.Join(l.root, filepath.FromSlash(k)), nil
}

// keyError is an error of op on key that names the key, never the file's
// path: blob errors end up in job logs and faults, which must not show the
// server's directories. The cause (a syscall.Errno, mostly) stays
// inspectable with errors.Is.
func keyError(op, key string, err error) error {
	var pe *fs.PathError
	var le *os.LinkError
	switch {
	case errors.As(err, &pe):
		err = pe.Err
	case errors.As(err, &le):
		err = le.Err
	}
	return fmt.Errorf("%s %s: %w", op, key, err)
}

// Put writes r to a temporary file beside the target, fsyncs and renames
// it. The temporary name is short whatever the key's (".tmp-" and a
// random number): a name near the file system's 255-byte limit must not
// become one over it.
func (l *Local) Put(ctx context.Context, key string, r io.Reader) (Info, error) {
	p, err := l.path(key)
	if err != nil {
		return Info{}, err
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o750); err != nil {
		return Info{}, keyError("put", key, err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(p), ".tmp-*")
	if err != nil {
		return Info{}, keyError("put", key, err)
	}
	ok := false
	defer func() {
		if !ok {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(tmp, h), ctxReader{ctx, r})
	if err != nil {
		return Info{}, keyError("put", key, err)
	}
	if err := tmp.Sync(); err != nil {
		return Info{}, keyError("put", key, err)
	}
	if err := tmp.Close(); err != nil {
		return Info{}, keyError("put", key, err)
	}
	if err := os.Rename(tmp.Name(), p); err != nil {
		return Info{}, keyError("put", key, err)
	}
	ok = true
	st, err := os.Stat(p)
	if err != nil {
		return Info{}, keyError("put", key, err)
	}
	return Info{Key: key, Size: n, SHA256: hex.EncodeToString(h.Sum(nil)), Modified: st.ModTime()}, nil
}

// Open opens key for reading. Symlinks are not followed out of the root:
// only regular files are served.
func (l *Local) Open(ctx context.Context, key string) (io.ReadCloser, Info, error) {
	p, err := l.path(key)
	if err != nil {
		return nil, Info{}, ErrNotFound
	}
	// Lstat first so a FIFO or device is never opened (that could block);
	// then describe the file actually opened, not the path: a Put may rename
	// a new file over it in between.
	if st, err := os.Lstat(p); err != nil || !st.Mode().IsRegular() {
		return nil, Info{}, ErrNotFound
	}
	f, err := os.OpenFile(p, os.O_RDONLY|syscall.O_NOFOLLOW, 0)
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ELOOP) {
		return nil, Info{}, ErrNotFound
	}
	if err != nil {
		return nil, Info{}, keyError("open", key, err)
	}
	st, err := f.Stat()
	if err != nil || !st.Mode().IsRegular() {
		f.Close()
		if err != nil {
			return nil, Info{}, keyError("open", key, err)
		}
		return nil, Info{}, ErrNotFound
	}
	return &file{f: f, key: key}, Info{Key: key, Size: st.Size(), Modified: st.ModTime()}, nil
}

// file is an open blob whose errors name its key, not its path. It is a
// ReadSeeker (downloads serve ranges from it), and deliberately nothing
// more: an embedded *os.File would promote WriteTo, whose errors name the
// path.
type file struct {
	f   *os.File
	key string
}

func (f *file) Read(p []byte) (int, error) {
	n, err := f.f.Read(p)
	if err != nil && err != io.EOF {
		err = keyError("read", f.key, err)
	}
	return n, err
}

func (f *file) Seek(offset int64, whence int) (int64, error) {
	n, err := f.f.Seek(offset, whence)
	if err != nil {
		err = keyError("seek", f.key, err)
	}
	return n, err
}

func (f *file) Close() error {
	if err := f.f.Close(); err != nil {
		return keyError("close", f.key, err)
	}
	return nil
}

// Stat describes key.
func (l *Local) Stat(ctx context.Context, key string) (Info, error) {
	p, err := l.path(key)
	if err != nil {
		return Info{}, ErrNotFound
	}
	st, err := os.Lstat(p)
	if err != nil || !st.Mode().IsRegular() {
		return Info{}, ErrNotFound
	}
	return Info{Key: key, Size: st.Size(), Modified: st.ModTime()}, nil
}

// Delete removes key; a missing key is not an error.
func (l *Local) Delete(ctx context.Context, key string) error {
	p, err := l.path(key)
	if err != nil {
		return err
	}
	if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return keyError("delete", key, err)
	}
	return nil
}

// DeletePrefix removes the directory prefix and everything under it. A file
// named prefix is not a directory and stays.
func (l *Local) DeletePrefix(ctx context.Context, prefix string) error {
	p, err := l.path(strings.TrimSuffix(prefix, "/"))
	if err != nil {
		return err
	}
	if st, err := os.Lstat(p); err != nil || !st.IsDir() {
		return nil
	}
	if err := os.RemoveAll(p); err != nil {
		return keyError("delete", prefix, err)
	}
	return nil
}

// List walks the directory prefix. Temporary files of a Put under way
// (".tmp-…") are not keys and are left out.
func (l *Local) List(ctx context.Context, prefix string) ([]Info, error) {
	dir, err := l.path(strings.TrimSuffix(prefix, "/"))
	if err != nil {
		return nil, err
	}
	var out []Info
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) && p == dir {
				return fs.SkipAll
			}
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if p == dir && !d.IsDir() {
			return fs.SkipAll // a file is not a directory
		}
		if !d.Type().IsRegular() || strings.HasPrefix(d.Name(), ".tmp-") {
			return nil
		}
		st, err := d.Info()
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(l.root, p)
		if err != nil {
			return err
		}
		out = append(out, Info{Key: filepath.ToSlash(rel), Size: st.Size(), Modified: st.ModTime()})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", prefix, err)
	}
	// The walk orders each directory's names; keys sort differently
	// ("a/b.txt" before "a/b/c").
	slices.SortFunc(out, func(a, b Info) int { return strings.Compare(a.Key, b.Key) })
	return out, nil
}

// ctxReader stops a long copy when the context ends.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
