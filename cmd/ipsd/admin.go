package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/ipsexport/ipsd/internal/app"
	"github.com/ipsexport/ipsd/internal/blob"
	"github.com/ipsexport/ipsd/internal/catalog"
	"github.com/ipsexport/ipsd/internal/service"
	"github.com/ipsexport/ipsd/internal/store"
)

// setTypes are the asset types `admin set add` creates (docs/exports.md, "Validation").
var setTypes = []string{"ImageSet", "RenderSet", "SpinSet", "AssetSet", "Catalog"}

// openStore opens and migrates the configured store.
func openStore(ctx context.Context, g *globals) (store.Store, error) {
	return app.OpenStore(ctx, g.databaseURL, g.dataDir)
}

// openBlob opens the file storage under the data directory.
func openBlob(g *globals) (*blob.Local, error) {
	return blob.NewLocal(filepath.Join(g.dataDir, "files"))
}

func cmdMigrate(ctx context.Context, g *globals, args []string, stdout, stderr io.Writer) error {
	fs := subFlags("migrate", g, stderr)
	if err := fs.Parse(args); err != nil {
		return err
	}
	st, err := openStore(ctx, g)
	if err != nil {
		return err
	}
	defer st.Close()
	fmt.Fprintln(stdout, "migrated")
	return nil
}

func cmdAdmin(ctx context.Context, g *globals, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return fmt.Errorf("%w: admin needs a subcommand", errUsage)
	}
	if args[0] == "demo" {
		return cmdDemo(ctx, g, args[1:], stdout, stderr)
	}
	if len(args) < 2 {
		return fmt.Errorf("%w: admin %s needs a subcommand", errUsage, args[0])
	}
	key := args[0] + " " + args[1]
	args = args[2:]
	switch key {
	case "company add":
		return adminCompanyAdd(ctx, g, args, stdout, stderr)
	case "user add":
		return adminUserAdd(ctx, g, args, stdout, stderr)
	case "asset import":
		return adminAssetImport(ctx, g, args, stdout, stderr)
	case "set add":
		return adminSetAdd(ctx, g, args, stdout, stderr)
	case "format set":
		return adminFormatSet(ctx, g, args, stdout, stderr)
	case "icc add":
		return adminICCAdd(g, args, stdout, stderr)
	case "catalog copy":
		return adminCatalogCopy(ctx, g, args, stdout, stderr)
	}
	return fmt.Errorf("%w: unknown admin command %q", errUsage, key)
}

func adminCompanyAdd(ctx context.Context, g *globals, args []string, stdout, stderr io.Writer) error {
	fs := subFlags("admin company add", g, stderr)
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 || strings.TrimSpace(pos[0]) == "" {
		return fmt.Errorf("%w: admin company add NAME", errUsage)
	}
	st, err := openStore(ctx, g)
	if err != nil {
		return err
	}
	defer st.Close()
	co, err := st.CreateCompany(ctx, strings.TrimSpace(pos[0]))
	if err != nil {
		return fmt.Errorf("add company %q: %w", pos[0], err)
	}
	fmt.Fprintln(stdout, co.Handle)
	return nil
}

type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

func adminUserAdd(ctx context.Context, g *globals, args []string, stdout, stderr io.Writer) error {
	fs := subFlags("admin user add", g, stderr)
	email := fs.String("email", "", "e-mail (the login)")
	password := fs.String("password", "", "password")
	role := fs.String("role", store.RoleIpsUser, "role: "+strings.Join(store.Roles, ", "))
	first := fs.String("first-name", "", "first name")
	last := fs.String("last-name", "", "last name")
	var companies multiFlag
	fs.Var(&companies, "company", "company name to make the user a member of (repeatable)")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 0 || *email == "" || *password == "" {
		return fmt.Errorf("%w: admin user add --email E --password P --role ROLE [--company NAME]...", errUsage)
	}
	if !slices.Contains(store.Roles, *role) {
		return fmt.Errorf("%w: unknown role %q (one of %s)", errUsage, *role, strings.Join(store.Roles, ", "))
	}
	st, err := openStore(ctx, g)
	if err != nil {
		return err
	}
	defer st.Close()
	var cos []store.Company
	for _, name := range companies {
		co, err := st.CompanyByName(ctx, name)
		if err != nil {
			return fmt.Errorf("company %q: %w", name, err)
		}
		cos = append(cos, co)
	}
	hash, err := service.HashPassword(*password)
	if err != nil {
		return err
	}
	u, err := st.CreateUser(ctx, store.NewUser{Email: *email, FirstName: *first, LastName: *last, Role: *role, PasswordHash: hash})
	if err != nil {
		return fmt.Errorf("add user %q: %w", *email, err)
	}
	for _, co := range cos {
		if err := st.AddMembership(ctx, u.Handle, co.Handle); err != nil {
			return fmt.Errorf("add %s to %s: %w", *email, co.Name, err)
		}
	}
	fmt.Fprintln(stdout, u.Handle)
	return nil
}

