// Package envconfig reads a role's configuration from environment variables
// through an injected getenv, collecting every bad variable into one error
// and recording each variable it was asked for, so the documentation of the
// configuration can be generated and checked instead of drifting.
package envconfig

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"time"
)

// Secret is a string that never reaches a log: its LogValue and String are
// redacted.
type Secret string

// LogValue implements slog.LogValuer.
func (s Secret) LogValue() slog.Value {
	if s == "" {
		return slog.StringValue("")
	}
	return slog.StringValue("REDACTED")
}

// String implements fmt.Stringer with the same redaction, so %v is safe.
func (s Secret) String() string { return s.LogValue().String() }

// MarshalText redacts too, so a Secret inside a struct logged by a JSON
// handler (which marshals it) stays hidden.
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// Reveal returns the secret itself, for the one place that uses it.
func (s Secret) Reveal() string { return string(s) }

// Var describes one variable a Reader was asked for.
type Var struct {
	Name    string
	Default string
	Doc     string
	Secret  bool
}

// Reader reads variables and remembers what it read. It is not safe for
// concurrent use; config is loaded once, in run.
type Reader struct {
	getenv func(string) string
	errs   []error
	vars   []Var
}

// New returns a Reader over getenv (os.Getenv in main, a map in tests).
func New(getenv func(string) string) *Reader {
	return &Reader{getenv: getenv}
}

func (r *Reader) lookup(name, def, doc string, secret bool) (string, bool) {
	r.vars = append(r.vars, Var{Name: name, Default: def, Doc: doc, Secret: secret})
	v := strings.TrimSpace(r.getenv(name))
	if v == "" {
		return def, false
	}
	return v, true
}

func (r *Reader) fail(name, value, why string) {
	r.errs = append(r.errs, fmt.Errorf("%s=%q: %s", name, value, why))
}

// String reads a string variable.
func (r *Reader) String(name, def, doc string) string {
	v, _ := r.lookup(name, def, doc, false)
	return v
}

// Secret reads a secret variable; its value is never echoed in errors.
func (r *Reader) Secret(name, doc string) Secret {
	v, _ := r.lookup(name, "", doc, true)
	return Secret(v)
}

// Int reads an integer within [lo, hi].
func (r *Reader) Int(name string, def, lo, hi int, doc string) int {
	v, set := r.lookup(name, strconv.Itoa(def), doc, false)
	if !set {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		r.fail(name, v, "not an integer")
		return def
	}
	if n < lo || n > hi {
		r.fail(name, v, fmt.Sprintf("must be between %d and %d", lo, hi))
		return def
	}
	return n
}

// Duration reads a Go duration ("90s", "5m") within [lo, hi].
func (r *Reader) Duration(name string, def, lo, hi time.Duration, doc string) time.Duration {
	v, set := r.lookup(name, def.String(), doc, false)
	if !set {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		r.fail(name, v, "not a duration such as 30s or 5m")
		return def
	}
	if d < lo || d > hi {
		r.fail(name, v, fmt.Sprintf("must be between %s and %s", lo, hi))
		return def
	}
	return d
}

// Bool reads true/false (also 1/0, yes/no).
func (r *Reader) Bool(name string, def bool, doc string) bool {
	v, set := r.lookup(name, strconv.FormatBool(def), doc, false)
	if !set {
		return def
	}
	switch strings.ToLower(v) {
	case "1", "true", "yes", "on":
		return true
	case "0", "false", "no", "off":
		return false
	}
	r.fail(name, v, "not a boolean (true or false)")
	return def
}

// Addr reads a host:port listen address; port 0 picks a free port.
func (r *Reader) Addr(name, def, doc string) string {
	v, set := r.lookup(name, def, doc, false)
	if !set {
		return def
	}
	if _, port, err := net.SplitHostPort(v); err != nil {
		r.fail(name, v, "not a host:port address")
	} else if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		r.fail(name, v, "port must be 0-65535")
	}
	return v
}

// Check records a validation failure of an already read variable when ok is
// false.
func (r *Reader) Check(ok bool, name, value, why string) {
	if !ok {
		r.fail(name, value, why)
	}
}

// Err returns every bad variable in one error, or nil.
func (r *Reader) Err() error {
	if len(r.errs) == 0 {
		return nil
	}
	return fmt.Errorf("configuration: %w", errors.Join(r.errs...))
}

// Vars lists the variables read so far, in the order they were read.
func (r *Reader) Vars() []Var {
	return append([]Var(nil), r.vars...)
}
