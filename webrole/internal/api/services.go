package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/elmcity/elmcity/shared/script"
	"github.com/elmcity/elmcity/shared/tablelog"

	"github.com/elmcity/elmcity/webrole/internal/outputs"
)

// scriptRunner runs query scripts (*script.Engine). Run returns
// script.ErrNotFound for an unknown script and a *script.Error for a
// failed run.
type scriptRunner interface {
	Run(ctx context.Context, req script.Request) (string, error)
	Exists(name string) (bool, error)
}

var _ scriptRunner = (*script.Engine)(nil)

// whatPattern is the shape of a service name: it becomes a script path.
var whatPattern = regexp.MustCompile(`^[a-z][a-z0-9_]{0,63}$`)

// Limits on the query parameters handed to a script.
const (
	maxParams     = 32
	maxParamBytes = 1024
)

// getService runs the query script services/{what}.js for the hub with
// argv = [hub, what] and the query parameters as params, and answers its
// result as text/plain. Only the hub's curators and the administrator may
// call it.
func (s *Server) getService(c *gin.Context) {
	hubID, what := c.Param("hub"), c.Param("what")
	if IsFormat(what) {
		s.serveOutput(c, hubID, what)
		return
	}
	// An unknown name is a 404 for everyone, before any token is asked
	// for: /services/keene/icss is a typo, not a private service.
	unknown := &Error{Status: http.StatusNotFound, Code: "not_found",
		Message: "no such output or service: the outputs are " + strings.Join(outputs.Formats(), ", ")}
	if !whatPattern.MatchString(what) {
		_ = c.Error(unknown)
		return
	}
	if exists, err := s.deps.Scripts.Exists("services/" + what + ".js"); err == nil && !exists {
		_ = c.Error(unknown)
		return
	}
	if !s.authorizeService(c) {
		return
	}
	if !who(c).can(hubID) {
		_ = c.Error(errNoAccess(hubID))
		return
	}
	ctx := c.Request.Context()
	if _, err := s.deps.Store.GetHub(ctx, hubID); err != nil {
		_ = c.Error(err)
		return
	}
	params := map[string]string{}
	q := c.Request.URL.Query()
	if len(q) > maxParams {
		_ = c.Error(&Error{Status: http.StatusBadRequest, Code: "invalid", Message: fmt.Sprintf("at most %d query parameters", maxParams)})
		return
	}
	for k, v := range q {
		if len(k)+len(v[0]) > maxParamBytes {
			_ = c.Error(&Error{Status: http.StatusBadRequest, Code: "invalid", Message: "query parameter too long", Fields: map[string]string{k: "too long"}})
			return
		}
		params[k] = v[0]
	}
	name := "services/" + what + ".js"
	out, err := s.deps.Scripts.Run(ctx, script.Request{
		Name: name, Argv: []string{hubID, what}, Params: params, Hub: hubID, Host: s.host,
	})
	if err != nil {
		_ = c.Error(s.scriptFailure(ctx, hubID, name, err))
		return
	}
	s.metrics.scriptRuns.WithLabelValues(name, "ok").Inc()
	c.Data(http.StatusOK, "text/plain; charset=utf-8", []byte(out))
}

// scriptFailure maps a failed run to an HTTP error and counts it. A run
// that the request's own parameters made fail is the caller's 4xx, not
// logged: a parameter the host API refused (400 invalid), a result over
// the engine's size limit (422 script_result_too_large) or another of the
// run's limits (422 script_limit). Anything else is the script's fault: a
// 500 with an exception entry in the hub's log (the Go side never
// reaches the client).
func (s *Server) scriptFailure(ctx context.Context, hubID, name string, err error) error {
	if errors.Is(err, script.ErrNotFound) {
		return &Error{Status: http.StatusNotFound, Code: "not_found", Message: "no such service"}
	}
	var se *script.Error
	inRun := errors.As(err, &se)
	switch {
	case !inRun && errors.Is(err, script.ErrLimit):
		// Outside a run, only the result is measured against a limit (a
		// script file over the module limit lands here too).
		s.metrics.scriptRuns.WithLabelValues(name, "too_large").Inc()
		return &Error{Status: http.StatusUnprocessableEntity, Code: "script_result_too_large",
			Message: "the script's result is over the size limit; ask for less (a lower limit, a shorter period)"}
	case inRun && badArgument(se):
		s.metrics.scriptRuns.WithLabelValues(name, "invalid").Inc()
		return &Error{Status: http.StatusBadRequest, Code: "invalid", Message: se.Msg}
	case inRun && errors.Is(err, script.ErrLimit):
		s.metrics.scriptRuns.WithLabelValues(name, "limit").Inc()
		return &Error{Status: http.StatusUnprocessableEntity, Code: "script_limit", Message: se.Msg}
	}
	outcome, code := "error", "script_error"
	if errors.Is(err, context.DeadlineExceeded) {
		outcome, code = "timeout", "script_timeout"
	}
	s.metrics.scriptRuns.WithLabelValues(name, outcome).Inc()
	if !inRun {
		return fmt.Errorf("run %s: %w", name, err)
	}
	s.deps.Logger.ErrorContext(ctx, "query script failed", "hub", hubID, "script", name, "error", se.Error(), "detail", se.Stack,
		"line", se.Line, "col", se.Col, "hash", se.Hash)
	return &Error{Status: http.StatusInternalServerError, Code: code, Message: se.Error()}
}

// badArgument reports whether a run failed because the host API refused
// an argument that came from the request's parameters: a query the log
// rejects (tablelog.ErrInvalid), or a TypeError from the host API's own
// argument checks, whose messages all begin "elmcity.<function>: ".
// shared/script has no sentinel for the latter, so the message prefix is
// the signal.
func badArgument(se *script.Error) bool {
	return errors.Is(se, tablelog.ErrInvalid) || strings.HasPrefix(se.Msg, "TypeError: elmcity.")
}
