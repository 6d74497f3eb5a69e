package app

import (
	"bytes"
	"image"
	_ "image/jpeg"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestConversionResolvedAtSubmit: an image format (macro) edited between
// the submit and the run changes neither the job's file names nor its
// bytes: the conversion was resolved once, at submit.
func TestConversionResolvedAtSubmit(t *testing.T) {
	e := newEnv(t, "")
	saveFormat := func(modifier string) {
		t.Helper()
		_, _, resp := e.call("alice@acme.test", `<saveImageFormatParam xmlns="`+ns14+`"><companyHandle>`+e.acme.Handle+
			`</companyHandle><name>web</name><urlModifier>`+modifier+`</urlModifier></saveImageFormatParam>`)
		require.Contains(t, resp, "imageFormatHandle", resp)
	}
	saveFormat("fmt=jpeg&amp;wid=20")
	// execTime a moment ahead: the job waits, Scheduled, while the format changes.
	at := time.Now().UTC().Add(2 * time.Second).Format("2006-01-02T15:04:05.000Z")
	status, _, resp := e.post(soapPath, soapCall(authU("alice@acme.test"), `<submitJobParam xmlns="`+ns14+`"><companyHandle>`+e.acme.Handle+
		`</companyHandle><jobName>resolved</jobName><execTime>`+at+`</execTime><exportJob><assetHandleArray><items>`+e.assets["/hero.png"].Handle+
		`</items></assetHandleArray><fmt>convert</fmt><macro>$web$</macro><emailSetting>None</emailSetting></exportJob></submitJobParam>`), nil)
	require.Equal(t, 200, status, resp)
	saveFormat("fmt=png&amp;wid=30")

	zipURL, _ := e.awaitArchive("resolved")
	_, zipBytes := fetch(t, zipURL, "")
	files := unzip(t, zipBytes)
	out, ok := files["hero.jpg"]
	require.True(t, ok, "named by the format of the submit: %v", keys(files))
	cfg, format, err := image.DecodeConfig(bytes.NewReader(out))
	require.NoError(t, err)
	assert.Equal(t, "jpeg", format, "the bytes are the submit's format too")
	assert.Equal(t, 20, cfg.Width, "and its size")
}
