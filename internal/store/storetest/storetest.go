// Package storetest is the conformance suite every store driver passes: the
// behaviour the rest of IPS Export relies on, written once.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ipsexport/ipsd/internal/store"
)

// Run runs the suite. open must return a fresh, migrated, empty store for
// the test it is given; Run closes it when that test ends. Subtests run in
// parallel, so open must be safe to call concurrently.
func Run(t *testing.T, open func(t *testing.T) store.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s store.Store)
	}{
		{"Ping", testPing},
		{"Companies/CreateAndFind", testCompanyCreateAndFind},
		{"Companies/Conflict", testCompanyConflict},
		{"Companies/NotFound", testCompanyNotFound},
		{"Companies/Invalid", testCompanyInvalid},
		{"Companies/List", testCompanyList},
		{"Users/CreateAndFind", testUserCreateAndFind},
		{"Users/Conflict", testUserConflict},
		{"Users/NotFound", testUserNotFound},
		{"Users/Invalid", testUserInvalid},
		{"Users/SetPasswordHash", testSetPasswordHash},
		{"Memberships", testMemberships},
		{"Memberships/UnknownHandles", testMembershipUnknown},
		{"Folders/Root", testFolderRoot},
		{"Folders/EnsureCreatesParents", testEnsureFolderParents},
		{"Folders/EnsureIdempotent", testEnsureFolderIdempotent},
		{"Folders/EnsureInvalid", testEnsureFolderInvalid},
		{"Folders/Lookups", testFolderLookups},
		{"Folders/ListOrder", testListFoldersOrder},
		{"Folders/ForeignCompany", testFolderForeign},
		{"Assets/CreateAndGet", testAssetCreateAndGet},
		{"Assets/CreateErrors", testAssetCreateErrors},
		{"Assets/ByHandles", testAssetsByHandles},
		{"Assets/Sources", testAssetSources},
		{"Assets/ReplaceFile", testReplaceAssetFile},
		{"Assets/ByNames", testAssetsByNames},
		{"Assets/Search", testSearchAssets},
		{"Assets/SearchPaging", testSearchPaging},
		{"Assets/SearchSort", testSearchSort},
		{"Assets/Delete", testDeleteAsset},
		{"Sets", testSets},
		{"Sets/Errors", testSetErrors},
		{"Assets/URLModifiers", testURLModifiers},
		{"Companies/Defaults", testCompanyDefaults},
		{"Jobs/AssetConversion", testJobAssetConversion},
		{"ImageFormats/Save", testImageFormatSave},
		{"ImageFormats/Errors", testImageFormatErrors},
		{"ImageFormats/ListAndDelete", testImageFormatListDelete},
		{"ImageFormats/ForeignCompany", testImageFormatForeign},
		{"Timestamps", testTimestamps},
		{"Concurrent", testConcurrent},
		{"Jobs/CreateAndGet", testJobCreateAndGet},
		{"Jobs/CreateErrors", testJobCreateErrors},
		{"Jobs/NotFound", testJobNotFound},
		{"Jobs/List", testListJobs},
		{"Jobs/SetState", testSetJobState},
		{"Jobs/AddAssets", testAddJobAssets},
		{"Jobs/AddAssetsConcurrent", testAddJobAssetsConcurrent},
		{"Jobs/ManyAssets", testManyJobAssets},
		{"Jobs/CreateFrom", testCreateJobFrom},
		{"Jobs/InTx", testInTx},
		{"Jobs/InTxConcurrent", testInTxConcurrent},
		{"Jobs/AssetsPaging", testJobAssetsPaging},
		{"Jobs/PendingAssets", testPendingJobAssets},
		{"Jobs/FinishAsset", testFinishJobAsset},
		{"Jobs/Files", testJobFiles},
		{"Jobs/FinishAssetConcurrent", testFinishJobAssetConcurrent},
		{"Jobs/Delete", testDeleteJob},
		{"Jobs/Expired", testExpiredJobs},
		{"Jobs/Timestamps", testJobTimestamps},
		{"Schedules", testSchedules},
		{"Schedules/Due", testDueSchedules},
		{"Schedules/Advance", testAdvanceSchedule},
		{"BlobGarbage/Release", testBlobGarbageRelease},
		{"BlobGarbage/Jobs", testBlobGarbageJobs},
		{"Renditions/Index", testRenditionIndex},
		{"Renditions/Evict", testRenditionEvict},
		{"Renditions/EvictMany", testRenditionEvictMany},
		{"Renditions/EvictConcurrent", testRenditionEvictConcurrent},
		{"Renditions/Hits", testRenditionHits},
		{"Jobs/ReserveBytes", testReserveJobBytes},
		{"Schedules/State", testScheduleState},
		{"Jobs/FinishAssetKinds", testFinishJobAssetKinds},
		{"Jobs/Deleting", testDeletingJobHidden},
		{"Jobs/Announced", testMarkJobAnnounced},
		{"Jobs/Log", testJobLog},
		{"Jobs/LogPaging", testJobLogPaging},
		{"Jobs/AssetJobLogs", testAssetJobLogs},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := open(t)
			t.Cleanup(func() { assert.NoError(t, s.Close()) })
			tc.fn(t, s)
		})
	}
}

var (
	companyHandleRe = regexp.MustCompile(`^c\|[1-9][0-9]*$`)
	userHandleRe    = regexp.MustCompile(`^u\|[1-9][0-9]*$`)
)

// companyID is the id part of a company handle, which company-owned
// handles repeat.
func companyID(t *testing.T, co store.Company) string {
	t.Helper()
	id, ok := strings.CutPrefix(co.Handle, "c|")
	require.True(t, ok, co.Handle)
	return id
}

func mkCompany(t *testing.T, s store.Store, name string) store.Company {
	t.Helper()
	co, err := s.CreateCompany(context.Background(), name)
	require.NoError(t, err)
	return co
}

func mkFolder(t *testing.T, s store.Store, co store.Company, path string) store.Folder {
	t.Helper()
	f, err := s.EnsureFolder(context.Background(), co.Handle, path)
	require.NoError(t, err)
	return f
}

func mkUser(t *testing.T, s store.Store, email string) store.User {
	t.Helper()
	u, err := s.CreateUser(context.Background(), store.NewUser{Email: email, Role: store.RoleIpsUser, PasswordHash: "$2a$10$x"})
	require.NoError(t, err)
	return u
}

// mkAsset makes an Image asset; mod adjusts it first.
func mkAsset(t *testing.T, s store.Store, f store.Folder, name string, mod ...func(*store.NewAsset)) store.Asset {
	t.Helper()
	na := store.NewAsset{
		CompanyHandle: f.CompanyHandle, FolderHandle: f.Handle,
		Name: name, FileName: name + ".jpg", Type: "Image",
		Size: 1000, SHA256: strings.Repeat("ab", 32), StorageKey: "originals/" + name,
		Width: 640, Height: 480, CreatedBy: "u|1",
	}
	for _, m := range mod {
		m(&na)
	}
	a, err := s.CreateAsset(context.Background(), na)
	require.NoError(t, err)
	return a
}

func handles(as []store.Asset) []string {
	out := make([]string, len(as))
	for i, a := range as {
		out[i] = a.Handle
	}
	return out
}

func names(as []store.Asset) []string {
	out := make([]string, len(as))
	for i, a := range as {
		out[i] = a.Name
	}
	return out
}

// malformed are handles no driver may mint; each must be ErrNotFound.
var malformed = []string{"", "x", "c|", "c|abc", "c|01", "c|-1", "c|+1", "c|1|2", "a|1", "a||1",
	"c|99999999999999999999", "c|1 ", " c|1", "1|2|3", "c|1;DROP TABLE companies"}

func testPing(t *testing.T, s store.Store) {
	require.NoError(t, s.Ping(context.Background()))
}

// ---- companies ----

func testCompanyCreateAndFind(t *testing.T, s store.Store) {
	ctx := context.Background()
	co := mkCompany(t, s, "Acme")
	assert.Regexp(t, companyHandleRe, co.Handle)
	assert.Equal(t, "Acme", co.Name)
	assert.Equal(t, "Acme/", co.RootPath)
	assert.False(t, co.Created.IsZero())

	for _, lookup := range []struct {
		name string
		find func() (store.Company, error)
	}{
		{"handle", func() (store.Company, error) { return s.CompanyByHandle(ctx, co.Handle) }},
		{"name", func() (store.Company, error) { return s.CompanyByName(ctx, "Acme") }},
		{"name lower", func() (store.Company, error) { return s.CompanyByName(ctx, "acme") }},
		{"name upper", func() (store.Company, error) { return s.CompanyByName(ctx, "ACME") }},
	} {
		got, err := lookup.find()
		require.NoError(t, err, lookup.name)
		assert.Equal(t, co, got, lookup.name)
	}

	// Beyond ASCII, where SQLite's own NOCASE gives up.
	umlaut := mkCompany(t, s, "Ärger GmbH")
	got, err := s.CompanyByName(ctx, "ärger gmbh")
	require.NoError(t, err)
	assert.Equal(t, umlaut.Handle, got.Handle)
}

