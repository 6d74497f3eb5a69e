package modifier

import (
	"errors"
	"fmt"
	"strings"
)

// MacroSource looks up macro definitions: a company's IPS image formats,
// whose name is the macro name and whose urlModifier is the definition.
type MacroSource interface {
	// LookupMacro returns the definition of the macro called name, matching
	// names case-insensitively (r-is-http-command-macros.md). found is false
	// for an unknown name; err is for failures of the lookup itself.
	LookupMacro(name string) (definition string, found bool, err error)
}

// MacroFunc adapts a function to MacroSource.
type MacroFunc func(name string) (string, bool, error)

// LookupMacro calls f.
func (f MacroFunc) LookupMacro(name string) (string, bool, error) { return f(name) }

// MacroMap is a MacroSource over a map; keys match case-insensitively.
type MacroMap map[string]string

// LookupMacro finds name in m, ignoring case.
func (m MacroMap) LookupMacro(name string) (string, bool, error) {
	if d, ok := m[name]; ok {
		return d, true, nil
	}
	for k, d := range m {
		if strings.EqualFold(k, name) {
			return d, true, nil
		}
	}
	return "", false, nil
}

// ParseError is a malformed modifier string: an unknown command, a bad
// value, an unknown macro or a macro cycle. It names the command and where
// it stands.
type ParseError struct {
	// Command is the command (or "$name$" macro call, or "$var" definition)
	// at fault, as written.
	Command string
	// Pos is the 1-based byte position of the modifier in the parsed string;
	// for a fault inside a macro, the position of the outermost invocation.
	Pos int
	// Macro is the macro whose definition holds the fault ("" if none) and
	// MacroPos the 1-based position within that definition.
	Macro    string
	MacroPos int
	// Field names the stored modifier the fault is in, when it is an
	// asset's ("urlModifier", "urlPostApplyModifier"; ParseExportFor): Pos
	// is then within it.
	Field string
	// Value is the offending value as written, if any.
	Value  string
	Reason string
	// Rejected is set for a valid IS command this server refuses to render
	// (src=, text=, layer=1 …) rather than a malformed one.
	Rejected bool
}

func (e *ParseError) Error() string {
	var b strings.Builder
	b.WriteString("modifier ")
	fmt.Fprintf(&b, "%q at position %d", e.Command, e.Pos)
	if e.Field != "" {
		b.WriteString(" of the asset's " + e.Field)
	}
	if e.Macro != "" {
		fmt.Fprintf(&b, " (in macro $%s$ at position %d)", e.Macro, e.MacroPos)
	}
	b.WriteString(": ")
	if e.Value != "" {
		fmt.Fprintf(&b, "value %q: ", e.Value)
	}
	b.WriteString(e.Reason)
	return b.String()
}

// Limits on expansion, against definitions that grow exponentially.
const (
	maxMacroDepth = 32
	maxModifiers  = 10000
)

// origin locates one modifier.
type origin struct {
	field    string // the asset's stored modifier it comes from, if any
	pos      int    // 1-based, in the top-level string
	macro    string // innermost macro
	macroPos int    // 1-based, in that macro's definition
}

type item struct {
	text string
	at   origin
}

type parser struct {
	macros MacroSource
	items  []item
}

// Parse parses an Image Serving modifier string (the query part of an IS
// URL, with or without the leading '?' or '&'), expanding $macro$ calls
// through macros (which may be nil when no macro is used).
//
// The reference's rules (c-syntax-and-features) apply: modifiers are
// separated by '&'; command, macro and variable names are case-insensitive;
// values are %-decoded after splitting, and split on ','; a modifier starting
// with '.' is a comment; a macro is expanded in place, so the later of two
// occurrences of a command wins; $var=value defines a variable that later
// values reference as $var$.
//
// A command of the reference that is not rendered is accepted and listed in
// Request.Warnings; anything malformed or unknown is a *ParseError.
func Parse(modifier string, macros MacroSource) (*Request, error) {
	p := &parser{macros: macros}
	if err := p.expand(modifier, origin{}, nil); err != nil {
		return nil, err
	}
	return p.build()
}

// ParseExport parses the conversion an ExportJob asks for: its is_modifier
// followed by its macro (docs/exports.md, "Conversion": "is_modifier & $macro$", so the macro's
// commands win over is_modifier's). macro names an image format, written
// $name$ or bare, and may be empty; unlike a $name$ inside a modifier
// string it may hold any characters (IPS image format names do). A fault
// inside the macro is reported at the position just past is_modifier.
func ParseExport(isModifier, macro string, macros MacroSource) (*Request, error) {
	return ParseExportFor(Stored{}, isModifier, macro, macros)
}

