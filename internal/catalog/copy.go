package catalog

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/ipsexport/ipsd/internal/blob"
	"github.com/ipsexport/ipsd/internal/store"
)

// Place is a catalogue and the files it refers to.
type Place struct {
	Store store.Store
	Blob  blob.Store
}

// Mapping reports one copied object: kind ("company", "user", "folder",
// "asset", "format"), its handle in the source and in the destination.
type Mapping func(kind, from, to string)

// Copy copies a whole catalogue – companies, users with their password
// hashes and memberships, folders, assets with their files, sets with
// their members, image formats – into an empty destination: the move from
// the embedded database to PostgreSQL. Handles are minted anew by the
// destination; report tells each old handle's new one. Jobs and exports
// are not copied: exports are temporary by design.
func Copy(ctx context.Context, from, to Place, report Mapping) error {
	if report == nil {
		report = func(string, string, string) {}
	}
	users, err := from.Store.ListUsers(ctx)
	if err != nil {
		return fmt.Errorf("copy: %w", err)
	}
	userMap := map[string]string{}
	for _, u := range users {
		nu, err := to.Store.CreateUser(ctx, store.NewUser{Email: u.Email, FirstName: u.FirstName,
			LastName: u.LastName, Role: u.Role, PasswordHash: u.PasswordHash})
		if err != nil {
			return fmt.Errorf("copy user %s: %w", u.Email, err)
		}
		userMap[u.Handle] = nu.Handle
		report("user", u.Handle, nu.Handle)
	}
	companies, err := from.Store.ListCompanies(ctx)
	if err != nil {
		return fmt.Errorf("copy: %w", err)
	}
	companyMap := map[string]string{}
	for _, co := range companies {
		nco, err := copyCompany(ctx, from, to, co, userMap, report)
		if err != nil {
			return err
		}
		companyMap[co.Handle] = nco
	}
	for _, u := range users {
		cos, err := from.Store.UserCompanies(ctx, u.Handle)
		if err != nil {
			return fmt.Errorf("copy memberships of %s: %w", u.Email, err)
		}
		for _, co := range cos {
			if err := to.Store.AddMembership(ctx, userMap[u.Handle], companyMap[co.Handle]); err != nil {
				return fmt.Errorf("copy memberships of %s: %w", u.Email, err)
			}
		}
	}
	return nil
}

