// Package blobopen opens the file storage a deployment is configured with
// – an S3-compatible bucket when one is set, else DATA/files – the same
// way for every command (serve, worker, migrate and the admin commands that
// read or write files), as storeopen does for the database. The settings
// and what they mean are in docs/operations.md.
package blobopen

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"path/filepath"
	"strings"
	"time"

	"github.com/ipsexport/ipsd/internal/blob"
	"github.com/ipsexport/ipsd/internal/blob/s3blob"
)

// FilesDir is the local storage's directory inside the data directory.
const FilesDir = "files"

// Settings are the operator's S3 settings as given (flags or IPSD_S3_*).
type Settings struct {
	// Endpoint is host[:port] or a URL: http://host[:port] (plain HTTP) or
	// https://host[:port]. Empty means no S3: files in DATA/files.
	Endpoint string
	Bucket   string
	Prefix   string
	Region   string
	// AccessKey and SecretKey come together or not at all.
	AccessKey, SecretKey string
	// Insecure selects plain HTTP for an endpoint given without a scheme.
	Insecure bool
	// Timeout bounds the check that the endpoint answers and the bucket
	// exists (0: s3blob.DefaultCheckTimeout).
	Timeout time.Duration
}

// ParseS3 checks s and returns the bucket's configuration, or nil when no
// endpoint is set. Settings that only make sense with an endpoint are an
// error without one: a forgotten endpoint must not send files to the local
// disk unnoticed. Messages name the flags (each has its IPSD_S3_* twin).
func ParseS3(s Settings) (*s3blob.Config, error) {
	s.Endpoint = strings.TrimSpace(s.Endpoint)
	if s.Endpoint == "" {
		var set []string
		for _, f := range []struct{ name, v string }{{"--s3-bucket", s.Bucket}, {"--s3-prefix", s.Prefix}, {"--s3-region", s.Region}} {
			if f.v != "" {
				set = append(set, f.name)
			}
		}
		if len(set) > 0 {
			return nil, fmt.Errorf("s3: %s set without --s3-endpoint: set the endpoint too, or unset them to keep files in DATA/%s", strings.Join(set, ", "), FilesDir)
		}
		return nil, nil
	}
	host, secure, err := parseEndpoint(s.Endpoint, s.Insecure)
	if err != nil {
		return nil, err
	}
	if s.Bucket == "" {
		return nil, errors.New("s3: --s3-endpoint needs --s3-bucket")
	}
	if (s.AccessKey == "") != (s.SecretKey == "") {
		return nil, errors.New("s3: IPSD_S3_ACCESS_KEY and IPSD_S3_SECRET_KEY go together: set both, or neither for anonymous access")
	}
	return &s3blob.Config{
		Endpoint: host, UseSSL: secure, Bucket: s.Bucket, Prefix: s.Prefix, Region: s.Region,
		AccessKey: s.AccessKey, SecretKey: s.SecretKey, CheckTimeout: s.Timeout,
	}, nil
}

// parseEndpoint splits an endpoint into host[:port] and whether it speaks
// TLS: the scheme decides when there is one, else insecure does.
func parseEndpoint(raw string, insecure bool) (host string, secure bool, err error) {
	if !strings.Contains(raw, "://") {
		if strings.ContainsAny(raw, "/?#@ ") {
			return "", false, fmt.Errorf("s3: --s3-endpoint %q: give host[:port] or http(s)://host[:port]", raw)
		}
		return raw, !insecure, nil
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "", false, fmt.Errorf("s3: --s3-endpoint %q: %v", raw, err)
	}
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return "", false, fmt.Errorf("s3: --s3-endpoint %q: the scheme must be http or https", raw)
	case u.Host == "":
		return "", false, fmt.Errorf("s3: --s3-endpoint %q: no host", raw)
	case u.User != nil:
		return "", false, fmt.Errorf("s3: --s3-endpoint %q: put credentials in IPSD_S3_ACCESS_KEY and IPSD_S3_SECRET_KEY, not the URL", raw)
	case (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "":
		return "", false, fmt.Errorf("s3: --s3-endpoint %q: no path: the bucket goes in --s3-bucket, a folder in --s3-prefix", raw)
	case u.Scheme == "https" && insecure:
		return "", false, fmt.Errorf("s3: --s3-endpoint %q is https but --s3-insecure asks for plain HTTP: choose one", raw)
	}
	return u.Host, u.Scheme == "https", nil
}

// Config says where files live.
type Config struct {
	// DataDir holds DATA/files when S3 is nil.
	DataDir string
	// S3 is the bucket (ParseS3); nil for the local directory.
	S3 *s3blob.Config
}

// String says where files are, for messages and summaries.
func (c Config) String() string {
	if c.S3 == nil {
		return filepath.Join(c.DataDir, FilesDir)
	}
	scheme := "http"
	if c.S3.UseSSL {
		scheme = "https"
	}
	where := "s3://" + c.S3.Bucket
	if p := strings.Trim(c.S3.Prefix, "/"); p != "" {
		where += "/" + p
	}
	return where + " at " + scheme + "://" + c.S3.Endpoint
}

// Open opens the storage. A bucket must exist and answer (within its
// CheckTimeout); the error says what to check or how to create it.
func Open(ctx context.Context, cfg Config) (blob.Store, error) {
	if cfg.S3 == nil {
		if cfg.DataDir == "" {
			return nil, errors.New("file storage: no data directory and no S3 endpoint")
		}
		local, err := blob.NewLocal(filepath.Join(cfg.DataDir, FilesDir))
		if err != nil {
			return nil, fmt.Errorf("file storage: %w", err)
		}
		return local, nil
	}
	st, err := s3blob.New(ctx, *cfg.S3)
	switch {
	case errors.Is(err, s3blob.ErrNoBucket):
		return nil, fmt.Errorf("file storage: %w: create it with `ipsd migrate` (given the same --s3-* settings) or with your S3 tools", err)
	case err != nil:
		return nil, fmt.Errorf("file storage: %w: check --s3-endpoint (and http:// or https://), --s3-region and the keys", err)
	}
	return st, nil
}

// EnsureBucket creates the bucket when it is missing (`ipsd migrate`);
// created says whether it did. Local storage has nothing to create.
func EnsureBucket(ctx context.Context, cfg Config) (created bool, err error) {
	if cfg.S3 == nil {
		return false, nil
	}
	created, err = s3blob.CreateBucket(ctx, *cfg.S3)
	if err != nil {
		return false, fmt.Errorf("file storage: %w: create the bucket with your S3 tools, or give keys allowed to (s3:CreateBucket)", err)
	}
	return created, nil
}
