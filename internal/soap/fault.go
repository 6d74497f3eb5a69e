package soap

import (
	"errors"
	"fmt"
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

// Invalid is a 30001 fault naming the field and value at fault.
func Invalid(field, value, why string) *Fault {
	return Errorf(CodeInvalidParameter, "invalid value %q for %s: %s", value, field, why)
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
