// Package console is the curator console: server-rendered pages at
// /console with which curators and the administrator run hubs from a
// browser. A curator signs in by pasting their token once; the console
// keeps a server-side session (a cookie naming a record in the store) and
// does every read and write through the REST API, in process and as the
// signed-in principal, so the API's scope checks, validation, ETags and
// history apply to the console exactly as they do to curl.
//
// Pages work without JavaScript; a little script (console.js) improves a
// few of them. Pages carry their own Content-Security-Policy: their one
// stylesheet and one script by hash, nothing from elsewhere.
package console

import (
	"context"
	"crypto/sha256"
	"log/slog"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/elmcity/elmcity/shared/tablestore"
)

// Principal is who a console session acts for: the administrator, or a
// curator scoped to their hubs.
type Principal struct {
	Admin   bool
	Curator tablestore.Curator
}

// Can reports whether p may manage hubID.
func (p Principal) Can(hubID string) bool { return p.Admin || p.Curator.Can(hubID) }

// Name is how pages name p.
func (p Principal) Name() string {
	if p.Admin {
		return "the administrator"
	}
	return p.Curator.Name
}

// API serves one REST API request in process as the principal as: the
// web role's API handler, which trusts as because only the console, after
// checking the session, can pass it. The request's Authorization header is
// ignored.
type API func(w http.ResponseWriter, r *http.Request, as Principal)

// store is what the console needs of the session and curator records
// (*tablestore.Store). Methods return tablestore.ErrNotFound for an
// unknown, expired or unbound session or token.
type store interface {
	AuthenticateForSession(ctx context.Context, token string) (tablestore.Curator, string, error)
	CuratorBinding(ctx context.Context, id, bind string) (tablestore.Curator, error)
	CreateSession(ctx context.Context, s tablestore.Session) error
	GetSession(ctx context.Context, id string) (tablestore.Session, error)
	DeleteSession(ctx context.Context, id string) error
	PurgeSessions(ctx context.Context, limit int) (int, error)
}

var _ store = (*tablestore.Store)(nil)

// DefaultLifetime is Deps.Lifetime's default.
const DefaultLifetime = 12 * time.Hour

// Deps is what the console needs from the outside. Store and Logger are
// required.
type Deps struct {
	// Store keeps sessions and checks curators' tokens.
	Store store
	// Logger receives sign-ins, sign-outs and failures (never a token or a
	// cookie).
	Logger *slog.Logger
	// AdminToken is the administrator's token; empty: the administrator
	// cannot sign in.
	AdminToken string
	// Lifetime is how long a session lasts from sign-in (default 12h).
	Lifetime time.Duration
	// Secure marks the cookies Secure and names the session cookie with
	// the __Host- prefix. Set it when the site is served over https
	// (ELMCITY_PUBLIC_URL is https); requests on a TLS connection get
	// Secure cookies anyway. X-Forwarded-Proto is not trusted: any client
	// can send it.
	Secure bool
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Console serves the console's pages and checks its sessions.
type Console struct {
	deps     Deps
	adminSum []byte
	pages    *pages
	cop      *http.CrossOriginProtection
}

// New builds the Console; it panics on a missing dependency.
func New(deps Deps) *Console {
	if deps.Store == nil || deps.Logger == nil {
		panic("console.New: Store and Logger are required")
	}
	if deps.Lifetime <= 0 {
		deps.Lifetime = DefaultLifetime
	}
	if deps.Now == nil {
		deps.Now = time.Now
	}
	c := &Console{deps: deps, pages: loadPages(), cop: http.NewCrossOriginProtection()}
	if deps.AdminToken != "" {
		sum := sha256.Sum256([]byte(deps.AdminToken))
		c.adminSum = sum[:]
	}
	c.cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c.refuse(w, r, http.StatusForbidden, "This form came from another site, so it was not accepted.")
	}))
	return c
}

// Handler returns the console's pages, served at /console, which read and
// write through api.
func (c *Console) Handler(api API) http.Handler {
	if api == nil {
		panic("console.Handler: api is required")
	}
	e := gin.New()
	e.HandleMethodNotAllowed = true
	e.ContextWithFallback = true
	h := &handler{Console: c, api: api}
	h.routes(e)
	return e
}
