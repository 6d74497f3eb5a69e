package s3blob_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ipsexport/ipsd/internal/blob"
	"github.com/ipsexport/ipsd/internal/blob/blobtest"
	"github.com/ipsexport/ipsd/internal/blob/s3blob"
	"github.com/ipsexport/ipsd/internal/blob/s3blob/s3test"
)

var srv *s3test.Server

func TestMain(m *testing.M) { s3test.Main(m, &srv) }

// testPartSize is S3's minimum, so the suite's large bodies take the
// multipart path and stay well under blobtest.LargeSize in memory.
const testPartSize = 5 << 20

func newStore(t *testing.T, bucket, prefix string) *s3blob.Store {
	t.Helper()
	cfg := srv.Config(bucket)
	cfg.Prefix = prefix
	cfg.PartSize = testPartSize
	s, err := s3blob.New(t.Context(), cfg)
	require.NoError(t, err)
	return s
}

// checkNoLeftovers fails t unless the bucket holds no temporary object and
// no unfinished multipart upload: what a failed or finished Put must not
// leave.
func checkNoLeftovers(t *testing.T, s *s3blob.Store) {
	t.Helper()
	ctx := context.Background()
	c := s.Client()
	for o := range c.ListObjects(ctx, s.Bucket(), minio.ListObjectsOptions{Prefix: s.TempPrefix(), Recursive: true}) {
		if assert.NoError(t, o.Err) {
			t.Errorf("temporary object left: %s", o.Key)
		}
	}
	for u := range c.ListIncompleteUploads(ctx, s.Bucket(), "", true) {
		if assert.NoError(t, u.Err) {
			t.Errorf("unfinished multipart upload left: %s (%s)", u.Key, u.UploadID)
		}
	}
}

func TestConformance(t *testing.T) {
	blobtest.Run(t, func(t *testing.T) blob.Store {
		s := newStore(t, srv.NewBucket(t), "")
		t.Cleanup(func() { checkNoLeftovers(t, s) })
		return s
	})
}

// TestConformancePrefix runs the suite on a store under a prefix of a
// bucket that holds other things beside it, which must survive.
func TestConformancePrefix(t *testing.T) {
	blobtest.Run(t, func(t *testing.T) blob.Store {
		bucket := srv.NewBucket(t)
		c := srv.Client()
		outside := []string{"tenant/ipsd-sibling/a", "tenant/ipsdx", "tenant/other/a", "a", "b"}
		for _, k := range outside {
			_, err := c.PutObject(t.Context(), bucket, k, strings.NewReader(k), int64(len(k)), minio.PutObjectOptions{})
			require.NoError(t, err)
		}
		s := newStore(t, bucket, "tenant/ipsd")
		t.Cleanup(func() {
			checkNoLeftovers(t, s)
			for _, k := range outside {
				_, err := c.StatObject(context.Background(), bucket, k, minio.StatObjectOptions{})
				assert.NoError(t, err, "%s outside the prefix survives", k)
			}
		})
		return s
	})
}

func sum(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// patterned is n bytes of a repeating pattern.
func patterned(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7 + i>>11)
	}
	return b
}

// TestSHA256Persists: the digest is stored with the object, so another
// client (another process, later) gets it from Stat and Open; both for a
// body sent in one PUT and for one sent in parts and copied.
func TestSHA256Persists(t *testing.T) {
	ctx := t.Context()
	bucket := srv.NewBucket(t)
	a := newStore(t, bucket, "p")
	small := patterned(1000)
	large := patterned(2*testPartSize + 12345)
	for key, body := range map[string][]byte{"small.bin": small, "large.bin": large} {
		info, err := a.Put(ctx, key, strings.NewReader(string(body)))
		require.NoError(t, err)
		require.Equal(t, sum(body), info.SHA256)
	}

	b := newStore(t, bucket, "p/") // a fresh client
	for key, body := range map[string][]byte{"small.bin": small, "large.bin": large} {
		st, err := b.Stat(ctx, key)
		require.NoError(t, err)
		assert.Equal(t, sum(body), st.SHA256, key)
		assert.Equal(t, int64(len(body)), st.Size, key)

		rc, oi, err := b.Open(ctx, key)
		require.NoError(t, err)
		got, err := io.ReadAll(rc)
		rc.Close()
		require.NoError(t, err)
		assert.Equal(t, sum(body), oi.SHA256, key)
		assert.Equal(t, sum(body), sum(got), key)

		// As S3 user metadata, for any S3 tool to see.
		raw, err := srv.Client().StatObject(ctx, bucket, "p/"+key, minio.StatObjectOptions{})
		require.NoError(t, err)
		assert.Equal(t, sum(body), raw.Metadata.Get("X-Amz-Meta-Sha256"), key)
	}
	checkNoLeftovers(t, a)
}

