package api_test

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/elmcity/elmcity/shared/script"
	"github.com/elmcity/elmcity/shared/scripthost"
	"github.com/elmcity/elmcity/shared/tablelog"
	"github.com/elmcity/elmcity/webrole/internal/api"
)

// get sends GET with a bearer token and returns status, content type and body.
func get(t *testing.T, h http.Handler, path, token string) (int, string, string) {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, path, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Code, rec.Header().Get("Content-Type"), rec.Body.String()
}

// seedLog writes entries for keene (and one for other) a minute apart.
func seedLog(t *testing.T, l *tablelog.Log) {
	t.Helper()
	base := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
	entries := []tablelog.Entry{
		{Hub: "keene", Type: "info", Message: "library feed fetched", Time: base},
		{Hub: "keene", Type: "exception", Message: "theatre feed timed out", Detail: "GET https://theatre.example/cal.ics", Time: base.Add(time.Minute)},
		{Hub: "keene", Type: "info", Message: "theatre feed fetched", Time: base.Add(2 * time.Minute)},
		{Hub: "keene", Type: "info", Message: "hub merged 42 events", Time: base.Add(3 * time.Minute)},
		{Hub: "other", Type: "info", Message: "secret other-hub entry", Time: base.Add(4 * time.Minute)},
	}
	if err := l.Write(context.Background(), entries...); err != nil {
		t.Fatal(err)
	}
}

func TestServicesLogInfo(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	seedLog(t, w.tlog)
	tests := []struct {
		name  string
		query string
		want  []string // in this order
		not   []string
	}{
		{name: "NewestFirst", want: []string{"hub merged 42 events", "theatre feed fetched", "library feed fetched"},
			not: []string{"timed out", "other-hub"}},
		{name: "Include", query: "?include=theatre", want: []string{"theatre feed fetched"}, not: []string{"library", "merged"}},
		{name: "Exclude", query: "?exclude=theatre,merged", want: []string{"library feed fetched"}, not: []string{"theatre", "merged"}},
		{name: "Limit", query: "?limit=1", want: []string{"hub merged 42 events"}, not: []string{"fetched"}},
		{name: "Since", query: "?since=2026-11-01T12:02:00Z", want: []string{"hub merged", "theatre feed fetched"}, not: []string{"library"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			code, ct, body := get(t, w.h, "/services/keene/log_info"+tt.query, w.curator)
			if code != 200 || ct != "text/plain; charset=utf-8" {
				t.Fatalf("GET log_info%s = %d %q %s", tt.query, code, ct, body)
			}
			last := -1
			for _, s := range tt.want {
				i := strings.Index(body, s)
				if i < 0 || i < last {
					t.Errorf("body lacks %q in order:\n%s", s, body)
				}
				last = i
			}
			for _, s := range tt.not {
				if strings.Contains(body, s) {
					t.Errorf("body has %q:\n%s", s, body)
				}
			}
		})
	}
	code, _, body := get(t, w.h, "/services/keene/log_exception", adminToken)
	if code != 200 || !strings.Contains(body, "theatre feed timed out") || strings.Contains(body, "library feed fetched") {
		t.Errorf("GET log_exception = %d:\n%s", code, body)
	}
}

func TestServicesScope(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	tests := []struct {
		name, path, token string
		want              int
	}{
		{name: "NoToken", path: "/services/keene/log_info", want: 401},
		{name: "OtherHub", path: "/services/other/log_info", token: w.curator, want: 403},
		{name: "UnknownHubForCurator", path: "/services/nosuch/log_info", token: w.curator, want: 403},
		{name: "UnknownHubForAdmin", path: "/services/nosuch/log_info", token: adminToken, want: 404},
		{name: "UnknownWhat", path: "/services/keene/no_such_script", token: w.curator, want: 404},
		{name: "PathTraversal", path: "/services/keene/..%2Flib%2Flogformat", token: w.curator, want: 404},
		{name: "LibIsNotAService", path: "/services/keene/logformat", token: w.curator, want: 404},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			code, _, body := get(t, w.h, tt.path, tt.token)
			if code != tt.want {
				t.Errorf("GET %s = %d %s, want %d", tt.path, code, body, tt.want)
			}
		})
	}
}

// newScriptServer is a Server whose scripts come from a temporary folder
// holding the given services, with a short time limit.
func newScriptServer(t *testing.T, services map[string]string) (http.Handler, *syncWriter, testBundle) {
	t.Helper()
	return newScriptServerWith(t, services, script.Config{Timeout: 300 * time.Millisecond})
}

