// Package store is the catalogue and job-log persistence of IPS Export.
//
// One interface, two drivers (sqlite for the embedded default, postgres for
// scale-out), one conformance suite (storetest) run against both. Handles are
// opaque strings minted by the driver; every lookup of a company-owned object
// takes the company handle, so an object of another company is simply not
// found (ErrNotFound), never revealed.
package store

import (
	"context"
	"errors"
	"time"
)

// ErrNotFound is returned when a handle or name does not resolve within the
// given company (or at all).
var ErrNotFound = errors.New("not found")

// ErrConflict is returned when a unique name is already taken.
var ErrConflict = errors.New("already exists")

// Roles of the IPS reference (string-constants/r-user-roles.md).
const (
	RoleIpsAdmin               = "IpsAdmin"
	RoleIpsCompanyAdmin        = "IpsCompanyAdmin"
	RoleIpsUser                = "IpsUser"
	RoleWebServiceUser         = "WebServiceUser"
	RoleTrialSiteAdmin         = "TrialSiteAdmin"
	RoleTrialSiteUser          = "TrialSiteUser"
	RoleImagePortalAdmin       = "ImagePortalAdmin"
	RoleImagePortalUser        = "ImagePortalUser"
	RoleImagePortalContrib     = "ImagePortalContrib"
	RoleImagePortalContribUser = "ImagePortalContribUser"
)

// Roles lists every valid role.
var Roles = []string{
	RoleIpsAdmin, RoleIpsCompanyAdmin, RoleIpsUser, RoleWebServiceUser,
	RoleTrialSiteAdmin, RoleTrialSiteUser, RoleImagePortalAdmin,
	RoleImagePortalUser, RoleImagePortalContrib, RoleImagePortalContribUser,
}

// Company is an IPS company.
type Company struct {
	Handle   string
	Name     string
	RootPath string // "<Name>/", the root folder path
	Created  time.Time
}

// User is an IPS user. PasswordHash is a bcrypt hash; never log it.
type User struct {
	Handle       string
	Email        string
	FirstName    string
	LastName     string
	Role         string
	PasswordHash string
	Created      time.Time
}

// NewUser is the input of CreateUser.
type NewUser struct {
	Email        string
	FirstName    string
	LastName     string
	Role         string
	PasswordHash string
}

// Folder is a folder of a company. Path is relative to nothing: it starts with
// the company root, e.g. "Acme/", "Acme/shoes/", always ending in "/".
type Folder struct {
	Handle        string
	CompanyHandle string
	Path          string
	ParentHandle  string // "" for the root folder
	Created       time.Time
}

// Asset is a catalogue asset. Set types (ImageSet, SpinSet, …) have no file:
// StorageKey, Size and SHA256 are empty, their members are in SetMembers.
type Asset struct {
	Handle        string
	CompanyHandle string
	FolderHandle  string
	FolderPath    string // the folder's Path
	Name          string // IPS asset name (usually the file name without extension)
	FileName      string // original file name with extension
	Type          string // IPS asset type: Image, Pdf, Video, ImageSet, AssetSet, …
	SubType       string // e.g. MediaSet for an AssetSet
	Size          int64
	SHA256        string // hex
	StorageKey    string // blob key of the original file
	Width, Height int
	CreatedBy     string // user handle
	Created       time.Time
	Modified      time.Time
	// URLModifier and URLPostApplyModifier are the Image Serving commands
	// setUrlModifier stored: applied before and after a conversion's own
	// (docs/rendering.md, "What a conversion is made of").
	URLModifier          string
	URLPostApplyModifier string
}

// NewAsset is the input of CreateAsset. FolderHandle must belong to the company.
type NewAsset struct {
	CompanyHandle string
	FolderHandle  string
	Name          string
	FileName      string
	Type          string
	SubType       string
	Size          int64
	SHA256        string
	StorageKey    string
	Width, Height int
	CreatedBy     string
	Members       []string // member asset handles, for set types
	// URLModifier and URLPostApplyModifier as Asset's (a catalogue copy
	// keeps them).
	URLModifier          string
	URLPostApplyModifier string
}

// AssetFile is an asset's stored file, as ReplaceAssetFile sets it.
type AssetFile struct {
	FileName      string
	Type          string
	Size          int64
	SHA256        string
	StorageKey    string
	Width, Height int
}

