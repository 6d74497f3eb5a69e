// Command schemagen writes every XSD and WSDL the server publishes, one per
// IPS schema version, from the single description in api.go.
//
//	go run ./internal/schemagen -schemas ../../schemas -wsdl ../../wsdl
//
// It is run by go generate in internal/ipsapi. Output is deterministic; files
// in the two directories with the .xsd/.wsdl suffix that it did not write are
// removed, so a renamed version leaves nothing stale behind.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"strings"
)

func main() {
	log.SetFlags(0)
	log.SetPrefix("schemagen: ")
	schemaDir := flag.String("schemas", "schemas", "directory of the XSDs")
	wsdlDir := flag.String("wsdl", "wsdl", "directory of the WSDLs")
	flag.Parse()

	a := description()
	if err := a.check(); err != nil {
		log.Fatal(err)
	}
	files := map[string]map[string]string{*schemaDir: {}, *wsdlDir: {}}
	files[*schemaDir]["IpsApiCommon.xsd"] = genCommon()
	for v := U; v < nVer; v++ {
		files[*schemaDir][v.schemaFile()] = genSchema(a, v)
		files[*wsdlDir][v.wsdlFile()] = genWSDL(a, v)
	}
	for dir, docs := range files {
		if err := writeDir(dir, docs); err != nil {
			log.Fatal(err)
		}
	}
}

func writeDir(dir string, docs map[string]string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		n := e.Name()
		if (strings.HasSuffix(n, ".xsd") || strings.HasSuffix(n, ".wsdl")) && docs[n] == "" {
			if err := os.Remove(filepath.Join(dir, n)); err != nil {
				return err
			}
		}
	}
	for name, doc := range docs {
		path := filepath.Join(dir, name)
		if old, err := os.ReadFile(path); err == nil && bytes.Equal(old, []byte(doc)) {
			continue
		}
		if err := os.WriteFile(path, []byte(doc), 0o644); err != nil {
			return fmt.Errorf("write %s: %w", path, err)
		}
	}
	return nil
}