// An object some other tool wrote has no digest: Stat says so (empty)
// rather than failing.
func TestForeignObjectWithoutSHA256(t *testing.T) {
	ctx := t.Context()
	bucket := srv.NewBucket(t)
	_, err := srv.Client().PutObject(ctx, bucket, "foreign.jpg", strings.NewReader("jpeg"), 4, minio.PutObjectOptions{})
	require.NoError(t, err)
	s := newStore(t, bucket, "")
	st, err := s.Stat(ctx, "foreign.jpg")
	require.NoError(t, err)
	assert.Equal(t, int64(4), st.Size)
	assert.Empty(t, st.SHA256)
}

// TestDeletePrefixManyKeys: S3 lists and deletes 1,000 keys at a time;
// DeletePrefix goes through every page.
func TestDeletePrefixManyKeys(t *testing.T) {
	ctx := t.Context()
	bucket := srv.NewBucket(t)
	s := newStore(t, bucket, "")
	const n = 1234 // two pages of listing, two batches of deletes
	keys := make(chan string)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for k := range keys {
				_, err := s.Put(ctx, k, strings.NewReader(k))
				assert.NoError(t, err)
			}
		})
	}
	for i := range n {
		keys <- fmt.Sprintf("many/%02d/%05d.jpg", i%37, i)
	}
	keys <- "many-sibling/kept.jpg"
	keys <- "man/kept.jpg"
	close(keys)
	wg.Wait()
	require.False(t, t.Failed())
	require.Equal(t, n, countObjects(t, s, "many/"))

	start := time.Now()
	require.NoError(t, s.DeletePrefix(ctx, "many"))
	t.Logf("DeletePrefix of %d keys: %s", n, time.Since(start))
	assert.Equal(t, 0, countObjects(t, s, "many/"))
	for _, k := range []string{"many-sibling/kept.jpg", "man/kept.jpg"} {
		_, err := s.Stat(ctx, k)
		assert.NoError(t, err, "%s survives", k)
	}
}

func countObjects(t *testing.T, s *s3blob.Store, prefix string) int {
	t.Helper()
	n := 0
	for o := range s.Client().ListObjects(t.Context(), s.Bucket(), minio.ListObjectsOptions{Prefix: s.Prefix() + prefix, Recursive: true}) {
		require.NoError(t, o.Err)
		n++
	}
	return n
}

// brokenReader yields n bytes, then fails.
type brokenReader struct{ n int }

var errBroken = errors.New("source broke")

func (b *brokenReader) Read(p []byte) (int, error) {
	if b.n == 0 {
		return 0, errBroken
	}
	k := min(len(p), b.n)
	for i := range p[:k] {
		p[i] = 'x'
	}
	b.n -= k
	return k, nil
}

// TestFailedPutLeavesNothing: a body that breaks before the first part is
// full (nothing sent yet) or after some parts were uploaded (a multipart
// upload to abort) leaves no object, no temporary object, no parts.
func TestFailedPutLeavesNothing(t *testing.T) {
	for _, n := range []int{0, 100, testPartSize, 2*testPartSize + 1} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			ctx := t.Context()
			bucket := srv.NewBucket(t)
			s := newStore(t, bucket, "")
			_, err := s.Put(ctx, "a/b.bin", &brokenReader{n: n})
			require.ErrorIs(t, err, errBroken)
			assert.Contains(t, err.Error(), "s3 put a/b.bin")
			_, err = s.Stat(ctx, "a/b.bin")
			assert.ErrorIs(t, err, blob.ErrNotFound)
			for o := range srv.Client().ListObjects(ctx, bucket, minio.ListObjectsOptions{Recursive: true}) {
				if assert.NoError(t, o.Err) {
					t.Errorf("object left: %s", o.Key)
				}
			}
			checkNoLeftovers(t, s)
		})
	}
}

