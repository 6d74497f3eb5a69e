package sqlstore

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/ipsexport/ipsd/internal/store"
)

// base is what Catalog and Jobs share: the database, its dialect, and the
// helpers that speak it. Writes and transactions go to db; plain reads to
// rdb, which is db itself on PostgreSQL and a pool of read-only
// connections on SQLite, so that a long write (a 10,000-asset submit)
// holds up no reader.
type base struct {
	db  *sql.DB
	rdb *sql.DB
	d   Dialect
}

// Catalog implements store.Catalog over database/sql.
type Catalog struct{ base }

// New returns a Catalog that writes on db and reads on rdb (which may be
// db), both holding the migrated schema.
func New(db, rdb *sql.DB, d Dialect) *Catalog { return &Catalog{base{db: db, rdb: rdb, d: d}} }

var _ store.Catalog = (*Catalog)(nil)

// querier is what both *sql.DB and *sql.Tx offer.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

func (c *base) exec(ctx context.Context, q querier, query string, args ...any) (sql.Result, error) {
	return q.ExecContext(ctx, c.d.Rebind(query), args...)
}

func (c *base) query(ctx context.Context, q querier, query string, args ...any) (*sql.Rows, error) {
	return q.QueryContext(ctx, c.d.Rebind(query), args...)
}

func (c *base) queryRow(ctx context.Context, q querier, query string, args ...any) *sql.Row {
	return q.QueryRowContext(ctx, c.d.Rebind(query), args...)
}

// inTx runs fn in a transaction, committed when fn returns nil.
func (c *base) inTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := c.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// now is the timestamp of a new row: UTC, at the microsecond precision
// both databases keep, so what is returned equals what is read back.
func now() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }

func notFound(what, key string) error {
	return fmt.Errorf("%s %q: %w", what, key, store.ErrNotFound)
}

// ---- companies ----

const companyCols = `id, name, created`

func scanCompany(sc interface{ Scan(...any) error }) (store.Company, error) {
	var (
		id   int64
		co   store.Company
		name string
	)
	if err := sc.Scan(&id, &name, Time{&co.Created}); err != nil {
		return store.Company{}, err
	}
	co.Handle, co.Name, co.RootPath = companyHandle(id), name, name+"/"
	return co, nil
}

// CreateCompany creates a company and its root folder.
func (c *Catalog) CreateCompany(ctx context.Context, name string) (store.Company, error) {
	name = strings.TrimSpace(name)
	if name == "" {
		return store.Company{}, errors.New("create company: empty name")
	}
	if strings.Contains(name, "/") {
		// The name is the first segment of every folder path.
		return store.Company{}, fmt.Errorf("create company %q: name must not contain '/'", name)
	}
	created := now()
	var id int64
	err := c.inTx(ctx, func(tx *sql.Tx) error {
		err := c.queryRow(ctx, tx, `INSERT INTO companies (name, name_key, created) VALUES (?, ?, ?) RETURNING id`,
			name, fold(name), c.d.TimeArg(created)).Scan(&id)
		if err != nil {
			return err
		}
		_, err = c.exec(ctx, tx, `INSERT INTO folders (company_id, parent_id, path, created) VALUES (?, NULL, ?, ?)`,
			id, name+"/", c.d.TimeArg(created))
		return err
	})
	if c.d.IsUniqueViolation(err) {
		return store.Company{}, fmt.Errorf("create company %q: %w", name, store.ErrConflict)
	}
	if err != nil {
		return store.Company{}, fmt.Errorf("create company %q: %w", name, err)
	}
	return store.Company{Handle: companyHandle(id), Name: name, RootPath: name + "/", Created: created}, nil
}

