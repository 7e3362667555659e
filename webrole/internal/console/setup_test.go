package console_test

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/elmcity/elmcity/shared/azstorage/storagetest"
	"github.com/elmcity/elmcity/shared/fetch"
	"github.com/elmcity/elmcity/shared/publish"
	"github.com/elmcity/elmcity/shared/queue"
	"github.com/elmcity/elmcity/shared/script"
	"github.com/elmcity/elmcity/shared/scripthost"
	"github.com/elmcity/elmcity/shared/tablelog"
	"github.com/elmcity/elmcity/shared/tablestore"
	"github.com/elmcity/elmcity/webrole/internal/api"
	"github.com/elmcity/elmcity/webrole/internal/console"
	"github.com/elmcity/elmcity/webrole/internal/outputs"
)

const adminToken = "admin-token-0123456789abcdef"

// scriptsDir is the repository's scripts folder.
const scriptsDir = "../../../scripts"

// clock is a settable clock for the console's sessions.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

// testBundle is a web role over real Azurite stores with the console.
type testBundle struct {
	h       http.Handler
	store   *tablestore.Store
	tlog    *tablelog.Log
	jobs    *queue.Client
	cals    *publish.Store
	clk     *clock
	logs    *syncBuffer
	curator string // token of Ann, curator of keene
	curID   string
	deps    api.Deps
	newUI   func(adminToken string) http.Handler
	names   tableNames
}

// tableNames are the bundle's tables and queue, for a worker process.
type tableNames struct{ hubs, feeds, log, cals, jobs string }

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