// Stored is what the catalogue holds for one asset (setUrlModifier): its
// urlModifier, applied before a request's commands, and its
// urlPostApplyModifier, applied after them (docs/rendering.md, "What a
// conversion is made of").
type Stored struct {
	URLModifier          string
	URLPostApplyModifier string
}

// IsZero reports an asset with no stored modifier.
func (s Stored) IsZero() bool {
	return strings.TrimSpace(s.URLModifier) == "" && strings.TrimSpace(s.URLPostApplyModifier) == ""
}

// ParseExportFor parses the conversion of one asset as Image Serving
// composes it: the asset's urlModifier, then the export's is_modifier and
// macro (ParseExport), then the asset's urlPostApplyModifier; the later of
// two occurrences of a command wins, so the request overrides the
// urlModifier and the urlPostApplyModifier overrides both. Faults and
// warnings in a stored modifier name it (ParseError.Field, Warning.Field)
// with positions within it.
func ParseExportFor(stored Stored, isModifier, macro string, macros MacroSource) (*Request, error) {
	p := &parser{macros: macros}
	if err := p.expand(stored.URLModifier, origin{field: "urlModifier"}, nil); err != nil {
		return nil, err
	}
	if err := p.expand(isModifier, origin{}, nil); err != nil {
		return nil, err
	}
	name := strings.TrimSpace(macro)
	if len(name) >= 2 && strings.HasPrefix(name, "$") && strings.HasSuffix(name, "$") {
		name = name[1 : len(name)-1]
	}
	if name != "" {
		if err := p.expandMacro(name, "$"+name+"$", origin{pos: len(isModifier) + 1}, nil); err != nil {
			return nil, err
		}
	}
	if err := p.expand(stored.URLPostApplyModifier, origin{field: "urlPostApplyModifier"}, nil); err != nil {
		return nil, err
	}
	return p.build()
}

// expand splits s into modifiers, expanding macro calls recursively.
// at is the origin of s itself (zero for the top-level string); stack holds
// the macros being expanded, for cycle detection.
func (p *parser) expand(s string, at origin, stack []string) error {
	// Strip one leading '?': an is_modifier may be copied from a URL.
	off := 0
	if strings.HasPrefix(s, "?") {
		off = 1
	}
	for off <= len(s) {
		end := strings.IndexByte(s[off:], '&')
		if end < 0 {
			end = len(s)
		} else {
			end += off
		}
		raw := s[off:end]
		start := off
		off = end + 1

		// Whitespace around a modifier comes from copy and paste, not from
		// the protocol (an unencoded space is not legal in a URL).
		text := strings.TrimLeft(raw, " \t\r\n")
		start += len(raw) - len(text)
		text = strings.TrimRight(text, " \t\r\n")
		if text == "" || text[0] == '.' {
			continue // empty modifier, or a comment
		}

		here := at
		if len(stack) == 0 {
			here = origin{pos: start + 1, field: at.field}
		} else {
			here.macro = stack[len(stack)-1]
			here.macroPos = start + 1
		}

		if text[0] == '$' && !strings.Contains(text, "=") {
			if err := p.call(text, here, stack); err != nil {
				return err
			}
			continue
		}
		p.items = append(p.items, item{text: text, at: here})
		if len(p.items) > maxModifiers {
			return perr(text, here, "", fmt.Sprintf("more than %d modifiers after macro expansion", maxModifiers))
		}
	}
	return nil
}

// call expands one $name$ macro call.
func (p *parser) call(text string, at origin, stack []string) error {
	if len(text) < 3 || !strings.HasSuffix(text, "$") {
		return perr(text, at, "", "a macro call is written $name$")
	}
	name := text[1 : len(text)-1]
	if !validName(name) {
		return perr(text, at, "", "a macro name has only letters, digits, '-', '_' and '.'")
	}
	return p.expandMacro(name, text, at, stack)
}

// expandMacro expands the definition of macro name, called as text at at.
func (p *parser) expandMacro(name, text string, at origin, stack []string) error {
	for i, s := range stack {
		if strings.EqualFold(s, name) {
			chain := append(append([]string{}, stack[i:]...), name)
			for j := range chain {
				chain[j] = "$" + chain[j] + "$"
			}
			return perr(text, at, "", "macro cycle: "+strings.Join(chain, " → "))
		}
	}
	if len(stack) >= maxMacroDepth {
		return perr(text, at, "", fmt.Sprintf("macros nested more than %d deep", maxMacroDepth))
	}
	if p.macros == nil {
		return perr(text, at, "", "unknown macro (no image formats to look in)")
	}
	def, ok, err := p.macros.LookupMacro(name)
	if err != nil {
		return fmt.Errorf("looking up macro $%s$: %w", name, err)
	}
	if !ok {
		return perr(text, at, "", "unknown macro")
	}
	// Definitions are stored trimmed of whitespace and '&' (docs/rendering.md, "Decisions the reference leaves open"), but
	// tolerate ones that are not.
	def = strings.Trim(def, " \t\r\n&")
	return p.expand(def, at, append(stack, name))
}

