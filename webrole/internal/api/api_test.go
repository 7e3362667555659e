package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/elmcity/elmcity/shared/publish"
	"github.com/elmcity/elmcity/shared/tablelog"
)

// call sends a JSON request with a bearer token and decodes the JSON answer.
func call(t testing.TB, h http.Handler, method, path, token, body string) (int, map[string]any, http.Header) {
	t.Helper()
	var r *http.Request
	if body != "" {
		r = httptest.NewRequest(method, path, strings.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
	} else {
		r = httptest.NewRequest(method, path, nil)
	}
	if token != "" {
		r.Header.Set("Authorization", "Bearer "+token)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	var out map[string]any
	if rec.Body.Len() > 0 {
		if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
			t.Fatalf("%s %s: body %q is not JSON: %v", method, path, rec.Body, err)
		}
	}
	return rec.Code, out, rec.Header()
}

// world is a bundle with two hubs and a curator of the first.
type world struct {
	testBundle
	h       http.Handler
	curator string // token
	curID   string
}

func newWorld(t testing.TB) world {
	t.Helper()
	return worldOf(t, setup(t, func(context.Context) error { return nil }))
}

// worldOf creates the hubs keene and other and a curator of keene
// through b's API.
func worldOf(t testing.TB, b testBundle) world {
	t.Helper()
	h := b.srv.Handler()
	for _, hub := range []string{"keene", "other"} {
		if code, body, _ := call(t, h, "PUT", "/api/hubs/"+hub, adminToken, `{"title":"`+hub+`","tz":"America/New_York"}`); code != 201 {
			t.Fatalf("PUT hub %s = %d %v", hub, code, body)
		}
	}
	code, body, _ := call(t, h, "POST", "/api/curators", adminToken, `{"name":"Ann","hubs":["keene"]}`)
	if code != 201 {
		t.Fatalf("POST /api/curators = %d %v", code, body)
	}
	return world{testBundle: b, h: h, curator: body["token"].(string), curID: body["id"].(string)}
}

func TestAuthRequired(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	for _, tok := range []string{"", "nonsense", adminToken + "x", "ect_0000000000000000_" + strings.Repeat("a", 43)} {
		code, body, hdr := call(t, w.h, "GET", "/api/hubs", tok, "")
		if code != 401 {
			t.Errorf("GET /api/hubs with %q = %d, want 401", tok, code)
		}
		if body["error"] == nil || hdr.Get("WWW-Authenticate") == "" {
			t.Errorf("401 body = %v, WWW-Authenticate %q", body, hdr.Get("WWW-Authenticate"))
		}
	}
}

func TestCuratorScope(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	// Every route that takes a hub answers 403 for a hub not the
	// curator's, and the body says the same of a hub that exists and of
	// one that does not: no access, and that either may be why.
	routes := []struct{ method, path, body string }{
		{"GET", "/api/hubs/other", ""},
		{"PUT", "/api/hubs/other", `{"title":"x"}`},
		{"DELETE", "/api/hubs/other", ""},
		{"GET", "/api/hubs/other/feeds", ""},
		{"POST", "/api/hubs/other/feeds", `{"feedurl":"https://e.org/c.ics","source":"S"}`},
		{"GET", "/api/hubs/other/feeds/0123456789abcdef0123456789abcdef", ""},
		{"PUT", "/api/hubs/other/feeds/0123456789abcdef0123456789abcdef", `{"source":"S"}`},
		{"DELETE", "/api/hubs/other/feeds/0123456789abcdef0123456789abcdef", ""},
		{"POST", "/api/hubs/other/aggregate", ""},
		{"GET", "/api/hubs/other/logs", ""},
		{"GET", "/api/hubs/other/stats", ""},
		{"GET", "/services/other/log_info", ""},
		{"GET", "/api/hubs/nosuchhub", ""},
	}
	for _, r := range routes {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest(r.method, r.path, strings.NewReader(r.body))
		req.Header.Set("Authorization", "Bearer "+w.curator)
		w.h.ServeHTTP(rec, req)
		if rec.Code != 403 {
			t.Errorf("%s %s as curator of keene = %d, want 403", r.method, r.path, rec.Code)
		}
		id := "other"
		if strings.Contains(r.path, "nosuchhub") {
			id = "nosuchhub"
		}
		want := `{"error":{"code":"forbidden","message":"no access to hub ` + id + `: it does not exist or is not yours"}}`
		if got := strings.TrimSpace(rec.Body.String()); got != want {
			t.Errorf("%s %s: 403 body %s, want %s", r.method, r.path, got, want)
		}
	}

	code, body, _ := call(t, w.h, "GET", "/api/hubs", w.curator, "")
	hubs, _ := body["hubs"].([]any)
	if code != 200 || len(hubs) != 1 || hubs[0].(map[string]any)["id"] != "keene" {
		t.Errorf("GET /api/hubs as curator = %d %v, want only keene", code, body)
	}
	code, body, _ = call(t, w.h, "GET", "/api/hubs", adminToken, "")
	if hubs, _ := body["hubs"].([]any); code != 200 || len(hubs) != 2 {
		t.Errorf("GET /api/hubs as admin = %d %v, want both hubs", code, body)
	}

	// Curators edit their hub's settings but cannot create or delete hubs.
	if code, body, _ := call(t, w.h, "PATCH", "/api/hubs/keene", w.curator, `{"title":"Keene NH","horizon_days":30}`); code != 200 || body["horizon_days"] != float64(30) {
		t.Errorf("PATCH own hub = %d %v", code, body)
	}
	if code, _, _ := call(t, w.h, "DELETE", "/api/hubs/keene", w.curator, ""); code != 403 {
		t.Errorf("DELETE own hub as curator = %d, want 403", code)
	}
	if code, _, _ := call(t, w.h, "POST", "/api/curators", w.curator, `{"name":"Eve","hubs":["other"]}`); code != 403 {
		t.Errorf("POST /api/curators as curator = %d, want 403", code)
	}
}

func TestRevokedTokenStopsWorking(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	if code, _, _ := call(t, w.h, "GET", "/api/hubs/keene", w.curator, ""); code != 200 {
		t.Fatalf("GET before revoke = %d", code)
	}
	if code, _, _ := call(t, w.h, "DELETE", "/api/curators/"+w.curID, adminToken, ""); code != 204 {
		t.Fatalf("DELETE curator = %d", code)
	}
	if code, _, _ := call(t, w.h, "GET", "/api/hubs/keene", w.curator, ""); code != 401 {
		t.Errorf("GET after revoke = %d, want 401", code)
	}
}

func TestFeedsValidation(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	tests := []struct {
		name      string
		body      string
		wantCode  int
		wantField string
	}{
		{name: "BadJSON", body: `{"feedurl":`, wantCode: 400},
		{name: "UnknownField", body: `{"feedurl":"https://e.org/c.ics","source":"S","colour":"red"}`, wantCode: 400, wantField: "colour"},
		{name: "WrongType", body: `{"feedurl":"https://e.org/c.ics","source":"S","approved":"yes"}`, wantCode: 400, wantField: "approved"},
		{name: "BadURL", body: `{"feedurl":"ftp://e.org/c.ics","source":"S"}`, wantCode: 400, wantField: "feedurl"},
		{name: "MissingSource", body: `{"feedurl":"https://e.org/c.ics"}`, wantCode: 400, wantField: "source"},
		{name: "TrailingData", body: `{"feedurl":"https://e.org/c.ics","source":"S"} {}`, wantCode: 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			code, body, _ := call(t, w.h, "POST", "/api/hubs/keene/feeds", w.curator, tt.body)
			if code != tt.wantCode {
				t.Fatalf("POST feed = %d %v, want %d", code, body, tt.wantCode)
			}
			e, _ := body["error"].(map[string]any)
			if e == nil || e["code"] == "" || e["message"] == "" {
				t.Fatalf("error body = %v, want {error:{code,message}}", body)
			}
			if tt.wantField != "" {
				fields, _ := e["fields"].(map[string]any)
				if fields[tt.wantField] == nil {
					t.Errorf("error fields = %v, want %q", fields, tt.wantField)
				}
			}
		})
	}
}

