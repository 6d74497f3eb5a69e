package service

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	gsoap "github.com/hooklift/gowsdl/soap"

	"github.com/ipsexport/ipsd/internal/ipsapi"
	"github.com/ipsexport/ipsd/internal/jobs"
	"github.com/ipsexport/ipsd/internal/soap"
	"github.com/ipsexport/ipsd/internal/store"
)

// Login statuses of checkLogin.
const (
	validLogin   = "ValidLogin"
	invalidLogin = "InvalidLogin"
)

// checkLogin checks another account's password through Login, the path
// every login takes: the caller's address is limited for that account as
// if it had logged in itself, so a logged-in user cannot guess passwords
// here any faster than at the door, and an unknown e-mail costs the same
// as a wrong password. A check the limits hold back is a 10001 fault that
// says so, not an answer.
func (s *Service) checkLogin(ctx context.Context, c *call) (any, error) {
	var p ipsapi.CheckLoginParam
	if err := c.decode(&p); err != nil {
		return nil, err
	}
	if p.Email == "" {
		return nil, soap.Missing("email")
	}
	if p.Password == "" {
		return nil, soap.Missing("password")
	}
	u, err := s.Login(ctx, p.Email, p.Password, c.req.RemoteAddr)
	var (
		throttled *throttledError
		f         *soap.Fault
	)
	switch {
	case err == nil:
	case errors.As(err, &throttled):
		return nil, throttled.fault
	case errors.As(err, &f) && f.Code == soap.CodeInvalidCredentials:
		return &ipsapi.CheckLoginReturn{Status: invalidLogin}, nil
	default:
		return nil, fmt.Errorf("checkLogin: %w", err)
	}
	if h := strings.TrimSpace(p.CompanyHandle); h != "" {
		ok, err := s.memberOrAdmin(ctx, u, h)
		if err != nil {
			return nil, err
		}
		if !ok {
			return &ipsapi.CheckLoginReturn{Status: invalidLogin}, nil
		}
	}
	return &ipsapi.CheckLoginReturn{Status: validLogin}, nil
}

func (s *Service) memberOrAdmin(ctx context.Context, u store.User, companyHandle string) (bool, error) {
	if u.Role == store.RoleIpsAdmin {
		_, err := s.store.CompanyByHandle(ctx, companyHandle)
		return err == nil, nil
	}
	ok, err := s.store.IsMember(ctx, u.Handle, companyHandle)
	if err != nil {
		return false, fmt.Errorf("membership: %w", err)
	}
	return ok, nil
}

func (s *Service) getCompanyInfo(ctx context.Context, c *call) (any, error) {
	var p ipsapi.GetCompanyInfoParam
	if err := c.decode(&p); err != nil {
		return nil, err
	}
	handle, name := strings.TrimSpace(p.CompanyHandle), strings.TrimSpace(p.CompanyName)
	if handle == "" && name == "" {
		return nil, soap.Missing("companyHandle or companyName")
	}
	if handle == "" {
		co, err := s.store.CompanyByName(ctx, name)
		if errors.Is(err, store.ErrNotFound) {
			return nil, soap.AuthzFault(soap.CodeIllegalCompany, "companyName %q is not a company this user may access", name)
		}
		if err != nil {
			return nil, fmt.Errorf("company %q: %w", name, err)
		}
		handle = co.Handle
	}
	co, err := s.company(ctx, c, handle)
	if err != nil {
		if name != "" && p.CompanyHandle == "" {
			return nil, soap.AuthzFault(soap.CodeIllegalCompany, "companyName %q is not a company this user may access", name)
		}
		return nil, err
	}
	return &ipsapi.GetCompanyInfoReturn{CompanyInfo: companyInfo(co)}, nil
}

func companyInfo(co store.Company) *ipsapi.Company {
	return &ipsapi.Company{
		CompanyHandle: co.Handle,
		Name:          co.Name,
		RootPath:      co.RootPath,
		// Companies here do not expire; IPS reports a far date then.
		Expires: dateTime(time.Date(2099, 12, 31, 0, 0, 0, 0, time.UTC)),
	}
}

