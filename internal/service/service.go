// Package service implements the IPS operations: one handler per operation,
// authentication and authorisation. It speaks in generated message types
// (ipsapi) and store records; the soap package does the wire.
package service

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/ipsexport/ipsd/internal/notify"
	"github.com/ipsexport/ipsd/internal/soap"
	"github.com/ipsexport/ipsd/internal/store"
)

// Config holds the service's settings.
type Config struct {
	// MaxExportHandles bounds an exportJob's assetHandleArray.
	MaxExportHandles int
	// MaxRequestItems bounds every other request array (assetHandleArray
	// of getAssets and deleteAssets, nameArray, logTypeArray …).
	MaxRequestItems int
	// MaxPageSize bounds searchAssets' recordsPerPage.
	MaxPageSize int
	// ServerName is reported in ActiveJob/serverName.
	ServerName string
	// SetTypes are the asset types an export refuses; nil means
	// DefaultSetTypes.
	SetTypes []string
	// Jobs runs jobs; nil leaves the job operations out (30001).
	Jobs JobEngine
	// Logins limits failed logins; zero fields take DefaultLoginPolicy's.
	Logins LoginPolicy
}

// Service dispatches IPS operations.
type Service struct {
	store   Store
	jobs    JobEngine
	log     *slog.Logger
	cfg     Config
	roles   roleTable
	ops     map[string]handler
	authMem *authCache
	logins  *loginLimiter
	// msgs speaks the job log's messages in each job's language.
	msgs *notify.Catalogue
	now  func() time.Time
	// dummyHash is compared against for unknown users, so that answering
	// them costs as long as a wrong password.
	dummyHash []byte
}

type handler func(ctx context.Context, c *call) (any, error)

// call is one authenticated operation call.
type call struct {
	req  *soap.Request
	user store.User
}

func (c *call) decode(v any) error { return c.req.Decode(v) }

// New builds the service over a store.
func New(st Store, log *slog.Logger, cfg Config) *Service {
	if cfg.MaxExportHandles <= 0 {
		cfg.MaxExportHandles = 10_000
	}
	if cfg.MaxRequestItems <= 0 {
		cfg.MaxRequestItems = 10_000
	}
	if cfg.MaxPageSize <= 0 {
		cfg.MaxPageSize = 1000
	}
	if cfg.SetTypes == nil {
		cfg.SetTypes = DefaultSetTypes()
	}
	if cfg.ServerName == "" {
		cfg.ServerName = "ipsd"
	}
	if log == nil {
		log = slog.Default()
	}
	s := &Service{
		store:   st,
		jobs:    cfg.Jobs,
		log:     log,
		cfg:     cfg,
		roles:   newRoleTable(),
		authMem: newAuthCache(5 * time.Minute),
		logins:  newLoginLimiter(cfg.Logins),
		now:     time.Now,
	}
	s.dummyHash, _ = bcrypt.GenerateFromPassword([]byte(time.Now().String()), bcrypt.DefaultCost)
	if msgs, err := notify.NewCatalogue(); err == nil {
		s.msgs = msgs
	} else {
		// The templates are embedded: their own tests catch this first.
		log.Error("job log messages: templates do not parse; messages name their key", "err", err)
	}
	s.ops = map[string]handler{}
	for _, op := range operationTable() {
		if op.jobs && s.jobs == nil {
			continue
		}
		s.ops[op.name] = op.handler(s)
	}
	return s
}

// Register adds (or replaces) an operation; the job engine registers its
// own. The role table must list it.
func (s *Service) Register(op string, h func(ctx context.Context, req *soap.Request, user store.User) (any, error)) {
	s.ops[op] = func(ctx context.Context, c *call) (any, error) { return h(ctx, c.req, c.user) }
}

// Supports tells whether op is an operation this server answers: the
// bounded set metrics may label requests with.
func (s *Service) Supports(op string) bool {
	_, ok := s.ops[op]
	return ok
}

// Dispatch implements soap.Dispatcher.
func (s *Service) Dispatch(ctx context.Context, req *soap.Request) (any, error) {
	h, ok := s.ops[req.Operation]
	if !ok {
		return nil, soap.Errorf(soap.CodeInvalidParameter, "operation %s is not supported by this server",
			soap.Shorten(req.Operation, soap.MaxEchoBytes))
	}
	user, err := s.authenticate(ctx, req)
	if err != nil {
		return nil, err
	}
	if !s.roles.allows(req.Operation, user.Role) {
		return nil, soap.AuthzFault(soap.CodeNoOperationPermission,
			"User does not have permission to access operation '%s'", req.Operation)
	}
	return h(ctx, &call{req: req, user: user})
}

// authenticate checks the presented credentials. Wrong password and unknown
// user get the same answer, so no account is revealed.
func (s *Service) authenticate(ctx context.Context, req *soap.Request) (store.User, error) {
	email, password, ok := req.Credentials()
	if !ok {
		if req.Auth.SAMLResponse != "" || req.Auth.AccessToken != "" {
			return store.User{}, soap.AuthnFault(soap.CodeInvalidCredentials,
				"samlResponse and accessToken authentication are not supported by this server: send user and password")
		}
		return store.User{}, soap.AuthnFault(soap.CodeNoCredentials,
			"request could not be authenticated: no credentials (send an authHeader with user and password, or HTTP Basic)")
	}
	return s.Login(ctx, email, password, req.RemoteAddr)
}

