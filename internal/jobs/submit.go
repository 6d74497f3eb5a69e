package jobs

import (
	"context"
	"encoding/json"
	"fmt"
	"iter"
	"path"

	"github.com/ipsexport/ipsd/internal/export"
	"github.com/ipsexport/ipsd/internal/store"
)

// AssetsByHandle looks each distinct handle of an export up once (an array
// may name an asset many times) and indexes the company's assets found by
// handle; unknown and foreign handles are absent.
func AssetsByHandle(ctx context.Context, st AssetLookup, companyHandle string, handles []string) (map[string]*store.Asset, error) {
	found, err := st.AssetSources(ctx, companyHandle, handles)
	if err != nil {
		return nil, err
	}
	byHandle := make(map[string]*store.Asset, len(found))
	for i := range found {
		byHandle[found[i].Handle] = &found[i]
	}
	return byHandle, nil
}

// AssetLookup finds a company's assets by handle.
type AssetLookup interface {
	AssetSources(ctx context.Context, companyHandle string, handles []string) ([]store.Asset, error)
}

// Export is an export ready to be written: its spec with the conversion
// resolved, and one named job asset per handle. Everything that reads the
// catalogue or takes time in proportion to the handles is done when it is
// made, so that writing it holds the store's write path only to insert.
type Export struct {
	Spec    ExportSpec
	co      store.Company
	handles []string
	known   map[string]*store.Asset
	outputs []string // OutputPath per handle
	// own holds, per handle, the asset's own resolved conversion (JSON)
	// when its stored modifiers make it differ from the job's.
	own map[string]string
}

// Len is the number of job assets.
func (x *Export) Len() int { return len(x.handles) }

// assets yields the job assets, one per handle, in order. A handle with no
// asset (deleted since a schedule was made) is kept and fails when run, so
// the counts stay true. They are made as the store inserts them, so a
// large job never holds them all.
func (x *Export) assets() iter.Seq[store.JobAsset] {
	return func(yield func(store.JobAsset) bool) {
		for i, h := range x.handles {
			a := x.known[h]
			if a == nil {
				a = &store.Asset{Handle: h, Name: h, FileName: path.Base(h)}
			}
			if !yield(store.JobAsset{
				AssetHandle: a.Handle, AssetName: a.Name, AssetType: a.Type,
				FolderPath: export.RelativeFolder(a.FolderPath, x.co.RootPath), FileName: a.FileName,
				OutputPath: x.outputs[i],
				// The version to export: docs/exports.md, "Which version".
				SourceKey: a.StorageKey, SourceSHA256: a.SHA256,
				Conversion: x.own[h],
			}) {
				return
			}
		}
	}
}

// PrepareExport makes the Export of handles of company co, whose
// conversion the caller has resolved (ResolveConversion): it names every
// output (docs/exports.md, "Output names"). known holds the assets the
// caller has already looked up by handle (nil: look them up here).
func (e *Engine) PrepareExport(ctx context.Context, co store.Company, spec ExportSpec, handles []string, known map[string]*store.Asset) (*Export, error) {
	if known == nil {
		var err error
		if known, err = AssetsByHandle(ctx, e.st, co.Handle, handles); err != nil {
			return nil, fmt.Errorf("export assets: %w", err)
		}
	}
	ext := ""
	if spec.Conversion != nil {
		ext = spec.Conversion.Ext
	}
	// Assets with stored modifiers get their own conversion, resolved now
	// like the job's; its format may differ, and so the extension.
	// Assets storing the same modifiers share one resolution.
	type resolved struct{ json, ext string }
	byStored := map[[2]string]*resolved{}
	own := map[string]string{}
	ownExt := map[string]string{}
	for h, a := range known {
		if !export.Convertible(a.Type) {
			continue // exported as its original: the job's conversion
		}
		key := [2]string{a.URLModifier, a.URLPostApplyModifier}
		r, ok := byStored[key]
		if !ok {
			if c := AssetConversion(ctx, e.st, co.Handle, spec, a); c != nil {
				b, err := json.Marshal(c)
				if err != nil {
					return nil, fmt.Errorf("conversion of %s: %w", h, err)
				}
				r = &resolved{string(b), c.Ext}
			}
			byStored[key] = r
		}
		if r != nil {
			own[h], ownExt[h] = r.json, r.ext
		}
	}
	namer := NewNamer(co.RootPath, ext, len(handles))
	outputs := make([]string, len(handles))
	for i, h := range handles {
		a := known[h]
		if a == nil {
			a = &store.Asset{Handle: h, Name: h, FileName: path.Base(h)}
		}
		if x, ok := ownExt[h]; ok {
			outputs[i] = namer.NameAs(*a, x)
		} else {
			outputs[i] = namer.Name(*a)
		}
	}
	return &Export{Spec: spec, co: co, handles: handles, known: known, outputs: outputs, own: own}, nil
}