func perr(cmd string, at origin, value, reason string) *ParseError {
	return &ParseError{Command: cmd, Pos: at.pos, Field: at.field, Macro: at.macro, MacroPos: at.macroPos, Value: value, Reason: reason}
}

// build applies the expanded modifiers in order: variables, then commands.
func (p *parser) build() (*Request, error) {
	r := &Request{
		effective:     map[string]effectiveCmd{},
		groupWarnings: map[string][]Warning{},
		where:         map[string]origin{},
	}
	vars := map[string]string{}
	var order []string // groups in order of their last occurrence, for warnings

	for _, it := range p.items {
		name, raw, hasValue := strings.Cut(it.text, "=")
		if strings.HasPrefix(name, "$") {
			v := name[1:]
			if !validName(v) {
				return nil, perr(name, it.at, "", "a variable name has only letters, digits, '-', '_' and '.'")
			}
			// Values stay encoded: they are decoded once, after substitution.
			vars[strings.ToLower(v)] = raw
			continue
		}
		cmd := lookupCommand(name)
		if cmd == nil {
			return nil, perr(name, it.at, "", "unknown command")
		}
		// Variables are not substituted in layer= and effect= (reference).
		if cmd.group != "layer" && cmd.group != "effect" {
			raw = substitute(raw, vars)
		}
		value, err := percentDecode(raw)
		if err != nil {
			return nil, perr(name, it.at, raw, err.Error())
		}

		if cmd.status == rejected {
			pe := perr(name, it.at, value, "not supported by this server: "+cmd.note)
			pe.Rejected = true
			return nil, pe
		}
		var warn string
		if cmd.parse != nil {
			warn, err = cmd.parse(r, newVal(value))
			if err != nil {
				pe := perr(name, it.at, value, err.Error())
				var rej *rejectedError
				if errors.As(err, &rej) {
					pe.Rejected = true
					pe.Reason = "not supported by this server: " + rej.reason
				}
				return nil, pe
			}
		}
		if cmd.status == warned {
			warn = "not rendered: " + cmd.note
		}
		g := cmd.group
		r.effective[g] = effectiveCmd{name: cmd.name, value: value, set: hasValue}
		r.where[g] = it.at
		delete(r.groupWarnings, g)
		if warn != "" {
			r.groupWarnings[g] = []Warning{{Command: cmd.name, Pos: it.at.pos, Field: it.at.field, Macro: it.at.macro, Message: warn}}
		}
		order = remove(order, g)
		order = append(order, g)
	}
	for _, g := range order {
		r.Warnings = append(r.Warnings, r.groupWarnings[g]...)
	}
	if err := r.validate(); err != nil {
		return nil, err
	}
	return r, nil
}

func remove(s []string, v string) []string {
	for i, x := range s {
		if x == v {
			return append(s[:i], s[i+1:]...)
		}
	}
	return s
}

// substitute replaces $var$ references with the raw values of defined
// variables. Undefined references stay literal, and substituted text is not
// scanned again (r-is-http-substitution-variables.md).
func substitute(s string, vars map[string]string) string {
	if len(vars) == 0 || !strings.Contains(s, "$") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		if s[i] != '$' {
			b.WriteByte(s[i])
			i++
			continue
		}
		if j := strings.IndexByte(s[i+1:], '$'); j >= 0 {
			name := s[i+1 : i+1+j]
			if v, ok := vars[strings.ToLower(name)]; ok && validName(name) {
				b.WriteString(v)
				i += j + 2
				continue
			}
		}
		b.WriteByte('$')
		i++
	}
	return b.String()
}

// validate checks rules that involve more than one command, on the
// effective values.
func (r *Request) validate() error {
	at := func(g string) origin { return r.where[g] }
	if r.Fit != nil && r.Wid == 0 && r.Hei == 0 {
		e := r.effective["fit"]
		return perr(e.name, at("fit"), e.value, "fit= needs wid= or hei= (r-fit.md)")
	}
	if r.Quantize.Set && r.Quantize.Palette == "mac" && (r.FormatInfo().Name == "gif-alpha" || r.FormatInfo().Name == "png8-alpha") {
		e := r.effective["quantize"]
		return perr(e.name, at("quantize"), e.value, "the mac palette is not available for "+r.FormatInfo().Name)
	}
	if ws := QuantizeWarnings(r.Quantize, r.FormatInfo()); len(ws) > 0 {
		o := at("quantize")
		r.Warnings = append(r.Warnings, Warning{Command: "quantize", Pos: o.pos, Field: o.field, Macro: o.macro, Message: strings.Join(ws, "; ")})
	}
	return nil
}
