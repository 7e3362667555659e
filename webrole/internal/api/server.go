// Package api is the web role's HTTP surface, built on Gin: health and
// readiness now; the public calendar outputs, the curator and admin REST API
// and the script-backed /services endpoints hang off the same Server.
package api

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/elmcity/elmcity/shared/hub"
	"github.com/elmcity/elmcity/shared/queue"
	"github.com/elmcity/elmcity/shared/script"
	"github.com/elmcity/elmcity/shared/tablelog"
	"github.com/elmcity/elmcity/shared/tablestore"
	"github.com/elmcity/elmcity/webrole/internal/outputs"
)

// store is what the API needs of the hub, feed and curator records and
// of the hubs' pending jobs (*tablestore.Store). Methods return
// tablestore.ErrNotFound, ErrExists, ErrChanged, ErrJobPending, a
// *tablestore.LimitError or a *hub.ValidationError.
type store interface {
	ListHubs(ctx context.Context) ([]hub.Hub, error)
	GetHub(ctx context.Context, id string) (hub.Hub, error)
	CreateHub(ctx context.Context, h hub.Hub) (hub.Hub, error)
	UpdateHub(ctx context.Context, h hub.Hub) (hub.Hub, error)
	DeleteHub(ctx context.Context, id string) error
	ListFeeds(ctx context.Context, hubID string) ([]hub.Feed, error)
	GetFeed(ctx context.Context, hubID, feedID string) (hub.Feed, error)
	CreateFeed(ctx context.Context, hubID string, f hub.Feed) (hub.Feed, error)
	UpdateFeed(ctx context.Context, hubID string, f hub.Feed) (hub.Feed, error)
	DeleteFeed(ctx context.Context, hubID, feedID string) error
	CreateCurator(ctx context.Context, name string, hubs []string) (tablestore.Curator, string, error)
	Authenticate(ctx context.Context, token string) (tablestore.Curator, error)
	DeleteCurator(ctx context.Context, id string) error
	ListHubsPage(ctx context.Context, after string, limit int) ([]hub.Hub, string, error)
	GetHubs(ctx context.Context, ids []string) ([]hub.Hub, error)
	ListFeedsPage(ctx context.Context, hubID, after string, limit int) ([]hub.Feed, string, error)
	ListCurators(ctx context.Context, after string, limit int) ([]tablestore.Curator, string, error)
	RotateCuratorToken(ctx context.Context, id string) (tablestore.Curator, string, error)
	ClaimPendingJob(ctx context.Context, hubID, jobID string) (tablestore.PendingJob, error)
	ClearPendingJob(ctx context.Context, hubID, jobID string) error
	CheckMembers(ctx context.Context, h hub.Hub) error
	CreateJob(ctx context.Context, j tablestore.JobStatus) error
	GetJob(ctx context.Context, hubID, jobID string) (tablestore.JobStatus, error)
	AddHistory(ctx context.Context, e tablestore.HistoryEntry) error
	ListHistory(ctx context.Context, hubID, after string, limit int) ([]tablestore.HistoryEntry, string, error)
}

// enqueuer sends aggregation jobs (*queue.Client). It returns
// queue.ErrInvalid for a job it refuses.
type enqueuer interface {
	Enqueue(ctx context.Context, job queue.Job, delay time.Duration) (queue.Job, error)
}

// logReader reads a hub's table log (*tablelog.Log). It returns
// tablelog.ErrInvalid for a bad query.
type logReader interface {
	Read(ctx context.Context, q tablelog.Query) (tablelog.Page, error)
	Purge(ctx context.Context, hub string, olderThan time.Time) (int, error)
}

var (
	_ store     = (*tablestore.Store)(nil)
	_ enqueuer  = (*queue.Client)(nil)
	_ logReader = (*tablelog.Log)(nil)
)

// Deps is everything the Server needs from the outside. All but
// AdminToken and MaxBodyBytes are required.
type Deps struct {
	// Logger receives access logs and 5xx errors.
	Logger *slog.Logger
	// Ready reports whether storage answers; /readyz calls it.
	Ready func(ctx context.Context) error
	// Store holds hubs, feeds and curators.
	Store store
	// Jobs receives aggregation jobs.
	Jobs enqueuer
	// Log reads hubs' log entries.
	Log logReader
	// Scripts runs the query scripts behind /services/{hub}/{what}.
	Scripts scriptRunner
	// Calendars reads the hubs' published calendars.
	Calendars calendars
	// ScriptHost is the host API query scripts get (scripthost.Host).
	ScriptHost script.Host
	// AdminToken is the administrator's bearer token; empty disables the
	// administrator.
	AdminToken string
	// MaxBodyBytes caps request bodies (default 1 MiB).
	MaxBodyBytes int64
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Outputs tunes the public calendar outputs and their cache.
	Outputs outputs.Config
	// LogDropped, when set, counts the log entries the table log lost
	// (tablelog.Log.Dropped), for a metric.
	LogDropped func() uint64
	// Checks configures POST /api/hubs/{hub}/check; without a Fetcher it
	// answers 503.
	Checks CheckConfig
	// Console, when set, serves the curator console at /console and
	// signs in its sessions on GET /services/{hub}/{what}; without it
	// /console answers 404.
	Console consoleUI
}