// copyCompany copies one company with its folders, assets, sets and
// formats, and returns its new handle.
func copyCompany(ctx context.Context, from, to Place, co store.Company, users map[string]string, report Mapping) (string, error) {
	nco, err := to.Store.CreateCompany(ctx, co.Name)
	if err != nil {
		return "", fmt.Errorf("copy company %s: %w", co.Name, err)
	}
	report("company", co.Handle, nco.Handle)
	defaults, err := from.Store.CompanyDefaults(ctx, co.Handle)
	if err != nil {
		return "", fmt.Errorf("copy defaults of %s: %w", co.Name, err)
	}
	if err := to.Store.SetCompanyDefaults(ctx, nco.Handle, defaults); err != nil {
		return "", fmt.Errorf("copy defaults of %s: %w", co.Name, err)
	}
	folders, err := from.Store.ListFolders(ctx, co.Handle)
	if err != nil {
		return "", fmt.Errorf("copy folders of %s: %w", co.Name, err)
	}
	folderMap := map[string]string{}
	for _, f := range folders {
		rel := strings.Trim(strings.TrimPrefix(f.Path, co.RootPath), "/")
		nf, err := to.Store.EnsureFolder(ctx, nco.Handle, rel)
		if err != nil {
			return "", fmt.Errorf("copy folder %s: %w", f.Path, err)
		}
		folderMap[f.Handle] = nf.Handle
		report("folder", f.Handle, nf.Handle)
	}
	assets, _, err := from.Store.SearchAssets(ctx, store.AssetQuery{CompanyHandle: co.Handle, IncludeSubfolders: true})
	if err != nil {
		return "", fmt.Errorf("copy assets of %s: %w", co.Name, err)
	}
	assetMap := map[string]string{}
	var sets []store.Asset
	for _, a := range assets {
		if a.StorageKey == "" {
			sets = append(sets, a) // after their members
			continue
		}
		key, err := copyFile(ctx, from.Blob, to.Blob, a)
		if err != nil {
			return "", err
		}
		na, err := to.Store.CreateAsset(ctx, store.NewAsset{
			CompanyHandle: nco.Handle, FolderHandle: folderMap[a.FolderHandle], Name: a.Name,
			FileName: a.FileName, Type: a.Type, SubType: a.SubType, Size: a.Size, SHA256: a.SHA256,
			StorageKey: key, Width: a.Width, Height: a.Height, CreatedBy: users[a.CreatedBy],
			URLModifier: a.URLModifier, URLPostApplyModifier: a.URLPostApplyModifier,
		})
		if err != nil {
			return "", fmt.Errorf("copy asset %s: %w", a.Handle, err)
		}
		assetMap[a.Handle] = na.Handle
		report("asset", a.Handle, na.Handle)
	}
	for _, set := range sets {
		members, err := from.Store.SetMembers(ctx, co.Handle, set.Handle)
		if err != nil {
			return "", fmt.Errorf("copy set %s: %w", set.Handle, err)
		}
		var handles []string
		for _, m := range members {
			handles = append(handles, assetMap[m.Handle])
		}
		na, err := to.Store.CreateAsset(ctx, store.NewAsset{
			CompanyHandle: nco.Handle, FolderHandle: folderMap[set.FolderHandle], Name: set.Name,
			FileName: set.FileName, Type: set.Type, SubType: set.SubType, CreatedBy: users[set.CreatedBy],
			Members: handles, URLModifier: set.URLModifier, URLPostApplyModifier: set.URLPostApplyModifier,
		})
		if err != nil {
			return "", fmt.Errorf("copy set %s: %w", set.Handle, err)
		}
		assetMap[set.Handle] = na.Handle
		report("asset", set.Handle, na.Handle)
	}
	formats, err := from.Store.ImageFormats(ctx, co.Handle)
	if err != nil {
		return "", fmt.Errorf("copy formats of %s: %w", co.Name, err)
	}
	for _, f := range formats {
		nf, err := to.Store.SaveImageFormat(ctx, store.ImageFormat{CompanyHandle: nco.Handle, Name: f.Name, URLModifier: f.URLModifier})
		if err != nil {
			return "", fmt.Errorf("copy format %s: %w", f.Name, err)
		}
		report("format", f.Handle, nf.Handle)
	}
	return nco.Handle, nil
}

// copyFile copies an asset's original when the two places keep files
// apart; sharing one store, the key is kept. The copy is checked against
// the catalogue's SHA-256.
func copyFile(ctx context.Context, from, to blob.Store, a store.Asset) (string, error) {
	if _, err := to.Stat(ctx, a.StorageKey); err == nil {
		return a.StorageKey, nil // the same storage, or copied before
	} else if !errors.Is(err, blob.ErrNotFound) {
		return "", fmt.Errorf("copy file of %s: %w", a.Handle, err)
	}
	r, _, err := from.Open(ctx, a.StorageKey)
	if err != nil {
		return "", fmt.Errorf("copy file of %s: %w", a.Handle, err)
	}
	defer r.Close()
	info, err := to.Put(ctx, a.StorageKey, r)
	if err != nil {
		return "", fmt.Errorf("copy file of %s: %w", a.Handle, err)
	}
	if a.SHA256 != "" && !strings.EqualFold(info.SHA256, a.SHA256) {
		return "", fmt.Errorf("copy file of %s: checksum mismatch", a.Handle)
	}
	return a.StorageKey, nil
}
