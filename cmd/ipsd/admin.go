package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/ipsexport/ipsd/internal/app"
	"github.com/ipsexport/ipsd/internal/blob"
	"github.com/ipsexport/ipsd/internal/blob/blobopen"
	"github.com/ipsexport/ipsd/internal/catalog"
	"github.com/ipsexport/ipsd/internal/iccprofile"
	"github.com/ipsexport/ipsd/internal/service"
	"github.com/ipsexport/ipsd/internal/store"
	"github.com/ipsexport/ipsd/internal/store/storeopen"
)

// setTypes are the asset types `admin set add` creates (docs/exports.md, "Validation").
var setTypes = []string{"ImageSet", "RenderSet", "SpinSet", "AssetSet", "Catalog"}

// openStore opens the configured store and brings it to the current
// version (River's tables included).
func (c *cli) openStore(ctx context.Context) (store.Store, error) {
	return app.OpenStore(ctx, c.g.databaseURL, c.g.dataDir)
}

func cmdMigrate(ctx context.Context, c *cli, args []string) error {
	fs := c.newFlags()
	storage := addStorageFlags(fs)
	if _, err := fs.parse(args, false); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef(c.cmd.path, "migrate takes no arguments, got %q", fs.Arg(0))
	}
	files, err := storage.config(c.cmd.path, c.g.dataDir)
	if err != nil {
		return err
	}
	st, err := c.openStore(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	created, err := blobopen.EnsureBucket(ctx, files)
	if err != nil {
		return err
	}
	if created {
		fmt.Fprintf(c.stdout, "created bucket %s\n", files)
	}
	fmt.Fprintln(c.stdout, "migrated")
	return nil
}

// oneCompanyName reads a command's one positional company NAME.
func (c *cli) oneCompanyName(args []string) (string, error) {
	pos, err := c.newFlags().parse(args, true)
	if err != nil {
		return "", err
	}
	if len(pos) != 1 || strings.TrimSpace(pos[0]) == "" {
		return "", usagef(c.cmd.path, "one company NAME, please")
	}
	return strings.TrimSpace(pos[0]), nil
}

// companyNamed is the company a command names, its name quoted in the
// error when there is none.
func companyNamed(ctx context.Context, st store.Store, name string) (store.Company, error) {
	co, err := st.CompanyByName(ctx, name)
	if err != nil {
		return store.Company{}, fmt.Errorf("company %q: %w", name, err)
	}
	return co, nil
}

// printDefaults writes a company's default request attributes, a name and
// a value a line.
func printDefaults(w io.Writer, d store.CompanyDefaults) {
	for _, l := range catalog.DefaultsLines(d) {
		fmt.Fprintf(w, "%s\t%s\n", l[0], l[1])
	}
}

