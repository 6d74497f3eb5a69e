package app

import (
	"bytes"
	"context"
	"encoding/binary"
	"image"
	"image/jpeg"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ipsexport/ipsd/internal/blob/s3blob"
	"github.com/ipsexport/ipsd/internal/iccprofile"
)

// grayProfile is a minimal ICC v2 grey display profile (gamma 2.2, D50):
// the header, a description, the white point and the grey tone curve,
// which is all lcms needs to convert to it.
func grayProfile() []byte {
	be := binary.BigEndian
	s15 := func(b []byte, v float64) []byte { return be.AppendUint32(b, uint32(int32(v*65536+0.5))) }
	desc := []byte("desc\x00\x00\x00\x00")
	desc = be.AppendUint32(desc, 5)
	desc = append(desc, "gray\x00"...)
	desc = append(desc, make([]byte, 4+4+2+1+67)...) // no Unicode, no ScriptCode
	wtpt := s15(s15(s15([]byte("XYZ \x00\x00\x00\x00"), 0.9642), 1.0), 0.8249)
	curv := be.AppendUint32([]byte("curv\x00\x00\x00\x00"), 1)
	curv = be.AppendUint16(curv, 0x0233) // gamma 2.2 as u8Fixed8
	tags := []struct {
		sig  string
		data []byte
	}{{"desc", desc}, {"wtpt", wtpt}, {"kTRC", curv}}
	offset := 128 + 4 + 12*len(tags)
	var table, body []byte
	table = be.AppendUint32(table, uint32(len(tags)))
	for _, tg := range tags {
		for len(body)%4 != 0 {
			body = append(body, 0)
		}
		table = append(table, tg.sig...)
		table = be.AppendUint32(table, uint32(offset+len(body)))
		table = be.AppendUint32(table, uint32(len(tg.data)))
		body = append(body, tg.data...)
	}
	for len(body)%4 != 0 {
		body = append(body, 0)
	}
	h := make([]byte, 128)
	be.PutUint32(h[0:], uint32(128+len(table)+len(body)))
	be.PutUint32(h[8:], 0x02100000)
	copy(h[12:], "mntr")
	copy(h[16:], "GRAY")
	copy(h[20:], "XYZ ")
	copy(h[36:], "acsp")
	ill := s15(s15(s15(nil, 0.9642), 1.0), 0.8249)
	copy(h[68:], ill)
	return append(append(h, table...), body...)
}

// A profile registered with S3 set (admin icc add) is in the bucket, and
// a process on another data directory loads it from there at start: an
// export with icc=NAME converts to it.
func TestICCProfileFromBucket(t *testing.T) {
	ctx := context.Background()
	srv := s3Server(t)
	cfg := srv.Config(srv.NewBucket(t))
	shared, err := s3blob.New(ctx, cfg)
	require.NoError(t, err)
	where, err := iccprofile.Add(ctx, t.TempDir(), shared, "Grayish", grayProfile())
	require.NoError(t, err)
	assert.Equal(t, "icc/Grayish.icc", where)

	e := newEnv(t, pg.NewDatabase(t), func(c *Config) { c.S3 = &cfg })
	e.submit("gray", e.handles("/hero.png"), `<fmt>convert</fmt><is_modifier>fmt=jpeg&amp;icc=grayish</is_modifier>`)
	zipURL, root := e.awaitArchive("gray")
	require.Equal(t, "1", root.at("jobLogArray", "items")[0].text("fileSuccessCount"))
	code, zipBytes := fetch(t, zipURL, "")
	require.Equal(t, 200, code)
	out := unzip(t, zipBytes)["hero.jpg"]
	img, err := jpeg.Decode(bytes.NewReader(out))
	require.NoError(t, err)
	_, gray := img.(*image.Gray)
	assert.True(t, gray, "converted to the grey profile: a one-channel JPEG, got %T", img)

	// Without the bucket's profile the name is unknown: the same export
	// on a deployment with local files warns instead of converting.
	local := newEnv(t, "")
	local.submit("no-profile", local.handles("/hero.png"), `<fmt>convert</fmt><is_modifier>fmt=jpeg&amp;icc=grayish</is_modifier>`)
	_, root = local.awaitArchive("no-profile")
	assert.Equal(t, "1", root.at("jobLogArray", "items")[0].text("fileWarningCount"))
}
