// Package s3blob is a blob.Store on an S3-compatible object store (AWS S3,
// MinIO, Ceph RGW, versitygw, …) through minio-go. Why it works as it does:
//
//   - Keys are objects one to one (Prefix + key, checked by blob.CleanKey),
//     so a bucket can be browsed and copied with ordinary S3 tools.
//
//   - Put streams, never holding the whole body: it reads up to one part
//     (PartSize, 16 MiB by default). A body that ends within it goes up in
//     one PUT of known length; a longer one with PutObject(size -1), which
//     fills one PartSize buffer at a time, so a Put holds about two parts.
//     PartSize is set because minio-go would pick ~537 MiB parts for an
//     unknown length; it caps an object at 10,000 parts (156 GiB at 16 MiB).
//
//   - The SHA-256 is computed as the bytes stream (io.TeeReader) and stored
//     as user metadata (x-amz-meta-sha256), so Stat and Open return it from
//     any client at no extra request. S3 takes metadata when an upload
//     starts, the digest is known when it ends: a small body's single PUT
//     carries it; a large body is uploaded to a temporary object
//     (Prefix + ".ipsd-upload/…"), then copied server-side to its key with
//     the digest (ComposeObject: a multipart copy above 5 GiB) and the
//     temporary object deleted. Re-copying the object onto itself or tagging
//     it after the upload would be cheaper, but a reader could see the new
//     bytes without a digest, and a failure in between would leave a
//     replaced object behind a failed Put.
//
//   - Put is atomic: a PUT, a completed multipart upload and a copy each
//     appear whole or not at all. A failed Put leaves nothing: minio-go
//     aborts a failed multipart upload (on a context that survives
//     cancellation) and Put always deletes its temporary object. Only a
//     process killed mid-Put can leave a temporary object or parts: bucket
//     lifecycle rules (expire Prefix + ".ipsd-upload/", abort incomplete
//     multipart uploads, after a day) clean those. That top-level folder is
//     reserved: keys under it are refused.
//
//   - Open sends one GET (Core.GetObject), so its Info and bytes come from the
//     same response and agree while a Put replaces the key, and a missing key
//     is blob.ErrNotFound from Open itself. minio-go's lazy GetObject would
//     send a HEAD, then a GET conditional on its ETag, which fails when the
//     key is replaced in between. The reader seeks (for HTTP ranges): a Read
//     after a Seek sends a ranged GET conditional on the same ETag.
//
//   - DeletePrefix lists (pages of 1,000) and removes (RemoveObjects: batches
//     of 1,000) as it goes, never holding the listing. A prefix "a" is the
//     directory "a/": never "ab".
//
//   - Errors name the operation and key ("s3 put KEY: …") and wrap the cause;
//     a missing key wraps blob.ErrNotFound.
package s3blob

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"strings"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/ipsexport/ipsd/internal/blob"
)

// Config says where the store is.
type Config struct {
	// Endpoint is host[:port], without a scheme: "s3.eu-west-1.amazonaws.com",
	// "127.0.0.1:9000".
	Endpoint string
	// Region of the bucket; when empty, minio-go asks the server for it
	// once (GetBucketLocation).
	Region string
	// Bucket must exist.
	Bucket string
	// Prefix is an optional folder inside the bucket ("ipsd" or "ipsd/"):
	// keys are stored under it, and nothing outside it is touched.
	Prefix string
	// AccessKey and SecretKey are static credentials.
	AccessKey, SecretKey string
	// UseSSL selects https.
	UseSSL bool
	// CheckTimeout bounds New's and CreateBucket's first request, which
	// says whether the endpoint answers and the bucket exists; 0 means
	// DefaultCheckTimeout. minio-go retries a refused connection with
	// back-off, for minutes when unbounded.
	CheckTimeout time.Duration
	// PartSize is the multipart upload part size in bytes, 5 MiB to 5 GiB;
	// 0 means DefaultPartSize. A Put holds up to about two parts in memory,
	// and an object has at most 10,000 parts.
	PartSize int64
}

// DefaultPartSize is the part size when Config.PartSize is 0.
const DefaultPartSize = 16 << 20

// DefaultCheckTimeout is the check's bound when Config.CheckTimeout is 0.
const DefaultCheckTimeout = 20 * time.Second

