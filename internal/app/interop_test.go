package app

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ipsexport/ipsd/internal/ipsapi"
)

// Real SOAP toolkits that nobody here wrote load every served WSDL and call
// the service through it: Python zeep, PHP SoapClient and node-soap.

type interopResult struct {
	CheckLogin    string `json:"checkLogin"`
	CheckLoginBad string `json:"checkLoginBad"`
	CompanyInfo   struct {
		CompanyHandle string `json:"companyHandle"`
		Name          string `json:"name"`
		RootPath      string `json:"rootPath"`
	} `json:"companyInfo"`
	Assets []struct {
		AssetHandle string `json:"assetHandle"`
		Name        string `json:"name"`
		Type        string `json:"type"`
	} `json:"assets"`
	SaveImageFormat string   `json:"saveImageFormat"`
	Formats         []string `json:"formats"`
	Fault           *struct {
		Message string `json:"message"`
		Code    int    `json:"code"`
	} `json:"fault"`
}

func repoRoot(t *testing.T) string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

type toolkit struct {
	name   string
	preset string
	cmd    func(wsdlURL, ns string) *exec.Cmd
}

func toolkits(t *testing.T) []toolkit {
	root := repoRoot(t)
	dir := filepath.Join(root, "testdata", "interop")
	args := func(wsdlURL string) []string {
		return []string{wsdlURL, "alice@acme.test", password, "Acme", "hero"}
	}
	return []toolkit{
		{"zeep", "zeep-preset", func(w, ns string) *exec.Cmd {
			// Debian's python3 has zeep; the first python3 on PATH may not.
			return exec.Command("/usr/bin/python3", append([]string{filepath.Join(dir, "zeep_client.py")}, args(w)...)...)
		}},
		{"php", "php-preset", func(w, ns string) *exec.Cmd {
			return exec.Command("php", append(append([]string{filepath.Join(dir, "php_client.php")}, args(w)...), ns)...)
		}},
		{"node-soap", "node-preset", func(w, ns string) *exec.Cmd {
			c := exec.Command("node", append(append([]string{filepath.Join(dir, "node_client.js")}, args(w)...), ns)...)
			c.Env = append(os.Environ(), "NODE_PATH="+filepath.Join(nodeModules(t)))
			return c
		}},
	}
}

// nodeModules installs the pinned npm "soap" once into testdata/nodesoap.
func nodeModules(t *testing.T) string {
	dir := filepath.Join(repoRoot(t), "testdata", "nodesoap")
	mods := filepath.Join(dir, "node_modules")
	if _, err := os.Stat(filepath.Join(mods, "soap")); err == nil {
		return mods
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "npm", "ci", "--no-audit", "--no-fund", "--silent")
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "npm ci: %s", out)
	return mods
}

func TestInteropToolkits(t *testing.T) {
	if testing.Short() {
		t.Skip("starts external SOAP toolkits")
	}
	e := newEnv(t, "")
	for _, tk := range toolkits(t) {
		for _, v := range ipsapi.Versions {
			t.Run(tk.name+"/"+v.Name, func(t *testing.T) {
				wsdlURL := e.srv.URL + "/scene7/webservice/" + v.WSDLFile
				cmd := tk.cmd(wsdlURL, v.Namespace)
				out, err := cmd.Output()
				var stderr []byte
				if ee, ok := err.(*exec.ExitError); ok {
					stderr = ee.Stderr
				}
				require.NoError(t, err, "%s: %s\n%s", tk.name, out, stderr)
				var r interopResult
				require.NoError(t, json.Unmarshal(out, &r), string(out))
				assert.Equal(t, "ValidLogin", r.CheckLogin)
				assert.Equal(t, "InvalidLogin", r.CheckLoginBad)
				assert.Equal(t, e.acme.Handle, r.CompanyInfo.CompanyHandle)
				assert.Equal(t, "Acme", r.CompanyInfo.Name)
				assert.Equal(t, "Acme/", r.CompanyInfo.RootPath)
				require.Len(t, r.Assets, 1)
				assert.Equal(t, e.assets["/hero.png"].Handle, r.Assets[0].AssetHandle)
				assert.Equal(t, "Image", r.Assets[0].Type)
				assert.NotEmpty(t, r.SaveImageFormat)
				assert.Contains(t, r.Formats, tk.preset)
				require.NotNil(t, r.Fault, "a foreign company name is a fault")
				assert.Equal(t, 20006, r.Fault.Code)
			})
		}
	}
}