func adminCompanyAdd(ctx context.Context, c *cli, args []string) error {
	name, err := c.oneCompanyName(args)
	if err != nil {
		return err
	}
	st, err := c.openStore(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	co, err := st.CreateCompany(ctx, name)
	if err != nil {
		return fmt.Errorf("add company %q: %w", name, err)
	}
	fmt.Fprintln(c.stdout, co.Handle)
	return nil
}

// adminCompanySetDefaults changes a company's Image Serving default
// request attributes; the flags not given keep their value.
func adminCompanySetDefaults(ctx context.Context, c *cli, args []string) error {
	fs := c.newFlags()
	companyName := fs.String("company", "", "company `NAME`")
	flags := []struct{ name, usage string }{
		{"jpeg-quality", "qlt=`Q[,CHROMA]` when a request gives none (JpegQuality; server: 80)"},
		{"background", "bgc=`COLOR` when a request gives none, e.g. ffffff (BkgColor; server: FFFFFF)"},
		{"resample", "resMode=`MODE` when a request gives none: bilin, bicub, sharp2 or bisharp (ResMode; server: sharp2)"},
		{"icc-rgb", "profile `NAME` for RGB replies without icc= (IccProfileRgb; server: sRGB)"},
		{"icc-cmyk", "profile `NAME` for CMYK replies without icc= (IccProfileCmyk; server: libvips' built-in CMYK)"},
		{"default-pix", "`W,H` bound: replies without wid=, hei= or scl= are scaled down to fit inside; 0 leaves a side free (DefaultPix; server: none)"},
	}
	vals := map[string]*string{}
	for _, f := range flags {
		vals[f.name] = fs.String(f.name, "", f.usage+"; \"\" restores the server's")
	}
	pos, err := fs.parse(args, true)
	if err != nil {
		return err
	}
	if *companyName == "" || len(pos) != 0 {
		return usagef(c.cmd.path, "--company and at least one default are needed, and nothing else")
	}
	given := map[string]*string{}
	fs.Visit(func(f *flag.Flag) {
		if v, ok := vals[f.Name]; ok {
			given[f.Name] = v
		}
	})
	if len(given) == 0 {
		return usagef(c.cmd.path, "no default given: --jpeg-quality, --background, --resample, --icc-rgb, --icc-cmyk or --default-pix")
	}
	st, err := c.openStore(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	co, err := companyNamed(ctx, st, *companyName)
	if err != nil {
		return err
	}
	d, err := catalog.SetCompanyDefaults(ctx, st, co.Handle, catalog.DefaultsChange{
		JpegQuality: given["jpeg-quality"], BkgColor: given["background"], ResMode: given["resample"],
		IccProfileRgb: given["icc-rgb"], IccProfileCmyk: given["icc-cmyk"], DefaultPix: given["default-pix"],
	})
	if err != nil {
		return fmt.Errorf("company %s: %w", co.Name, err)
	}
	printDefaults(c.stdout, d)
	return nil
}

// adminCompanyShow prints a company's handle and default request
// attributes.
func adminCompanyShow(ctx context.Context, c *cli, args []string) error {
	name, err := c.oneCompanyName(args)
	if err != nil {
		return err
	}
	st, err := c.openStore(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	co, err := companyNamed(ctx, st, name)
	if err != nil {
		return err
	}
	d, err := st.CompanyDefaults(ctx, co.Handle)
	if err != nil {
		return fmt.Errorf("company %s: %w", co.Name, err)
	}
	fmt.Fprintf(c.stdout, "companyHandle\t%s\nname\t%s\n", co.Handle, co.Name)
	printDefaults(c.stdout, d)
	return nil
}

type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

func adminUserAdd(ctx context.Context, c *cli, args []string) error {
	fs := c.newFlags()
	email := fs.String("email", "", "e-mail `ADDRESS`, the login")
	password := fs.String("password", "", "`PASSWORD`")
	role := fs.String("role", store.RoleIpsUser, "`ROLE`: "+strings.Join(store.Roles, ", "))
	first := fs.String("first-name", "", "first `NAME`")
	last := fs.String("last-name", "", "last `NAME`")
	var companies multiFlag
	fs.Var(&companies, "company", "company `NAME` to make the user a member of (repeatable)")
	pos, err := fs.parse(args, true)
	if err != nil {
		return err
	}
	if len(pos) != 0 || *email == "" || *password == "" {
		return usagef(c.cmd.path, "--email and --password are needed, and nothing else")
	}
	if !slices.Contains(store.Roles, *role) {
		return usagef(c.cmd.path, "unknown role %q (one of %s)", *role, strings.Join(store.Roles, ", "))
	}
	st, err := c.openStore(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	var cos []store.Company
	for _, name := range companies {
		co, err := companyNamed(ctx, st, name)
		if err != nil {
			return err
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
	fmt.Fprintln(c.stdout, u.Handle)
	return nil
}

func adminAssetImport(ctx context.Context, c *cli, args []string) error {
	fs := c.newFlags()
	companyName := fs.String("company", "", "company `NAME`")
	folder := fs.String("folder", "", "folder `PATH` inside the company (made when missing)")
	overwrite := fs.Bool("overwrite", false, "give an asset of the same file name in the folder the new file, as UploadFile's overwrite does")
	storage := addStorageFlags(fs)
	files, err := fs.parse(args, true)
	if err != nil {
		return err
	}
	if *companyName == "" || len(files) == 0 {
		return usagef(c.cmd.path, "--company and at least one FILE are needed")
	}
	where, err := storage.config(c.cmd.path, c.g.dataDir)
	if err != nil {
		return err
	}
	st, err := c.openStore(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	co, err := companyNamed(ctx, st, *companyName)
	if err != nil {
		return err
	}
	bl, err := blobopen.Open(ctx, where)
	if err != nil {
		return err
	}
	im := &catalog.Importer{Store: st, Blob: bl}
	refused := 0
	for _, name := range files {
		a, err := importFile(ctx, im, co, *folder, name, *overwrite)
		if errors.Is(err, errExists) {
			fmt.Fprintf(c.stderr, "ipsd: %v\n", err)
			refused++
			continue
		}
		if err != nil {
			return err
		}
		fmt.Fprintf(c.stdout, "%s\t%s\t%s\n", a.Handle, a.Name, a.Type)
	}
	if refused > 0 {
		return fmt.Errorf("%d of %d files not imported: their names are taken (--overwrite replaces)", refused, len(files))
	}
	return nil
}

// errExists marks a file refused because its name is taken.
var errExists = errors.New("name taken")

// importFile imports one file, or with overwrite gives the asset of its
// name in the folder the new file (and removes others of that name).
func importFile(ctx context.Context, im *catalog.Importer, co store.Company, folder, name string, overwrite bool) (store.Asset, error) {
	base := filepath.Base(name)
	existing, err := im.SameName(ctx, co, folder, base)
	if err != nil {
		return store.Asset{}, fmt.Errorf("%s not imported: %w", name, err)
	}
	if len(existing) > 0 && !overwrite {
		return store.Asset{}, fmt.Errorf("%s not imported: asset %s has this name in folder %q: %w",
			name, existing[0].Handle, "/"+strings.Trim(folder, "/"), errExists)
	}
	f, err := os.Open(name)
	if err != nil {
		return store.Asset{}, err
	}
	defer f.Close()
	file := catalog.File{CompanyHandle: co.Handle, FolderPath: folder, FileName: base, Body: f}
	if len(existing) == 0 {
		return im.Import(ctx, file)
	}
	a, err := im.Replace(ctx, existing[0].Handle, file)
	if err != nil {
		return store.Asset{}, err
	}
	for _, dup := range existing[1:] {
		if err := im.Remove(ctx, co.Handle, dup); err != nil {
			return store.Asset{}, err
		}
	}
	return a, nil
}

func adminSetAdd(ctx context.Context, c *cli, args []string) error {
	fs := c.newFlags()
	companyName := fs.String("company", "", "company `NAME`")
	typ := fs.String("type", "", "set `TYPE`: "+strings.Join(setTypes, ", "))
	subType := fs.String("subtype", "", "`SUBTYPE`, e.g. MediaSet, VideoSet, MultiBitrateSet, OfferSet for AssetSet")
	name := fs.String("name", "", "set `NAME`")
	folder := fs.String("folder", "", "folder `PATH` inside the company")
	members, err := fs.parse(args, true)
	if err != nil {
		return err
	}
	if *companyName == "" || *typ == "" || *name == "" {
		return usagef(c.cmd.path, "--company, --type and --name are needed")
	}
	if !slices.Contains(setTypes, *typ) {
		return usagef(c.cmd.path, "unknown set type %q (one of %s)", *typ, strings.Join(setTypes, ", "))
	}
	st, err := c.openStore(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	co, err := companyNamed(ctx, st, *companyName)
	if err != nil {
		return err
	}
	handles, err := resolveMembers(ctx, st, co, members)
	if err != nil {
		return err
	}
	f, err := st.EnsureFolder(ctx, co.Handle, strings.Trim(*folder, "/"))
	if err != nil {
		return err
	}
	a, err := st.CreateAsset(ctx, store.NewAsset{
		CompanyHandle: co.Handle, FolderHandle: f.Handle, Name: *name, FileName: *name,
		Type: *typ, SubType: *subType, Members: handles,
	})
	if err != nil {
		return fmt.Errorf("add set %q: %w", *name, err)
	}
	fmt.Fprintln(c.stdout, a.Handle)
	return nil
}

// resolveMembers turns each member, a handle or an asset's name, into a
// handle, in order. A name that several assets have is refused, listing
// them, so that a set never holds a guess.
func resolveMembers(ctx context.Context, st store.Store, co store.Company, members []string) ([]string, error) {
	found, err := st.AssetsByHandles(ctx, co.Handle, members)
	if err != nil {
		return nil, err
	}
	byHandle := map[string]bool{}
	for _, a := range found {
		byHandle[a.Handle] = true
	}
	var names []string
	for _, m := range members {
		if !byHandle[m] {
			names = append(names, m)
		}
	}
	byName := map[string][]store.Asset{}
	if len(names) > 0 {
		named, err := st.AssetsByNames(ctx, co.Handle, names, nil)
		if err != nil {
			return nil, err
		}
		for _, a := range named {
			byName[a.Name] = append(byName[a.Name], a)
		}
	}
	out := make([]string, 0, len(members))
	for _, m := range members {
		if byHandle[m] {
			out = append(out, m)
			continue
		}
		switch as := byName[m]; len(as) {
		case 0:
			return nil, fmt.Errorf("member %q is neither the handle nor the name of an asset of %s", m, co.Name)
		case 1:
			out = append(out, as[0].Handle)
		default:
			var list []string
			for _, a := range as {
				list = append(list, fmt.Sprintf("%s (%s%s)", a.Handle, a.FolderPath, a.FileName))
			}
			return nil, fmt.Errorf("member %q names %d assets of %s: %s; give the handle", m, len(as), co.Name, strings.Join(list, ", "))
		}
	}
	return out, nil
}

func adminFormatSet(ctx context.Context, c *cli, args []string) error {
	fs := c.newFlags()
	companyName := fs.String("company", "", "company `NAME`")
	pos, err := fs.parse(args, true)
	if err != nil {
		return err
	}
	if *companyName == "" || len(pos) != 2 {
		return usagef(c.cmd.path, "--company, a format NAME and its URLMODIFIER are needed")
	}
	st, err := c.openStore(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	co, err := companyNamed(ctx, st, *companyName)
	if err != nil {
		return err
	}
	mod, err := service.CleanURLModifier(ctx, st, co.Handle, pos[0], pos[1])
	if err != nil {
		return fmt.Errorf("format %q: %w", pos[0], err)
	}
	f, err := st.SaveImageFormat(ctx, store.ImageFormat{CompanyHandle: co.Handle, Name: pos[0], URLModifier: mod})
	if err != nil {
		return fmt.Errorf("save format %q: %w", pos[0], err)
	}
	fmt.Fprintln(c.stdout, f.Handle)
	return nil
}

// adminICCAdd registers an ICC profile for icc=NAME where every process
// that renders finds it at start (package iccprofile).
func adminICCAdd(ctx context.Context, c *cli, args []string) error {
	fs := c.newFlags()
	storage := addStorageFlags(fs)
	pos, err := fs.parse(args, true)
	if err != nil {
		return err
	}
	if len(pos) != 2 {
		return usagef(c.cmd.path, "a profile NAME and a FILE are needed")
	}
	name, file := pos[0], pos[1]
	if err := iccprofile.ValidName(name); err != nil {
		return usagef(c.cmd.path, "%v", err)
	}
	where, err := storage.config(c.cmd.path, c.g.dataDir)
	if err != nil {
		return err
	}
	data, err := os.ReadFile(file)
	if err != nil {
		return fmt.Errorf("icc profile %s: %w", name, err)
	}
	if err := iccprofile.Check(data); err != nil {
		return fmt.Errorf("icc profile %s: %s: %w", name, file, err)
	}
	var shared blob.Store
	if where.S3 != nil {
		if shared, err = blobopen.Open(ctx, where); err != nil {
			return err
		}
	}
	dest, err := iccprofile.Add(ctx, c.g.dataDir, shared, name, data)
	if err != nil {
		return err
	}
	if shared != nil {
		dest = fmt.Sprintf("%s in %s", dest, where)
	}
	fmt.Fprintf(c.stdout, "%s\t%s\n", name, dest)
	return nil
}

// adminCatalogCopy copies the whole catalogue (and the originals, when the
// destination keeps its files elsewhere) into another, empty store: the
// move from the embedded database to PostgreSQL (and S3). It prints one
// line per object, kind<TAB>old handle<TAB>new handle, for integrations
// that kept handles, and a summary on stderr.
func adminCatalogCopy(ctx context.Context, c *cli, args []string) error {
	fs := c.newFlags()
	toDatabase := fs.String("to-database", "", "destination PostgreSQL `URL` (empty: SQLite under --to-data)")
	toData := fs.String("to-data", "", "destination data `DIR` (default: the source's; its files/ unless S3 is set)")
	storage := addStorageFlags(fs)
	if _, err := fs.parse(args, true); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef(c.cmd.path, "catalog copy takes no arguments, got %q", fs.Arg(0))
	}
	if *toDatabase == "" && *toData == "" {
		return usagef(c.cmd.path, "name the destination: --to-database URL, or --to-data DIR for SQLite")
	}
	if *toData == "" {
		*toData = c.g.dataDir
	}
	dstFilesAt, err := storage.config(c.cmd.path, *toData)
	if err != nil {
		return err
	}
	from := storeopen.Where(c.g.databaseURL, c.g.dataDir)
	to := storeopen.Where(*toDatabase, *toData)
	if from == to {
		hint := ""
		if os.Getenv("IPSD_DATABASE_URL") != "" && storeopen.IsPostgres(c.g.databaseURL) {
			hint = ": IPSD_DATABASE_URL is set, so the source is PostgreSQL too; to copy the embedded database, add --database ''"
		}
		return usagef(c.cmd.path, "the destination is the source (%s)%s", from, hint)
	}
	src, err := c.openStore(ctx)
	if err != nil {
		return err
	}
	defer src.Close()
	users, err := src.ListUsers(ctx)
	if err != nil {
		return err
	}
	cos, err := src.ListCompanies(ctx)
	if err != nil {
		return err
	}
	if len(cos) == 0 && len(users) == 0 {
		return fmt.Errorf("the source (%s) holds no companies and no users: nothing to copy; the source is chosen by --data and --database (IPSD_DATA, IPSD_DATABASE_URL)", from)
	}
	srcFilesAt := blobopen.Config{DataDir: c.g.dataDir}
	srcFiles, err := blobopen.Open(ctx, srcFilesAt)
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
		return fmt.Errorf("the destination (%s) already has companies: copy into an empty store", to)
	}
	dstFiles, err := blobopen.Open(ctx, dstFilesAt)
	if err != nil {
		return err
	}
	counts := map[string]int{}
	err = catalog.Copy(ctx, catalog.Place{Store: src, Blob: srcFiles}, catalog.Place{Store: dst, Blob: dstFiles},
		func(kind, from, to string) {
			counts[kind]++
			fmt.Fprintf(c.stdout, "%s\t%s\t%s\n", kind, from, to)
		})
	if err != nil {
		return err
	}
	files := "files kept in place"
	if srcFilesAt.String() != dstFilesAt.String() {
		files = fmt.Sprintf("files from %s into %s", srcFilesAt, dstFilesAt)
	}
	fmt.Fprintf(c.stderr, "copied %d users, %d companies, %d folders, %d assets and %d image formats from %s to %s; %s\n",
		counts["user"], counts["company"], counts["folder"], counts["asset"], counts["format"], from, to, files)
	return nil
}
