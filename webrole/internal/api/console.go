package api

import (
	"context"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/elmcity/elmcity/webrole/internal/console"
)

// consoleUI is the curator console (*console.Console): its pages, served
// over this API, and the principal of a request's session cookie.
// Principal returns ok false for no session or a dead one, and an error
// only when storage fails.
type consoleUI interface {
	Handler(api console.API) http.Handler
	Principal(r *http.Request) (p console.Principal, ok bool, err error)
}

var _ consoleUI = (*console.Console)(nil)

// asKey is the context key of a request the console sends in process:
// its value is the principal the console signed in. Only serveAs sets it,
// so no request from outside can carry one.
type asKey struct{}

// consoleHandler serves /console: the console over this API, or a 404
// when the web role runs without one.
func (s *Server) consoleHandler() gin.HandlerFunc {
	if s.deps.Console == nil {
		return func(c *gin.Context) {
			_ = c.Error(&Error{Status: http.StatusNotFound, Code: "not_found", Message: "the console is not enabled"})
		}
	}
	h := s.deps.Console.Handler(s.serveAs)
	return func(c *gin.Context) { h.ServeHTTP(c.Writer, c.Request) }
}

// serveAs serves one API request from the console as p, whose session the
// console has checked: through the same routes, scope checks and
// validation as a bearer token's request.
func (s *Server) serveAs(w http.ResponseWriter, r *http.Request, p console.Principal) {
	r = r.WithContext(context.WithValue(r.Context(), asKey{}, principal{admin: p.Admin, curator: p.Curator}))
	r.Header.Del("Authorization")
	s.engine.ServeHTTP(w, r)
}

// consolePrincipal is the principal of a request the console sent in
// process, if it is one.
func consolePrincipal(c *gin.Context) (principal, bool) {
	p, ok := c.Request.Context().Value(asKey{}).(principal)
	return p, ok
}

// sessionPrincipal signs in a browser's console session, for the routes
// that accept one (GET /services/{hub}/{what}): ok is false without a
// live session.
func (s *Server) sessionPrincipal(c *gin.Context) (principal, bool, error) {
	if s.deps.Console == nil {
		return principal{}, false, nil
	}
	p, ok, err := s.deps.Console.Principal(c.Request)
	if err != nil || !ok {
		return principal{}, false, err
	}
	return principal{admin: p.Admin, curator: p.Curator}, true, nil
}
