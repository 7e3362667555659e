package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/elmcity/elmcity/shared/azstorage/storagetest"
	"github.com/elmcity/elmcity/shared/publish"
	"github.com/elmcity/elmcity/shared/queue"
	"github.com/elmcity/elmcity/shared/script"
	"github.com/elmcity/elmcity/shared/scripthost"
	"github.com/elmcity/elmcity/shared/tablelog"
	"github.com/elmcity/elmcity/shared/tablestore"
	"github.com/elmcity/elmcity/webrole/internal/api"
)

const adminToken = "admin-token-0123456789abcdef"

// scriptsDir is the repository's scripts folder, which the web role
// serves by default.
const scriptsDir = "../../../scripts"

type testBundle struct {
	cals  *publish.Store
	srv   *api.Server
	logs  *bytes.Buffer
	store *tablestore.Store
	tlog  *tablelog.Log
	jobs  *queue.Client
}

// setup builds a Server over real Azurite-backed stores in unique tables
// and queues; ready is what /readyz reports.
func setup(t testing.TB, ready func(context.Context) error) testBundle {
	t.Helper()
	return setupWith(t, ready, tablestore.Limits{})
}

// setupWith is setup with the store's limits; each of adjust may change
// the server's dependencies (the script engine is the one they hold)
// before the server is made.
func setupWith(t testing.TB, ready func(context.Context) error, limits tablestore.Limits, adjust ...func(*api.Deps, *script.Engine)) testBundle {
	t.Helper()
	gin.SetMode(gin.TestMode)
	ctx := context.Background()
	acct := storagetest.Account(t)
	st, err := tablestore.Open(ctx, acct, tablestore.Config{
		HubsTable: storagetest.Table(t, acct, "hubs"), FeedsTable: storagetest.Table(t, acct, "feeds"), Limits: limits,
	})
	if err != nil {
		t.Fatal(err)
	}
	tl, err := tablelog.Open(ctx, acct, tablelog.Config{Table: storagetest.Table(t, acct, "log"), Role: "test", Instance: "t"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tl.Close(context.Background()) })
	jobs, err := queue.Open(ctx, acct, queue.Config{Name: storagetest.Queue(t, acct, "jobs")})
	if err != nil {
		t.Fatal(err)
	}
	cals, err := publish.Open(ctx, acct, publish.Config{Table: storagetest.Table(t, acct, "cals")})
	if err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	logger := slog.New(slog.NewJSONHandler(&syncWriter{w: &logs}, nil))
	eng, err := script.New(script.Config{Source: scriptsDir, Timeout: 2 * time.Second, Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = eng.Close() })
	deps := api.Deps{
		Logger:     logger,
		Ready:      ready,
		Scripts:    eng,
		Calendars:  cals,
		ScriptHost: scripthost.New(tl, st, cals, nil, "test"),
		Store:      st,
		Jobs:       jobs,
		Log:        tl,
		AdminToken: adminToken,
	}
	for _, f := range adjust {
		f(&deps, eng)
	}
	srv := api.New(deps)
	return testBundle{cals: cals, srv: srv, logs: &logs, store: st, tlog: tl, jobs: jobs}
}

// syncWriter serialises writes from concurrent handlers.
type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

// String returns what was written, when the underlying writer is a
// fmt.Stringer.
func (s *syncWriter) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if st, ok := s.w.(interface{ String() string }); ok {
		return st.String()
	}
	return ""
}