func TestFeedLifecycle(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	code, f, hdr := call(t, w.h, "POST", "/api/hubs/keene/feeds", w.curator,
		`{"feedurl":"webcal://library.example.org/events.ics","url":"https://library.example.org","source":"Library","categories":["Books"],"catmap":{"Kids":"family"},"approved":true}`)
	if code != 201 {
		t.Fatalf("POST feed = %d %v", code, f)
	}
	id := f["id"].(string)
	if f["feedurl"] != "https://library.example.org/events.ics" || hdr.Get("Location") != "/api/hubs/keene/feeds/"+id {
		t.Errorf("POST feed = %v, Location %q", f, hdr.Get("Location"))
	}
	for _, k := range []string{"id", "feedurl", "url", "source", "categories", "catmap", "approved", "comments"} {
		if _, ok := f[k]; !ok {
			t.Errorf("feed JSON lacks %q: %v", k, f)
		}
	}
	code, body, _ := call(t, w.h, "POST", "/api/hubs/keene/feeds", w.curator, `{"feedurl":"https://LIBRARY.example.org/events.ics","source":"Dup"}`)
	if e, _ := body["error"].(map[string]any); code != 409 || e["fields"].(map[string]any)["feedurl"] == nil {
		t.Errorf("POST duplicate feed = %d %v, want 409 naming feedurl", code, body)
	}

	code, body, hdr = call(t, w.h, "GET", "/api/hubs/keene/feeds/"+id, w.curator, "")
	if code != 200 || hdr.Get("ETag") == "" {
		t.Fatalf("GET feed = %d %v", code, body)
	}
	etag := hdr.Get("ETag")
	code, body, _ = call(t, w.h, "PATCH", "/api/hubs/keene/feeds/"+id, w.curator, `{"source":"Public Library","comments":"weekly"}`)
	if code != 200 || body["source"] != "Public Library" || body["feedurl"] != "https://library.example.org/events.ics" {
		t.Errorf("PATCH feed = %d %v", code, body)
	}
	// A stale If-Match loses.
	req := httptest.NewRequest("PUT", "/api/hubs/keene/feeds/"+id, strings.NewReader(`{"source":"Stale"}`))
	req.Header.Set("Authorization", "Bearer "+w.curator)
	req.Header.Set("If-Match", etag)
	rec := httptest.NewRecorder()
	w.h.ServeHTTP(rec, req)
	if rec.Code != 412 {
		t.Errorf("PUT feed with stale If-Match = %d, want 412", rec.Code)
	}

	code, body, _ = call(t, w.h, "GET", "/api/hubs/keene/feeds", w.curator, "")
	if feeds, _ := body["feeds"].([]any); code != 200 || len(feeds) != 1 {
		t.Errorf("GET feeds = %d %v", code, body)
	}
	if code, _, _ := call(t, w.h, "DELETE", "/api/hubs/keene/feeds/"+id, w.curator, ""); code != 204 {
		t.Errorf("DELETE feed = %d", code)
	}
	if code, _, _ := call(t, w.h, "GET", "/api/hubs/keene/feeds/"+id, w.curator, ""); code != 404 {
		t.Errorf("GET deleted feed = %d, want 404", code)
	}
}