// CompanyByHandle finds a company by handle.
func (c *Catalog) CompanyByHandle(ctx context.Context, handle string) (store.Company, error) {
	id, ok := parseCompany(handle)
	if !ok {
		return store.Company{}, notFound("company", handle)
	}
	co, err := scanCompany(c.queryRow(ctx, c.rdb, `SELECT `+companyCols+` FROM companies WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return store.Company{}, notFound("company", handle)
	}
	if err != nil {
		return store.Company{}, fmt.Errorf("company %q: %w", handle, err)
	}
	return co, nil
}

// CompanyByName finds a company by name, case-insensitively.
func (c *Catalog) CompanyByName(ctx context.Context, name string) (store.Company, error) {
	co, err := scanCompany(c.queryRow(ctx, c.rdb, `SELECT `+companyCols+` FROM companies WHERE name_key = ?`,
		fold(strings.TrimSpace(name))))
	if errors.Is(err, sql.ErrNoRows) {
		return store.Company{}, notFound("company", name)
	}
	if err != nil {
		return store.Company{}, fmt.Errorf("company %q: %w", name, err)
	}
	return co, nil
}

// ListCompanies lists every company by name.
func (c *Catalog) ListCompanies(ctx context.Context) ([]store.Company, error) {
	return c.companies(ctx, `SELECT `+companyCols+` FROM companies ORDER BY name_key, id`)
}

func (c *Catalog) companies(ctx context.Context, query string, args ...any) ([]store.Company, error) {
	rows, err := c.query(ctx, c.rdb, query, args...)
	if err != nil {
		return nil, fmt.Errorf("list companies: %w", err)
	}
	defer rows.Close()
	out := []store.Company{}
	for rows.Next() {
		co, err := scanCompany(rows)
		if err != nil {
			return nil, fmt.Errorf("list companies: %w", err)
		}
		out = append(out, co)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list companies: %w", err)
	}
	return out, nil
}

const companyDefaultsCols = `jpeg_quality, bkg_color, res_mode, icc_profile_rgb, icc_profile_cmyk, default_pix`

// CompanyDefaults reads a company's default request attributes.
func (c *Catalog) CompanyDefaults(ctx context.Context, companyHandle string) (store.CompanyDefaults, error) {
	id, ok := parseCompany(companyHandle)
	if !ok {
		return store.CompanyDefaults{}, notFound("company", companyHandle)
	}
	var d store.CompanyDefaults
	err := c.queryRow(ctx, c.rdb, `SELECT `+companyDefaultsCols+` FROM companies WHERE id = ?`, id).
		Scan(&d.JpegQuality, &d.BkgColor, &d.ResMode, &d.IccProfileRgb, &d.IccProfileCmyk, &d.DefaultPix)
	if errors.Is(err, sql.ErrNoRows) {
		return store.CompanyDefaults{}, notFound("company", companyHandle)
	}
	if err != nil {
		return store.CompanyDefaults{}, fmt.Errorf("defaults of company %q: %w", companyHandle, err)
	}
	return d, nil
}

// SetCompanyDefaults replaces a company's default request attributes.
func (c *Catalog) SetCompanyDefaults(ctx context.Context, companyHandle string, d store.CompanyDefaults) error {
	id, ok := parseCompany(companyHandle)
	if !ok {
		return notFound("company", companyHandle)
	}
	res, err := c.exec(ctx, c.db, `UPDATE companies SET jpeg_quality = ?, bkg_color = ?, res_mode = ?,
		icc_profile_rgb = ?, icc_profile_cmyk = ?, default_pix = ? WHERE id = ?`,
		d.JpegQuality, d.BkgColor, d.ResMode, d.IccProfileRgb, d.IccProfileCmyk, d.DefaultPix, id)
	if err != nil {
		return fmt.Errorf("set defaults of company %q: %w", companyHandle, err)
	}
	return affected(res, "company", companyHandle)
}

// companyID resolves a company handle to an existing company's id and name.
func (c *base) companyID(ctx context.Context, q querier, handle string) (int64, string, error) {
	id, ok := parseCompany(handle)
	if !ok {
		return 0, "", notFound("company", handle)
	}
	var name string
	err := c.queryRow(ctx, q, `SELECT name FROM companies WHERE id = ?`, id).Scan(&name)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, "", notFound("company", handle)
	}
	if err != nil {
		return 0, "", fmt.Errorf("company %q: %w", handle, err)
	}
	return id, name, nil
}

// ---- users ----

const userCols = `id, email, first_name, last_name, role, password_hash, created`

func scanUser(sc interface{ Scan(...any) error }) (store.User, error) {
	var (
		id int64
		u  store.User
	)
	if err := sc.Scan(&id, &u.Email, &u.FirstName, &u.LastName, &u.Role, &u.PasswordHash, Time{&u.Created}); err != nil {
		return store.User{}, err
	}
	u.Handle = userHandle(id)
	return u, nil
}

// CreateUser creates a user; the email is unique case-insensitively.
func (c *Catalog) CreateUser(ctx context.Context, nu store.NewUser) (store.User, error) {
	email := strings.TrimSpace(nu.Email)
	if email == "" {
		return store.User{}, errors.New("create user: empty email")
	}
	if !slices.Contains(store.Roles, nu.Role) {
		return store.User{}, fmt.Errorf("create user %q: unknown role %q", email, nu.Role)
	}
	u := store.User{
		Email: email, FirstName: nu.FirstName, LastName: nu.LastName,
		Role: nu.Role, PasswordHash: nu.PasswordHash, Created: now(),
	}
	var id int64
	err := c.queryRow(ctx, c.db, `INSERT INTO users (email, email_key, first_name, last_name, role, password_hash, created)
		VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id`,
		u.Email, store.EmailKey(email), u.FirstName, u.LastName, u.Role, u.PasswordHash, c.d.TimeArg(u.Created)).Scan(&id)
	if c.d.IsUniqueViolation(err) {
		return store.User{}, fmt.Errorf("create user %q: %w", email, store.ErrConflict)
	}
	if err != nil {
		return store.User{}, fmt.Errorf("create user %q: %w", email, err)
	}
	u.Handle = userHandle(id)
	return u, nil
}

// UserByEmail finds a user by email, case-insensitively.
func (c *Catalog) UserByEmail(ctx context.Context, email string) (store.User, error) {
	u, err := scanUser(c.queryRow(ctx, c.rdb, `SELECT `+userCols+` FROM users WHERE email_key = ?`,
		store.EmailKey(email)))
	if errors.Is(err, sql.ErrNoRows) {
		return store.User{}, notFound("user", email)
	}
	if err != nil {
		return store.User{}, fmt.Errorf("user %q: %w", email, err)
	}
	return u, nil
}

// ListUsers lists every user, oldest first.
func (c *Catalog) ListUsers(ctx context.Context) ([]store.User, error) {
	rows, err := c.rdb.QueryContext(ctx, c.d.Rebind(`SELECT `+userCols+` FROM users ORDER BY id`))
	if err != nil {
		return nil, fmt.Errorf("list users: %w", err)
	}
	defer rows.Close()
	var out []store.User
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, fmt.Errorf("list users: %w", err)
		}
		out = append(out, u)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list users: %w", err)
	}
	return out, nil
}

// UserByHandle finds a user by handle.
func (c *Catalog) UserByHandle(ctx context.Context, handle string) (store.User, error) {
	id, ok := parseUser(handle)
	if !ok {
		return store.User{}, notFound("user", handle)
	}
	u, err := scanUser(c.queryRow(ctx, c.rdb, `SELECT `+userCols+` FROM users WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return store.User{}, notFound("user", handle)
	}
	if err != nil {
		return store.User{}, fmt.Errorf("user %q: %w", handle, err)
	}
	return u, nil
}

// SetPasswordHash replaces a user's password hash.
func (c *Catalog) SetPasswordHash(ctx context.Context, userHandle, hash string) error {
	id, ok := parseUser(userHandle)
	if !ok {
		return notFound("user", userHandle)
	}
	res, err := c.exec(ctx, c.db, `UPDATE users SET password_hash = ? WHERE id = ?`, hash, id)
	if err != nil {
		return fmt.Errorf("set password of %q: %w", userHandle, err)
	}
	return affected(res, "user", userHandle)
}

func affected(res sql.Result, what, key string) error {
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("%s %q: %w", what, key, err)
	}
	if n == 0 {
		return notFound(what, key)
	}
	return nil
}