// Server is the web role's HTTP handler.
type Server struct {
	deps     Deps
	engine   *gin.Engine
	handler  http.Handler // engine, answering HEAD as GET
	metrics  *metrics
	adminSum []byte // SHA-256 of the admin token; nil when there is none
	host     script.Host
	outputs  outputSource
	checks   *checker
	hubs     *hubService
	history  historian
	// publicURL is Deps.Outputs.PublicURL without a trailing slash.
	publicURL string
}

// New builds the Server. It panics on a missing dependency: that is a
// programming error found at startup.
func New(deps Deps) *Server {
	if deps.Logger == nil || deps.Ready == nil || deps.Store == nil || deps.Jobs == nil || deps.Log == nil || deps.Scripts == nil || deps.Calendars == nil || deps.ScriptHost == nil {
		panic("api.New: Logger, Ready, Store, Jobs, Log, Scripts, Calendars and ScriptHost are required")
	}
	if deps.Now == nil {
		deps.Now = time.Now
	}
	if deps.MaxBodyBytes <= 0 {
		deps.MaxBodyBytes = 1 << 20
	}
	m := newMetrics(deps.LogDropped)
	s := &Server{deps: deps, engine: gin.New(), metrics: m, host: deps.ScriptHost,
		outputs:   outputs.New(outputs.Deps{Calendars: deps.Calendars, Store: deps.Store, Metrics: m.outputs(), Now: deps.Now, Config: deps.Outputs}),
		publicURL: strings.TrimRight(deps.Outputs.PublicURL, "/")}
	s.history = historian{store: deps.Store, logger: deps.Logger, now: deps.Now}
	s.hubs = &hubService{store: deps.Store, cals: deps.Calendars, log: deps.Log, logger: deps.Logger, now: deps.Now, history: s.history}
	s.checks = newChecker(deps.Checks, deps.Now)
	if deps.AdminToken != "" {
		sum := sha256.Sum256([]byte(deps.AdminToken))
		s.adminSum = sum[:]
	}
	s.engine.HandleMethodNotAllowed = true
	s.engine.ContextWithFallback = true
	s.routes()
	s.handler = headAsGet(s.engine)
	return s
}

// Close stops the work the Server runs in the background, beyond the
// requests that asked for it (loads and renders of the public outputs),
// and waits for it to end. Call it once the HTTP server has shut down.
func (s *Server) Close() { s.outputs.Close() }

// Handler returns the http.Handler to serve. HEAD is answered wherever
// GET is.
func (s *Server) Handler() http.Handler { return s.handler }

// requestID gives every request an id (kept from X-Request-Id when sane),
// echoed in the response and in every log line about the request.
func requestID() gin.HandlerFunc {
	return func(c *gin.Context) {
		id := c.GetHeader("X-Request-Id")
		if !validRequestID(id) {
			var b [8]byte
			_, _ = rand.Read(b[:])
			id = hex.EncodeToString(b[:])
		}
		c.Set(ctxRequestID, id)
		c.Header("X-Request-Id", id)
		c.Next()
	}
}

const ctxRequestID = "request_id"

func validRequestID(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	for _, r := range id {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return false
		}
	}
	return true
}

// accessLog writes one JSON line per request. It logs the route pattern and
// the path, never the query string or headers (tokens live there).
func (s *Server) accessLog() gin.HandlerFunc {
	return func(c *gin.Context) {
		start := time.Now()
		c.Next()
		lvl := slog.LevelInfo
		if c.Writer.Status() >= 500 {
			lvl = slog.LevelWarn
		}
		s.deps.Logger.LogAttrs(c.Request.Context(), lvl, "http request",
			slog.String("type", "request"),
			slog.String("request_id", c.GetString(ctxRequestID)),
			slog.String("method", c.Request.Method),
			slog.String("route", c.FullPath()),
			slog.String("path", c.Request.URL.Path),
			slog.Int("status", c.Writer.Status()),
			slog.Int("bytes", c.Writer.Size()),
			slog.Int64("duration_us", time.Since(start).Microseconds()),
		)
	}
}

// limitBody caps every request body.
func (s *Server) limitBody() gin.HandlerFunc {
	return func(c *gin.Context) {
		if c.Request.Body != nil {
			c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, s.deps.MaxBodyBytes)
		}
		c.Next()
	}
}

// noStore keeps private API answers out of shared caches.
func noStore(c *gin.Context) {
	c.Header("Cache-Control", "no-store")
	c.Next()
}

// Route is one registered method and path pattern.
type Route struct{ Method, Path string }

// Routes lists every registered route, for documentation checks.
func (s *Server) Routes() []Route {
	var out []Route
	for _, r := range s.engine.Routes() {
		out = append(out, Route{Method: r.Method, Path: r.Path})
	}
	return out
}

// publicCORS opens a public read endpoint to every origin. Only routes that
// need no token get it: a browser never sends a curator's token cross-site.
func publicCORS(c *gin.Context) {
	c.Header("Access-Control-Allow-Origin", "*")
	c.Next()
}