const (
	minPartSize = 5 << 20 // S3's minimum for all but the last part
	maxPartSize = 5 << 30
	// metaSHA256 is the user metadata entry holding the hex digest:
	// the header x-amz-meta-sha256.
	metaSHA256 = "Sha256"
	// tmpDir holds large uploads until they are copied to their key.
	tmpDir = ".ipsd-upload"
	// cleanupTimeout bounds deleting a temporary object after the caller's
	// context has ended.
	cleanupTimeout = time.Minute
)

// Store is a blob.Store in an S3 bucket.
type Store struct {
	c        *minio.Client
	bucket   string
	prefix   string // "" or ending in "/"
	partSize int64
}

var (
	_ blob.Store  = (*Store)(nil)
	_ blob.Lister = (*Store)(nil)
)

// ErrNoBucket is returned by New when the bucket does not exist.
var ErrNoBucket = errors.New("bucket does not exist")

// New connects to cfg.Endpoint and checks that the bucket exists (a
// missing one is ErrNoBucket).
func New(ctx context.Context, cfg Config) (*Store, error) {
	c, prefix, partSize, err := connect(cfg)
	if err != nil {
		return nil, err
	}
	ok, err := bucketExists(ctx, c, cfg)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf("s3 bucket %s at %s: %w", cfg.Bucket, endpointURL(cfg), ErrNoBucket)
	}
	return &Store{c: c, bucket: cfg.Bucket, prefix: prefix, partSize: partSize}, nil
}

// CreateBucket makes cfg.Bucket (in cfg.Region, or the server's default)
// unless it exists; created says whether it did. Nothing else of cfg is
// needed but the endpoint and credentials.
func CreateBucket(ctx context.Context, cfg Config) (created bool, err error) {
	c, _, _, err := connect(cfg)
	if err != nil {
		return false, err
	}
	ok, err := bucketExists(ctx, c, cfg)
	if err != nil || ok {
		return false, err
	}
	if err := c.MakeBucket(ctx, cfg.Bucket, minio.MakeBucketOptions{Region: cfg.Region}); err != nil {
		// Made by another process in between: as good as ours.
		if minio.ToErrorResponse(err).Code == "BucketAlreadyOwnedByYou" {
			return false, nil
		}
		return false, fmt.Errorf("s3 create bucket %s at %s: %w", cfg.Bucket, endpointURL(cfg), err)
	}
	return true, nil
}

// bucketExists asks whether the bucket exists, within cfg.CheckTimeout.
func bucketExists(ctx context.Context, c *minio.Client, cfg Config) (bool, error) {
	timeout := cfg.CheckTimeout
	if timeout <= 0 {
		timeout = DefaultCheckTimeout
	}
	cctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	ok, err := c.BucketExists(cctx, cfg.Bucket)
	if err != nil {
		if cctx.Err() != nil && ctx.Err() == nil {
			return false, fmt.Errorf("s3 bucket %s at %s: no answer within %s: %w", cfg.Bucket, endpointURL(cfg), timeout, err)
		}
		return false, fmt.Errorf("s3 bucket %s at %s: %w", cfg.Bucket, endpointURL(cfg), err)
	}
	return ok, nil
}

// connect checks cfg and makes the client; no request is sent.
func connect(cfg Config) (c *minio.Client, prefix string, partSize int64, err error) {
	if cfg.Endpoint == "" || strings.Contains(cfg.Endpoint, "://") {
		return nil, "", 0, fmt.Errorf("s3: endpoint %q must be host[:port], without a scheme (set UseSSL for https)", cfg.Endpoint)
	}
	if cfg.Bucket == "" {
		return nil, "", 0, errors.New("s3: no bucket")
	}
	prefix = strings.TrimSuffix(cfg.Prefix, "/")
	if prefix != "" {
		if _, err := blob.CleanKey(prefix); err != nil {
			return nil, "", 0, fmt.Errorf("s3: prefix: %w", err)
		}
		prefix += "/"
	}
	partSize = cfg.PartSize
	if partSize == 0 {
		partSize = DefaultPartSize
	}
	if partSize < minPartSize || partSize > maxPartSize {
		return nil, "", 0, fmt.Errorf("s3: part size %d is outside 5 MiB to 5 GiB", partSize)
	}
	c, err = minio.New(cfg.Endpoint, &minio.Options{
		Creds:  credentials.NewStaticV4(cfg.AccessKey, cfg.SecretKey, ""),
		Secure: cfg.UseSSL,
		Region: cfg.Region,
	})
	if err != nil {
		return nil, "", 0, fmt.Errorf("s3 %s: %w", cfg.Endpoint, err)
	}
	return c, prefix, partSize, nil
}