func (c *Catalog) userExists(ctx context.Context, q querier, handle string) (int64, error) {
	id, ok := parseUser(handle)
	if !ok {
		return 0, notFound("user", handle)
	}
	var n int
	if err := c.queryRow(ctx, q, `SELECT COUNT(*) FROM users WHERE id = ?`, id).Scan(&n); err != nil {
		return 0, fmt.Errorf("user %q: %w", handle, err)
	}
	if n == 0 {
		return 0, notFound("user", handle)
	}
	return id, nil
}

// AddMembership makes a user a member of a company; adding twice is fine.
func (c *Catalog) AddMembership(ctx context.Context, userHandle, companyHandle string) error {
	return c.inTx(ctx, func(tx *sql.Tx) error {
		uid, err := c.userExists(ctx, tx, userHandle)
		if err != nil {
			return err
		}
		cid, _, err := c.companyID(ctx, tx, companyHandle)
		if err != nil {
			return err
		}
		_, err = c.exec(ctx, tx, `INSERT INTO memberships (user_id, company_id, created) VALUES (?, ?, ?)
			ON CONFLICT (user_id, company_id) DO NOTHING`, uid, cid, c.d.TimeArg(now()))
		if err != nil {
			return fmt.Errorf("add %q to %q: %w", userHandle, companyHandle, err)
		}
		return nil
	})
}

// UserCompanies lists the companies a user is a member of, by name.
func (c *Catalog) UserCompanies(ctx context.Context, userHandle string) ([]store.Company, error) {
	uid, err := c.userExists(ctx, c.rdb, userHandle)
	if err != nil {
		return nil, err
	}
	return c.companies(ctx, `SELECT c.id, c.name, c.created FROM companies c
		JOIN memberships m ON m.company_id = c.id WHERE m.user_id = ? ORDER BY c.name_key, c.id`, uid)
}

// IsMember reports whether a user is a member of a company. Unknown or
// malformed handles are simply not members: callers check access with it,
// and a made-up company handle must be refused, not answered with an error.
func (c *Catalog) IsMember(ctx context.Context, userHandle, companyHandle string) (bool, error) {
	uid, ok := parseUser(userHandle)
	if !ok {
		return false, nil
	}
	cid, ok := parseCompany(companyHandle)
	if !ok {
		return false, nil
	}
	var n int
	err := c.queryRow(ctx, c.rdb, `SELECT COUNT(*) FROM memberships WHERE user_id = ? AND company_id = ?`, uid, cid).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("membership of %q in %q: %w", userHandle, companyHandle, err)
	}
	return n > 0, nil
}

// ---- folders ----

const folderCols = `id, parent_id, path, created`

func scanFolder(sc interface{ Scan(...any) error }, companyID int64) (store.Folder, error) {
	var (
		id     int64
		parent sql.NullInt64
		f      store.Folder
	)
	if err := sc.Scan(&id, &parent, &f.Path, Time{&f.Created}); err != nil {
		return store.Folder{}, err
	}
	f.Handle, f.CompanyHandle = folderHandle(companyID, id), companyHandle(companyID)
	if parent.Valid {
		f.ParentHandle = folderHandle(companyID, parent.Int64)
	}
	return f, nil
}

// folderSegments splits a folder path relative to the company root.
// Empty segments ("a//b", "/a/") are dropped; "." and ".." are refused
// because folder paths become paths in export archives.
func folderSegments(path string) ([]string, error) {
	var segs []string
	for s := range strings.SplitSeq(path, "/") {
		switch s {
		case "":
			continue
		case ".", "..":
			return nil, fmt.Errorf("folder path %q: %q is not a folder name", path, s)
		}
		segs = append(segs, s)
	}
	return segs, nil
}

// EnsureFolder returns the folder at path, creating it and its parents.
func (c *Catalog) EnsureFolder(ctx context.Context, companyHandle, path string) (store.Folder, error) {
	segs, err := folderSegments(path)
	if err != nil {
		return store.Folder{}, err
	}
	cid, name, err := c.companyID(ctx, c.db, companyHandle)
	if err != nil {
		return store.Folder{}, err
	}
	full := name + "/"
	for _, s := range segs {
		full += s + "/"
	}
	// Most calls find the folder already there: no write transaction then.
	f, err := c.folderByPath(ctx, c.db, cid, full)
	if !errors.Is(err, store.ErrNotFound) {
		return f, err
	}
	err = c.inTx(ctx, func(tx *sql.Tx) error {
		path := name + "/"
		id, err := c.ensureFolder(ctx, tx, cid, path, sql.NullInt64{})
		for _, s := range segs {
			if err != nil {
				return err
			}
			path += s + "/"
			id, err = c.ensureFolder(ctx, tx, cid, path, sql.NullInt64{Int64: id, Valid: true})
		}
		if err != nil {
			return err
		}
		f, err = c.folderByPath(ctx, tx, cid, full)
		return err
	})
	if err != nil {
		return store.Folder{}, fmt.Errorf("ensure folder %q: %w", full, err)
	}
	return f, nil
}

// ensureFolder gets or creates one folder and returns its id. ON CONFLICT
// DO NOTHING makes a concurrent creation of the same folder harmless: both
// then read it.
func (c *Catalog) ensureFolder(ctx context.Context, tx *sql.Tx, cid int64, path string, parent sql.NullInt64) (int64, error) {
	_, err := c.exec(ctx, tx, `INSERT INTO folders (company_id, parent_id, path, created) VALUES (?, ?, ?, ?)
		ON CONFLICT (company_id, path) DO NOTHING`, cid, parent, path, c.d.TimeArg(now()))
	if err != nil {
		return 0, err
	}
	var id int64
	if err := c.queryRow(ctx, tx, `SELECT id FROM folders WHERE company_id = ? AND path = ?`, cid, path).Scan(&id); err != nil {
		return 0, fmt.Errorf("folder %q: %w", path, err)
	}
	return id, nil
}