func (s *Service) getUserInfo(ctx context.Context, c *call) (any, error) {
	var p ipsapi.GetUserInfoParam
	if err := c.decode(&p); err != nil {
		return nil, err
	}
	u := c.user
	var err error
	switch {
	case p.UserHandle != "":
		u, err = s.visibleUser(ctx, c, func() (store.User, error) { return s.store.UserByHandle(ctx, p.UserHandle) })
		if err != nil {
			return nil, soap.Invalid("userHandle", p.UserHandle, "no such user")
		}
	case p.Email != "":
		u, err = s.visibleUser(ctx, c, func() (store.User, error) { return s.store.UserByEmail(ctx, p.Email) })
		if err != nil {
			return nil, soap.Invalid("email", p.Email, "no such user")
		}
	}
	return &ipsapi.GetUserInfoReturn{UserInfo: &ipsapi.User{
		UserHandle:      u.Handle,
		FirstName:       u.FirstName,
		LastName:        u.LastName,
		Email:           u.Email,
		DefaultRole:     u.Role,
		IsIpsAdmin:      u.Role == store.RoleIpsAdmin,
		IsValid:         true,
		PasswordExpires: dateTime(time.Date(2099, 12, 31, 0, 0, 0, 0, time.UTC)),
	}}, nil
}

// visibleUser finds another user, who must share a company with the caller
// (IpsAdmin sees everyone); otherwise it is not found.
func (s *Service) visibleUser(ctx context.Context, c *call, find func() (store.User, error)) (store.User, error) {
	u, err := find()
	if err != nil {
		return store.User{}, err
	}
	if c.user.Role == store.RoleIpsAdmin || u.Handle == c.user.Handle {
		return u, nil
	}
	mine, err := s.store.UserCompanies(ctx, c.user.Handle)
	if err != nil {
		return store.User{}, err
	}
	for _, co := range mine {
		ok, err := s.store.IsMember(ctx, u.Handle, co.Handle)
		if err != nil {
			return store.User{}, err
		}
		if ok {
			return u, nil
		}
	}
	return store.User{}, store.ErrNotFound
}

func (s *Service) getAssets(ctx context.Context, c *call) (any, error) {
	var p ipsapi.GetAssetsParam
	if err := c.decode(&p); err != nil {
		return nil, err
	}
	co, err := s.company(ctx, c, p.CompanyHandle)
	if err != nil {
		return nil, err
	}
	handles, err := s.handleList("assetHandleArray", p.AssetHandleArray)
	if err != nil {
		return nil, err
	}
	found, err := s.store.AssetsByHandles(ctx, co.Handle, handles)
	if err != nil {
		return nil, fmt.Errorf("getAssets: %w", err)
	}
	return &ipsapi.GetAssetsReturn{AssetArray: assetArray(found)}, nil
}

func (s *Service) getAssetsByName(ctx context.Context, c *call) (any, error) {
	var p ipsapi.GetAssetsByNameParam
	if err := c.decode(&p); err != nil {
		return nil, err
	}
	co, err := s.company(ctx, c, p.CompanyHandle)
	if err != nil {
		return nil, err
	}
	names, err := s.stringList("nameArray", p.NameArray)
	if err != nil {
		return nil, err
	}
	types, err := s.stringList("assetTypeArray", p.AssetTypeArray)
	if err != nil {
		return nil, err
	}
	if len(names) == 0 {
		return &ipsapi.GetAssetsByNameReturn{AssetArray: &ipsapi.AssetArray{}}, nil
	}
	found, err := s.store.AssetsByNames(ctx, co.Handle, names, types)
	if err != nil {
		return nil, fmt.Errorf("getAssetsByName: %w", err)
	}
	return &ipsapi.GetAssetsByNameReturn{AssetArray: assetArray(found)}, nil
}

// Sort fields of searchAssets (string-constants/r-asset-sort-fields.md).
var assetSortFields = []string{"Created", "Modified", "Name", "AssetType", "FileSize"}

