package app

import (
	"context"
	"encoding/json"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ipsexport/ipsd/internal/ipsapi"
)

// jobsReport is what zeep_jobs.py prints.
type jobsReport struct {
	PauseJob any `json:"pauseJob"`
	Paused   map[string]*struct {
		TriggerState string `json:"triggerState"`
		TimeZone     string `json:"timeZone"`
		JobHandle    string `json:"jobHandle"`
	} `json:"paused"`
	ResumedNightly *struct {
		TriggerState string `json:"triggerState"`
	} `json:"resumedNightly"`
	ExecuteJob any `json:"executeJob"`
	Log        struct {
		LogType          string   `json:"logType"`
		StartDate        string   `json:"startDate"`
		EndDate          string   `json:"endDate"`
		FileSuccessCount int      `json:"fileSuccessCount"`
		FileUpdateCount  int      `json:"fileUpdateCount"`
		DetailTypes      []string `json:"detailTypes"`
	} `json:"log"`
	AssetJobLogs []struct {
		JobHandle  string `json:"jobHandle"`
		LogType    string `json:"logType"`
		LogDate    string `json:"logDate"`
		LogMessage string `json:"logMessage"`
	} `json:"assetJobLogs"`
	OriginalFilePaths []string `json:"originalFilePaths"`
	ExecuteFault      *struct {
		Message string `json:"message"`
		Code    int    `json:"code"`
	} `json:"executeFault"`
	LeftScheduled []string `json:"leftScheduled"`
	WaitingHandle string   `json:"waitingHandle"`
}

// runToolkit runs a toolkit's test script with cfg, as JSON, for its one
// argument, within timeout, and returns what it printed; a script that
// fails fails the test with its output and its standard error.
func runToolkit(t *testing.T, timeout time.Duration, program, script string, cfg map[string]any) []byte {
	t.Helper()
	arg, err := json.Marshal(cfg)
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	out, err := exec.CommandContext(ctx, program, script, string(arg)).Output()
	var stderr []byte
	if ee, ok := err.(*exec.ExitError); ok {
		stderr = ee.Stderr
	}
	require.NoError(t, err, "%s\n%s", out, stderr)
	return out
}

// TestInteropJobControl: zeep, through every served WSDL, holds and
// releases a waiting and a recurring job, runs the waiting one with
// executeJob, follows its log, reconciles the export with getAssetJobLogs
// and getOriginalFilePaths, and deletes both.
func TestInteropJobControl(t *testing.T) {
	if testing.Short() {
		t.Skip("starts an external SOAP toolkit")
	}
	e := newEnv(t, "")
	script := filepath.Join(repoRoot(t), "testdata", "interop", "zeep_jobs.py")
	hero, boot := e.assets["/hero.png"].Handle, e.assets["shoes/boot.png"].Handle
	for _, v := range ipsapi.Versions {
		t.Run(v.Name, func(t *testing.T) {
			withAssetLogs := v.Namespace != ipsapi.Unversioned // getAssetJobLogs is IPS 4.0
			prefix := "zeep-" + strings.ReplaceAll(v.Name, "-", "")
			if v.Name == "" || v.Namespace == ipsapi.Unversioned {
				prefix = "zeep-pre40"
			}
			out := runToolkit(t, 2*time.Minute, "/usr/bin/python3", script, map[string]any{
				"wsdl": e.srv.URL + "/scene7/webservice/" + v.WSDLFile, "user": "alice@acme.test", "password": password,
				"company": "Acme", "handles": []string{hero, boot}, "prefix": prefix, "assetJobLogs": withAssetLogs,
			})
			var r jobsReport
			require.NoError(t, json.Unmarshal(out, &r), string(out))

			assert.Nil(t, r.PauseJob, "pauseJob answers an empty return")
			assert.Nil(t, r.ExecuteJob, "executeJob answers an empty return")
			later, nightly := r.Paused["later"], r.Paused["nightly"]
			require.NotNil(t, later, string(out))
			require.NotNil(t, nightly, string(out))
			assert.Equal(t, "Paused", later.TriggerState)
			assert.Equal(t, "Paused", nightly.TriggerState)
			for _, z := range []string{later.TimeZone, nightly.TimeZone} {
				assert.NotEqual(t, "Local", z)
				_, err := time.LoadLocation(z)
				assert.NoError(t, err, "timeZone %q", z)
			}
			require.NotNil(t, r.ResumedNightly)
			assert.Equal(t, "Normal", r.ResumedNightly.TriggerState)

			assert.Equal(t, "EndExport", r.Log.LogType)
			assert.NotEmpty(t, r.Log.StartDate)
			assert.NotEqual(t, "None", r.Log.EndDate)
			assert.Equal(t, 2, r.Log.FileSuccessCount)
			assert.Equal(t, 0, r.Log.FileUpdateCount)
			assert.Equal(t, []string{"BeginExport", "OriginalJobName", "JobClient", "JobType", "TotalFileCount",
				"ExportSuccess", "ExportSuccess", "EndExport", "ExportArchive"}, r.Log.DetailTypes)

			if withAssetLogs {
				require.NotEmpty(t, r.AssetJobLogs, string(out))
				assert.Equal(t, r.WaitingHandle, r.AssetJobLogs[0].JobHandle, "the newest entry is this run's")
				assert.Equal(t, "ExportSuccess", r.AssetJobLogs[0].LogType)
				assert.NotEmpty(t, r.AssetJobLogs[0].LogDate)
				assert.Contains(t, r.AssetJobLogs[0].LogMessage, "hero.png")
			}
			assert.Equal(t, []string{"Acme/hero.png", "Acme/shoes/boot.png"}, r.OriginalFilePaths)
			require.NotNil(t, r.ExecuteFault, "an ended job is not executed")
			assert.Equal(t, 30001, r.ExecuteFault.Code)
			assert.Empty(t, r.LeftScheduled, "both deleted")
		})
	}
}

