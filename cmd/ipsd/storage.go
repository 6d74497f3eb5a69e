package main

import (
	"os"
	"time"

	"github.com/ipsexport/ipsd/internal/blob/blobopen"
	"github.com/ipsexport/ipsd/internal/blob/s3blob"
)

// storageFlags are the file storage settings: the same flags and IPSD_S3_*
// variables on every command that reads or writes files (serve, worker,
// migrate, admin asset import, icc add, catalog copy's destination, demo),
// so that all of them put files where the deployment keeps them.
type storageFlags struct {
	endpoint, bucket, prefix, region *string
	insecure                         *bool
	timeout                          *time.Duration
}

func addStorageFlags(fs *flagSet) *storageFlags {
	s := &storageFlags{
		endpoint: fs.String("s3-endpoint", "", "S3-compatible `ENDPOINT` for files: host[:port] (HTTPS), https://host[:port] or http://host[:port] (plain HTTP); empty: files in DATA/files"),
		bucket:   fs.String("s3-bucket", "", "S3 `BUCKET` (ipsd migrate creates it when missing)"),
		prefix:   fs.String("s3-prefix", "", "`FOLDER` inside the bucket that holds every key"),
		region:   fs.String("s3-region", "", "S3 `REGION` (default: asked of the server)"),
		insecure: fs.Bool("s3-insecure", false, "plain HTTP to an endpoint given without a scheme (true or false)"),
		timeout:  fs.Duration("s3-timeout", s3blob.DefaultCheckTimeout, "how long the check at start waits for the S3 endpoint to answer"),
	}
	fs.bindEnv("s3-endpoint", "s3-bucket", "s3-prefix", "s3-region", "s3-insecure", "s3-timeout")
	fs.note("IPSD_S3_ACCESS_KEY", "S3 access key (with IPSD_S3_SECRET_KEY; neither: anonymous)")
	fs.note("IPSD_S3_SECRET_KEY", "S3 secret key")
	return s
}

// config is where files live for data directory dataDir.
func (s *storageFlags) config(path, dataDir string) (blobopen.Config, error) {
	s3, err := blobopen.ParseS3(blobopen.Settings{
		Endpoint: *s.endpoint, Bucket: *s.bucket, Prefix: *s.prefix, Region: *s.region,
		AccessKey: os.Getenv("IPSD_S3_ACCESS_KEY"), SecretKey: os.Getenv("IPSD_S3_SECRET_KEY"),
		Insecure: *s.insecure, Timeout: *s.timeout,
	})
	if err != nil {
		return blobopen.Config{}, usagef(path, "%v", err)
	}
	return blobopen.Config{DataDir: dataDir, S3: s3}, nil
}