func (s *Service) searchAssets(ctx context.Context, c *call) (any, error) {
	var p ipsapi.SearchAssetsParam
	if err := c.decode(&p); err != nil {
		return nil, err
	}
	co, err := s.company(ctx, c, p.CompanyHandle)
	if err != nil {
		return nil, err
	}
	q := store.AssetQuery{CompanyHandle: co.Handle, IncludeSubfolders: true, Limit: s.cfg.MaxPageSize}
	for _, a := range []struct {
		field string
		in    *ipsapi.StringArray
		out   *[]string
	}{
		{"assetTypeArray", p.AssetTypeArray, &q.Types},
		{"excludeAssetTypeArray", p.ExcludeAssetTypeArray, &q.ExcludeTypes},
		{"assetSubTypeArray", p.AssetSubTypeArray, &q.SubTypes},
	} {
		if *a.out, err = s.stringList(a.field, a.in); err != nil {
			return nil, err
		}
	}
	if c.req.Present("includeSubfolders") {
		// Absent means true (r-search-assets.md); the generated bool cannot say.
		q.IncludeSubfolders = p.IncludeSubfolders
	}
	if f := strings.TrimSpace(p.Folder); f != "" {
		q.FolderPath = folderPath(co, f)
		if _, err := s.store.FolderByPath(ctx, co.Handle, q.FolderPath); err != nil {
			if errors.Is(err, store.ErrNotFound) {
				return nil, soap.Invalid("folder", p.Folder, "no such folder")
			}
			return nil, fmt.Errorf("searchAssets folder: %w", err)
		}
	}
	if ts := strings.TrimSpace(p.TrashState); ts != "" && ts != "NotInTrash" && ts != "Any" {
		// Nothing here is ever in the trash.
		return &ipsapi.SearchAssetsReturn{TotalRows: 0, AssetArray: &ipsapi.AssetArray{}}, nil
	}
	keywords, err := s.stringList("keywordArray", p.KeywordArray)
	if err != nil {
		return nil, err
	}
	if len(keywords) > 1 {
		return nil, soap.Invalid("keywordArray", strings.Join(keywords, ","), "this server searches one keyword at a time")
	}
	if len(keywords) == 1 {
		q.NameLike = keywords[0]
	}
	if p.SystemFieldConditionArray != nil {
		if err := s.checkItems("systemFieldConditionArray", len(p.SystemFieldConditionArray.Items)); err != nil {
			return nil, err
		}
		for _, cond := range p.SystemFieldConditionArray.Items {
			if cond == nil {
				continue
			}
			if !strings.EqualFold(cond.Field, "name") {
				return nil, soap.Invalid("systemFieldConditionArray/items/field", cond.Field, "this server searches the name field only")
			}
			if op := cond.Op; op != "" && !strings.EqualFold(op, "Contains") && !strings.EqualFold(op, "Equals") {
				return nil, soap.Invalid("systemFieldConditionArray/items/op", op, "this server supports Contains and Equals")
			}
			q.NameLike = cond.Value
		}
	}
	if p.RecordsPerPage != 0 {
		if p.RecordsPerPage < 0 || int(p.RecordsPerPage) > s.cfg.MaxPageSize {
			return nil, soap.Invalid("recordsPerPage", fmt.Sprint(p.RecordsPerPage), fmt.Sprintf("must be between 1 and %d", s.cfg.MaxPageSize))
		}
		q.Limit = int(p.RecordsPerPage)
	}
	if p.ResultsPage != 0 {
		if p.ResultsPage < 1 {
			return nil, soap.Invalid("resultsPage", fmt.Sprint(p.ResultsPage), "pages are numbered from 1")
		}
		q.Offset = (int(p.ResultsPage) - 1) * q.Limit
	}
	if sb := strings.TrimSpace(p.SortBy); sb != "" {
		i := slices.IndexFunc(assetSortFields, func(f string) bool { return strings.EqualFold(f, sb) })
		if i < 0 {
			return nil, soap.Invalid("sortBy", sb, "expected one of "+strings.Join(assetSortFields, ", "))
		}
		q.SortBy = assetSortFields[i]
	}
	switch d := strings.TrimSpace(p.SortDirection); {
	case d == "" || strings.EqualFold(d, "Ascending"):
	case strings.EqualFold(d, "Descending"):
		q.Descending = true
	default:
		return nil, soap.Invalid("sortDirection", d, "expected Ascending or Descending")
	}
	found, total, err := s.store.SearchAssets(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("searchAssets: %w", err)
	}
	return &ipsapi.SearchAssetsReturn{TotalRows: int32(total), AssetArray: assetArray(found)}, nil
}