func (c *Catalog) folderByPath(ctx context.Context, q querier, cid int64, path string) (store.Folder, error) {
	f, err := scanFolder(c.queryRow(ctx, q, `SELECT `+folderCols+` FROM folders WHERE company_id = ? AND path = ?`, cid, path), cid)
	if errors.Is(err, sql.ErrNoRows) {
		return store.Folder{}, notFound("folder", path)
	}
	if err != nil {
		return store.Folder{}, fmt.Errorf("folder %q: %w", path, err)
	}
	return f, nil
}

// FolderByHandle finds a folder of the company by handle.
func (c *Catalog) FolderByHandle(ctx context.Context, companyHandle, handle string) (store.Folder, error) {
	cid, ok := parseCompany(companyHandle)
	if !ok {
		return store.Folder{}, notFound("folder", handle)
	}
	id, ok := parseFolder(handle, cid)
	if !ok {
		return store.Folder{}, notFound("folder", handle)
	}
	f, err := scanFolder(c.queryRow(ctx, c.rdb, `SELECT `+folderCols+` FROM folders WHERE company_id = ? AND id = ?`, cid, id), cid)
	if errors.Is(err, sql.ErrNoRows) {
		return store.Folder{}, notFound("folder", handle)
	}
	if err != nil {
		return store.Folder{}, fmt.Errorf("folder %q: %w", handle, err)
	}
	return f, nil
}

// FolderByPath finds a folder by its full path ("Acme/shoes/"); the final
// slash may be left out.
func (c *Catalog) FolderByPath(ctx context.Context, companyHandle, fullPath string) (store.Folder, error) {
	cid, ok := parseCompany(companyHandle)
	if !ok {
		return store.Folder{}, notFound("folder", fullPath)
	}
	if !strings.HasSuffix(fullPath, "/") {
		fullPath += "/"
	}
	return c.folderByPath(ctx, c.rdb, cid, fullPath)
}

// ListFolders lists the company's folders by path (byte order, so a
// folder's subfolders follow it directly).
func (c *Catalog) ListFolders(ctx context.Context, companyHandle string) ([]store.Folder, error) {
	cid, _, err := c.companyID(ctx, c.rdb, companyHandle)
	if err != nil {
		return nil, err
	}
	rows, err := c.query(ctx, c.rdb, `SELECT `+folderCols+` FROM folders WHERE company_id = ? ORDER BY path`, cid)
	if err != nil {
		return nil, fmt.Errorf("list folders of %q: %w", companyHandle, err)
	}
	defer rows.Close()
	out := []store.Folder{}
	for rows.Next() {
		f, err := scanFolder(rows, cid)
		if err != nil {
			return nil, fmt.Errorf("list folders of %q: %w", companyHandle, err)
		}
		out = append(out, f)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list folders of %q: %w", companyHandle, err)
	}
	return out, nil
}

// ---- assets ----

const assetCols = `a.id, a.company_id, a.folder_id, f.path, a.name, a.file_name, a.type, a.sub_type,
	a.size, a.sha256, a.storage_key, a.width, a.height, a.created_by, a.created, a.modified,
	a.url_modifier, a.url_post_modifier`

const assetFrom = ` FROM assets a JOIN folders f ON f.id = a.folder_id`

func scanAsset(sc interface{ Scan(...any) error }, extra ...any) (store.Asset, error) {
	var (
		id, cid, fid int64
		a            store.Asset
	)
	dest := []any{&id, &cid, &fid, &a.FolderPath, &a.Name, &a.FileName, &a.Type, &a.SubType,
		&a.Size, &a.SHA256, &a.StorageKey, &a.Width, &a.Height, &a.CreatedBy, Time{&a.Created}, Time{&a.Modified},
		&a.URLModifier, &a.URLPostApplyModifier}
	if err := sc.Scan(append(dest, extra...)...); err != nil {
		return store.Asset{}, err
	}
	a.Handle, a.CompanyHandle, a.FolderHandle = assetHandle(cid, id), companyHandle(cid), folderHandle(cid, fid)
	return a, nil
}