// Authenticate is Login from an unknown address.
//
// Deprecated: pass the client's address to Login, so that its failures
// are limited per address too.
func (s *Service) Authenticate(ctx context.Context, email, password string) (store.User, error) {
	return s.Login(ctx, email, password, "")
}

// Login checks an e-mail and password presented from remoteAddr
// ("host:port"). It is the one place a password is checked: the SOAP and
// bare-XML authHeader (or HTTP Basic), checkLogin, downloads' HTTP Basic
// and the UploadFile servlet all come here, under one set of limits
// (LoginPolicy). A wrong password and an unknown user get the same 10001
// and cost the same bcrypt comparison, so neither the answer nor its time
// tells which e-mails exist; a login the limits hold back gets a 10001
// saying so, without its password being checked.
func (s *Service) Login(ctx context.Context, email, password, remoteAddr string) (store.User, error) {
	invalid := soap.AuthnFault(soap.CodeInvalidCredentials, "Invalid username/password")
	if email == "" || password == "" {
		return store.User{}, invalid
	}
	if wait, ok := s.logins.check(email, remoteAddr); !ok {
		return store.User{}, &throttledError{soap.AuthnFault(soap.CodeInvalidCredentials,
			"too many failed logins: try again in %s", max(wait.Round(time.Second), time.Second))}
	}
	u, err := s.store.UserByEmail(ctx, email)
	switch {
	case errors.Is(err, store.ErrNotFound):
		// The same work as a wrong password.
		_ = bcrypt.CompareHashAndPassword(s.dummyHash, []byte(password))
		s.logins.failed(email, remoteAddr)
		return store.User{}, invalid
	case err != nil:
		return store.User{}, fmt.Errorf("login: %w", err)
	}
	if !s.authMem.verify(u, password) {
		s.logins.failed(email, remoteAddr)
		return store.User{}, invalid
	}
	s.logins.succeeded(email, remoteAddr)
	return u, nil
}

// throttledError is a login the limits held back; it carries the fault
// the caller is answered with.
type throttledError struct{ fault *soap.Fault }

func (e *throttledError) Error() string { return e.fault.Error() }
func (e *throttledError) Unwrap() error { return e.fault }

// authCache remembers successful password checks for a short time: bcrypt
// costs tens of milliseconds, and scripts call in tight loops.
type authCache struct {
	ttl time.Duration
	mu  sync.Mutex
	ok  map[[32]byte]time.Time
}

func newAuthCache(ttl time.Duration) *authCache {
	return &authCache{ttl: ttl, ok: map[[32]byte]time.Time{}}
}

func (a *authCache) verify(u store.User, password string) bool {
	key := sha256.Sum256([]byte(u.Handle + "\x00" + u.PasswordHash + "\x00" + password))
	now := time.Now()
	a.mu.Lock()
	exp, hit := a.ok[key]
	a.mu.Unlock()
	if hit && now.Before(exp) {
		return true
	}
	if bcrypt.CompareHashAndPassword([]byte(u.PasswordHash), []byte(password)) != nil {
		return false
	}
	a.mu.Lock()
	if len(a.ok) > 10_000 {
		for k, e := range a.ok {
			if now.After(e) {
				delete(a.ok, k)
			}
		}
	}
	a.ok[key] = now.Add(a.ttl)
	a.mu.Unlock()
	return true
}

// HashPassword returns the bcrypt hash stored for a password.
func HashPassword(password string) (string, error) {
	h, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.DefaultCost)
	if err != nil {
		return "", fmt.Errorf("hash password: %w", err)
	}
	return string(h), nil
}

// company resolves a companyHandle the caller may use. A company that does
// not exist and one the caller is not a member of get the same answer.
func (s *Service) company(ctx context.Context, c *call, handle string) (store.Company, error) {
	return s.CompanyAccess(ctx, c.user, handle)
}

// CompanyAccess resolves a companyHandle that user may use, with the same
// faults as every operation (30002 when empty, 20006 when unknown or not
// the user's). The UploadFile servlet and downloads share it.
func (s *Service) CompanyAccess(ctx context.Context, user store.User, handle string) (store.Company, error) {
	handle = strings.TrimSpace(handle)
	if handle == "" {
		return store.Company{}, soap.Missing("companyHandle")
	}
	co, err := s.store.CompanyByHandle(ctx, handle)
	if errors.Is(err, store.ErrNotFound) {
		return store.Company{}, illegalCompany(handle)
	}
	if err != nil {
		return store.Company{}, fmt.Errorf("company %s: %w", handle, err)
	}
	if user.Role == store.RoleIpsAdmin {
		return co, nil
	}
	member, err := s.store.IsMember(ctx, user.Handle, co.Handle)
	if err != nil {
		return store.Company{}, fmt.Errorf("membership %s: %w", handle, err)
	}
	if !member {
		return store.Company{}, illegalCompany(handle)
	}
	return co, nil
}

func illegalCompany(handle string) *soap.Fault {
	return soap.AuthzFault(soap.CodeIllegalCompany, "companyHandle %q is not a company this user may access", handle)
}