// setup builds the web role with the console, the hubs keene and other,
// and Ann, a curator of keene.
func setup(t testing.TB) testBundle {
	t.Helper()
	gin.SetMode(gin.TestMode)
	ctx := context.Background()
	acct := storagetest.Account(t)
	names := tableNames{hubs: storagetest.Table(t, acct, "hubs"), feeds: storagetest.Table(t, acct, "feeds"),
		log: storagetest.Table(t, acct, "log"), cals: storagetest.Table(t, acct, "cals"), jobs: storagetest.Queue(t, acct, "jobs")}
	st, err := tablestore.Open(ctx, acct, tablestore.Config{HubsTable: names.hubs, FeedsTable: names.feeds})
	if err != nil {
		t.Fatal(err)
	}
	tl, err := tablelog.Open(ctx, acct, tablelog.Config{Table: names.log, Role: "test", Instance: "t"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tl.Close(context.Background()) })
	jobs, err := queue.Open(ctx, acct, queue.Config{Name: names.jobs})
	if err != nil {
		t.Fatal(err)
	}
	cals, err := publish.Open(ctx, acct, publish.Config{Table: names.cals})
	if err != nil {
		t.Fatal(err)
	}
	logs := &syncBuffer{}
	logger := slog.New(slog.NewJSONHandler(logs, nil))
	eng, err := script.New(script.Config{Source: scriptsDir, Timeout: 2 * time.Second, Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = eng.Close() })
	clk := &clock{t: time.Now()}
	fetcher, err := fetch.New(fetch.Config{AllowPrivate: true, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	deps := api.Deps{
		Logger: logger, Ready: func(context.Context) error { return nil }, Scripts: eng, Calendars: cals,
		ScriptHost: scripthost.New(tl, st, cals, nil, "test"), Store: st, Jobs: jobs, Log: tl, AdminToken: adminToken,
		Checks: api.CheckConfig{Fetcher: fetcher, Adapters: eng},
		// A new calendar reaches the public pages at once.
		Outputs: outputs.Config{CheckEvery: 50 * time.Millisecond},
	}
	b := testBundle{store: st, tlog: tl, jobs: jobs, cals: cals, clk: clk, logs: logs, deps: deps, names: names}
	b.newUI = func(admin string) http.Handler {
		d := deps
		d.AdminToken = admin
		d.Console = console.New(console.Deps{Store: st, Logger: logger, AdminToken: admin, Now: clk.Now})
		return api.New(d).Handler()
	}
	b.h = b.newUI(adminToken)
	for _, id := range []string{"keene", "other"} {
		if code, body := apiCall(t, b.h, "PUT", "/api/hubs/"+id, adminToken, `{"title":"`+strings.ToUpper(id[:1])+id[1:]+`","tz":"America/New_York"}`); code != 201 {
			t.Fatalf("PUT hub %s = %d %s", id, code, body)
		}
	}
	cur, token, err := st.CreateCurator(ctx, "Ann", []string{"keene"})
	if err != nil {
		t.Fatal(err)
	}
	b.curator, b.curID = token, cur.ID
	return b
}

// apiCall sends one bearer-token API request.
func apiCall(t testing.TB, h http.Handler, method, path, token, body string) (int, string) {
	t.Helper()
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Code, rec.Body.String()
}

// browser is a minimal browser: it keeps cookies (by name) and sends
// them back, and sends what a same-site form post carries.
type browser struct {
	t       testing.TB
	h       http.Handler
	cookies map[string]*http.Cookie
}

func newBrowser(t testing.TB, h http.Handler) *browser {
	return &browser{t: t, h: h, cookies: map[string]*http.Cookie{}}
}

func (b *browser) do(req *http.Request) *httptest.ResponseRecorder {
	b.t.Helper()
	for _, c := range b.cookies {
		req.AddCookie(&http.Cookie{Name: c.Name, Value: c.Value})
	}
	rec := httptest.NewRecorder()
	b.h.ServeHTTP(rec, req)
	for _, c := range rec.Result().Cookies() {
		if c.MaxAge < 0 || c.Value == "" {
			delete(b.cookies, c.Name)
		} else {
			b.cookies[c.Name] = c
		}
	}
	return rec
}

// get loads a page.
func (b *browser) get(path string) *httptest.ResponseRecorder {
	b.t.Helper()
	req := httptest.NewRequest(http.MethodGet, path, nil)
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	return b.do(req)
}

// post submits a form as a page of this site does; hdr overrides the
// headers (Sec-Fetch-Site, Origin).
func (b *browser) post(path string, form url.Values, hdr map[string]string) *httptest.ResponseRecorder {
	b.t.Helper()
	req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	for k, v := range hdr {
		if v == "" {
			req.Header.Del(k)
		} else {
			req.Header.Set(k, v)
		}
	}
	return b.do(req)
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// csrf is the CSRF token of the form on a page.
func csrf(t testing.TB, page string) string {
	t.Helper()
	m := csrfField.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no csrf field in the page:\n%s", page)
	}
	return m[1]
}

// signIn signs b in with token and checks it lands on the console.
func (b *browser) signIn(token string) {
	b.t.Helper()
	page := b.get("/console/login")
	if page.Code != 200 {
		b.t.Fatalf("GET /console/login = %d", page.Code)
	}
	rec := b.post("/console/login", url.Values{"csrf": {csrf(b.t, page.Body.String())}, "token": {token}, "next": {"/console/hubs"}}, nil)
	if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/console/hubs" {
		b.t.Fatalf("POST /console/login = %d %s, want 303 to /console/hubs\n%s", rec.Code, rec.Header().Get("Location"), rec.Body)
	}
}

// page loads a page, wants 200 and returns its HTML and CSRF token.
func (b *browser) page(path string) (string, string) {
	b.t.Helper()
	rec := b.get(path)
	if rec.Code != 200 {
		b.t.Fatalf("GET %s = %d %s\n%s", path, rec.Code, rec.Header().Get("Location"), rec.Body)
	}
	body := rec.Body.String()
	tok := ""
	if m := csrfField.FindStringSubmatch(body); m != nil {
		tok = m[1]
	}
	return body, tok
}

// apiNew is the web role's handler over d.
func apiNew(d api.Deps) http.Handler { return api.New(d).Handler() }