// endpointURL is the endpoint as the client reaches it, for messages.
func endpointURL(cfg Config) string {
	if cfg.UseSSL {
		return "https://" + cfg.Endpoint
	}
	return "http://" + cfg.Endpoint
}

// Client is the underlying minio-go client, for tests and tools.
func (s *Store) Client() *minio.Client { return s.c }

// Bucket is the bucket the store is in.
func (s *Store) Bucket() string { return s.bucket }

// Prefix is the folder the store's keys are under: "" or ending in "/".
func (s *Store) Prefix() string { return s.prefix }

// TempPrefix is where large uploads wait for their copy to their key: a
// lifecycle rule may expire what a killed process left there.
func (s *Store) TempPrefix() string { return s.prefix + tmpDir + "/" }

// object maps a key to its object name.
func (s *Store) object(key string) (string, error) {
	k, err := blob.CleanKey(key)
	if err != nil {
		return "", err
	}
	if k == tmpDir || strings.HasPrefix(k, tmpDir+"/") {
		return "", fmt.Errorf("invalid blob key %q: %s/ is reserved", key, tmpDir)
	}
	return s.prefix + k, nil
}

// Put uploads r to key; see the package doc for how.
func (s *Store) Put(ctx context.Context, key string, r io.Reader) (blob.Info, error) {
	obj, err := s.object(key)
	if err != nil {
		return blob.Info{}, fmt.Errorf("s3 put: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return blob.Info{}, fmt.Errorf("s3 put %s: %w", key, err)
	}
	h := sha256.New()
	src := &countReader{r: io.TeeReader(ctxReader{ctx, r}, h)}
	head, err := readUpTo(src, s.partSize)
	if err != nil {
		return blob.Info{}, fmt.Errorf("s3 put %s: %w", key, err)
	}
	var one [1]byte
	n, err := io.ReadFull(src, one[:])
	if err != nil && err != io.EOF {
		return blob.Info{}, fmt.Errorf("s3 put %s: %w", key, err)
	}
	if n == 0 {
		// The whole body is in hand: one PUT, digest and all.
		sum := hex.EncodeToString(h.Sum(nil))
		opts := s.putOptions()
		opts.UserMetadata = map[string]string{metaSHA256: sum}
		if _, err := s.c.PutObject(ctx, s.bucket, obj, bytes.NewReader(head), int64(len(head)), opts); err != nil {
			return blob.Info{}, fmt.Errorf("s3 put %s: %w", key, err)
		}
		return blob.Info{Key: key, Size: int64(len(head)), SHA256: sum, Modified: time.Now()}, nil
	}
	return s.putLarge(ctx, key, obj, io.MultiReader(bytes.NewReader(head), bytes.NewReader(one[:]), src), src, h)
}

// putLarge uploads body to a temporary object, then copies it to obj with
// its digest, which is known only once body has been read to the end.
func (s *Store) putLarge(ctx context.Context, key, obj string, body io.Reader, src *countReader, h hash.Hash) (blob.Info, error) {
	tmp, err := s.tempObject()
	if err != nil {
		return blob.Info{}, fmt.Errorf("s3 put %s: %w", key, err)
	}
	up, err := s.c.PutObject(ctx, s.bucket, tmp, body, -1, s.putOptions())
	if err != nil {
		// minio-go has aborted the multipart upload: nothing is left.
		return blob.Info{}, fmt.Errorf("s3 put %s: %w", key, err)
	}
	defer func() {
		// Whatever happened to the copy, the temporary object goes.
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
		defer cancel()
		_ = s.c.RemoveObject(cctx, s.bucket, tmp, minio.RemoveObjectOptions{})
	}()
	if up.Size != src.n {
		return blob.Info{}, fmt.Errorf("s3 put %s: uploaded %d bytes of %d", key, up.Size, src.n)
	}
	sum := hex.EncodeToString(h.Sum(nil))
	cp, err := s.c.ComposeObject(ctx,
		minio.CopyDestOptions{
			Bucket:          s.bucket,
			Object:          obj,
			ReplaceMetadata: true,
			UserMetadata:    map[string]string{metaSHA256: sum},
		},
		minio.CopySrcOptions{Bucket: s.bucket, Object: tmp, MatchETag: up.ETag})
	if err != nil {
		return blob.Info{}, fmt.Errorf("s3 put %s: copy from %s: %w", key, tmp, err)
	}
	mod := cp.LastModified
	if mod.IsZero() {
		mod = time.Now()
	}
	return blob.Info{Key: key, Size: src.n, SHA256: sum, Modified: mod}, nil
}

func (s *Store) putOptions() minio.PutObjectOptions {
	return minio.PutObjectOptions{
		PartSize:    uint64(s.partSize),
		ContentType: "application/octet-stream",
	}
}

func (s *Store) tempObject() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	return s.TempPrefix() + hex.EncodeToString(b[:]), nil
}