func TestAggregateEnqueuesJob(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	code, body, _ := call(t, w.h, "POST", "/api/hubs/keene/aggregate", w.curator, "")
	if code != 202 || body["job_id"] == "" {
		t.Fatalf("POST aggregate = %d %v", code, body)
	}
	ds, err := w.jobs.Receive(context.Background(), 1)
	if err != nil || len(ds) != 1 {
		t.Fatalf("Receive() = %d, %v", len(ds), err)
	}
	if ds[0].Job.Hub != "keene" || ds[0].Job.ID != body["job_id"] || !strings.HasPrefix(ds[0].Job.RequestedBy, "curator:") {
		t.Errorf("job = %+v, want the hub, id and requester", ds[0].Job)
	}
	_ = ds[0].Complete(context.Background())
}

func TestLogs(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	base := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
	var entries []tablelog.Entry
	for i := range 10 {
		typ := "info"
		if i%3 == 0 {
			typ = "exception"
		}
		entries = append(entries, tablelog.Entry{Hub: "keene", Type: typ, Message: "event " + string(rune('a'+i)), Time: base.Add(time.Duration(i) * time.Minute)})
	}
	entries = append(entries, tablelog.Entry{Hub: "other", Type: "info", Message: "not yours", Time: base})
	if err := w.tlog.Write(context.Background(), entries...); err != nil {
		t.Fatal(err)
	}
	code, body, _ := call(t, w.h, "GET", "/api/hubs/keene/logs?type=info&exclude=event+h&limit=3", w.curator, "")
	got, _ := body["entries"].([]any)
	if code != 200 || len(got) != 3 {
		t.Fatalf("GET logs = %d %v", code, body)
	}
	var msgs []string
	for _, e := range got {
		msgs = append(msgs, e.(map[string]any)["message"].(string))
	}
	if strings.Join(msgs, ",") != "event i,event f,event e" {
		t.Errorf("GET logs messages = %v, want newest info first without h", msgs)
	}
	if body["next"] == "" {
		t.Errorf("GET logs next = %q, want a token (more entries remain)", body["next"])
	}
	code, body, _ = call(t, w.h, "GET", "/api/hubs/keene/logs?since=2026-11-01T12:05:00Z&until=2026-11-01T12:07:00Z", w.curator, "")
	if got, _ := body["entries"].([]any); code != 200 || len(got) != 2 {
		t.Errorf("GET logs since/until = %d %v, want 2", code, body)
	}
	code, body, _ = call(t, w.h, "GET", "/api/hubs/keene/logs?since=yesterday&limit=0&type=bad'type", w.curator, "")
	e, _ := body["error"].(map[string]any)
	fields, _ := e["fields"].(map[string]any)
	if code != 400 || fields["since"] == nil || fields["limit"] == nil || fields["type"] == nil {
		t.Errorf("GET logs with bad params = %d %v, want 400 naming since, limit and type", code, body)
	}
}