func testCompanyConflict(t *testing.T, s store.Store) {
	ctx := context.Background()
	mkCompany(t, s, "Acme")
	mkCompany(t, s, "Ärger")
	for _, dup := range []string{"Acme", "ACME", "acme", " Acme ", "ÄRGER"} {
		_, err := s.CreateCompany(ctx, dup)
		assert.ErrorIs(t, err, store.ErrConflict, dup)
	}
	all, err := s.ListCompanies(ctx)
	require.NoError(t, err)
	assert.Len(t, all, 2)
}

func testCompanyNotFound(t *testing.T, s store.Store) {
	ctx := context.Background()
	co := mkCompany(t, s, "Acme")
	for _, h := range append(slices.Clone(malformed), "c|999999", strings.ToUpper(co.Handle)) {
		_, err := s.CompanyByHandle(ctx, h)
		assert.ErrorIs(t, err, store.ErrNotFound, "%q", h)
	}
	for _, name := range []string{"", "Acm", "Acme Inc", "Acme/"} {
		_, err := s.CompanyByName(ctx, name)
		assert.ErrorIs(t, err, store.ErrNotFound, "%q", name)
	}
}

func testCompanyInvalid(t *testing.T, s store.Store) {
	ctx := context.Background()
	for _, name := range []string{"", "   ", "a/b"} {
		_, err := s.CreateCompany(ctx, name)
		assert.Error(t, err, "%q", name)
	}
}

func testCompanyList(t *testing.T, s store.Store) {
	ctx := context.Background()
	all, err := s.ListCompanies(ctx)
	require.NoError(t, err)
	assert.Empty(t, all)
	for _, n := range []string{"gamma", "Alpha", "beta"} {
		mkCompany(t, s, n)
	}
	all, err = s.ListCompanies(ctx)
	require.NoError(t, err)
	var got []string
	for _, co := range all {
		got = append(got, co.Name)
	}
	assert.Equal(t, []string{"Alpha", "beta", "gamma"}, got, "by name, case-insensitively")
}

// ---- users ----

func testUserCreateAndFind(t *testing.T, s store.Store) {
	ctx := context.Background()
	u, err := s.CreateUser(ctx, store.NewUser{
		Email: "Jane.Doe@Example.com", FirstName: "Jane", LastName: "Doe",
		Role: store.RoleIpsCompanyAdmin, PasswordHash: "$2a$10$hash",
	})
	require.NoError(t, err)
	assert.Regexp(t, userHandleRe, u.Handle)
	assert.Equal(t, "Jane.Doe@Example.com", u.Email, "stored as given")
	assert.Equal(t, "Jane", u.FirstName)
	assert.Equal(t, "Doe", u.LastName)
	assert.Equal(t, store.RoleIpsCompanyAdmin, u.Role)
	assert.Equal(t, "$2a$10$hash", u.PasswordHash)

	for _, email := range []string{"Jane.Doe@Example.com", "jane.doe@example.com", "JANE.DOE@EXAMPLE.COM"} {
		got, err := s.UserByEmail(ctx, email)
		require.NoError(t, err, email)
		assert.Equal(t, u, got, email)
	}
	got, err := s.UserByHandle(ctx, u.Handle)
	require.NoError(t, err)
	assert.Equal(t, u, got)

	other := mkUser(t, s, "other@example.com")
	assert.NotEqual(t, u.Handle, other.Handle)

	all, err := s.ListUsers(ctx)
	require.NoError(t, err)
	assert.Equal(t, []store.User{u, other}, all, "every user, oldest first")
}

func testUserConflict(t *testing.T, s store.Store) {
	ctx := context.Background()
	mkUser(t, s, "jane@example.com")
	for _, dup := range []string{"jane@example.com", "JANE@example.com", "Jane@Example.Com"} {
		_, err := s.CreateUser(ctx, store.NewUser{Email: dup, Role: store.RoleIpsUser})
		assert.ErrorIs(t, err, store.ErrConflict, dup)
	}
}

func testUserNotFound(t *testing.T, s store.Store) {
	ctx := context.Background()
	u := mkUser(t, s, "jane@example.com")
	for _, h := range append(slices.Clone(malformed), "u|999999", "u|"+strings.TrimPrefix(u.Handle, "u|")+"0", "c|"+strings.TrimPrefix(u.Handle, "u|")) {
		_, err := s.UserByHandle(ctx, h)
		assert.ErrorIs(t, err, store.ErrNotFound, "%q", h)
	}
	for _, email := range []string{"", "jane@example.org", "jane"} {
		_, err := s.UserByEmail(ctx, email)
		assert.ErrorIs(t, err, store.ErrNotFound, "%q", email)
	}
}

func testUserInvalid(t *testing.T, s store.Store) {
	ctx := context.Background()
	for _, nu := range []store.NewUser{
		{Email: "", Role: store.RoleIpsUser},
		{Email: "a@example.com", Role: "Superuser"},
		{Email: "a@example.com", Role: ""},
	} {
		_, err := s.CreateUser(ctx, nu)
		assert.Error(t, err, "%+v", nu)
	}
	for _, role := range store.Roles {
		_, err := s.CreateUser(ctx, store.NewUser{Email: role + "@example.com", Role: role})
		assert.NoError(t, err, role)
	}
}

func testSetPasswordHash(t *testing.T, s store.Store) {
	ctx := context.Background()
	u := mkUser(t, s, "jane@example.com")
	other := mkUser(t, s, "john@example.com")
	require.NoError(t, s.SetPasswordHash(ctx, u.Handle, "$2a$10$new"))
	got, err := s.UserByHandle(ctx, u.Handle)
	require.NoError(t, err)
	assert.Equal(t, "$2a$10$new", got.PasswordHash)
	got, err = s.UserByHandle(ctx, other.Handle)
	require.NoError(t, err)
	assert.Equal(t, other.PasswordHash, got.PasswordHash, "other user untouched")

	for _, h := range []string{"u|999999", "x", ""} {
		assert.ErrorIs(t, s.SetPasswordHash(ctx, h, "h"), store.ErrNotFound, "%q", h)
	}
}

// ---- memberships ----

func testMemberships(t *testing.T, s store.Store) {
	ctx := context.Background()
	acme, beta, zeta := mkCompany(t, s, "Acme"), mkCompany(t, s, "beta"), mkCompany(t, s, "Zeta")
	u := mkUser(t, s, "jane@example.com")
	loner := mkUser(t, s, "loner@example.com")

	cos, err := s.UserCompanies(ctx, u.Handle)
	require.NoError(t, err)
	assert.Empty(t, cos)

	require.NoError(t, s.AddMembership(ctx, u.Handle, zeta.Handle))
	require.NoError(t, s.AddMembership(ctx, u.Handle, acme.Handle))
	require.NoError(t, s.AddMembership(ctx, u.Handle, acme.Handle), "idempotent")

	cos, err = s.UserCompanies(ctx, u.Handle)
	require.NoError(t, err)
	assert.Equal(t, []store.Company{acme, zeta}, cos, "ordered by name")

	for _, tc := range []struct {
		user, company string
		want          bool
	}{
		{u.Handle, acme.Handle, true},
		{u.Handle, zeta.Handle, true},
		{u.Handle, beta.Handle, false},
		{loner.Handle, acme.Handle, false},
		{u.Handle, "c|999999", false},
		{u.Handle, "garbage", false},
		{"garbage", acme.Handle, false},
		{"u|999999", acme.Handle, false},
	} {
		got, err := s.IsMember(ctx, tc.user, tc.company)
		require.NoError(t, err, "%s in %s", tc.user, tc.company)
		assert.Equal(t, tc.want, got, "%s in %s", tc.user, tc.company)
	}
}