func adminAssetImport(ctx context.Context, g *globals, args []string, stdout, stderr io.Writer) error {
	fs := subFlags("admin asset import", g, stderr)
	companyName := fs.String("company", "", "company name")
	folder := fs.String("folder", "", "folder path inside the company")
	files, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if *companyName == "" || len(files) == 0 {
		return fmt.Errorf("%w: admin asset import --company NAME [--folder PATH] FILE...", errUsage)
	}
	st, err := openStore(ctx, g)
	if err != nil {
		return err
	}
	defer st.Close()
	co, err := st.CompanyByName(ctx, *companyName)
	if err != nil {
		return fmt.Errorf("company %q: %w", *companyName, err)
	}
	bl, err := openBlob(g)
	if err != nil {
		return err
	}
	im := &catalog.Importer{Store: st, Blob: bl}
	for _, name := range files {
		a, err := importFile(ctx, im, co.Handle, *folder, name)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%s\t%s\t%s\n", a.Handle, a.Name, a.Type)
	}
	return nil
}

func importFile(ctx context.Context, im *catalog.Importer, company, folder, name string) (store.Asset, error) {
	f, err := os.Open(name)
	if err != nil {
		return store.Asset{}, err
	}
	defer f.Close()
	return im.Import(ctx, catalog.File{CompanyHandle: company, FolderPath: folder, FileName: filepath.Base(name), Body: f})
}

func adminSetAdd(ctx context.Context, g *globals, args []string, stdout, stderr io.Writer) error {
	fs := subFlags("admin set add", g, stderr)
	companyName := fs.String("company", "", "company name")
	typ := fs.String("type", "", "set type: "+strings.Join(setTypes, ", "))
	subType := fs.String("subtype", "", "subtype, e.g. MediaSet, VideoSet, MultiBitrateSet, OfferSet for AssetSet")
	name := fs.String("name", "", "set name")
	folder := fs.String("folder", "", "folder path inside the company")
	members, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if *companyName == "" || *typ == "" || *name == "" {
		return fmt.Errorf("%w: admin set add --company NAME --type TYPE --name N MEMBER_HANDLE...", errUsage)
	}
	if !slices.Contains(setTypes, *typ) {
		return fmt.Errorf("%w: unknown set type %q (one of %s)", errUsage, *typ, strings.Join(setTypes, ", "))
	}
	st, err := openStore(ctx, g)
	if err != nil {
		return err
	}
	defer st.Close()
	co, err := st.CompanyByName(ctx, *companyName)
	if err != nil {
		return fmt.Errorf("company %q: %w", *companyName, err)
	}
	found, err := st.AssetsByHandles(ctx, co.Handle, members)
	if err != nil {
		return err
	}
	if len(found) != len(members) {
		have := map[string]bool{}
		for _, a := range found {
			have[a.Handle] = true
		}
		for _, m := range members {
			if !have[m] {
				return fmt.Errorf("member %q is not an asset of %s", m, co.Name)
			}
		}
	}
	f, err := st.EnsureFolder(ctx, co.Handle, strings.Trim(*folder, "/"))
	if err != nil {
		return err
	}
	a, err := st.CreateAsset(ctx, store.NewAsset{
		CompanyHandle: co.Handle, FolderHandle: f.Handle, Name: *name, FileName: *name,
		Type: *typ, SubType: *subType, Members: members,
	})
	if err != nil {
		return fmt.Errorf("add set %q: %w", *name, err)
	}
	fmt.Fprintln(stdout, a.Handle)
	return nil
}