// folderPath turns a folder as clients send it ("shoes/red", "Acme/shoes/red/",
// "/shoes") into the stored full path ("Acme/shoes/red/").
func folderPath(co store.Company, f string) string {
	f = strings.Trim(strings.ReplaceAll(f, "\\", "/"), "/")
	root := strings.TrimSuffix(co.RootPath, "/")
	if f == root || strings.HasPrefix(f, root+"/") {
		f = strings.TrimPrefix(strings.TrimPrefix(f, root), "/")
	}
	if f == "" {
		return co.RootPath
	}
	return co.RootPath + f + "/"
}

func (s *Service) getFolders(ctx context.Context, c *call) (any, error) {
	var p ipsapi.GetFoldersParam
	if err := c.decode(&p); err != nil {
		return nil, err
	}
	co, err := s.company(ctx, c, p.CompanyHandle)
	if err != nil {
		return nil, err
	}
	prefix := co.RootPath
	if f := strings.TrimSpace(p.FolderPath); f != "" {
		prefix = folderPath(co, f)
		if _, err := s.store.FolderByPath(ctx, co.Handle, prefix); err != nil {
			if errors.Is(err, store.ErrNotFound) {
				return nil, soap.Invalid("folderPath", p.FolderPath, "no such folder")
			}
			return nil, fmt.Errorf("getFolders: %w", err)
		}
	}
	all, err := s.store.ListFolders(ctx, co.Handle)
	if err != nil {
		return nil, fmt.Errorf("getFolders: %w", err)
	}
	out := &ipsapi.FolderArray{}
	for i, f := range all {
		if !strings.HasPrefix(f.Path, prefix) {
			continue
		}
		hasSub := i+1 < len(all) && strings.HasPrefix(all[i+1].Path, f.Path)
		out.Items = append(out.Items, &ipsapi.Folder{FolderHandle: f.Handle, Path: f.Path, HasSubfolders: hasSub})
	}
	return &ipsapi.GetFoldersReturn{FolderArray: out}, nil
}

func (s *Service) deleteAsset(ctx context.Context, c *call) (any, error) {
	var p ipsapi.DeleteAssetParam
	if err := c.decode(&p); err != nil {
		return nil, err
	}
	co, err := s.company(ctx, c, p.CompanyHandle)
	if err != nil {
		return nil, err
	}
	if strings.TrimSpace(p.AssetHandle) == "" {
		return nil, soap.Missing("assetHandle")
	}
	if err := s.store.DeleteAsset(ctx, co.Handle, p.AssetHandle); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return nil, soap.Invalid("assetHandle", p.AssetHandle, "no such asset")
		}
		return nil, fmt.Errorf("deleteAsset %s: %w", p.AssetHandle, err)
	}
	return nil, nil
}

func (s *Service) deleteAssets(ctx context.Context, c *call) (any, error) {
	var p ipsapi.DeleteAssetsParam
	if err := c.decode(&p); err != nil {
		return nil, err
	}
	co, err := s.company(ctx, c, p.CompanyHandle)
	if err != nil {
		return nil, err
	}
	handles, err := s.handleList("assetHandleArray", p.AssetHandleArray)
	if err != nil {
		return nil, err
	}
	out := &ipsapi.DeleteAssetsReturn{}
	for _, h := range handles {
		err := s.store.DeleteAsset(ctx, co.Handle, h)
		switch {
		case err == nil:
			out.SuccessCount++
		case errors.Is(err, store.ErrNotFound):
			out.ErrorCount++
			if out.ErrorDetailArray == nil {
				out.ErrorDetailArray = &ipsapi.AssetOperationFaultArray{}
			}
			out.ErrorDetailArray.Items = append(out.ErrorDetailArray.Items, &ipsapi.AssetOperationFault{
				AssetHandle: h, Code: soap.CodeInvalidParameter, Reason: "no such asset",
			})
		default:
			return nil, fmt.Errorf("deleteAssets %s: %w", h, err)
		}
	}
	return out, nil
}