func testMembershipUnknown(t *testing.T, s store.Store) {
	ctx := context.Background()
	co := mkCompany(t, s, "Acme")
	u := mkUser(t, s, "jane@example.com")
	for _, tc := range []struct{ user, company string }{
		{"u|999999", co.Handle},
		{u.Handle, "c|999999"},
		{"x", co.Handle},
		{u.Handle, "x"},
	} {
		assert.ErrorIs(t, s.AddMembership(ctx, tc.user, tc.company), store.ErrNotFound, "%+v", tc)
	}
	for _, h := range []string{"u|999999", "x"} {
		_, err := s.UserCompanies(ctx, h)
		assert.ErrorIs(t, err, store.ErrNotFound, h)
	}
}

// ---- folders ----

func folderHandleRe(co store.Company) *regexp.Regexp {
	return regexp.MustCompile(`^f\|` + strings.TrimPrefix(co.Handle, "c|") + `\|[1-9][0-9]*$`)
}

func testFolderRoot(t *testing.T, s store.Store) {
	ctx := context.Background()
	co := mkCompany(t, s, "Acme")
	all, err := s.ListFolders(ctx, co.Handle)
	require.NoError(t, err)
	require.Len(t, all, 1, "a company starts with its root folder")
	root := all[0]
	assert.Equal(t, "Acme/", root.Path)
	assert.Equal(t, co.Handle, root.CompanyHandle)
	assert.Empty(t, root.ParentHandle)
	assert.Regexp(t, folderHandleRe(co), root.Handle)

	for _, p := range []string{"", "/", "//"} {
		got, err := s.EnsureFolder(ctx, co.Handle, p)
		require.NoError(t, err, "%q", p)
		assert.Equal(t, root, got, "%q", p)
	}
	got, err := s.FolderByPath(ctx, co.Handle, co.RootPath)
	require.NoError(t, err)
	assert.Equal(t, root, got)
}

func testEnsureFolderParents(t *testing.T, s store.Store) {
	ctx := context.Background()
	co := mkCompany(t, s, "Acme")
	root := mkFolder(t, s, co, "")
	red := mkFolder(t, s, co, "shoes/red")
	assert.Equal(t, "Acme/shoes/red/", red.Path)
	assert.Equal(t, co.Handle, red.CompanyHandle)
	assert.Regexp(t, folderHandleRe(co), red.Handle)

	shoes, err := s.FolderByPath(ctx, co.Handle, "Acme/shoes/")
	require.NoError(t, err)
	assert.Equal(t, shoes.Handle, red.ParentHandle)
	assert.Equal(t, root.Handle, shoes.ParentHandle)

	all, err := s.ListFolders(ctx, co.Handle)
	require.NoError(t, err)
	assert.Equal(t, []store.Folder{root, shoes, red}, all)
}

func testEnsureFolderIdempotent(t *testing.T, s store.Store) {
	ctx := context.Background()
	co := mkCompany(t, s, "Acme")
	first := mkFolder(t, s, co, "shoes/red")
	for _, p := range []string{"shoes/red", "/shoes/red/", "shoes//red", "shoes/red/"} {
		again, err := s.EnsureFolder(ctx, co.Handle, p)
		require.NoError(t, err, p)
		assert.Equal(t, first, again, p)
	}
	all, err := s.ListFolders(ctx, co.Handle)
	require.NoError(t, err)
	assert.Len(t, all, 3)
}

func testEnsureFolderInvalid(t *testing.T, s store.Store) {
	ctx := context.Background()
	co := mkCompany(t, s, "Acme")
	for _, p := range []string{"..", "../x", "a/./b", "a/.."} {
		_, err := s.EnsureFolder(ctx, co.Handle, p)
		assert.Error(t, err, p)
	}
	for _, h := range []string{"c|999999", "x", ""} {
		_, err := s.EnsureFolder(ctx, h, "shoes")
		assert.ErrorIs(t, err, store.ErrNotFound, "%q", h)
	}
	all, err := s.ListFolders(ctx, co.Handle)
	require.NoError(t, err)
	assert.Len(t, all, 1, "nothing created")
}

func testFolderLookups(t *testing.T, s store.Store) {
	ctx := context.Background()
	co := mkCompany(t, s, "Acme")
	red := mkFolder(t, s, co, "shoes/red")

	got, err := s.FolderByHandle(ctx, co.Handle, red.Handle)
	require.NoError(t, err)
	assert.Equal(t, red, got)
	for _, p := range []string{"Acme/shoes/red/", "Acme/shoes/red"} {
		got, err = s.FolderByPath(ctx, co.Handle, p)
		require.NoError(t, err, p)
		assert.Equal(t, red, got, p)
	}
	for _, p := range []string{"Acme/shoes/blue/", "shoes/red/", "Acme/shoes/re/", ""} {
		_, err = s.FolderByPath(ctx, co.Handle, p)
		assert.ErrorIs(t, err, store.ErrNotFound, "%q", p)
	}
	cid := companyID(t, co)
	for _, h := range append(slices.Clone(malformed), "f|"+cid+"|999999", "f|"+cid, "a"+strings.TrimPrefix(red.Handle, "f"), strings.TrimPrefix(red.Handle, "f|")) {
		_, err = s.FolderByHandle(ctx, co.Handle, h)
		assert.ErrorIs(t, err, store.ErrNotFound, "%q", h)
	}
	for _, h := range malformed {
		_, err = s.FolderByHandle(ctx, h, red.Handle)
		assert.ErrorIs(t, err, store.ErrNotFound, "company %q", h)
		_, err = s.FolderByPath(ctx, h, red.Path)
		assert.ErrorIs(t, err, store.ErrNotFound, "company %q", h)
	}
}

func testListFoldersOrder(t *testing.T, s store.Store) {
	ctx := context.Background()
	co := mkCompany(t, s, "Acme")
	// Punctuation and case that a linguistic collation would sort apart
	// from byte order, breaking "subfolders follow their folder".
	for _, p := range []string{"shoes/red", "shoes-x", "shoes.y", "hats", "Zebra", "apple/b", "shoes", "shoes/red/dark", "shoes0", "hats/Big"} {
		mkFolder(t, s, co, p)
	}
	all, err := s.ListFolders(ctx, co.Handle)
	require.NoError(t, err)
	var paths []string
	for _, f := range all {
		paths = append(paths, f.Path)
	}
	assert.True(t, sort.StringsAreSorted(paths), "byte order: %q", paths)
	assert.Len(t, paths, 12)
	// Each folder's subtree is contiguous, right after it.
	for i, p := range paths {
		for j := i + 1; j < len(paths); j++ {
			if !strings.HasPrefix(paths[j], p) {
				for _, later := range paths[j:] {
					assert.False(t, strings.HasPrefix(later, p), "%q outside the run of %q", later, p)
				}
				break
			}
		}
	}
	// And only this company's folders.
	other := mkCompany(t, s, "Other")
	mkFolder(t, s, other, "misc")
	again, err := s.ListFolders(ctx, co.Handle)
	require.NoError(t, err)
	assert.Equal(t, all, again)
}

func testFolderForeign(t *testing.T, s store.Store) {
	ctx := context.Background()
	acme, other := mkCompany(t, s, "Acme"), mkCompany(t, s, "Other")
	theirs := mkFolder(t, s, other, "secret")

	_, err := s.FolderByHandle(ctx, acme.Handle, theirs.Handle)
	assert.ErrorIs(t, err, store.ErrNotFound)
	_, err = s.FolderByPath(ctx, acme.Handle, theirs.Path)
	assert.ErrorIs(t, err, store.ErrNotFound)
	// The same handle with the company part rewritten is still theirs.
	forged := "f|" + companyID(t, acme) + "|" + theirs.Handle[strings.LastIndex(theirs.Handle, "|")+1:]
	_, err = s.FolderByHandle(ctx, acme.Handle, forged)
	assert.ErrorIs(t, err, store.ErrNotFound)
	_, err = s.ListFolders(ctx, "c|999999")
	assert.ErrorIs(t, err, store.ErrNotFound)
}

// ---- assets ----

func assetHandleRe(co store.Company) *regexp.Regexp {
	return regexp.MustCompile(`^a\|` + strings.TrimPrefix(co.Handle, "c|") + `\|[1-9][0-9]*$`)
}

