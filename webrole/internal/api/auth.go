package api

import (
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/elmcity/elmcity/shared/hub"
	"github.com/elmcity/elmcity/shared/tablestore"
)

// principal is who a request acts for: the administrator, or a curator
// scoped to their hubs.
type principal struct {
	admin   bool
	curator tablestore.Curator
}

func (p principal) can(hubID string) bool { return p.admin || p.curator.Can(hubID) }

func (p principal) name() string {
	if p.admin {
		return "admin"
	}
	return "curator:" + p.curator.ID
}

const ctxPrincipal = "principal"

var (
	errUnauthorized = &Error{Status: http.StatusUnauthorized, Code: "unauthorized", Message: "a valid bearer token is required"}
	errForbidden    = &Error{Status: http.StatusForbidden, Code: "forbidden", Message: "this token may not do that"}
)

// authenticate resolves the bearer token to a principal, or answers 401.
func (s *Server) authenticate() gin.HandlerFunc {
	return func(c *gin.Context) {
		if s.authorize(c) {
			c.Next()
		}
	}
}

// authorize resolves the bearer token (or, for a request the console
// sends in process, the console's principal) to a principal stored in c. On
// failure it records the error, aborts and returns false. The admin token
// is compared in constant time (over hashes, so its length does not leak
// either); curator tokens are checked by the store in constant time.
func (s *Server) authorize(c *gin.Context) bool {
	if p, ok := consolePrincipal(c); ok {
		c.Set(ctxPrincipal, p)
		return true
	}
	token, ok := bearer(c.GetHeader("Authorization"))
	if !ok {
		c.Header("WWW-Authenticate", `Bearer realm="elmcity"`)
		abortWith(c, errUnauthorized)
		return false
	}
	sum := sha256.Sum256([]byte(token))
	if s.adminSum != nil && subtle.ConstantTimeCompare(sum[:], s.adminSum) == 1 {
		c.Set(ctxPrincipal, principal{admin: true})
		return true
	}
	cur, err := s.deps.Store.Authenticate(c.Request.Context(), token)
	if errors.Is(err, tablestore.ErrNotFound) {
		c.Header("WWW-Authenticate", `Bearer realm="elmcity", error="invalid_token"`)
		abortWith(c, errUnauthorized)
		return false
	}
	if err != nil {
		abortWith(c, err)
		return false
	}
	c.Set(ctxPrincipal, principal{curator: cur})
	return true
}

// authorizeService is authorize for GET /services/{hub}/{what}, which a
// browser tab opens: without an Authorization header, a live console
// session signs the request in, scoped like its token.
func (s *Server) authorizeService(c *gin.Context) bool {
	if c.GetHeader("Authorization") == "" {
		p, ok, err := s.sessionPrincipal(c)
		if err != nil {
			abortWith(c, err)
			return false
		}
		if ok {
			c.Set(ctxPrincipal, p)
			return true
		}
		if s.deps.Console != nil {
			c.Header("WWW-Authenticate", `Bearer realm="elmcity"`)
			abortWith(c, errSignIn)
			return false
		}
	}
	return s.authorize(c)
}

// errSignIn answers a browser tab with neither a token nor a session.
var errSignIn = &Error{Status: http.StatusUnauthorized, Code: "unauthorized",
	Message: "sign in to the console at /console/login first, or send a bearer token"}

func bearer(h string) (string, bool) {
	scheme, token, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	token = strings.TrimSpace(token)
	return token, token != "" && len(token) <= 512
}

func who(c *gin.Context) principal {
	p, _ := c.Get(ctxPrincipal)
	pr, _ := p.(principal)
	return pr
}

// requireAdmin lets only the administrator through.
func requireAdmin(c *gin.Context) {
	if !who(c).admin {
		abortWith(c, errForbidden)
		return
	}
	c.Next()
}

// requireHub lets through the administrator and the curators of the
// :hub in the path. A curator of other hubs gets errNoAccess, which says
// the same of a hub that does not exist and of one that is not theirs.
func requireHub(c *gin.Context) {
	if !who(c).can(c.Param("hub")) {
		abortWith(c, errNoAccess(c.Param("hub")))
		return
	}
	c.Next()
}

// errNoAccess is the 403 a curator gets for a hub they may not manage:
// it names the hub and says what may be wrong, without telling whether
// the hub exists.
func errNoAccess(hubID string) *Error {
	if !hub.ValidID(hubID) {
		hubID = "with that id"
	}
	return &Error{Status: http.StatusForbidden, Code: "forbidden",
		Message: fmt.Sprintf("no access to hub %s: it does not exist or is not yours", hubID)}
}

// abortWith records err for the error middleware and stops the chain.
func abortWith(c *gin.Context, err error) {
	_ = c.Error(err)
	c.Abort()
}
