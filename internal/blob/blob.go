// Package blob stores files: originals and exported outputs. Keys are
// slash-separated relative paths chosen by the caller; a key never escapes
// the store's root.
package blob

import (
	"context"
	"errors"
	"io"
	"time"
)

// ErrNotFound is returned for a key that holds nothing.
var ErrNotFound = errors.New("blob not found")

// Info describes a stored file.
type Info struct {
	Key      string
	Size     int64
	SHA256   string // hex; filled by Put
	Modified time.Time
}

// Store is file storage. Put is atomic: a reader never sees a half-written
// file under key, and a failed Put leaves nothing behind.
type Store interface {
	Put(ctx context.Context, key string, r io.Reader) (Info, error)
	Open(ctx context.Context, key string) (io.ReadCloser, Info, error)
	Stat(ctx context.Context, key string) (Info, error)
	Delete(ctx context.Context, key string) error
	// DeletePrefix removes every key under prefix (a "directory").
	DeletePrefix(ctx context.Context, prefix string) error
}

// Lister is a Store that can list its keys: the shared ICC profiles are
// found this way (docs/operations.md).
type Lister interface {
	// List describes every key under the directory prefix ("a" or "a/":
	// the keys under "a/", never "ab"), in key order. A prefix holding
	// nothing is an empty list, not an error. Info.SHA256 may be empty.
	List(ctx context.Context, prefix string) ([]Info, error)
}