func (c *Catalog) assets(ctx context.Context, query string, args ...any) ([]store.Asset, error) {
	rows, err := c.query(ctx, c.rdb, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []store.Asset{}
	for rows.Next() {
		a, err := scanAsset(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

// CreateAsset records an asset; for set types, Members are its member
// asset handles in order, all of the same company.
func (c *Catalog) CreateAsset(ctx context.Context, na store.NewAsset) (store.Asset, error) {
	if na.Name == "" {
		return store.Asset{}, errors.New("create asset: empty name")
	}
	if na.Type == "" {
		return store.Asset{}, fmt.Errorf("create asset %q: empty type", na.Name)
	}
	cid, ok := parseCompany(na.CompanyHandle)
	if !ok {
		return store.Asset{}, fmt.Errorf("create asset %q: %w", na.Name, notFound("company", na.CompanyHandle))
	}
	fid, ok := parseFolder(na.FolderHandle, cid)
	if !ok {
		return store.Asset{}, fmt.Errorf("create asset %q: %w", na.Name, notFound("folder", na.FolderHandle))
	}
	members := make([]int64, len(na.Members))
	for i, h := range na.Members {
		if members[i], ok = parseAsset(h, cid); !ok {
			return store.Asset{}, fmt.Errorf("create asset %q: member %w", na.Name, notFound("asset", h))
		}
	}
	t := now()
	a := store.Asset{
		CompanyHandle: companyHandle(cid), FolderHandle: folderHandle(cid, fid),
		Name: na.Name, FileName: na.FileName, Type: na.Type, SubType: na.SubType,
		Size: na.Size, SHA256: na.SHA256, StorageKey: na.StorageKey, Width: na.Width, Height: na.Height,
		CreatedBy: na.CreatedBy, Created: t, Modified: t,
		URLModifier: na.URLModifier, URLPostApplyModifier: na.URLPostApplyModifier,
	}
	err := c.inTx(ctx, func(tx *sql.Tx) error {
		// The folder's company check also proves the company exists.
		f, err := c.folderByID(ctx, tx, cid, fid)
		if err != nil {
			return err
		}
		a.FolderPath = f
		if len(members) > 0 {
			if err := c.checkAssets(ctx, tx, cid, members, na.Members); err != nil {
				return err
			}
		}
		var id int64
		err = c.queryRow(ctx, tx, `INSERT INTO assets (company_id, folder_id, name, name_key, file_name, file_name_key,
			type, sub_type, size, sha256, storage_key, width, height, created_by, created, modified,
			url_modifier, url_post_modifier)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
			cid, fid, a.Name, fold(a.Name), a.FileName, fold(a.FileName), a.Type, a.SubType,
			a.Size, a.SHA256, a.StorageKey, a.Width, a.Height, a.CreatedBy, c.d.TimeArg(t), c.d.TimeArg(t),
			a.URLModifier, a.URLPostApplyModifier).Scan(&id)
		if err != nil {
			return err
		}
		a.Handle = assetHandle(cid, id)
		for i, m := range members {
			if _, err := c.exec(ctx, tx, `INSERT INTO set_members (set_id, position, member_id) VALUES (?, ?, ?)`, id, i, m); err != nil {
				return fmt.Errorf("member %d: %w", i, err)
			}
		}
		return nil
	})
	if err != nil {
		return store.Asset{}, fmt.Errorf("create asset %q: %w", na.Name, err)
	}
	return a, nil
}

func (c *Catalog) folderByID(ctx context.Context, q querier, cid, fid int64) (string, error) {
	var path string
	err := c.queryRow(ctx, q, `SELECT path FROM folders WHERE company_id = ? AND id = ?`, cid, fid).Scan(&path)
	if errors.Is(err, sql.ErrNoRows) {
		return "", notFound("folder", folderHandle(cid, fid))
	}
	return path, err
}

// checkAssets checks that every id is an asset of the company.
func (c *Catalog) checkAssets(ctx context.Context, q querier, cid int64, ids []int64, handles []string) error {
	cond, arg := c.d.InInts("id", ids)
	rows, err := c.query(ctx, q, `SELECT id FROM assets WHERE company_id = ? AND `+cond, cid, arg)
	if err != nil {
		return err
	}
	defer rows.Close()
	have := map[int64]bool{}
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return err
		}
		have[id] = true
	}
	if err := rows.Err(); err != nil {
		return err
	}
	for i, id := range ids {
		if !have[id] {
			return fmt.Errorf("member %w", notFound("asset", handles[i]))
		}
	}
	return nil
}

// ReplaceAssetFile points an asset at a new stored file; see store.Catalog.
func (c *Catalog) ReplaceAssetFile(ctx context.Context, companyHandle, handle string, f store.AssetFile) (before, after store.Asset, err error) {
	switch {
	case f.FileName == "" || f.Type == "" || f.StorageKey == "":
		return before, after, fmt.Errorf("replace file of asset %s: file name, type and storage key are required", handle)
	case f.Size < 0:
		return before, after, fmt.Errorf("replace file of asset %s: negative size", handle)
	}
	cid, ok := parseCompany(companyHandle)
	if !ok {
		return before, after, fmt.Errorf("replace file of asset %s: %w", handle, notFound("company", companyHandle))
	}
	id, ok := parseAsset(handle, cid)
	if !ok {
		return before, after, fmt.Errorf("replace file of asset %s: %w", handle, notFound("asset", handle))
	}
	t := now()
	err = c.inTx(ctx, func(tx *sql.Tx) error {
		row := c.queryRow(ctx, tx, `SELECT `+assetCols+assetFrom+` WHERE a.id = ? AND a.company_id = ? `+c.d.ForUpdate(), id, cid)
		a, err := scanAsset(row)
		if errors.Is(err, sql.ErrNoRows) {
			return notFound("asset", handle)
		}
		if err != nil {
			return err
		}
		if a.StorageKey == "" {
			return fmt.Errorf("%s is a %s: it has no file to replace", handle, a.Type)
		}
		before, after = a, a
		after.FileName, after.Type, after.Size, after.SHA256 = f.FileName, f.Type, f.Size, f.SHA256
		after.StorageKey, after.Width, after.Height, after.Modified = f.StorageKey, f.Width, f.Height, t
		_, err = c.exec(ctx, tx, `UPDATE assets SET file_name = ?, file_name_key = ?, type = ?, size = ?, sha256 = ?,
			storage_key = ?, width = ?, height = ?, modified = ? WHERE id = ? AND company_id = ?`,
			f.FileName, fold(f.FileName), f.Type, f.Size, f.SHA256, f.StorageKey, f.Width, f.Height, c.d.TimeArg(t), id, cid)
		if err != nil || before.StorageKey == f.StorageKey {
			return err
		}
		return c.releaseBlob(ctx, tx, before.StorageKey)
	})
	if err != nil {
		return store.Asset{}, store.Asset{}, fmt.Errorf("replace file of asset %s: %w", handle, err)
	}
	return before, after, nil
}

// assetLookupBatch is the distinct assets looked up per query: a
// 10,000-handle export then holds a few hundred rows in flight at a time,
// not all of them in one statement's arguments and result.
const assetLookupBatch = 500

// AssetsByHandles returns the company's assets in input order (a repeated
// handle is repeated); unknown, malformed and foreign handles are omitted.
// Each distinct asset is read once.
func (c *Catalog) AssetsByHandles(ctx context.Context, companyHandle string, handles []string) ([]store.Asset, error) {
	cid, _, err := c.companyID(ctx, c.rdb, companyHandle)
	if err != nil {
		return nil, err
	}
	seen := make(map[int64]struct{}, len(handles))
	ids := make([]int64, 0, len(handles))
	for _, h := range handles {
		if id, ok := parseAsset(h, cid); ok {
			if _, dup := seen[id]; !dup {
				seen[id] = struct{}{}
				ids = append(ids, id)
			}
		}
	}
	// Each asset once in found; byHandle indexes it, so a large lookup
	// holds one copy of every row until the result is built.
	found := make([]store.Asset, 0, len(ids))
	byHandle := make(map[string]int, len(ids))
	for batch := range slices.Chunk(ids, assetLookupBatch) {
		cond, arg := c.d.InInts("a.id", batch)
		rows, err := c.query(ctx, c.rdb, `SELECT `+assetCols+assetFrom+` WHERE a.company_id = ? AND `+cond, cid, arg)
		if err != nil {
			return nil, fmt.Errorf("assets of %q by handle: %w", companyHandle, err)
		}
		for rows.Next() {
			a, err := scanAsset(rows)
			if err != nil {
				rows.Close()
				return nil, fmt.Errorf("assets of %q by handle: %w", companyHandle, err)
			}
			byHandle[a.Handle] = len(found)
			found = append(found, a)
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return nil, fmt.Errorf("assets of %q by handle: %w", companyHandle, err)
		}
	}
	// Rows come back in the order of handles when each was named once
	// (the database returns each batch in id order, which is often the
	// caller's): then found is the answer, with no second copy.
	n, inOrder := 0, true
	for _, h := range handles {
		if i, ok := byHandle[h]; ok {
			inOrder = inOrder && i == n
			n++
		}
	}
	if inOrder && n == len(found) {
		return found, nil
	}
	out := make([]store.Asset, 0, n)
	for _, h := range handles {
		if i, ok := byHandle[h]; ok {
			out = append(out, found[i])
		}
	}
	return out, nil
}

// AssetSources returns each distinct asset of handles once, in no
// particular order, with only what exporting it and naming its output
// need: Handle (the caller's string), FolderPath, Name, FileName, Type,
// SHA256, StorageKey and the stored modifiers. It reads only those columns, and a folder path or
// type shared by many assets is held once, so a lookup of 10,000 assets
// for one submit stays small.
func (c *Catalog) AssetSources(ctx context.Context, companyHandle string, handles []string) ([]store.Asset, error) {
	cid, _, err := c.companyID(ctx, c.rdb, companyHandle)
	if err != nil {
		return nil, err
	}
	byID := make(map[int64]string, len(handles))
	ids := make([]int64, 0, len(handles))
	for _, h := range handles {
		if id, ok := parseAsset(h, cid); ok {
			if _, dup := byID[id]; !dup {
				byID[id] = h
				ids = append(ids, id)
			}
		}
	}
	found := make([]store.Asset, 0, len(ids))
	shared := map[string]string{} // folder paths and types, each held once
	intern := func(b sql.RawBytes) string {
		if s, ok := shared[string(b)]; ok {
			return s
		}
		s := string(b)
		shared[s] = s
		return s
	}
	for batch := range slices.Chunk(ids, assetLookupBatch) {
		cond, arg := c.d.InInts("a.id", batch)
		rows, err := c.query(ctx, c.rdb, `SELECT a.id, f.path, a.type, a.name, a.file_name, a.sha256, a.storage_key, a.url_modifier, a.url_post_modifier`+assetFrom+
			` WHERE a.company_id = ? AND `+cond, cid, arg)
		if err != nil {
			return nil, fmt.Errorf("asset sources of %q: %w", companyHandle, err)
		}
		for rows.Next() {
			var (
				id         int64
				folder, ty sql.RawBytes
				a          store.Asset
			)
			if err := rows.Scan(&id, &folder, &ty, &a.Name, &a.FileName, &a.SHA256, &a.StorageKey, &a.URLModifier, &a.URLPostApplyModifier); err != nil {
				rows.Close()
				return nil, fmt.Errorf("asset sources of %q: %w", companyHandle, err)
			}
			a.Handle, a.FolderPath, a.Type = byID[id], intern(folder), intern(ty)
			found = append(found, a)
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return nil, fmt.Errorf("asset sources of %q: %w", companyHandle, err)
		}
	}
	return found, nil
}

// AssetsByNames returns the company's assets whose name is one of names,
// case-insensitively (Image Serving ids are), of one of types when given.
// They come in the order of names, then by folder path.
func (c *Catalog) AssetsByNames(ctx context.Context, companyHandle string, names, types []string) ([]store.Asset, error) {
	cid, _, err := c.companyID(ctx, c.rdb, companyHandle)
	if err != nil {
		return nil, err
	}
	rank := map[string]int{}
	keys := make([]string, 0, len(names))
	for _, n := range names {
		k := fold(n)
		if _, ok := rank[k]; !ok {
			rank[k] = len(keys)
			keys = append(keys, k)
		}
	}
	if len(keys) == 0 {
		return []store.Asset{}, nil
	}
	cond, arg := c.d.InStrings("a.name_key", keys)
	where, args := ` WHERE a.company_id = ? AND `+cond, []any{cid, arg}
	if len(types) > 0 {
		tcond, targ := c.d.InStrings("a.type", types)
		where += ` AND ` + tcond
		args = append(args, targ)
	}
	found, err := c.assets(ctx, `SELECT `+assetCols+assetFrom+where+` ORDER BY f.path, a.id`, args...)
	if err != nil {
		return nil, fmt.Errorf("assets of %q by name: %w", companyHandle, err)
	}
	slices.SortStableFunc(found, func(x, y store.Asset) int {
		return cmp.Compare(rank[fold(x.Name)], rank[fold(y.Name)])
	})
	return found, nil
}

// Sort orders of SearchAssets. Every order ends in the id so pages are
// stable; Descending reverses all of it, so it is the exact reverse.
var assetOrders = map[string][]string{
	"created":   {"a.created", "a.id"},
	"modified":  {"a.modified", "a.id"},
	"name":      {"a.name_key", "a.name", "a.id"},
	"assettype": {"a.type", "a.name_key", "a.id"},
	"filesize":  {"a.size", "a.name_key", "a.id"},
}

// SearchAssets selects a page of assets and counts all that match.
func (c *Catalog) SearchAssets(ctx context.Context, q store.AssetQuery) ([]store.Asset, int, error) {
	order, ok := assetOrders[strings.ToLower(cmp.Or(q.SortBy, "Name"))]
	if !ok {
		return nil, 0, fmt.Errorf("search assets: unknown sort field %q", q.SortBy)
	}
	cid, _, err := c.companyID(ctx, c.rdb, q.CompanyHandle)
	if err != nil {
		return nil, 0, err
	}
	where, args := ` WHERE a.company_id = ?`, []any{cid}
	if q.FolderPath != "" {
		p := q.FolderPath
		if !strings.HasSuffix(p, "/") {
			p += "/"
		}
		if q.IncludeSubfolders {
			// Paths under p are exactly those in [p, p with its final "/"
			// bumped to "0"): a range the (company_id, path) index serves.
			where += ` AND f.path >= ? AND f.path < ?`
			args = append(args, p, p[:len(p)-1]+"0")
		} else {
			where += ` AND f.path = ?`
			args = append(args, p)
		}
	}
	if len(q.Types) > 0 {
		cond, arg := c.d.InStrings("a.type", q.Types)
		where += ` AND ` + cond
		args = append(args, arg)
	}
	if len(q.ExcludeTypes) > 0 {
		cond, arg := c.d.InStrings("a.type", q.ExcludeTypes)
		where += ` AND NOT (` + cond + `)`
		args = append(args, arg)
	}
	if len(q.SubTypes) > 0 {
		cond, arg := c.d.InStrings("a.sub_type", q.SubTypes)
		if !q.StrictSubTypeCheck {
			cond = `(` + cond + ` OR a.sub_type = '')`
		}
		where += ` AND ` + cond
		args = append(args, arg)
	}
	if q.NameLike != "" {
		k := fold(q.NameLike)
		where += ` AND (` + c.d.Contains("a.name_key", "?") + ` OR ` + c.d.Contains("a.file_name_key", "?") + `)`
		args = append(args, k, k)
	}
	dir := " ASC"
	if q.Descending {
		dir = " DESC"
	}
	orderBy := ` ORDER BY ` + strings.Join(order, dir+", ") + dir
	offset := max(q.Offset, 0)
	page := ` ` + c.d.NoLimit() + ` OFFSET ?`
	pageArgs := []any{offset}
	if q.Limit > 0 {
		page, pageArgs = ` LIMIT ? OFFSET ?`, []any{q.Limit, offset}
	}

	// The window count gives the total with the page in one statement.
	rows, err := c.query(ctx, c.rdb, `SELECT `+assetCols+`, COUNT(*) OVER ()`+assetFrom+where+orderBy+page,
		append(slices.Clone(args), pageArgs...)...)
	if err != nil {
		return nil, 0, fmt.Errorf("search assets: %w", err)
	}
	defer rows.Close()
	out, total := []store.Asset{}, 0
	for rows.Next() {
		a, err := scanAsset(rows, &total)
		if err != nil {
			return nil, 0, fmt.Errorf("search assets: %w", err)
		}
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, fmt.Errorf("search assets: %w", err)
	}
	rows.Close()
	if len(out) == 0 && offset > 0 {
		// A page past the end has no row to carry the count.
		if err := c.queryRow(ctx, c.rdb, `SELECT COUNT(*)`+assetFrom+where, args...).Scan(&total); err != nil {
			return nil, 0, fmt.Errorf("search assets: count: %w", err)
		}
	}
	return out, total, nil
}

// DeleteAsset deletes an asset; its set memberships go with it (and a
// set's member list, when it is a set), and its file's key is released
// into the blob garbage in the same transaction.
func (c *Catalog) DeleteAsset(ctx context.Context, companyHandle, handle string) error {
	cid, ok := parseCompany(companyHandle)
	if !ok {
		return notFound("asset", handle)
	}
	id, ok := parseAsset(handle, cid)
	if !ok {
		return notFound("asset", handle)
	}
	err := c.inTx(ctx, func(tx *sql.Tx) error {
		var key string
		err := c.queryRow(ctx, tx, `DELETE FROM assets WHERE company_id = ? AND id = ? RETURNING storage_key`, cid, id).Scan(&key)
		if errors.Is(err, sql.ErrNoRows) {
			return notFound("asset", handle)
		}
		if err != nil {
			return err
		}
		return c.releaseBlob(ctx, tx, key)
	})
	if err != nil {
		return fmt.Errorf("delete asset %q: %w", handle, err)
	}
	return nil
}

// SetMembers returns a set's members in order.
func (c *Catalog) SetMembers(ctx context.Context, companyHandle, setHandle string) ([]store.Asset, error) {
	cid, ok := parseCompany(companyHandle)
	if !ok {
		return nil, notFound("asset", setHandle)
	}
	id, ok := parseAsset(setHandle, cid)
	if !ok {
		return nil, notFound("asset", setHandle)
	}
	var n int
	if err := c.queryRow(ctx, c.rdb, `SELECT COUNT(*) FROM assets WHERE company_id = ? AND id = ?`, cid, id).Scan(&n); err != nil {
		return nil, fmt.Errorf("set %q: %w", setHandle, err)
	}
	if n == 0 {
		return nil, notFound("asset", setHandle)
	}
	out, err := c.assets(ctx, `SELECT `+assetCols+assetFrom+` JOIN set_members m ON m.member_id = a.id
		WHERE m.set_id = ? AND a.company_id = ? ORDER BY m.position`, id, cid)
	if err != nil {
		return nil, fmt.Errorf("members of set %q: %w", setHandle, err)
	}
	return out, nil
}

// SetURLModifiers replaces an asset's urlModifier and urlPostApplyModifier.
func (c *Catalog) SetURLModifiers(ctx context.Context, companyHandle, handle, urlModifier, urlPostApplyModifier string) (store.Asset, error) {
	cid, ok := parseCompany(companyHandle)
	if !ok {
		return store.Asset{}, notFound("asset", handle)
	}
	id, ok := parseAsset(handle, cid)
	if !ok {
		return store.Asset{}, notFound("asset", handle)
	}
	var a store.Asset
	err := c.inTx(ctx, func(tx *sql.Tx) error {
		res, err := c.exec(ctx, tx, `UPDATE assets SET url_modifier = ?, url_post_modifier = ?, modified = ?
			WHERE company_id = ? AND id = ?`, urlModifier, urlPostApplyModifier, c.d.TimeArg(now()), cid, id)
		if err != nil {
			return err
		}
		if err := affected(res, "asset", handle); err != nil {
			return err
		}
		a, err = scanAsset(c.queryRow(ctx, tx, `SELECT `+assetCols+assetFrom+` WHERE a.id = ? AND a.company_id = ?`, id, cid))
		return err
	})
	if err != nil {
		return store.Asset{}, fmt.Errorf("set url modifiers of asset %s: %w", handle, err)
	}
	return a, nil
}

// ---- image formats ----

func scanFormat(sc interface{ Scan(...any) error }, cid int64) (store.ImageFormat, error) {
	var (
		id int64
		f  store.ImageFormat
	)
	if err := sc.Scan(&id, &f.Name, &f.URLModifier); err != nil {
		return store.ImageFormat{}, err
	}
	f.Handle, f.CompanyHandle = formatHandle(cid, id), companyHandle(cid)
	return f, nil
}

// SaveImageFormat updates the format f.Handle names, or, without a handle,
// inserts or updates the format of that name (case-insensitively; the name
// takes the new spelling). ErrConflict when renaming onto another format's
// name; ErrNotFound for an unknown handle.
func (c *Catalog) SaveImageFormat(ctx context.Context, f store.ImageFormat) (store.ImageFormat, error) {
	if strings.TrimSpace(f.Name) == "" {
		return store.ImageFormat{}, errors.New("save image format: empty name")
	}
	cid, _, err := c.companyID(ctx, c.db, f.CompanyHandle)
	if err != nil {
		return store.ImageFormat{}, fmt.Errorf("save image format %q: %w", f.Name, err)
	}
	t := c.d.TimeArg(now())
	var id int64
	if f.Handle != "" {
		var ok bool
		if id, ok = parseFormat(f.Handle, cid); !ok {
			return store.ImageFormat{}, fmt.Errorf("save image format %q: %w", f.Name, notFound("image format", f.Handle))
		}
		res, err := c.exec(ctx, c.db, `UPDATE image_formats SET name = ?, name_key = ?, url_modifier = ?, modified = ?
			WHERE company_id = ? AND id = ?`, f.Name, fold(f.Name), f.URLModifier, t, cid, id)
		if c.d.IsUniqueViolation(err) {
			return store.ImageFormat{}, fmt.Errorf("save image format %q: %w", f.Name, store.ErrConflict)
		}
		if err != nil {
			return store.ImageFormat{}, fmt.Errorf("save image format %q: %w", f.Name, err)
		}
		if err := affected(res, "image format", f.Handle); err != nil {
			return store.ImageFormat{}, fmt.Errorf("save image format %q: %w", f.Name, err)
		}
	} else {
		err := c.queryRow(ctx, c.db, `INSERT INTO image_formats (company_id, name, name_key, url_modifier, created, modified)
			VALUES (?, ?, ?, ?, ?, ?)
			ON CONFLICT (company_id, name_key) DO UPDATE SET name = excluded.name,
				url_modifier = excluded.url_modifier, modified = excluded.modified
			RETURNING id`, cid, f.Name, fold(f.Name), f.URLModifier, t, t).Scan(&id)
		if err != nil {
			return store.ImageFormat{}, fmt.Errorf("save image format %q: %w", f.Name, err)
		}
	}
	return store.ImageFormat{Handle: formatHandle(cid, id), CompanyHandle: companyHandle(cid), Name: f.Name, URLModifier: f.URLModifier}, nil
}

// ImageFormats lists the company's image formats by name.
func (c *Catalog) ImageFormats(ctx context.Context, companyHandle string) ([]store.ImageFormat, error) {
	cid, _, err := c.companyID(ctx, c.rdb, companyHandle)
	if err != nil {
		return nil, err
	}
	rows, err := c.query(ctx, c.rdb, `SELECT id, name, url_modifier FROM image_formats WHERE company_id = ? ORDER BY name_key, id`, cid)
	if err != nil {
		return nil, fmt.Errorf("image formats of %q: %w", companyHandle, err)
	}
	defer rows.Close()
	out := []store.ImageFormat{}
	for rows.Next() {
		f, err := scanFormat(rows, cid)
		if err != nil {
			return nil, fmt.Errorf("image formats of %q: %w", companyHandle, err)
		}
		out = append(out, f)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("image formats of %q: %w", companyHandle, err)
	}
	return out, nil
}

// ImageFormatByName finds an image format by name, case-insensitively.
func (c *Catalog) ImageFormatByName(ctx context.Context, companyHandle, name string) (store.ImageFormat, error) {
	cid, ok := parseCompany(companyHandle)
	if !ok {
		return store.ImageFormat{}, notFound("image format", name)
	}
	f, err := scanFormat(c.queryRow(ctx, c.rdb, `SELECT id, name, url_modifier FROM image_formats
		WHERE company_id = ? AND name_key = ?`, cid, fold(name)), cid)
	if errors.Is(err, sql.ErrNoRows) {
		return store.ImageFormat{}, notFound("image format", name)
	}
	if err != nil {
		return store.ImageFormat{}, fmt.Errorf("image format %q: %w", name, err)
	}
	return f, nil
}

// DeleteImageFormat deletes an image format.
func (c *Catalog) DeleteImageFormat(ctx context.Context, companyHandle, handle string) error {
	cid, ok := parseCompany(companyHandle)
	if !ok {
		return notFound("image format", handle)
	}
	id, ok := parseFormat(handle, cid)
	if !ok {
		return notFound("image format", handle)
	}
	res, err := c.exec(ctx, c.db, `DELETE FROM image_formats WHERE company_id = ? AND id = ?`, cid, id)
	if err != nil {
		return fmt.Errorf("delete image format %q: %w", handle, err)
	}
	return affected(res, "image format", handle)
}
