// Package rendition is the rendition cache: rendered files kept in the
// blob store under a key derived from their content, so that a convert
// export of bytes already rendered the same way reuses the file instead of
// rendering it again (docs/rendition-cache.md). The files live under
// renditions/<key> in the blob store every worker shares (local files or
// S3); the index of sizes and last uses lives in the database
// (store.RenditionIndex), which bounds their total size, least recently
// used first.
//
// The cache is an optimisation only: any failure of it is logged and the
// asset is rendered as if it were not there.
package rendition

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/ipsexport/ipsd/internal/blob"
	"github.com/ipsexport/ipsd/internal/modifier"
	"github.com/ipsexport/ipsd/internal/store"
)

// DefaultMaxBytes is the default bound on the cache's files together.
const DefaultMaxBytes int64 = 10 << 30

// Prefix is where the files live in the blob store.
const Prefix = "renditions/"

// keyVersion is the layout of the key itself: bump it if what goes into
// Key changes.
const keyVersion = "ipsd-rendition-1"

// Cache is the rendition cache. It is safe for concurrent use, also by
// several processes sharing one database and one blob store.
type Cache struct {
	blob     blob.Store
	index    store.RenditionIndex
	maxBytes int64
	version  string
	log      *slog.Logger
	now      func() time.Time
	// writing holds a token per rendition being kept in the background
	// (Put); waitMu lets one Wait at a time take them all.
	writing chan struct{}
	waitMu  sync.Mutex
}

// background is how many renditions are kept at once behind the worker's
// back; beyond, Put keeps them itself. A put is mostly the file's fsync,
// which would otherwise leave a core idle between two renders.
const background = 4

// Config configures a Cache.
type Config struct {
	Blob  blob.Store
	Index store.RenditionIndex
	// MaxBytes bounds the files together; 0 or less disables the cache
	// (New returns nil).
	MaxBytes int64
	// RendererVersion names the renderer's output (render.Renderer.Version):
	// a renderer that renders differently must give another.
	RendererVersion string
	Logger          *slog.Logger
	Now             func() time.Time
}

// New returns the cache, or nil (no cache) when cfg.MaxBytes is 0 or
// less. A nil *Cache is usable: it finds nothing and keeps nothing.
func New(cfg Config) *Cache {
	if cfg.MaxBytes <= 0 || cfg.Blob == nil || cfg.Index == nil {
		return nil
	}
	c := &Cache{blob: cfg.Blob, index: cfg.Index, maxBytes: cfg.MaxBytes, version: cfg.RendererVersion,
		log: cfg.Logger, now: cfg.Now, writing: make(chan struct{}, background)}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	if c.now == nil {
		c.now = time.Now
	}
	return c
}

// Key is the key of the rendition of the original whose bytes have
// sourceSHA256 rendered as req asks, by this cache's renderer: a hash of
// the three, req in its canonical, macro-free form and with its output
// format. "" when the source's hash is unknown: such a render is not
// cached.
func (c *Cache) Key(sourceSHA256 string, req *modifier.Request) string {
	if c == nil || req == nil || len(sourceSHA256) != 2*sha256.Size {
		return ""
	}
	h := sha256.New()
	for _, part := range []string{keyVersion, strings.ToLower(sourceSHA256), req.Canonical(), defaultsApplied(req), req.Format(), c.version} {
		io.WriteString(h, part)
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil))
}

// defaultsApplied spells what a company's defaults set in req: they are
// fields of the resolved request, not commands, so Canonical leaves them
// out, and a changed default must not find the old rendition.
func defaultsApplied(req *modifier.Request) string {
	var bgc, icc string
	if req.Bgc != nil {
		bgc = fmt.Sprintf("%+v", *req.Bgc)
	}
	if req.ICC != nil {
		icc = fmt.Sprintf("%+v", *req.ICC)
	}
	return fmt.Sprintf("qlt=%d,%v bgc=%s resMode=%s icc=%s defaultPix=%v", req.Qlt, req.Chroma, bgc, req.ResMode, icc, req.DefaultPix)
}

// Get opens the rendition under key and marks it used. ok is false when
// there is none (or it cannot be read): the caller renders. The caller
// closes the reader, and checks what it read against r.Size and r.SHA256.
func (c *Cache) Get(ctx context.Context, key string) (_ io.ReadCloser, r store.Rendition, ok bool) {
	if c == nil || key == "" {
		return nil, store.Rendition{}, false
	}
	r, ok, err := c.index.UseRendition(ctx, key, c.now())
	if err != nil {
		c.log.Warn("rendition cache: index", "key", key, "err", err)
		return nil, store.Rendition{}, false
	}
	if !ok {
		return nil, store.Rendition{}, false
	}
	rc, _, err := c.blob.Open(ctx, Prefix+key)
	if err != nil {
		// Evicted between the index and the file, or not yet written by
		// the worker that indexed it: render; that worker's or this one's
		// Put makes the entry whole again.
		if !errors.Is(err, blob.ErrNotFound) {
			c.log.Warn("rendition cache: open", "key", key, "err", err)
		}
		return nil, store.Rendition{}, false
	}
	return rc, r, true
}