// Open streams key: one GET, whose response gives both the bytes and the
// Info, so they always agree, and a missing key is reported here, not at the
// first Read. The reader reads within ctx. It also seeks (for HTTP range
// requests): a Read at a new offset sends a ranged GET that must match the
// ETag of the first, so it reads the same version or fails.
func (s *Store) Open(ctx context.Context, key string) (io.ReadCloser, blob.Info, error) {
	obj, err := s.object(key)
	if err != nil {
		return nil, blob.Info{}, fmt.Errorf("s3 open: %w: %w", err, blob.ErrNotFound)
	}
	body, oi, _, err := minio.Core{Client: s.c}.GetObject(ctx, s.bucket, obj, minio.GetObjectOptions{})
	if err != nil {
		return nil, blob.Info{}, s.err("open", key, err)
	}
	return &reader{s: s, ctx: ctx, key: key, obj: obj, etag: oi.ETag, size: oi.Size, body: body}, info(key, oi), nil
}

// reader is an object being read: the response body of a GET, replaced by a
// ranged GET when a Read follows a Seek elsewhere.
type reader struct {
	s        *Store
	ctx      context.Context
	key, obj string
	etag     string
	size     int64
	body     io.ReadCloser // nil once closed for a seek
	bodyOff  int64         // where body is
	off      int64         // where the next Read reads
	closed   bool
}

func (r *reader) Read(p []byte) (int, error) {
	if r.closed {
		return 0, fmt.Errorf("s3 read %s: reader closed", r.key)
	}
	if r.off >= r.size {
		return 0, io.EOF
	}
	if r.body == nil || r.bodyOff != r.off {
		if r.body != nil {
			r.body.Close()
			r.body = nil
		}
		opts := minio.GetObjectOptions{}
		if err := opts.SetMatchETag(r.etag); err != nil {
			return 0, fmt.Errorf("s3 read %s: %w", r.key, err)
		}
		if err := opts.SetRange(r.off, 0); err != nil {
			return 0, fmt.Errorf("s3 read %s: %w", r.key, err)
		}
		body, _, _, err := minio.Core{Client: r.s.c}.GetObject(r.ctx, r.s.bucket, r.obj, opts)
		if err != nil {
			if code := minio.ToErrorResponse(err).Code; code == minio.PreconditionFailed || isNotFound(err) {
				return 0, fmt.Errorf("s3 read %s at %d: replaced or deleted since it was opened: %w", r.key, r.off, err)
			}
			return 0, fmt.Errorf("s3 read %s at %d: %w", r.key, r.off, err)
		}
		r.body, r.bodyOff = body, r.off
	}
	n, err := r.body.Read(p)
	r.off += int64(n)
	r.bodyOff = r.off
	if err == io.EOF && r.off < r.size {
		err = io.ErrUnexpectedEOF
	}
	if err != nil && err != io.EOF {
		return n, fmt.Errorf("s3 read %s: %w", r.key, err)
	}
	return n, err
}

// Seek only moves the offset; the next Read fetches from there if needed.
func (r *reader) Seek(offset int64, whence int) (int64, error) {
	switch whence {
	case io.SeekStart:
	case io.SeekCurrent:
		offset += r.off
	case io.SeekEnd:
		offset += r.size
	default:
		return 0, fmt.Errorf("s3 seek %s: invalid whence %d", r.key, whence)
	}
	if offset < 0 {
		return 0, fmt.Errorf("s3 seek %s: negative position %d", r.key, offset)
	}
	r.off = offset
	return offset, nil
}

func (r *reader) Close() error {
	if r.closed {
		return nil
	}
	r.closed = true
	if r.body != nil {
		return r.body.Close()
	}
	return nil
}

// Stat describes key (a HEAD request).
func (s *Store) Stat(ctx context.Context, key string) (blob.Info, error) {
	obj, err := s.object(key)
	if err != nil {
		return blob.Info{}, fmt.Errorf("s3 stat: %w: %w", err, blob.ErrNotFound)
	}
	oi, err := s.c.StatObject(ctx, s.bucket, obj, minio.StatObjectOptions{})
	if err != nil {
		return blob.Info{}, s.err("stat", key, err)
	}
	return info(key, oi), nil
}