// setUrlModifier stores an asset's urlModifier and urlPostApplyModifier,
// each checked as a conversion would read it; an absent one is stored
// empty, as IPS publishes both (docs/rendering.md, "What a conversion is
// made of").
func (s *Service) setUrlModifier(ctx context.Context, c *call) (any, error) {
	var p ipsapi.SetUrlModifierParam
	if err := c.decode(&p); err != nil {
		return nil, err
	}
	co, err := s.company(ctx, c, p.CompanyHandle)
	if err != nil {
		return nil, err
	}
	handle := strings.TrimSpace(p.AssetHandle)
	if handle == "" {
		return nil, soap.Missing("assetHandle")
	}
	mod, err := cleanStoredModifier(ctx, s.store, co.Handle, "urlModifier", p.UrlModifier)
	if err != nil {
		return nil, err
	}
	post, err := cleanStoredModifier(ctx, s.store, co.Handle, "urlPostApplyModifier", p.UrlPostApplyModifier)
	if err != nil {
		return nil, err
	}
	if _, err := s.store.SetURLModifiers(ctx, co.Handle, handle, mod, post); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return nil, soap.Invalid("assetHandle", p.AssetHandle, "no such asset")
		}
		return nil, fmt.Errorf("setUrlModifier: %w", err)
	}
	return &ipsapi.SetUrlModifierReturn{}, nil
}

func (s *Service) getImageFormats(ctx context.Context, c *call) (any, error) {
	var p ipsapi.GetImageFormatsParam
	if err := c.decode(&p); err != nil {
		return nil, err
	}
	co, err := s.company(ctx, c, p.CompanyHandle)
	if err != nil {
		return nil, err
	}
	fs, err := s.store.ImageFormats(ctx, co.Handle)
	if err != nil {
		return nil, fmt.Errorf("getImageFormats: %w", err)
	}
	out := &ipsapi.ImageFormatArray{}
	for _, f := range fs {
		out.Items = append(out.Items, &ipsapi.ImageFormat{ImageFormatHandle: f.Handle, Name: f.Name, UrlModifier: f.URLModifier})
	}
	return &ipsapi.GetImageFormatsReturn{ImageFormatArray: out}, nil
}

func (s *Service) saveImageFormat(ctx context.Context, c *call) (any, error) {
	var p ipsapi.SaveImageFormatParam
	if err := c.decode(&p); err != nil {
		return nil, err
	}
	co, err := s.company(ctx, c, p.CompanyHandle)
	if err != nil {
		return nil, err
	}
	if p.Name == "" {
		return nil, soap.Missing("name")
	}
	mod, err := CleanURLModifier(ctx, s.store, co.Handle, p.Name, p.UrlModifier)
	if err != nil {
		return nil, err
	}
	f := store.ImageFormat{Handle: strings.TrimSpace(p.ImageFormatHandle), CompanyHandle: co.Handle, Name: p.Name, URLModifier: mod}
	saved, err := s.store.SaveImageFormat(ctx, f)
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return nil, soap.Invalid("imageFormatHandle", p.ImageFormatHandle, "no such image format")
		}
		if errors.Is(err, store.ErrConflict) {
			return nil, soap.Invalid("name", p.Name, "another image format has this name")
		}
		return nil, fmt.Errorf("saveImageFormat: %w", err)
	}
	return &ipsapi.SaveImageFormatReturn{ImageFormatHandle: saved.Handle}, nil
}

func (s *Service) deleteImageFormat(ctx context.Context, c *call) (any, error) {
	var p ipsapi.DeleteImageFormatParam
	if err := c.decode(&p); err != nil {
		return nil, err
	}
	co, err := s.company(ctx, c, p.CompanyHandle)
	if err != nil {
		return nil, err
	}
	if strings.TrimSpace(p.ImageFormatHandle) == "" {
		return nil, soap.Missing("imageFormatHandle")
	}
	if err := s.store.DeleteImageFormat(ctx, co.Handle, p.ImageFormatHandle); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return nil, soap.Invalid("imageFormatHandle", p.ImageFormatHandle, "no such image format")
		}
		return nil, fmt.Errorf("deleteImageFormat: %w", err)
	}
	return nil, nil
}

// assetArray converts store assets to the wire type; always non-nil, since
// assetArray is written even when empty.
func assetArray(as []store.Asset) *ipsapi.AssetArray {
	out := &ipsapi.AssetArray{Items: make([]*ipsapi.Asset, 0, len(as))}
	for _, a := range as {
		out.Items = append(out.Items, wireAsset(a))
	}
	return out
}

