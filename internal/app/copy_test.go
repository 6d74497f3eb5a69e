package app

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ipsexport/ipsd/internal/blob"
	"github.com/ipsexport/ipsd/internal/catalog"
	"github.com/ipsexport/ipsd/internal/store"
)

// The embedded catalogue moves to PostgreSQL whole: companies, users who
// can still log in, folders, assets and their files, sets, formats; and
// the copy serves an export of the same bytes.
func TestCatalogCopyToPostgres(t *testing.T) {
	ctx := context.Background()
	src := newEnv(t, "")
	set, err := src.app.Store.CreateAsset(ctx, store.NewAsset{CompanyHandle: src.acme.Handle,
		FolderHandle: src.assets["shoes/boot.png"].FolderHandle, Name: "boots", Type: "ImageSet",
		Members: []string{src.assets["shoes/boot.png"].Handle, src.assets["shoes/red/boot.png"].Handle}})
	require.NoError(t, err)
	_, err = src.app.Store.SaveImageFormat(ctx, store.ImageFormat{CompanyHandle: src.acme.Handle, Name: "thumb", URLModifier: "wid=4&fmt=png"})
	require.NoError(t, err)
	_, err = src.app.Store.SetURLModifiers(ctx, src.acme.Handle, src.assets["/hero.png"].Handle, "wid=3", "fmt=png")
	require.NoError(t, err)
	defaults := store.CompanyDefaults{JpegQuality: "90", DefaultPix: "640,480"}
	require.NoError(t, src.app.Store.SetCompanyDefaults(ctx, src.acme.Handle, defaults))

	dstStore, err := OpenStore(ctx, pg.NewDatabase(t), t.TempDir())
	require.NoError(t, err)
	defer dstStore.Close()
	dstFiles, err := blob.NewLocal(t.TempDir())
	require.NoError(t, err)
	mapping := map[string]string{}
	require.NoError(t, catalog.Copy(ctx, catalog.Place{Store: src.app.Store, Blob: src.app.Blob},
		catalog.Place{Store: dstStore, Blob: dstFiles}, func(kind, from, to string) { mapping[from] = to }))

	cos, err := dstStore.ListCompanies(ctx)
	require.NoError(t, err)
	assert.Len(t, cos, 2)
	acme, err := dstStore.CompanyByName(ctx, "Acme")
	require.NoError(t, err)
	alice, err := dstStore.UserByEmail(ctx, "alice@acme.test")
	require.NoError(t, err)
	assert.Equal(t, src.alice.PasswordHash, alice.PasswordHash, "logins keep working")
	member, err := dstStore.IsMember(ctx, alice.Handle, acme.Handle)
	require.NoError(t, err)
	assert.True(t, member)
	folders, err := dstStore.ListFolders(ctx, acme.Handle)
	require.NoError(t, err)
	assert.Len(t, folders, 3)
	members, err := dstStore.SetMembers(ctx, acme.Handle, mapping[set.Handle])
	require.NoError(t, err)
	require.Len(t, members, 2)
	assert.Equal(t, mapping[src.assets["shoes/boot.png"].Handle], members[0].Handle)
	f, err := dstStore.ImageFormatByName(ctx, acme.Handle, "THUMB")
	require.NoError(t, err)
	assert.Equal(t, "wid=4&fmt=png", f.URLModifier)
	hero, err := dstStore.AssetsByHandles(ctx, acme.Handle, []string{mapping[src.assets["/hero.png"].Handle]})
	require.NoError(t, err)
	require.Len(t, hero, 1)
	assert.Equal(t, src.assets["/hero.png"].SHA256, hero[0].SHA256)
	assert.Equal(t, [2]string{"wid=3", "fmt=png"}, [2]string{hero[0].URLModifier, hero[0].URLPostApplyModifier}, "stored modifiers copied")
	gotDefaults, err := dstStore.CompanyDefaults(ctx, acme.Handle)
	require.NoError(t, err)
	assert.Equal(t, defaults, gotDefaults, "company defaults copied")
	r, _, err := dstFiles.Open(ctx, hero[0].StorageKey)
	require.NoError(t, err)
	r.Close()

	// A second copy into a non-empty destination refuses at the first
	// conflict rather than mixing catalogues.
	err = catalog.Copy(ctx, catalog.Place{Store: src.app.Store, Blob: src.app.Blob},
		catalog.Place{Store: dstStore, Blob: dstFiles}, nil)
	assert.ErrorIs(t, err, store.ErrConflict)
}
