package jobs

import (
	"context"
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
	namer := NewNamer(co.RootPath, ext, len(handles))
	outputs := make([]string, len(handles))
	for i, h := range handles {
		a := known[h]
		if a == nil {
			a = &store.Asset{Handle: h, Name: h, FileName: path.Base(h)}
		}
		outputs[i] = namer.Name(*a)
	}
	return &Export{Spec: spec, co: co, handles: handles, known: known, outputs: outputs}, nil
}