// TestInteropJobControlPHP: PHP SoapClient, in the pre-4.0 and a dated
// version, holds a waiting job, runs it with executeJob and reconciles it.
func TestInteropJobControlPHP(t *testing.T) {
	if testing.Short() {
		t.Skip("starts an external SOAP toolkit")
	}
	e := newEnv(t, "")
	script := filepath.Join(repoRoot(t), "testdata", "interop", "php_jobs.php")
	hero, boot := e.assets["/hero.png"].Handle, e.assets["shoes/boot.png"].Handle
	for _, v := range []ipsapi.Version{mustVersion(t, "pre-4.0"), mustVersion(t, "2014-04-03")} {
		t.Run(v.Name, func(t *testing.T) {
			withAssetLogs := v.Namespace != ipsapi.Unversioned
			out := runToolkit(t, 2*time.Minute, "php", script, map[string]any{
				"wsdl": e.srv.URL + "/scene7/webservice/" + v.WSDLFile, "ns": v.Namespace, "user": "alice@acme.test",
				"password": password, "company": "Acme", "handles": []string{hero, boot},
				"prefix": "php-" + strings.ReplaceAll(v.Name, ".", ""), "assetJobLogs": withAssetLogs,
			})
			var r struct {
				TriggerState      string                                `json:"triggerState"`
				TimeZone          string                                `json:"timeZone"`
				LogType           string                                `json:"logType"`
				FileSuccessCount  int                                   `json:"fileSuccessCount"`
				AssetJobLogs      []struct{ JobHandle, LogType string } `json:"assetJobLogs"`
				OriginalFilePaths []string                              `json:"originalFilePaths"`
				JobHandle         string                                `json:"jobHandle"`
			}
			require.NoError(t, json.Unmarshal(out, &r), string(out))
			assert.Equal(t, "Paused", r.TriggerState)
			assert.NotEqual(t, "Local", r.TimeZone)
			assert.Equal(t, "EndExport", r.LogType)
			assert.Equal(t, 2, r.FileSuccessCount)
			if withAssetLogs {
				require.NotEmpty(t, r.AssetJobLogs)
				assert.Equal(t, r.JobHandle, r.AssetJobLogs[0].JobHandle)
				assert.Equal(t, "ExportSuccess", r.AssetJobLogs[0].LogType)
			}
			assert.Equal(t, []string{"Acme/hero.png", "Acme/shoes/boot.png"}, r.OriginalFilePaths)
		})
	}
}