// newScriptServerWith is newScriptServer with the engine's limits in cfg
// (its Source and Logger are set here).
func newScriptServerWith(t *testing.T, services map[string]string, cfg script.Config) (http.Handler, *syncWriter, testBundle) {
	t.Helper()
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "services"), 0o755); err != nil {
		t.Fatal(err)
	}
	for name, src := range services {
		if err := os.WriteFile(filepath.Join(dir, "services", name+".js"), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	b := setup(t, func(context.Context) error { return nil })
	logs := &syncWriter{w: &strings.Builder{}}
	logger := slog.New(slog.NewJSONHandler(logs, nil))
	cfg.Source, cfg.Logger = dir, logger
	eng, err := script.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = eng.Close() })
	srv := api.New(api.Deps{Logger: logger, Ready: func(context.Context) error { return nil },
		Store: b.store, Jobs: b.jobs, Log: b.tlog, Scripts: eng, Calendars: b.cals, ScriptHost: scripthost.New(b.tlog, b.store, b.cals, nil, "test"), AdminToken: adminToken})
	h := srv.Handler()
	if code, body, _ := call(t, h, "PUT", "/api/hubs/keene", adminToken, `{"title":"Keene","tz":"America/New_York"}`); code != 201 {
		t.Fatalf("PUT hub = %d %v", code, body)
	}
	return h, logs, b
}

func TestServicesScriptErrors(t *testing.T) {
	t.Parallel()
	h, logs, _ := newScriptServer(t, map[string]string{
		"spin":  "while (true) {}",
		"throw": "var x = 1;\nnull.boom;\n",
		"argv":  "result = argv.join('|') + ' ' + params.q;",
	})

	start := time.Now()
	code, _, body := get(t, h, "/services/keene/spin", adminToken)
	if code != 500 || !strings.Contains(body, "script_timeout") {
		t.Errorf("GET spin = %d %s, want a 500 script_timeout", code, body)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("GET spin took %v, want about the 300ms limit", d)
	}
	if code, _, _ := get(t, h, "/healthz", ""); code != 200 {
		t.Errorf("GET /healthz after a runaway script = %d", code)
	}

	code, _, body = get(t, h, "/services/keene/throw", adminToken)
	if code != 500 || !strings.Contains(body, "services/throw.js:2:") || strings.Contains(body, "goroutine") || strings.Contains(body, ".go:") {
		t.Errorf("GET throw = %d %s, want a 500 naming services/throw.js:2 and no Go stack", code, body)
	}
	if !strings.Contains(logs.String(), `"hub":"keene"`) || !strings.Contains(logs.String(), `"level":"ERROR"`) {
		t.Errorf("no exception entry for the hub in the log: %s", logs.String())
	}

	code, _, body = get(t, h, "/services/keene/argv?q=hello", adminToken)
	if code != 200 || body != "keene|argv hello" {
		t.Errorf("GET argv = %d %q, want %q", code, body, "keene|argv hello")
	}
}

// TestServicesCallerErrorsAre4xx checks that a run the request's own
// parameters made fail is a 4xx with a clear code, logged nowhere: not a
// 500 in the administrator's ~system log.
func TestServicesCallerErrorsAre4xx(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	big, bigLogs, _ := newScriptServerWith(t, map[string]string{
		"big": `result = "x".repeat(2000);`,
	}, script.Config{MaxResultBytes: 1000})
	tests := []struct {
		name, query string
		h           http.Handler
		wantCode    int
		wantErr     string // the error code
		wantMsg     string // in the message
	}{
		{name: "BadTime", query: "log_info?since=yesterday", h: w.h, wantCode: 400, wantErr: "invalid", wantMsg: `since \"yesterday\"`},
		{name: "UntilBeforeSince", query: "log_exception?since=2026-01-02&until=2026-01-01", h: w.h, wantCode: 400, wantErr: "invalid", wantMsg: "not after since"},
		{name: "TooManyTerms", query: "log_info?include=" + strings.Repeat("a,", 200), h: w.h, wantCode: 422, wantErr: "script_limit", wantMsg: "include has over"},
		{name: "ResultTooLarge", query: "big", h: big, wantCode: 422, wantErr: "script_result_too_large", wantMsg: "size limit"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			code, _, body := get(t, tt.h, "/services/keene/"+tt.query, adminToken)
			if code != tt.wantCode || !strings.Contains(body, `"code":"`+tt.wantErr+`"`) || !strings.Contains(body, tt.wantMsg) {
				t.Errorf("GET %s = %d %s, want %d %s with %s", tt.query, code, body, tt.wantCode, tt.wantErr, tt.wantMsg)
			}
		})
	}
	t.Cleanup(func() {
		for _, logs := range []string{w.logs.String(), bigLogs.String()} {
			if strings.Contains(logs, `"level":"ERROR"`) || strings.Contains(logs, `"status":5`) {
				t.Errorf("a caller's error was logged as a failure: %s", logs)
			}
		}
	})
}

// TestUnknownOutputIsNotFound checks that a name that is neither an output
// nor a service (a typo of a format) is a 404 for everyone, not a 401
// asking an anonymous reader for a token.
func TestUnknownOutputIsNotFound(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	for _, token := range []string{"", w.curator} {
		code, body, _ := call(t, w.h, "GET", "/services/keene/icss", token, "")
		e, _ := body["error"].(map[string]any)
		if msg, _ := e["message"].(string); code != 404 || !strings.Contains(msg, "ics") {
			t.Errorf("GET /services/keene/icss with token %q = %d %v, want 404 listing the outputs", token, code, body)
		}
	}
	if code, _, _ := call(t, w.h, "GET", "/services/keene/log_info", "", ""); code != 401 {
		t.Errorf("GET /services/keene/log_info without a token = %d, want 401: the service exists", code)
	}
}