func TestBodyLimit(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	big := `{"title":"` + strings.Repeat("x", 2<<20) + `"}`
	req := httptest.NewRequest("PUT", "/api/hubs/keene", bytes.NewReader([]byte(big)))
	req.Header.Set("Authorization", "Bearer "+adminToken)
	rec := httptest.NewRecorder()
	w.h.ServeHTTP(rec, req)
	if rec.Code != http.StatusRequestEntityTooLarge {
		t.Errorf("PUT with a 2 MiB body = %d, want 413", rec.Code)
	}
}

// TestDeleteHubRemovesEverything checks that deleting a hub removes its
// published calendar and its log with it, and leaves other hubs alone.
func TestDeleteHubRemovesEverything(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	w := newWorld(t)
	for _, id := range []string{"keene", "other"} {
		if _, err := w.cals.Publish(ctx, publish.Generation{Hub: id, Payload: []byte("{}\n")}); err != nil {
			t.Fatal(err)
		}
		if err := w.tlog.Write(ctx, tablelog.Entry{Hub: id, Type: "info", Message: "hello", Time: time.Now()}); err != nil {
			t.Fatal(err)
		}
	}
	if code, body, _ := call(t, w.h, "DELETE", "/api/hubs/other", adminToken, ""); code != 204 {
		t.Fatalf("DELETE /api/hubs/other = %d %v", code, body)
	}
	if code, _, _ := call(t, w.h, "GET", "/api/hubs/other", adminToken, ""); code != 404 {
		t.Errorf("GET a deleted hub = %d, want 404", code)
	}
	if code, _, _ := call(t, w.h, "DELETE", "/api/hubs/other", adminToken, ""); code != 404 {
		t.Errorf("DELETE a deleted hub = %d, want 404", code)
	}
	if _, err := w.cals.Current(ctx, "other"); !errors.Is(err, publish.ErrNotFound) {
		t.Errorf("Current(deleted hub) = %v, want ErrNotFound", err)
	}
	for id, want := range map[string]int{"other": 0, "keene": 1} {
		page, err := w.tlog.Read(ctx, tablelog.Query{Hub: id})
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Entries) != want {
			t.Errorf("log of %s has %d entries, want %d", id, len(page.Entries), want)
		}
	}
	if _, err := w.cals.Current(ctx, "keene"); err != nil {
		t.Errorf("Current(keene) = %v; deleting another hub touched it", err)
	}
}