// Delete removes key; a missing key is not an error.
func (s *Store) Delete(ctx context.Context, key string) error {
	obj, err := s.object(key)
	if err != nil {
		return fmt.Errorf("s3 delete: %w", err)
	}
	if err := s.c.RemoveObject(ctx, s.bucket, obj, minio.RemoveObjectOptions{}); err != nil && !isNotFound(err) {
		return fmt.Errorf("s3 delete %s: %w", key, err)
	}
	return nil
}

// DeletePrefix removes every key under the directory prefix ("a" or "a/":
// the keys under "a/").
func (s *Store) DeletePrefix(ctx context.Context, prefix string) error {
	dir, err := s.object(strings.TrimSuffix(prefix, "/"))
	if err != nil {
		return fmt.Errorf("s3 delete prefix: %w", err)
	}
	dir += "/"

	lctx, cancel := context.WithCancel(ctx)
	defer cancel()
	objs := make(chan minio.ObjectInfo)
	var listErr error
	go func() {
		defer close(objs)
		for o := range s.c.ListObjects(lctx, s.bucket, minio.ListObjectsOptions{Prefix: dir, Recursive: true}) {
			if o.Err != nil {
				listErr = o.Err
				return
			}
			select {
			case objs <- o:
			case <-lctx.Done():
				listErr = lctx.Err()
				return
			}
		}
	}()
	// RemoveObjects reads objs to the end, whatever fails, and closes its
	// channel after: listErr is set by then.
	var errs []error
	failed := 0
	for e := range s.c.RemoveObjects(ctx, s.bucket, objs, minio.RemoveObjectsOptions{}) {
		if isNotFound(e.Err) {
			continue
		}
		if failed++; len(errs) < 3 {
			errs = append(errs, fmt.Errorf("%s: %w", e.ObjectName, e.Err))
		}
	}
	if listErr != nil {
		errs = append(errs, fmt.Errorf("list: %w", listErr))
	}
	if failed > len(errs) {
		errs = append(errs, fmt.Errorf("and %d more", failed-len(errs)))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("s3 delete prefix %s: %w", prefix, err)
	}
	return nil
}

// List describes the keys under the directory prefix, in key order, from
// listings of 1,000 (ListObjects). The digest is not listed: Info.SHA256
// is empty.
func (s *Store) List(ctx context.Context, prefix string) ([]blob.Info, error) {
	dir, err := s.object(strings.TrimSuffix(prefix, "/"))
	if err != nil {
		return nil, fmt.Errorf("s3 list: %w", err)
	}
	dir += "/"
	var out []blob.Info
	for o := range s.c.ListObjects(ctx, s.bucket, minio.ListObjectsOptions{Prefix: dir, Recursive: true}) {
		if o.Err != nil {
			return nil, fmt.Errorf("s3 list %s: %w", prefix, o.Err)
		}
		out = append(out, blob.Info{Key: strings.TrimPrefix(o.Key, s.prefix), Size: o.Size, Modified: o.LastModified})
	}
	return out, nil
}

func info(key string, oi minio.ObjectInfo) blob.Info {
	return blob.Info{
		Key:      key,
		Size:     oi.Size,
		SHA256:   oi.Metadata.Get("X-Amz-Meta-" + metaSHA256),
		Modified: oi.LastModified,
	}
}

func (s *Store) err(op, key string, err error) error {
	if isNotFound(err) {
		return fmt.Errorf("s3 %s %s: %w", op, key, blob.ErrNotFound)
	}
	return fmt.Errorf("s3 %s %s: %w", op, key, err)
}

func isNotFound(err error) bool {
	if err == nil {
		return false
	}
	switch minio.ToErrorResponse(err).Code {
	case minio.NoSuchKey, "NotFound":
		return true
	}
	return false
}

// readUpTo reads r until EOF or until it has limit bytes. Its buffer grows
// as needed, so a small body costs a small buffer.
func readUpTo(r io.Reader, limit int64) ([]byte, error) {
	buf := make([]byte, 0, min(limit, 64<<10))
	for {
		if len(buf) == cap(buf) {
			if int64(len(buf)) == limit {
				return buf, nil
			}
			buf = append(make([]byte, 0, min(limit, 2*int64(cap(buf)))), buf...)
		}
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return nil, err
		}
	}
}

// countReader counts the bytes read through it.
type countReader struct {
	r io.Reader
	n int64
}

func (c *countReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// ctxReader stops a long upload when the context ends, even while the
// source keeps producing.
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