func testAssetCreateAndGet(t *testing.T, s store.Store) {
	ctx := context.Background()
	co := mkCompany(t, s, "Acme")
	f := mkFolder(t, s, co, "shoes")
	a, err := s.CreateAsset(ctx, store.NewAsset{
		CompanyHandle: co.Handle, FolderHandle: f.Handle,
		Name: "IMG_0103", FileName: "IMG_0103.JPG", Type: "Image", SubType: "",
		Size: 123456, SHA256: strings.Repeat("0f", 32), StorageKey: "originals/c1/abc",
		Width: 3000, Height: 2000, CreatedBy: "u|7",
	})
	require.NoError(t, err)
	assert.Regexp(t, assetHandleRe(co), a.Handle)
	assert.Equal(t, co.Handle, a.CompanyHandle)
	assert.Equal(t, f.Handle, a.FolderHandle)
	assert.Equal(t, "Acme/shoes/", a.FolderPath)
	assert.Equal(t, "IMG_0103", a.Name)
	assert.Equal(t, "IMG_0103.JPG", a.FileName)
	assert.Equal(t, "Image", a.Type)
	assert.Equal(t, int64(123456), a.Size)
	assert.Equal(t, strings.Repeat("0f", 32), a.SHA256)
	assert.Equal(t, "originals/c1/abc", a.StorageKey)
	assert.Equal(t, 3000, a.Width)
	assert.Equal(t, 2000, a.Height)
	assert.Equal(t, "u|7", a.CreatedBy)
	assert.False(t, a.Created.IsZero())
	assert.Equal(t, a.Created, a.Modified)

	got, err := s.AssetsByHandles(ctx, co.Handle, []string{a.Handle})
	require.NoError(t, err)
	assert.Equal(t, []store.Asset{a}, got, "read back as created")

	// A large file size survives (int64, not int32).
	big := mkAsset(t, s, f, "big", func(na *store.NewAsset) { na.Size = 5 << 40 })
	got, err = s.AssetsByHandles(ctx, co.Handle, []string{big.Handle})
	require.NoError(t, err)
	require.Len(t, got, 1)
	assert.Equal(t, int64(5<<40), got[0].Size)
}

func testAssetCreateErrors(t *testing.T, s store.Store) {
	ctx := context.Background()
	acme, other := mkCompany(t, s, "Acme"), mkCompany(t, s, "Other")
	mine, theirs := mkFolder(t, s, acme, "x"), mkFolder(t, s, other, "y")
	base := store.NewAsset{CompanyHandle: acme.Handle, FolderHandle: mine.Handle, Name: "n", FileName: "n.jpg", Type: "Image"}
	for _, tc := range []struct {
		name     string
		mod      func(*store.NewAsset)
		notFound bool
	}{
		{"foreign folder", func(na *store.NewAsset) { na.FolderHandle = theirs.Handle }, true},
		{"unknown folder", func(na *store.NewAsset) { na.FolderHandle = "f|" + companyID(t, acme) + "|999999" }, true},
		{"malformed folder", func(na *store.NewAsset) { na.FolderHandle = "nope" }, true},
		{"unknown company", func(na *store.NewAsset) { na.CompanyHandle = "c|999999" }, true},
		{"malformed company", func(na *store.NewAsset) { na.CompanyHandle = "" }, true},
		{"empty name", func(na *store.NewAsset) { na.Name = "" }, false},
		{"empty type", func(na *store.NewAsset) { na.Type = "" }, false},
	} {
		na := base
		tc.mod(&na)
		_, err := s.CreateAsset(ctx, na)
		if tc.notFound {
			assert.ErrorIs(t, err, store.ErrNotFound, tc.name)
		} else {
			assert.Error(t, err, tc.name)
		}
	}
	_, total, err := s.SearchAssets(ctx, store.AssetQuery{CompanyHandle: acme.Handle, Limit: 10})
	require.NoError(t, err)
	assert.Zero(t, total, "nothing created")
}

func testAssetsByHandles(t *testing.T, s store.Store) {
	ctx := context.Background()
	acme, other := mkCompany(t, s, "Acme"), mkCompany(t, s, "Other")
	f := mkFolder(t, s, acme, "")
	a1, a2, a3 := mkAsset(t, s, f, "one"), mkAsset(t, s, f, "two"), mkAsset(t, s, f, "three")
	theirs := mkAsset(t, s, mkFolder(t, s, other, ""), "theirs")
	cid := companyID(t, acme)
	forged := "a|" + cid + "|" + theirs.Handle[strings.LastIndex(theirs.Handle, "|")+1:]

	for _, tc := range []struct {
		name string
		in   []string
		want []store.Asset
	}{
		{"input order", []string{a3.Handle, a1.Handle, a2.Handle}, []store.Asset{a3, a1, a2}},
		{"creation order", []string{a1.Handle, a2.Handle, a3.Handle}, []store.Asset{a1, a2, a3}},
		{"unknown omitted", []string{a2.Handle, "a|" + cid + "|999999", a1.Handle}, []store.Asset{a2, a1}},
		{"foreign omitted", []string{theirs.Handle, a1.Handle, forged}, []store.Asset{a1}},
		{"malformed omitted", append(slices.Clone(malformed), a3.Handle), []store.Asset{a3}},
		{"repeated handle repeated", []string{a1.Handle, a2.Handle, a1.Handle}, []store.Asset{a1, a2, a1}},
		{"empty", nil, nil},
	} {
		got, err := s.AssetsByHandles(ctx, acme.Handle, tc.in)
		require.NoError(t, err, tc.name)
		assert.Equal(t, handles(tc.want), handles(got), tc.name)
	}
	got, err := s.AssetsByHandles(ctx, other.Handle, []string{theirs.Handle, a1.Handle})
	require.NoError(t, err)
	assert.Equal(t, []string{theirs.Handle}, handles(got))

	_, err = s.AssetsByHandles(ctx, "c|999999", []string{a1.Handle})
	assert.ErrorIs(t, err, store.ErrNotFound)

	// Many handles at once: no driver limit on list length.
	many := make([]string, 0, 40000)
	for i := range 40000 {
		many = append(many, fmt.Sprintf("a|%s|%d", cid, 1000000+i))
	}
	many = append(many, a2.Handle)
	got, err = s.AssetsByHandles(ctx, acme.Handle, many)
	require.NoError(t, err)
	assert.Equal(t, []string{a2.Handle}, handles(got))

	// More assets than one lookup batch, reversed and each named twice:
	// input order and repeats hold across batches.
	var want []string
	for i := range 1100 {
		want = append(want, mkAsset(t, s, f, fmt.Sprintf("bulk-%04d", i)).Handle)
	}
	slices.Reverse(want)
	want = append(want, want...)
	got, err = s.AssetsByHandles(ctx, acme.Handle, want)
	require.NoError(t, err)
	assert.Equal(t, want, handles(got))
}

// testAssetSources: each distinct asset once, only the company's, with
// exactly the fields an export and its output name need.
func testAssetSources(t *testing.T, s store.Store) {
	ctx := context.Background()
	acme, other := mkCompany(t, s, "Acme"), mkCompany(t, s, "Other")
	f, g := mkFolder(t, s, acme, "shoes"), mkFolder(t, s, acme, "shoes/red")
	a1, a2, a3 := mkAsset(t, s, f, "one"), mkAsset(t, s, g, "two"), mkAsset(t, s, f, "three")
	theirs := mkAsset(t, s, mkFolder(t, s, other, ""), "theirs")
	cid := companyID(t, acme)
	a2, err := s.SetURLModifiers(ctx, acme.Handle, a2.Handle, "op_invert=1", "wid=10")
	require.NoError(t, err)

	in := append([]string{a3.Handle, a1.Handle, a3.Handle, theirs.Handle, "a|" + cid + "|999999", a2.Handle, a1.Handle}, malformed...)
	got, err := s.AssetSources(ctx, acme.Handle, in)
	require.NoError(t, err)
	source := func(a store.Asset) store.Asset {
		return store.Asset{Handle: a.Handle, FolderPath: a.FolderPath, Name: a.Name, FileName: a.FileName,
			Type: a.Type, SHA256: a.SHA256, StorageKey: a.StorageKey,
			URLModifier: a.URLModifier, URLPostApplyModifier: a.URLPostApplyModifier}
	}
	byHandle := func(as []store.Asset) []store.Asset {
		return slices.SortedFunc(slices.Values(as), func(x, y store.Asset) int { return strings.Compare(x.Handle, y.Handle) })
	}
	assert.Equal(t, byHandle([]store.Asset{source(a1), source(a2), source(a3)}), byHandle(got), "each once, the export's fields only")
	for _, a := range got {
		assert.NotEmpty(t, a.FolderPath)
		assert.NotEmpty(t, a.StorageKey)
	}

	got, err = s.AssetSources(ctx, acme.Handle, nil)
	require.NoError(t, err)
	assert.Empty(t, got)
	_, err = s.AssetSources(ctx, "c|999999", []string{a1.Handle})
	assert.ErrorIs(t, err, store.ErrNotFound)

	// More than one lookup batch, each named twice.
	var want []string
	for i := range 1100 {
		want = append(want, mkAsset(t, s, f, fmt.Sprintf("bulk-%04d", i)).Handle)
	}
	got, err = s.AssetSources(ctx, acme.Handle, append(slices.Clone(want), want...))
	require.NoError(t, err)
	assert.ElementsMatch(t, want, handles(got))
}