// AssetQuery selects assets for searchAssets.
type AssetQuery struct {
	CompanyHandle     string
	FolderPath        string // "" = whole company
	IncludeSubfolders bool
	Types             []string // empty = all
	ExcludeTypes      []string
	SubTypes          []string
	// StrictSubTypeCheck keeps assets without a subtype out when SubTypes
	// is given; IPS's default (false) lets them through.
	StrictSubTypeCheck bool
	NameLike           string // case-insensitive substring of Name or FileName; "" = any
	SortBy             string // Created, Modified, Name, AssetType, FileSize; "" = Name
	Descending         bool
	Limit              int // page size; 0 = no limit
	Offset             int
}

// ImageFormat is a named preset (IS macro): Name is the macro name,
// URLModifier the IS command string.
type ImageFormat struct {
	Handle        string
	CompanyHandle string
	Name          string
	URLModifier   string
}

// CompanyDefaults are a company's Image Serving default request
// attributes, which a conversion uses where its commands leave them open
// (docs/rendering.md, "What a conversion is made of"). Each is written as
// the catalogue attribute is ("85,1", "FFFFFF", "sharp2", a profile name,
// "800,600") and checked by the caller (modifier.Defaults.Check); "" means
// the server's own default.
type CompanyDefaults struct {
	JpegQuality    string
	BkgColor       string
	ResMode        string
	IccProfileRgb  string
	IccProfileCmyk string
	DefaultPix     string
}

// Catalog is the catalogue part of the store.
type Catalog interface {
	CreateCompany(ctx context.Context, name string) (Company, error) // ErrConflict on duplicate name (case-insensitive)
	CompanyByHandle(ctx context.Context, handle string) (Company, error)
	CompanyByName(ctx context.Context, name string) (Company, error) // case-insensitive
	ListCompanies(ctx context.Context) ([]Company, error)
	// CompanyDefaults reads a company's default request attributes (all ""
	// until set); SetCompanyDefaults replaces them. ErrNotFound for an
	// unknown company.
	CompanyDefaults(ctx context.Context, companyHandle string) (CompanyDefaults, error)
	SetCompanyDefaults(ctx context.Context, companyHandle string, d CompanyDefaults) error

	CreateUser(ctx context.Context, u NewUser) (User, error) // ErrConflict on duplicate email (case-insensitive)
	UserByEmail(ctx context.Context, email string) (User, error)
	UserByHandle(ctx context.Context, handle string) (User, error)
	ListUsers(ctx context.Context) ([]User, error) // oldest first
	SetPasswordHash(ctx context.Context, userHandle, hash string) error
	AddMembership(ctx context.Context, userHandle, companyHandle string) error // idempotent
	UserCompanies(ctx context.Context, userHandle string) ([]Company, error)
	IsMember(ctx context.Context, userHandle, companyHandle string) (bool, error)

	// EnsureFolder returns the folder at path (relative to the company root,
	// e.g. "shoes/red"; "" is the root), creating it and its parents.
	EnsureFolder(ctx context.Context, companyHandle, path string) (Folder, error)
	FolderByHandle(ctx context.Context, companyHandle, handle string) (Folder, error)
	FolderByPath(ctx context.Context, companyHandle, fullPath string) (Folder, error) // fullPath as Folder.Path
	ListFolders(ctx context.Context, companyHandle string) ([]Folder, error)          // ordered by Path

	CreateAsset(ctx context.Context, a NewAsset) (Asset, error)
	// AssetsByHandles returns the assets found, in input order; unknown
	// handles (and other companies' handles) are omitted.
	AssetsByHandles(ctx context.Context, companyHandle string, handles []string) ([]Asset, error)
	// AssetSources returns each distinct asset of handles once, in no
	// particular order, with only Handle, FolderPath, Name, FileName, Type,
	// SHA256 and StorageKey set: what an export of it and its output's
	// name need, read without the rest (a submit of 10,000 handles).
	AssetSources(ctx context.Context, companyHandle string, handles []string) ([]Asset, error)
	AssetsByNames(ctx context.Context, companyHandle string, names, types []string) ([]Asset, error)
	SearchAssets(ctx context.Context, q AssetQuery) (assets []Asset, total int, err error)
	// DeleteAsset deletes an asset (ErrNotFound if unknown) and, in the
	// same transaction, releases its storage key into the blob garbage
	// (BlobGarbage) unless another asset names it: the file is removed
	// later, once no job needs it.
	DeleteAsset(ctx context.Context, companyHandle, handle string) error
	// ReplaceAssetFile points an asset at a new stored file (an upload with
	// overwrite): its handle, name, folder, set memberships and creation
	// stay; FileName, Type, Size, SHA256, StorageKey, Width, Height and
	// Modified change. It returns the asset before and after, and releases
	// the old storage key into the blob garbage in the same transaction
	// (as DeleteAsset does); the caller never removes the old file itself,
	// since a running export may be reading it. ErrNotFound if unknown; a
	// set has no file to replace.
	ReplaceAssetFile(ctx context.Context, companyHandle, handle string, f AssetFile) (before, after Asset, err error)
	SetMembers(ctx context.Context, companyHandle, setHandle string) ([]Asset, error)
	// SetURLModifiers stores an asset's urlModifier and
	// urlPostApplyModifier (both replaced; "" clears one) and bumps its
	// Modified. ErrNotFound if unknown.
	SetURLModifiers(ctx context.Context, companyHandle, handle, urlModifier, urlPostApplyModifier string) (Asset, error)

	// SaveImageFormat upserts by Handle when set, else by name (case-insensitive).
	SaveImageFormat(ctx context.Context, f ImageFormat) (ImageFormat, error)
	ImageFormats(ctx context.Context, companyHandle string) ([]ImageFormat, error)          // ordered by name
	ImageFormatByName(ctx context.Context, companyHandle, name string) (ImageFormat, error) // case-insensitive
	DeleteImageFormat(ctx context.Context, companyHandle, handle string) error
}

