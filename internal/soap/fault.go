package soap

import (
	"errors"
	"fmt"
	"net/http"
	"unicode/utf8"

	"github.com/ipsexport/ipsd/internal/httplimit"
)

// FaultKind is the local name of the fault detail element.
type FaultKind string

// The three IPS fault elements (reference/ips-api/faults).
const (
	AuthenticationFault FaultKind = "authenticationFault"
	AuthorizationFault  FaultKind = "authorizationFault"
	IpsAPIFault         FaultKind = "ipsApiFault"
)

// Fault codes of the reference.
const (
	CodeNoCredentials      = 10000
	CodeInvalidCredentials = 10001
	CodeInvalidUser        = 10002

	CodeInvalidCompany        = 20000
	CodeNoOperationPermission = 20003
	CodeIllegalParameterValue = 20005
	CodeIllegalCompany        = 20006
	CodeIllegalRequestUser    = 20007

	CodeException        = 30000
	CodeInvalidParameter = 30001
	CodeMissingParameter = 30002
	CodeInvalidXML       = 30003
)

// Fault is an IPS fault. It is an error, so service code can return it.
type Fault struct {
	Kind   FaultKind
	Code   int
	Reason string
	// HTTPStatus, when set, is the status the fault is answered with,
	// whatever the client asked: 503 when the server is too busy to read
	// the request (and then with Retry-After).
	HTTPStatus int
}

// Status is the HTTP status to answer f with when the client asked for
// requested (authHeader/faultHttpStatusCode; 0 when not given): the
// fault's own status if it has one, else requested when it is 200 or an
// error status (400–599), else 500. A client must not choose an
// informational or redirect status: 101 would switch the connection's
// protocol, a 3xx send its client elsewhere.
func (f *Fault) Status(requested int) int {
	switch {
	case f.HTTPStatus != 0:
		return f.HTTPStatus
	case HonouredStatus(requested):
		return requested
	}
	return http.StatusInternalServerError
}

// HonouredStatus tells whether a faultHttpStatusCode is used: 200 (most
// hand-written clients ask for it) and the error statuses 400–599.
func HonouredStatus(code int) bool {
	return code == http.StatusOK || code >= 400 && code <= 599
}

// Busy is the fault for a request the server has no memory left to read
// now (httplimit.ErrBusy): 503, to be retried.
func Busy() *Fault {
	f := Errorf(CodeException, "server busy: too many request bytes in flight; retry in %d seconds", httplimit.RetryAfterSeconds)
	f.HTTPStatus = http.StatusServiceUnavailable
	return f
}

func (f *Fault) Error() string { return fmt.Sprintf("%s %d: %s", f.Kind, f.Code, f.Reason) }

// ClientCaused tells whether the caller is at fault (soapenv:Client /
// soap12 Sender) or the server (Server / Receiver).
func (f *Fault) ClientCaused() bool { return f.Code != CodeException }

// Errorf builds an ipsApiFault.
func Errorf(code int, format string, args ...any) *Fault {
	return &Fault{Kind: IpsAPIFault, Code: code, Reason: fmt.Sprintf(format, args...)}
}

// AuthnFault builds an authenticationFault.
func AuthnFault(code int, format string, args ...any) *Fault {
	return &Fault{Kind: AuthenticationFault, Code: code, Reason: fmt.Sprintf(format, args...)}
}

// AuthzFault builds an authorizationFault.
func AuthzFault(code int, format string, args ...any) *Fault {
	return &Fault{Kind: AuthorizationFault, Code: code, Reason: fmt.Sprintf(format, args...)}
}

// Invalid is a 30001 fault naming the field and value at fault. A long
// value is cut: a fault (and the log line that records it) echoes at most
// MaxEchoBytes of what the caller sent.
func Invalid(field, value, why string) *Fault {
	return Errorf(CodeInvalidParameter, "invalid value %q for %s: %s", Shorten(value, MaxEchoBytes), field, why)
}

// MaxEchoBytes bounds what a fault reason or log line repeats of one value
// a caller sent (a name, an operation).
const MaxEchoBytes = 200

// Shorten cuts s to at most n bytes, on a UTF-8 boundary, marking the cut
// with "…".
func Shorten(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

// Missing is a 30002 fault naming the missing field.
func Missing(field string) *Fault {
	return Errorf(CodeMissingParameter, "missing required parameter %s", field)
}

// AsFault turns any error into a fault: a *Fault anywhere in the chain is
// used as is; anything else is our own failure (30000) with a generic reason,
// so internals never leak to the caller.
func AsFault(err error) *Fault {
	var f *Fault
	if errors.As(err, &f) {
		return f
	}
	return Errorf(CodeException, "internal server error")
}