func TestOpenSeeks(t *testing.T) {
	ctx := t.Context()
	s := newStore(t, srv.NewBucket(t), "")
	_, err := s.Put(ctx, "k", strings.NewReader("0123456789"))
	require.NoError(t, err)
	rc, _, err := s.Open(ctx, "k")
	require.NoError(t, err)
	defer rc.Close()
	rs, ok := rc.(io.ReadSeeker)
	require.True(t, ok, "Open's reader seeks, for range requests")
	_, err = rs.Seek(6, io.SeekStart)
	require.NoError(t, err)
	b, err := io.ReadAll(rs)
	require.NoError(t, err)
	assert.Equal(t, "6789", string(b))
}

func TestReservedTempPrefix(t *testing.T) {
	ctx := t.Context()
	s := newStore(t, srv.NewBucket(t), "")
	_, err := s.Put(ctx, ".ipsd-upload/x", strings.NewReader("x"))
	assert.Error(t, err)
	assert.Error(t, s.DeletePrefix(ctx, ".ipsd-upload"))
	_, err = s.Put(ctx, "a/.ipsd-upload/x", strings.NewReader("x"))
	assert.NoError(t, err, "reserved only at the top")
}

func TestNewErrors(t *testing.T) {
	ctx := t.Context()
	bucket := srv.NewBucket(t)
	for name, mod := range map[string]func(*s3blob.Config){
		"missing bucket":  func(c *s3blob.Config) { c.Bucket = "no-such-bucket" },
		"no bucket":       func(c *s3blob.Config) { c.Bucket = "" },
		"scheme":          func(c *s3blob.Config) { c.Endpoint = "http://" + c.Endpoint },
		"part too small":  func(c *s3blob.Config) { c.PartSize = 1 << 20 },
		"escaping prefix": func(c *s3blob.Config) { c.Prefix = "../x" },
		"wrong secret":    func(c *s3blob.Config) { c.SecretKey = "wrong" },
	} {
		cfg := srv.Config(bucket)
		mod(&cfg)
		_, err := s3blob.New(ctx, cfg)
		assert.Error(t, err, name)
	}
	cfg := srv.Config(bucket)
	_, err := s3blob.New(ctx, cfg)
	assert.NoError(t, err, "default part size")
	cfg.Bucket = "no-such-bucket"
	_, err = s3blob.New(ctx, cfg)
	assert.ErrorIs(t, err, s3blob.ErrNoBucket)
	assert.ErrorContains(t, err, "no-such-bucket at http://"+srv.Endpoint)
}

// CreateBucket makes a missing bucket once; New then finds it.
func TestCreateBucket(t *testing.T) {
	ctx := t.Context()
	cfg := srv.Config("made-by-create-bucket")
	t.Cleanup(func() { _ = srv.Client().RemoveBucket(context.Background(), cfg.Bucket) })
	_, err := s3blob.New(ctx, cfg)
	require.ErrorIs(t, err, s3blob.ErrNoBucket)
	created, err := s3blob.CreateBucket(ctx, cfg)
	require.NoError(t, err)
	assert.True(t, created)
	created, err = s3blob.CreateBucket(ctx, cfg)
	require.NoError(t, err)
	assert.False(t, created, "the second time it exists")
	_, err = s3blob.New(ctx, cfg)
	require.NoError(t, err)
	cfg.SecretKey = "wrong"
	_, err = s3blob.CreateBucket(ctx, cfg)
	assert.Error(t, err)
}

// checkNoLeftovers would see what it looks for: an unfinished multipart
// upload and a temporary object are both listed.
func TestLeftoverCheckSees(t *testing.T) {
	ctx := t.Context()
	bucket := srv.NewBucket(t)
	s := newStore(t, bucket, "")
	core := minio.Core{Client: srv.Client()}
	_, err := core.NewMultipartUpload(ctx, bucket, "unfinished", minio.PutObjectOptions{})
	require.NoError(t, err)
	_, err = srv.Client().PutObject(ctx, bucket, s.TempPrefix()+"x", strings.NewReader("x"), 1, minio.PutObjectOptions{})
	require.NoError(t, err)
	n := 0
	for u := range srv.Client().ListIncompleteUploads(ctx, bucket, "", true) {
		require.NoError(t, u.Err)
		n++
	}
	assert.Equal(t, 1, n, "unfinished uploads listed")
	assert.Equal(t, 1, countObjects(t, s, ".ipsd-upload/"), "temporary objects listed")
}