func testReplaceAssetFile(t *testing.T, s store.Store) {
	ctx := context.Background()
	acme, other := mkCompany(t, s, "Acme"), mkCompany(t, s, "Other")
	f := mkFolder(t, s, acme, "shoes")
	boot := mkAsset(t, s, f, "Boot")
	set := mkAsset(t, s, f, "Boots", func(na *store.NewAsset) {
		na.Type, na.FileName, na.StorageKey, na.Members = "ImageSet", "", "", []string{boot.Handle}
	})
	time.Sleep(10 * time.Millisecond) // Modified moves on

	file := store.AssetFile{FileName: "boot.PNG", Type: "Image", Size: 2345, SHA256: strings.Repeat("cd", 32),
		StorageKey: "originals/boot-2", Width: 800, Height: 600}
	before, after, err := s.ReplaceAssetFile(ctx, acme.Handle, boot.Handle, file)
	require.NoError(t, err)
	assert.Equal(t, boot, before)
	want := boot
	want.FileName, want.Type, want.Size, want.SHA256 = file.FileName, file.Type, file.Size, file.SHA256
	want.StorageKey, want.Width, want.Height = file.StorageKey, file.Width, file.Height
	assert.True(t, after.Modified.After(boot.Modified), "modified %v, was %v", after.Modified, boot.Modified)
	want.Modified = after.Modified
	assert.Equal(t, want, after)

	got, err := s.AssetsByHandles(ctx, acme.Handle, []string{boot.Handle})
	require.NoError(t, err)
	require.Len(t, got, 1)
	assert.Equal(t, after.StorageKey, got[0].StorageKey)
	assert.Equal(t, after.SHA256, got[0].SHA256)
	assert.Equal(t, "Boot", got[0].Name, "the name stays")
	members, err := s.SetMembers(ctx, acme.Handle, set.Handle)
	require.NoError(t, err)
	assert.Equal(t, []string{boot.Handle}, handles(members), "the set keeps its member")
	byName, err := s.AssetsByNames(ctx, acme.Handle, []string{"boot"}, nil)
	require.NoError(t, err)
	assert.Equal(t, []string{boot.Handle}, handles(byName))

	for name, tc := range map[string]struct {
		co, handle string
		file       store.AssetFile
		notFound   bool
	}{
		"another company's": {other.Handle, boot.Handle, file, true},
		"unknown":           {acme.Handle, "a|" + companyID(t, acme) + "|999999", file, true},
		"a set":             {acme.Handle, set.Handle, file, false},
		"no storage key":    {acme.Handle, boot.Handle, store.AssetFile{FileName: "x.jpg", Type: "Image"}, false},
		"negative size":     {acme.Handle, boot.Handle, store.AssetFile{FileName: "x.jpg", Type: "Image", StorageKey: "k", Size: -1}, false},
	} {
		_, _, err := s.ReplaceAssetFile(ctx, tc.co, tc.handle, tc.file)
		require.Error(t, err, name)
		assert.Equal(t, tc.notFound, errors.Is(err, store.ErrNotFound), "%s: %v", name, err)
	}
	got, err = s.AssetsByHandles(ctx, acme.Handle, []string{boot.Handle})
	require.NoError(t, err)
	assert.Equal(t, after.StorageKey, got[0].StorageKey, "refused replacements change nothing")
}

func testAssetsByNames(t *testing.T, s store.Store) {
	ctx := context.Background()
	acme, other := mkCompany(t, s, "Acme"), mkCompany(t, s, "Other")
	root, sub := mkFolder(t, s, acme, ""), mkFolder(t, s, acme, "sub")
	b010 := mkAsset(t, s, root, "B010")
	b010sub := mkAsset(t, s, sub, "b010")
	img := mkAsset(t, s, root, "IMG_0103")
	set := mkAsset(t, s, root, "IMG_0103_set", func(na *store.NewAsset) { na.Type = "ImageSet"; na.Members = []string{img.Handle} })
	mkAsset(t, s, mkFolder(t, s, other, ""), "B010")

	for _, tc := range []struct {
		name  string
		names []string
		types []string
		want  []store.Asset
	}{
		{"by name, case-insensitive, both folders", []string{"b010"}, nil, []store.Asset{b010, b010sub}},
		{"order of names", []string{"img_0103", "B010"}, nil, []store.Asset{img, b010, b010sub}},
		{"unknown omitted", []string{"nope", "IMG_0103"}, nil, []store.Asset{img}},
		{"type filter", []string{"IMG_0103", "IMG_0103_set"}, []string{"Image"}, []store.Asset{img}},
		{"type filter, several", []string{"IMG_0103", "IMG_0103_set"}, []string{"ImageSet", "Image"}, []store.Asset{img, set}},
		{"type filter excludes all", []string{"B010"}, []string{"Video"}, nil},
		{"no substring match", []string{"IMG"}, nil, nil},
		{"repeated name once", []string{"IMG_0103", "img_0103"}, nil, []store.Asset{img}},
		{"empty", nil, nil, nil},
	} {
		got, err := s.AssetsByNames(ctx, acme.Handle, tc.names, tc.types)
		require.NoError(t, err, tc.name)
		assert.Equal(t, handles(tc.want), handles(got), tc.name)
	}
	_, err := s.AssetsByNames(ctx, "c|999999", []string{"B010"}, nil)
	assert.ErrorIs(t, err, store.ErrNotFound)
}

// searchFixture is a small catalogue: Acme/ (root) with shoes/, shoes/red/,
// shoes-x/ and hats/, plus another company whose assets must never show.
type searchFixture struct {
	co store.Company
}

func newSearchFixture(t *testing.T, s store.Store) searchFixture {
	co := mkCompany(t, s, "Acme")
	root := mkFolder(t, s, co, "")
	shoes := mkFolder(t, s, co, "shoes")
	red := mkFolder(t, s, co, "shoes/red")
	shoesX := mkFolder(t, s, co, "shoes-x")
	hats := mkFolder(t, s, co, "hats")
	logo := mkAsset(t, s, root, "logo", func(na *store.NewAsset) { na.Size = 10 })
	mkAsset(t, s, shoes, "Boot", func(na *store.NewAsset) { na.Size = 300; na.FileName = "boot_RED_edition.tif" })
	sneaker := mkAsset(t, s, shoes, "sneaker", func(na *store.NewAsset) { na.Size = 200 })
	mkAsset(t, s, red, "red_pump", func(na *store.NewAsset) { na.Size = 500 })
	mkAsset(t, s, red, "manual", func(na *store.NewAsset) { na.Type = "Pdf"; na.FileName = "manual.pdf"; na.Size = 50 })
	mkAsset(t, s, shoesX, "clog", func(na *store.NewAsset) { na.Size = 40 })
	mkAsset(t, s, hats, "fedora", func(na *store.NewAsset) { na.Size = 60 })
	mkAsset(t, s, hats, "Cap_video", func(na *store.NewAsset) { na.Type = "Video"; na.FileName = "cap.mp4"; na.Size = 9000 })
	mkAsset(t, s, shoes, "shoe_set", func(na *store.NewAsset) {
		na.Type, na.SubType, na.FileName, na.Size, na.StorageKey, na.SHA256 = "AssetSet", "MediaSet", "", 0, "", ""
		na.Members = []string{sneaker.Handle, logo.Handle}
	})
	mkAsset(t, s, shoes, "spin", func(na *store.NewAsset) {
		na.Type, na.SubType, na.FileName, na.Size, na.StorageKey, na.SHA256 = "AssetSet", "SpinSet", "", 0, "", ""
	})
	mkAsset(t, s, shoes, "plain_set", func(na *store.NewAsset) {
		na.Type, na.FileName, na.Size, na.StorageKey, na.SHA256 = "AssetSet", "", 0, "", ""
	})

	other := mkCompany(t, s, "Other")
	of := mkFolder(t, s, other, "shoes")
	mkAsset(t, s, of, "sneaker")
	mkAsset(t, s, of, "red_other")
	return searchFixture{co: co}
}