func wireAsset(a store.Asset) *ipsapi.Asset {
	w := &ipsapi.Asset{
		AssetHandle:  a.Handle,
		Type_:        a.Type,
		SubType:      a.SubType,
		Name:         a.Name,
		FileName:     a.FileName,
		Folder:       a.FolderPath,
		FolderHandle: a.FolderHandle,
		Created:      dateTime(a.Created),
		LastModified: dateTime(a.Modified),
		CreateUser:   a.CreatedBy,
	}
	// Of the asset types carrying urlModifier and urlPostApplyModifier,
	// this server has ImageInfo only.
	if a.Type == "Image" && (a.Width > 0 || a.URLModifier != "" || a.URLPostApplyModifier != "") {
		w.ImageInfo = &ipsapi.ImageInfo{
			OriginalPath:         a.FolderPath + a.FileName,
			OriginalFile:         a.FileName,
			Width:                int32(a.Width),
			Height:               int32(a.Height),
			UrlModifier:          a.URLModifier,
			UrlPostApplyModifier: a.URLPostApplyModifier,
		}
	}
	return w
}

// checkItems refuses a request array of more than MaxRequestItems
// entries, naming it (docs/wire.md, "Request limits").
func (s *Service) checkItems(field string, n int) error {
	if n > s.cfg.MaxRequestItems {
		return soap.Errorf(soap.CodeInvalidParameter, "%s: %d items, more than the %d allowed", field, n, s.cfg.MaxRequestItems)
	}
	return nil
}

// handleList is the handles of a request array: bounded (checkItems),
// trimmed, without empty entries, each once in its first place.
func (s *Service) handleList(field string, a *ipsapi.HandleArray) ([]string, error) {
	if a == nil {
		return nil, nil
	}
	return s.itemList(field, a.Items)
}

// stringList is handleList for a StringArray.
func (s *Service) stringList(field string, a *ipsapi.StringArray) ([]string, error) {
	if a == nil {
		return nil, nil
	}
	return s.itemList(field, a.Items)
}

func (s *Service) itemList(field string, in []string) ([]string, error) {
	if err := s.checkItems(field, len(in)); err != nil {
		return nil, err
	}
	seen := make(map[string]bool, len(in))
	out := make([]string, 0, len(in))
	for _, v := range in {
		if v = strings.TrimSpace(v); v != "" && !seen[v] {
			seen[v] = true
			out = append(out, v)
		}
	}
	return out, nil
}

// dateTime writes times in UTC with milliseconds, as IPS does.
func dateTime(t time.Time) gsoap.XSDDateTime {
	return gsoap.CreateXsdDateTime(t.UTC().Truncate(time.Millisecond), true)
}

// getOriginalFilePaths answers, for each handle in order, the path of the
// asset's original file as IPS shows it, the company root first
// ("Acme/shoes/boot.jpg", r-get-original-file-paths.md). Positions matter
// to a client pairing handles with paths, so an unknown handle, or a set
// (which has no file), is a fault naming each, never a gap.
func (s *Service) getOriginalFilePaths(ctx context.Context, c *call) (any, error) {
	var p ipsapi.GetOriginalFilePathsParam
	if err := c.decode(&p); err != nil {
		return nil, err
	}
	co, err := s.company(ctx, c, p.CompanyHandle)
	if err != nil {
		return nil, err
	}
	var in []string
	if p.AssetHandleArray != nil {
		in = p.AssetHandleArray.Items
	}
	if err := s.checkItems("assetHandleArray", len(in)); err != nil {
		return nil, err
	}
	handles := make([]string, 0, len(in))
	for _, h := range in {
		if h = strings.TrimSpace(h); h != "" {
			handles = append(handles, h)
		}
	}
	out := &ipsapi.GetOriginalFilePathsReturn{OriginalFileArray: &ipsapi.StringArray{}}
	if len(handles) == 0 {
		return out, nil
	}
	byHandle, err := jobs.AssetsByHandle(ctx, s.store, co.Handle, handles)
	if err != nil {
		return nil, fmt.Errorf("getOriginalFilePaths: %w", err)
	}
	var bad []string
	for _, h := range handles {
		a, ok := byHandle[h]
		switch {
		case !ok:
			bad = append(bad, h+" (no such asset)")
		case a.FileName == "" || a.StorageKey == "":
			bad = append(bad, fmt.Sprintf("%s (a %s has no original file)", h, a.Type))
		default:
			out.OriginalFileArray.Items = append(out.OriginalFileArray.Items, a.FolderPath+a.FileName)
		}
	}
	if len(bad) > 0 {
		return nil, handlesFault("assetHandleArray", bad)
	}
	return out, nil
}