func adminFormatSet(ctx context.Context, g *globals, args []string, stdout, stderr io.Writer) error {
	fs := subFlags("admin format set", g, stderr)
	companyName := fs.String("company", "", "company name")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if *companyName == "" || len(pos) != 2 {
		return fmt.Errorf("%w: admin format set --company NAME NAME URLMODIFIER", errUsage)
	}
	st, err := openStore(ctx, g)
	if err != nil {
		return err
	}
	defer st.Close()
	co, err := st.CompanyByName(ctx, *companyName)
	if err != nil {
		return fmt.Errorf("company %q: %w", *companyName, err)
	}
	mod, err := service.CleanURLModifier(ctx, st, co.Handle, pos[0], pos[1])
	if err != nil {
		return fmt.Errorf("format %q: %w", pos[0], err)
	}
	f, err := st.SaveImageFormat(ctx, store.ImageFormat{CompanyHandle: co.Handle, Name: pos[0], URLModifier: mod})
	if err != nil {
		return fmt.Errorf("save format %q: %w", pos[0], err)
	}
	fmt.Fprintln(stdout, f.Handle)
	return nil
}

// adminICCAdd registers an ICC profile for icc=NAME: a copy under
// DATA/icc/NAME.icc, read by every process that renders at start.
func adminICCAdd(g *globals, args []string, stdout, stderr io.Writer) error {
	fs := subFlags("admin icc add", g, stderr)
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 2 {
		return fmt.Errorf("%w: admin icc add NAME FILE", errUsage)
	}
	name, file := pos[0], pos[1]
	if !validProfileName(name) {
		return fmt.Errorf("%w: icc profile name %q: use letters, digits, '-', '_' and '.'", errUsage, name)
	}
	data, err := os.ReadFile(file)
	if err != nil {
		return fmt.Errorf("icc profile %s: %w", name, err)
	}
	// Every ICC profile has the signature "acsp" at byte 36 of its header.
	if len(data) < 128 || string(data[36:40]) != "acsp" {
		return fmt.Errorf("icc profile %s: %s is not an ICC profile", name, file)
	}
	dir := filepath.Join(g.dataDir, "icc")
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return fmt.Errorf("icc profile %s: %w", name, err)
	}
	tmp, err := os.CreateTemp(dir, ".tmp-*")
	if err != nil {
		return fmt.Errorf("icc profile %s: %w", name, err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("icc profile %s: %w", name, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("icc profile %s: %w", name, err)
	}
	dest := filepath.Join(dir, name+".icc")
	if err := os.Rename(tmp.Name(), dest); err != nil {
		return fmt.Errorf("icc profile %s: %w", name, err)
	}
	fmt.Fprintf(stdout, "%s\t%s\n", name, dest)
	return nil
}

func validProfileName(s string) bool {
	if s == "" || s == "." || s == ".." || len(s) > 100 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.') {
			return false
		}
	}
	return true
}

// adminCatalogCopy copies the whole catalogue (and the originals, when the
// destination keeps its files elsewhere) into another, empty store: the
// move from the embedded database to PostgreSQL. It prints one line per
// object, kind<TAB>old handle<TAB>new handle, for integrations that kept
// handles.
func adminCatalogCopy(ctx context.Context, g *globals, args []string, stdout, stderr io.Writer) error {
	fs := subFlags("admin catalog copy", g, stderr)
	toDatabase := fs.String("to-database", "", "destination PostgreSQL URL (empty: SQLite under --to-data)")
	toData := fs.String("to-data", "", "destination data directory (default: the source's, so files are shared)")
	if _, err := parseInterspersed(fs, args); err != nil {
		return err
	}
	if *toDatabase == "" && *toData == "" {
		return fmt.Errorf("%w: admin catalog copy --to-database URL [--to-data DIR]", errUsage)
	}
	if *toData == "" {
		*toData = g.dataDir
	}
	if *toDatabase == g.databaseURL && *toData == g.dataDir {
		return fmt.Errorf("%w: the destination is the source", errUsage)
	}
	src, err := openStore(ctx, g)
	if err != nil {
		return err
	}
	defer src.Close()
	srcFiles, err := openBlob(g)
	if err != nil {
		return err
	}
	dst, err := app.OpenStore(ctx, *toDatabase, *toData)
	if err != nil {
		return err
	}
	defer dst.Close()
	if cos, err := dst.ListCompanies(ctx); err != nil {
		return err
	} else if len(cos) > 0 {
		return fmt.Errorf("the destination already has companies: copy into an empty store")
	}
	dstFiles, err := blob.NewLocal(filepath.Join(*toData, "files"))
	if err != nil {
		return err
	}
	return catalog.Copy(ctx, catalog.Place{Store: src, Blob: srcFiles}, catalog.Place{Store: dst, Blob: dstFiles},
		func(kind, from, to string) { fmt.Fprintf(stdout, "%s\t%s\t%s\n", kind, from, to) })
}