// BlobGarbage is the originals no asset names any more: storage keys
// released by DeleteAsset and ReplaceAssetFile, each with the time it was
// released. Their files are deleted by a collector (catalog.Collector)
// once they are older than a grace period and no unfinished job needs
// them (docs/security.md, "Originals").
type BlobGarbage interface {
	// CollectableBlobs lists, oldest release first, at most limit keys
	// released before t that no asset names and no pending asset of an
	// export job that has not ended captured (JobAsset.SourceKey).
	CollectableBlobs(ctx context.Context, releasedBefore time.Time, limit int) ([]string, error)
	// ForgetBlobs removes keys from the garbage, once their files are
	// deleted. Unknown keys are no error.
	ForgetBlobs(ctx context.Context, keys []string) error
}

// Rendition is one entry of the rendition cache's index: a rendered file
// kept in the blob store under a key derived from its content (the
// original's SHA-256, the resolved conversion, the renderer's version), so
// that exporting the same bytes the same way again reuses it
// (docs/rendition-cache.md).
type Rendition struct {
	Key    string
	Size   int64
	SHA256 string // hex, of the file
	// Warnings are the render's, given again with every reuse.
	Warnings []string
	LastUsed time.Time
}

// RenditionIndex is the index of the rendition cache: which renditions
// exist, how large they are and when each was last used, for a total size
// bound with least-recently-used eviction shared by every worker of every
// process. The files themselves live in the blob store; the index row is
// written before the file and removed before it, so a reader that finds a
// row may still find no file (it renders again), never a file the index
// forgot.
type RenditionIndex interface {
	// UseRendition marks key used at t and returns its entry; ok is false
	// when the index holds no such key.
	UseRendition(ctx context.Context, key string, t time.Time) (r Rendition, ok bool, err error)
	// AddRendition records r (LastUsed defaults to now); a key already
	// there is replaced.
	AddRendition(ctx context.Context, r Rendition) error
	// RemoveRendition forgets key (a file that could not be written or
	// read); an unknown key is no error.
	RemoveRendition(ctx context.Context, key string) error
	// EvictRenditions removes, in one transaction, the least recently used
	// entries until the entries left total at most maxBytes, and returns
	// the keys removed, whose files the caller then deletes. An entry used
	// after it was chosen, by another process, is kept.
	EvictRenditions(ctx context.Context, maxBytes int64) ([]string, error)
	// RenditionBytes is the total size of the entries.
	RenditionBytes(ctx context.Context) (int64, error)
}

// Store is everything the service persists.
type Store interface {
	Catalog
	Jobs
	BlobGarbage
	RenditionIndex
	Ping(ctx context.Context) error
	Close() error
}