func testSearchAssets(t *testing.T, s store.Store) {
	ctx := context.Background()
	fx := newSearchFixture(t, s)
	all := []string{"Boot", "Cap_video", "clog", "fedora", "logo", "manual", "plain_set", "red_pump", "shoe_set", "sneaker", "spin"}
	for _, tc := range []struct {
		name string
		q    store.AssetQuery
		want []string // in Name order
	}{
		{"whole company", store.AssetQuery{}, all},
		{"whole company, subfolders flag irrelevant", store.AssetQuery{IncludeSubfolders: true}, all},
		{"folder only", store.AssetQuery{FolderPath: "Acme/shoes/"}, []string{"Boot", "plain_set", "shoe_set", "sneaker", "spin"}},
		{"folder without final slash", store.AssetQuery{FolderPath: "Acme/shoes"}, []string{"Boot", "plain_set", "shoe_set", "sneaker", "spin"}},
		{"folder with subfolders, not shoes-x", store.AssetQuery{FolderPath: "Acme/shoes/", IncludeSubfolders: true},
			[]string{"Boot", "manual", "plain_set", "red_pump", "shoe_set", "sneaker", "spin"}},
		{"root only", store.AssetQuery{FolderPath: "Acme/"}, []string{"logo"}},
		{"root with subfolders", store.AssetQuery{FolderPath: "Acme/", IncludeSubfolders: true}, all},
		{"leaf with subfolders", store.AssetQuery{FolderPath: "Acme/shoes/red/", IncludeSubfolders: true}, []string{"manual", "red_pump"}},
		{"unknown folder", store.AssetQuery{FolderPath: "Acme/nope/", IncludeSubfolders: true}, nil},
		{"prefix of a folder name is not the folder", store.AssetQuery{FolderPath: "Acme/sho/", IncludeSubfolders: true}, nil},
		{"other company's folder path", store.AssetQuery{FolderPath: "Other/shoes/", IncludeSubfolders: true}, nil},
		{"types", store.AssetQuery{Types: []string{"Pdf", "Video"}}, []string{"Cap_video", "manual"}},
		{"types are exact", store.AssetQuery{Types: []string{"image"}}, nil},
		{"exclude types", store.AssetQuery{ExcludeTypes: []string{"Image", "AssetSet"}}, []string{"Cap_video", "manual"}},
		{"types and exclude", store.AssetQuery{Types: []string{"Image", "Pdf"}, ExcludeTypes: []string{"Image"}}, []string{"manual"}},
		{"subtypes, lenient: no subtype passes", store.AssetQuery{Types: []string{"AssetSet"}, SubTypes: []string{"MediaSet"}},
			[]string{"plain_set", "shoe_set"}},
		{"subtypes, strict", store.AssetQuery{Types: []string{"AssetSet"}, SubTypes: []string{"MediaSet"}, StrictSubTypeCheck: true},
			[]string{"shoe_set"}},
		{"subtypes, several", store.AssetQuery{SubTypes: []string{"MediaSet", "SpinSet"}, StrictSubTypeCheck: true},
			[]string{"shoe_set", "spin"}},
		{"name substring, case-insensitive", store.AssetQuery{NameLike: "RED"}, []string{"Boot", "red_pump"}},
		{"name substring in file name only", store.AssetQuery{NameLike: ".mp4"}, []string{"Cap_video"}},
		{"name substring with LIKE wildcards literal", store.AssetQuery{NameLike: "%"}, nil},
		{"name substring underscore literal", store.AssetQuery{NameLike: "_set"}, []string{"plain_set", "shoe_set"}},
		{"everything combined", store.AssetQuery{FolderPath: "Acme/shoes", IncludeSubfolders: true, Types: []string{"Image"}, NameLike: "PUM"},
			[]string{"red_pump"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q := tc.q
			q.CompanyHandle = fx.co.Handle
			q.Limit = 100
			got, total, err := s.SearchAssets(ctx, q)
			require.NoError(t, err)
			assert.Equal(t, tc.want, nilIfEmpty(names(got)))
			assert.Equal(t, len(tc.want), total)
			for _, a := range got {
				assert.Equal(t, fx.co.Handle, a.CompanyHandle)
			}
		})
	}

	_, _, err := s.SearchAssets(ctx, store.AssetQuery{CompanyHandle: "c|999999", Limit: 10})
	assert.ErrorIs(t, err, store.ErrNotFound)
	_, _, err = s.SearchAssets(ctx, store.AssetQuery{CompanyHandle: "x", Limit: 10})
	assert.ErrorIs(t, err, store.ErrNotFound)
	_, _, err = s.SearchAssets(ctx, store.AssetQuery{CompanyHandle: fx.co.Handle, Limit: 10, SortBy: "Colour"})
	assert.Error(t, err)
}

func nilIfEmpty(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	return s
}

func testSearchPaging(t *testing.T, s store.Store) {
	ctx := context.Background()
	fx := newSearchFixture(t, s)
	q := store.AssetQuery{CompanyHandle: fx.co.Handle, SortBy: "Name"}
	full, total, err := s.SearchAssets(ctx, q) // Limit 0: everything
	require.NoError(t, err)
	require.Equal(t, 11, total)
	require.Len(t, full, 11)

	var paged []store.Asset
	for off := 0; off < 11; off += 4 {
		q.Limit, q.Offset = 4, off
		page, total, err := s.SearchAssets(ctx, q)
		require.NoError(t, err)
		assert.Equal(t, 11, total, "total counts every match, not the page")
		assert.Len(t, page, min(4, 11-off))
		paged = append(paged, page...)
	}
	assert.Equal(t, handles(full), handles(paged), "pages tile the result")

	q.Limit, q.Offset = 4, 100
	page, total, err := s.SearchAssets(ctx, q)
	require.NoError(t, err)
	assert.Empty(t, page)
	assert.Equal(t, 11, total, "a page past the end still has the total")

	q.Limit, q.Offset, q.Types = 2, 100, []string{"Nothing"}
	page, total, err = s.SearchAssets(ctx, q)
	require.NoError(t, err)
	assert.Empty(t, page)
	assert.Zero(t, total)
}

func testSearchSort(t *testing.T, s store.Store) {
	ctx := context.Background()
	co := mkCompany(t, s, "Acme")
	f := mkFolder(t, s, co, "")
	// Created in this order; names, types and sizes each order them differently.
	for _, a := range []struct {
		name, typ string
		size      int64
	}{
		{"cherry", "Image", 30},
		{"Banana", "Pdf", 10},
		{"apple", "Image", 20},
		{"date", "Video", 10},
		{"Elder", "AnimatedGif", 50},
	} {
		mkAsset(t, s, f, a.name, func(na *store.NewAsset) { na.Type, na.Size = a.typ, a.size })
	}
	for _, tc := range []struct {
		sortBy string
		want   []string
	}{
		{"", []string{"apple", "Banana", "cherry", "date", "Elder"}},
		{"Name", []string{"apple", "Banana", "cherry", "date", "Elder"}},
		{"Created", []string{"cherry", "Banana", "apple", "date", "Elder"}},
		{"Modified", []string{"cherry", "Banana", "apple", "date", "Elder"}},
		{"AssetType", []string{"Elder", "apple", "cherry", "Banana", "date"}},
		{"FileSize", []string{"Banana", "date", "apple", "cherry", "Elder"}},
	} {
		for _, desc := range []bool{false, true} {
			want := slices.Clone(tc.want)
			if desc {
				slices.Reverse(want)
			}
			got, total, err := s.SearchAssets(ctx, store.AssetQuery{CompanyHandle: co.Handle, SortBy: tc.sortBy, Descending: desc, Limit: 10})
			require.NoError(t, err, "%s desc=%v", tc.sortBy, desc)
			assert.Equal(t, want, names(got), "%s desc=%v", tc.sortBy, desc)
			assert.Equal(t, 5, total)
		}
	}
}