func do(t testing.TB, h http.Handler, method, path string, hdr map[string]string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(method, path, nil)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func TestProbes(t *testing.T) {
	t.Parallel()
	down := errors.New("connection refused")
	tests := []struct {
		name     string
		ready    error
		path     string
		wantCode int
		wantBody string
	}{
		{name: "Healthz", path: "/healthz", wantCode: http.StatusOK, wantBody: `"ok"`},
		{name: "HealthzWhileStorageDown", ready: down, path: "/healthz", wantCode: http.StatusOK, wantBody: `"ok"`},
		{name: "Ready", path: "/readyz", wantCode: http.StatusOK, wantBody: `"ready"`},
		{name: "NotReady", ready: down, path: "/readyz", wantCode: http.StatusServiceUnavailable, wantBody: `"not_ready"`},
		{name: "UnknownRouteIsJSON404", path: "/nope", wantCode: http.StatusNotFound, wantBody: `"not_found"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t, func(context.Context) error { return tt.ready })
			rec := do(t, b.srv.Handler(), http.MethodGet, tt.path, nil)
			if rec.Code != tt.wantCode {
				t.Errorf("GET %s = %d, want %d", tt.path, rec.Code, tt.wantCode)
			}
			if !strings.Contains(rec.Body.String(), tt.wantBody) {
				t.Errorf("GET %s body = %s, want %s in it", tt.path, rec.Body, tt.wantBody)
			}
			if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
				t.Errorf("Content-Type = %q, want JSON", ct)
			}
		})
	}
}

func TestErrorBodyShape(t *testing.T) {
	t.Parallel()
	b := setup(t, func(context.Context) error { return errors.New("down") })
	rec := do(t, b.srv.Handler(), http.MethodGet, "/readyz", nil)
	var body struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
		t.Fatalf("body %s: %v", rec.Body, err)
	}
	if body.Error.Code != "not_ready" || body.Error.Message == "" {
		t.Errorf("error body = %+v", body)
	}
}

// TestClientGoneIsNotAFailure checks that a request whose client hung up
// before the answer counts as 499, not as a 500: no "request failed"
// error, no warning (which would reach the system log), no 5xx metric.
func TestClientGoneIsNotAFailure(t *testing.T) {
	t.Parallel()
	b := setup(t, func(context.Context) error { return nil })
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // the client is gone before the hub is read
	req := httptest.NewRequestWithContext(ctx, http.MethodGet, "/api/hubs/keene", nil)
	req.Header.Set("Authorization", "Bearer "+adminToken)
	rec := httptest.NewRecorder()
	b.srv.Handler().ServeHTTP(rec, req)
	if rec.Code != 499 {
		t.Errorf("GET with the client gone = %d %s, want 499", rec.Code, rec.Body)
	}
	if logs := b.logs.String(); strings.Contains(logs, "request failed") || !strings.Contains(logs, `"status":499`) ||
		strings.Contains(logs, `"level":"WARN"`) || strings.Contains(logs, `"level":"ERROR"`) {
		t.Errorf("logs = %s, want the request at info with status 499 and no failure", logs)
	}
	metrics := do(t, b.srv.MetricsHandler(), http.MethodGet, "/metrics", nil).Body.String()
	if want := `elmcity_http_requests_total{method="GET",route="/api/hubs/:hub",status="499"} 1`; !strings.Contains(metrics, want) {
		t.Errorf("/metrics lacks %s", want)
	}
}

func TestRequestIDAndAccessLog(t *testing.T) {
	t.Parallel()
	b := setup(t, func(context.Context) error { return nil })
	rec := do(t, b.srv.Handler(), http.MethodGet, "/healthz?token=s3cret", map[string]string{
		"X-Request-Id":  "abc-123",
		"Authorization": "Bearer s3cret",
	})
	if got := rec.Header().Get("X-Request-Id"); got != "abc-123" {
		t.Errorf("X-Request-Id = %q, want the caller's", got)
	}
	logs := b.logs.String()
	if !strings.Contains(logs, `"request_id":"abc-123"`) || !strings.Contains(logs, `"route":"/healthz"`) {
		t.Errorf("access log = %s, want request id and route", logs)
	}
	if strings.Contains(logs, "s3cret") {
		t.Errorf("access log leaks a secret: %s", logs)
	}

	rec = do(t, b.srv.Handler(), http.MethodGet, "/healthz", map[string]string{"X-Request-Id": "bad id\nwith newline"})
	if got := rec.Header().Get("X-Request-Id"); got == "" || strings.ContainsAny(got, " \n") {
		t.Errorf("X-Request-Id = %q, want a fresh safe id", got)
	}
}

func TestMethodNotAllowed(t *testing.T) {
	t.Parallel()
	b := setup(t, func(context.Context) error { return nil })
	rec := do(t, b.srv.Handler(), http.MethodPost, "/healthz", nil)
	if rec.Code != http.StatusMethodNotAllowed {
		t.Errorf("POST /healthz = %d, want 405", rec.Code)
	}
}

func TestMetrics(t *testing.T) {
	t.Parallel()
	b := setup(t, func(context.Context) error { return nil })
	h := b.srv.Handler()
	do(t, h, http.MethodGet, "/healthz", nil)
	do(t, h, http.MethodGet, "/no/such/path/123", nil)
	rec := do(t, b.srv.MetricsHandler(), http.MethodGet, "/metrics", nil)
	body := rec.Body.String()
	for _, want := range []string{
		`elmcity_http_requests_total{method="GET",route="/healthz",status="200"} 1`,
		`elmcity_http_requests_total{method="GET",route="unmatched",status="404"} 1`,
		`elmcity_http_request_duration_seconds_bucket{route="/healthz"`,
		`go_goroutines`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	if strings.Contains(body, "/no/such/path") {
		t.Errorf("/metrics labels a raw path")
	}
}