// Put keeps data, rendered with warnings, under key, then evicts what the
// bound no longer holds; it returns at once, the work going on in the
// background (Wait waits for it) while few enough puts are, else when it
// is done. data must not change afterwards. A file larger than the whole
// cache is not kept. Failures are logged, never returned.
func (c *Cache) Put(ctx context.Context, key string, data []byte, warnings []string) {
	if c == nil || key == "" || int64(len(data)) > c.maxBytes {
		return
	}
	ctx = context.WithoutCancel(ctx)
	select {
	case c.writing <- struct{}{}:
		go func() {
			defer func() { <-c.writing }()
			c.put(ctx, key, data, warnings)
		}()
	default:
		c.put(ctx, key, data, warnings)
	}
}

// Wait returns once every Put that returned before it was called is done.
func (c *Cache) Wait() {
	if c == nil {
		return
	}
	c.waitMu.Lock()
	defer c.waitMu.Unlock()
	// Blocked sends are served before Puts that try for a token, so this
	// ends as soon as the puts in flight have.
	for range background {
		c.writing <- struct{}{}
	}
	for range background {
		<-c.writing
	}
}

func (c *Cache) put(ctx context.Context, key string, data []byte, warnings []string) {
	sum := sha256.Sum256(data)
	// The index row first: a file the index does not know of would never
	// be evicted, while a row whose file is missing only costs a render.
	r := store.Rendition{Key: key, Size: int64(len(data)), SHA256: hex.EncodeToString(sum[:]), Warnings: warnings,
		LastUsed: c.now()}
	if err := c.index.AddRendition(ctx, r); err != nil {
		c.log.Warn("rendition cache: index", "key", key, "err", err)
		return
	}
	if _, err := c.blob.Put(ctx, Prefix+key, bytes.NewReader(data)); err != nil {
		c.log.Warn("rendition cache: write", "key", key, "err", err)
		if err := c.index.RemoveRendition(ctx, key); err != nil {
			c.log.Warn("rendition cache: index", "key", key, "err", err)
		}
		return
	}
	// An eviction may have taken the row while the file was being written,
	// and deleted the file before it was there: then nothing would ever
	// evict this one. Take it back out (a row another worker added again
	// meanwhile keeps it: the same bytes).
	if _, ok, err := c.index.UseRendition(ctx, key, r.LastUsed); err != nil {
		c.log.Warn("rendition cache: index", "key", key, "err", err)
	} else if !ok {
		if err := c.blob.Delete(ctx, Prefix+key); err != nil && !errors.Is(err, blob.ErrNotFound) {
			c.log.Warn("rendition cache: delete", "key", key, "err", err)
		}
		return
	}
	if err := c.Evict(ctx); err != nil {
		c.log.Warn("rendition cache: evict", "err", err)
	}
}

// Forget removes the rendition under key: one found not to be what the
// index says.
func (c *Cache) Forget(ctx context.Context, key string) {
	if c == nil || key == "" {
		return
	}
	ctx = context.WithoutCancel(ctx)
	if err := c.index.RemoveRendition(ctx, key); err != nil {
		c.log.Warn("rendition cache: index", "key", key, "err", err)
		return
	}
	if err := c.blob.Delete(ctx, Prefix+key); err != nil && !errors.Is(err, blob.ErrNotFound) {
		c.log.Warn("rendition cache: delete", "key", key, "err", err)
	}
}

// Evict removes the least recently used renditions until the rest fit
// the bound. Their index rows go first, in one transaction, then their
// files: a worker that found a row just before may then find no file, and
// renders.
func (c *Cache) Evict(ctx context.Context) error {
	if c == nil {
		return nil
	}
	n, err := c.index.RenditionBytes(ctx)
	if err != nil {
		return err
	}
	if n <= c.maxBytes {
		return nil
	}
	gone, err := c.index.EvictRenditions(ctx, c.maxBytes)
	if err != nil {
		return err
	}
	var errs []error
	for _, k := range gone {
		if err := c.blob.Delete(ctx, Prefix+k); err != nil && !errors.Is(err, blob.ErrNotFound) {
			errs = append(errs, fmt.Errorf("delete %s: %w", k, err))
		}
	}
	if len(gone) > 0 {
		c.log.Debug("rendition cache: evicted", "renditions", len(gone))
	}
	return errors.Join(errs...)
}