func testDeleteAsset(t *testing.T, s store.Store) {
	ctx := context.Background()
	acme, other := mkCompany(t, s, "Acme"), mkCompany(t, s, "Other")
	f := mkFolder(t, s, acme, "")
	a, keep := mkAsset(t, s, f, "gone"), mkAsset(t, s, f, "kept")
	theirs := mkAsset(t, s, mkFolder(t, s, other, ""), "theirs")

	require.NoError(t, s.DeleteAsset(ctx, acme.Handle, a.Handle))
	got, err := s.AssetsByHandles(ctx, acme.Handle, []string{a.Handle, keep.Handle})
	require.NoError(t, err)
	assert.Equal(t, []string{keep.Handle}, handles(got))
	assert.ErrorIs(t, s.DeleteAsset(ctx, acme.Handle, a.Handle), store.ErrNotFound, "twice")

	assert.ErrorIs(t, s.DeleteAsset(ctx, acme.Handle, theirs.Handle), store.ErrNotFound, "foreign")
	forged := "a|" + companyID(t, acme) + "|" + theirs.Handle[strings.LastIndex(theirs.Handle, "|")+1:]
	assert.ErrorIs(t, s.DeleteAsset(ctx, acme.Handle, forged), store.ErrNotFound, "forged")
	got, err = s.AssetsByHandles(ctx, other.Handle, []string{theirs.Handle})
	require.NoError(t, err)
	assert.Len(t, got, 1, "foreign asset untouched")
	for _, h := range malformed {
		assert.ErrorIs(t, s.DeleteAsset(ctx, acme.Handle, h), store.ErrNotFound, "%q", h)
		assert.ErrorIs(t, s.DeleteAsset(ctx, h, keep.Handle), store.ErrNotFound, "company %q", h)
	}

	// A new asset never gets a deleted asset's handle.
	again := mkAsset(t, s, f, "gone")
	assert.NotEqual(t, a.Handle, again.Handle)
}

// ---- sets ----

func testSets(t *testing.T, s store.Store) {
	ctx := context.Background()
	co := mkCompany(t, s, "Acme")
	f := mkFolder(t, s, co, "sets")
	m1, m2, m3 := mkAsset(t, s, f, "m1"), mkAsset(t, s, f, "m2"), mkAsset(t, s, f, "m3")
	set, err := s.CreateAsset(ctx, store.NewAsset{
		CompanyHandle: co.Handle, FolderHandle: f.Handle, Name: "spin", FileName: "spin",
		Type: "SpinSet", CreatedBy: "u|1", Members: []string{m3.Handle, m1.Handle, m2.Handle},
	})
	require.NoError(t, err)
	assert.Equal(t, "SpinSet", set.Type)
	assert.Empty(t, set.StorageKey, "a set has no file")
	assert.Zero(t, set.Size)
	assert.Empty(t, set.SHA256)

	members, err := s.SetMembers(ctx, co.Handle, set.Handle)
	require.NoError(t, err)
	assert.Equal(t, []store.Asset{m3, m1, m2}, members, "in the order given")

	// A set of sets, and a member used twice (a spin can repeat a frame).
	outer := mkAsset(t, s, f, "outer", func(na *store.NewAsset) {
		na.Type, na.StorageKey, na.Size = "AssetSet", "", 0
		na.Members = []string{set.Handle, m2.Handle, m2.Handle}
	})
	members, err = s.SetMembers(ctx, co.Handle, outer.Handle)
	require.NoError(t, err)
	assert.Equal(t, []string{set.Handle, m2.Handle, m2.Handle}, handles(members))

	// Not a set: no members.
	members, err = s.SetMembers(ctx, co.Handle, m1.Handle)
	require.NoError(t, err)
	assert.Empty(t, members)

	// Deleting a member takes it out of its sets; the rest keep their order.
	require.NoError(t, s.DeleteAsset(ctx, co.Handle, m1.Handle))
	members, err = s.SetMembers(ctx, co.Handle, set.Handle)
	require.NoError(t, err)
	assert.Equal(t, []string{m3.Handle, m2.Handle}, handles(members))

	// Deleting a set leaves its members.
	require.NoError(t, s.DeleteAsset(ctx, co.Handle, set.Handle))
	got, err := s.AssetsByHandles(ctx, co.Handle, []string{m2.Handle, m3.Handle})
	require.NoError(t, err)
	assert.Len(t, got, 2)
	members, err = s.SetMembers(ctx, co.Handle, outer.Handle)
	require.NoError(t, err)
	assert.Equal(t, []string{m2.Handle, m2.Handle}, handles(members))
}

func testSetErrors(t *testing.T, s store.Store) {
	ctx := context.Background()
	acme, other := mkCompany(t, s, "Acme"), mkCompany(t, s, "Other")
	f := mkFolder(t, s, acme, "")
	m := mkAsset(t, s, f, "m")
	theirs := mkAsset(t, s, mkFolder(t, s, other, ""), "theirs")
	theirSet := mkAsset(t, s, mkFolder(t, s, other, ""), "their_set", func(na *store.NewAsset) {
		na.Type, na.Members = "ImageSet", []string{theirs.Handle}
	})
	for _, tc := range []struct {
		name    string
		members []string
	}{
		{"foreign member", []string{m.Handle, theirs.Handle}},
		{"unknown member", []string{m.Handle, "a|" + companyID(t, acme) + "|999999"}},
		{"malformed member", []string{"nope"}},
	} {
		_, err := s.CreateAsset(ctx, store.NewAsset{CompanyHandle: acme.Handle, FolderHandle: f.Handle,
			Name: "set", Type: "ImageSet", Members: tc.members})
		assert.ErrorIs(t, err, store.ErrNotFound, tc.name)
	}
	got, err := s.AssetsByNames(ctx, acme.Handle, []string{"set"}, nil)
	require.NoError(t, err)
	assert.Empty(t, got, "no set left behind by a failed create")

	for _, h := range append(slices.Clone(malformed), theirSet.Handle, "a|"+companyID(t, acme)+"|999999") {
		_, err := s.SetMembers(ctx, acme.Handle, h)
		assert.ErrorIs(t, err, store.ErrNotFound, "%q", h)
	}
	_, err = s.SetMembers(ctx, "x", m.Handle)
	assert.ErrorIs(t, err, store.ErrNotFound)
}

// ---- image formats ----

func formatHandleRe(co store.Company) *regexp.Regexp {
	return regexp.MustCompile(`^` + strings.TrimPrefix(co.Handle, "c|") + `\|[1-9][0-9]*$`)
}

func testImageFormatSave(t *testing.T, s store.Store) {
	ctx := context.Background()
	co := mkCompany(t, s, "Acme")
	thumb, err := s.SaveImageFormat(ctx, store.ImageFormat{CompanyHandle: co.Handle, Name: "Thumb", URLModifier: "wid=100&fmt=jpeg"})
	require.NoError(t, err)
	assert.Regexp(t, formatHandleRe(co), thumb.Handle, "IPS shape <company>|<id>")
	assert.Equal(t, store.ImageFormat{Handle: thumb.Handle, CompanyHandle: co.Handle, Name: "Thumb", URLModifier: "wid=100&fmt=jpeg"}, thumb)

	for _, n := range []string{"Thumb", "thumb", "THUMB"} {
		got, err := s.ImageFormatByName(ctx, co.Handle, n)
		require.NoError(t, err, n)
		assert.Equal(t, thumb, got, n)
	}

	// Upsert by name, case-insensitively: same format, new spelling and modifier.
	again, err := s.SaveImageFormat(ctx, store.ImageFormat{CompanyHandle: co.Handle, Name: "THUMB", URLModifier: "wid=120"})
	require.NoError(t, err)
	assert.Equal(t, thumb.Handle, again.Handle)
	got, err := s.ImageFormatByName(ctx, co.Handle, "thumb")
	require.NoError(t, err)
	assert.Equal(t, store.ImageFormat{Handle: thumb.Handle, CompanyHandle: co.Handle, Name: "THUMB", URLModifier: "wid=120"}, got)

	// Upsert by handle: rename.
	renamed, err := s.SaveImageFormat(ctx, store.ImageFormat{Handle: thumb.Handle, CompanyHandle: co.Handle, Name: "Small $x$ & co", URLModifier: "wid=80"})
	require.NoError(t, err)
	assert.Equal(t, thumb.Handle, renamed.Handle)
	_, err = s.ImageFormatByName(ctx, co.Handle, "thumb")
	assert.ErrorIs(t, err, store.ErrNotFound, "old name gone")
	got, err = s.ImageFormatByName(ctx, co.Handle, "small $X$ & CO")
	require.NoError(t, err)
	assert.Equal(t, renamed, got)

	// Renaming by handle to its own name in another case is fine.
	_, err = s.SaveImageFormat(ctx, store.ImageFormat{Handle: thumb.Handle, CompanyHandle: co.Handle, Name: "SMALL $X$ & CO", URLModifier: "wid=80"})
	require.NoError(t, err)

	all, err := s.ImageFormats(ctx, co.Handle)
	require.NoError(t, err)
	assert.Len(t, all, 1)
}

func testImageFormatErrors(t *testing.T, s store.Store) {
	ctx := context.Background()
	co := mkCompany(t, s, "Acme")
	a, err := s.SaveImageFormat(ctx, store.ImageFormat{CompanyHandle: co.Handle, Name: "A", URLModifier: "wid=1"})
	require.NoError(t, err)
	_, err = s.SaveImageFormat(ctx, store.ImageFormat{CompanyHandle: co.Handle, Name: "B", URLModifier: "wid=2"})
	require.NoError(t, err)

	_, err = s.SaveImageFormat(ctx, store.ImageFormat{Handle: a.Handle, CompanyHandle: co.Handle, Name: "b", URLModifier: "wid=3"})
	assert.ErrorIs(t, err, store.ErrConflict, "renaming onto another format's name")
	for _, h := range []string{companyID(t, co) + "|999999", "999999|1", "x", "c|1"} {
		_, err = s.SaveImageFormat(ctx, store.ImageFormat{Handle: h, CompanyHandle: co.Handle, Name: "C"})
		assert.ErrorIs(t, err, store.ErrNotFound, "%q", h)
	}
	_, err = s.SaveImageFormat(ctx, store.ImageFormat{CompanyHandle: "c|999999", Name: "C"})
	assert.ErrorIs(t, err, store.ErrNotFound)
	_, err = s.SaveImageFormat(ctx, store.ImageFormat{CompanyHandle: co.Handle, Name: ""})
	assert.Error(t, err)

	got, err := s.ImageFormatByName(ctx, co.Handle, "A")
	require.NoError(t, err)
	assert.Equal(t, a, got, "failed saves changed nothing")
	all, err := s.ImageFormats(ctx, co.Handle)
	require.NoError(t, err)
	assert.Len(t, all, 2)
}

func testImageFormatListDelete(t *testing.T, s store.Store) {
	ctx := context.Background()
	co := mkCompany(t, s, "Acme")
	all, err := s.ImageFormats(ctx, co.Handle)
	require.NoError(t, err)
	assert.Empty(t, all)
	saved := map[string]store.ImageFormat{}
	for _, n := range []string{"zoom", "Large", "banner", "Medium"} {
		f, err := s.SaveImageFormat(ctx, store.ImageFormat{CompanyHandle: co.Handle, Name: n, URLModifier: "wid=1"})
		require.NoError(t, err)
		saved[n] = f
	}
	all, err = s.ImageFormats(ctx, co.Handle)
	require.NoError(t, err)
	var got []string
	for _, f := range all {
		got = append(got, f.Name)
	}
	assert.Equal(t, []string{"banner", "Large", "Medium", "zoom"}, got, "by name, case-insensitively")

	require.NoError(t, s.DeleteImageFormat(ctx, co.Handle, saved["Large"].Handle))
	_, err = s.ImageFormatByName(ctx, co.Handle, "Large")
	assert.ErrorIs(t, err, store.ErrNotFound)
	assert.ErrorIs(t, s.DeleteImageFormat(ctx, co.Handle, saved["Large"].Handle), store.ErrNotFound, "twice")
	for _, h := range malformed {
		assert.ErrorIs(t, s.DeleteImageFormat(ctx, co.Handle, h), store.ErrNotFound, "%q", h)
	}
	all, err = s.ImageFormats(ctx, co.Handle)
	require.NoError(t, err)
	assert.Len(t, all, 3)

	_, err = s.ImageFormats(ctx, "c|999999")
	assert.ErrorIs(t, err, store.ErrNotFound)
}

func testImageFormatForeign(t *testing.T, s store.Store) {
	ctx := context.Background()
	acme, other := mkCompany(t, s, "Acme"), mkCompany(t, s, "Other")
	mine, err := s.SaveImageFormat(ctx, store.ImageFormat{CompanyHandle: acme.Handle, Name: "Thumb", URLModifier: "wid=100"})
	require.NoError(t, err)
	// The same name in another company is another format.
	theirs, err := s.SaveImageFormat(ctx, store.ImageFormat{CompanyHandle: other.Handle, Name: "thumb", URLModifier: "wid=200"})
	require.NoError(t, err)
	assert.NotEqual(t, mine.Handle, theirs.Handle)
	assert.Regexp(t, formatHandleRe(other), theirs.Handle)

	got, err := s.ImageFormatByName(ctx, acme.Handle, "THUMB")
	require.NoError(t, err)
	assert.Equal(t, mine, got)

	// Nothing of Acme's is reachable through Other, nor the reverse.
	assert.ErrorIs(t, s.DeleteImageFormat(ctx, other.Handle, mine.Handle), store.ErrNotFound)
	_, err = s.SaveImageFormat(ctx, store.ImageFormat{Handle: mine.Handle, CompanyHandle: other.Handle, Name: "hijack", URLModifier: "x"})
	assert.ErrorIs(t, err, store.ErrNotFound)
	forged := companyID(t, other) + "|" + mine.Handle[strings.LastIndex(mine.Handle, "|")+1:]
	assert.ErrorIs(t, s.DeleteImageFormat(ctx, other.Handle, forged), store.ErrNotFound)

	list, err := s.ImageFormats(ctx, acme.Handle)
	require.NoError(t, err)
	assert.Equal(t, []store.ImageFormat{mine}, list)
	list, err = s.ImageFormats(ctx, other.Handle)
	require.NoError(t, err)
	assert.Equal(t, []store.ImageFormat{theirs}, list)
}

// ---- timestamps and concurrency ----

func testTimestamps(t *testing.T, s store.Store) {
	ctx := context.Background()
	before := time.Now().Add(-time.Second)
	co := mkCompany(t, s, "Acme")
	u := mkUser(t, s, "jane@example.com")
	f := mkFolder(t, s, co, "x")
	a := mkAsset(t, s, f, "a")
	after := time.Now().Add(time.Second)

	gotCo, err := s.CompanyByHandle(ctx, co.Handle)
	require.NoError(t, err)
	gotU, err := s.UserByHandle(ctx, u.Handle)
	require.NoError(t, err)
	gotF, err := s.FolderByHandle(ctx, co.Handle, f.Handle)
	require.NoError(t, err)
	gotA, err := s.AssetsByHandles(ctx, co.Handle, []string{a.Handle})
	require.NoError(t, err)
	require.Len(t, gotA, 1)

	for _, tc := range []struct {
		name          string
		created, read time.Time
	}{
		{"company", co.Created, gotCo.Created},
		{"user", u.Created, gotU.Created},
		{"folder", f.Created, gotF.Created},
		{"asset created", a.Created, gotA[0].Created},
		{"asset modified", a.Modified, gotA[0].Modified},
	} {
		assert.Equal(t, time.UTC, tc.created.Location(), tc.name)
		assert.Equal(t, time.UTC, tc.read.Location(), tc.name)
		assert.True(t, tc.created.Equal(tc.read), "%s: %v read back as %v", tc.name, tc.created, tc.read)
		assert.True(t, tc.read.After(before) && tc.read.Before(after), "%s: %v is now", tc.name, tc.read)
	}
}

func testConcurrent(t *testing.T, s store.Store) {
	ctx := context.Background()
	co := mkCompany(t, s, "Acme")
	const workers, each = 6, 10
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		got      = map[string]bool{}
		folders  = map[string]bool{}
		errs     []error
		conflict int
		created  int
	)
	for w := range workers {
		wg.Go(func() {
			// Every worker ensures the same folders at once.
			f, err := s.EnsureFolder(ctx, co.Handle, "shared/deep")
			if err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
				return
			}
			mu.Lock()
			folders[f.Handle] = true
			mu.Unlock()
			for i := range each {
				a, err := s.CreateAsset(ctx, store.NewAsset{CompanyHandle: co.Handle, FolderHandle: f.Handle,
					Name: fmt.Sprintf("w%d_%d", w, i), Type: "Image"})
				mu.Lock()
				if err != nil {
					errs = append(errs, err)
				} else {
					got[a.Handle] = true
				}
				mu.Unlock()
			}
			// And all race to create the same company.
			_, err = s.CreateCompany(ctx, "Race")
			mu.Lock()
			switch {
			case err == nil:
				created++
			case assert.ErrorIs(t, err, store.ErrConflict):
				conflict++
			}
			mu.Unlock()
		})
	}
	wg.Wait()
	require.Empty(t, errs)
	assert.Len(t, folders, 1, "one folder, whoever created it")
	assert.Len(t, got, workers*each, "distinct handles")
	assert.Equal(t, 1, created)
	assert.Equal(t, workers-1, conflict)

	_, total, err := s.SearchAssets(ctx, store.AssetQuery{CompanyHandle: co.Handle, Limit: 1})
	require.NoError(t, err)
	assert.Equal(t, workers*each, total)
	all, err := s.ListFolders(ctx, co.Handle)
	require.NoError(t, err)
	assert.Len(t, all, 3)
}
