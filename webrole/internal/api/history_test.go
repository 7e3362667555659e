package api_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/elmcity/elmcity/shared/tablestore"
)

func TestJobStatus(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	code, body, _ := call(t, w.h, "POST", "/api/hubs/keene/aggregate", w.curator, "")
	if code != 202 {
		t.Fatalf("POST aggregate = %d %v", code, body)
	}
	id := body["job_id"].(string)
	code, st, _ := call(t, w.h, "GET", "/api/hubs/keene/jobs/"+id, w.curator, "")
	if code != 200 || st["state"] != "queued" || st["job_id"] != id || !strings.HasPrefix(st["requested_by"].(string), "curator:") {
		t.Fatalf("GET job = %d %v, want queued", code, st)
	}
	// Asking again while it waits answers the same job, whose status is
	// the same record.
	if _, again, _ := call(t, w.h, "POST", "/api/hubs/keene/aggregate", w.curator, ""); again["job_id"] != id {
		t.Errorf("second POST aggregate = %v, want job %s", again, id)
	}
	// The worker's update shows.
	if err := w.store.UpdateJob(context.Background(), tablestore.JobStatus{Hub: "keene", JobID: id, State: tablestore.JobPublished,
		Message: "published 3 events from 1 of 2 feeds", Events: 3, FeedsOK: 1, FeedsTotal: 2}); err != nil {
		t.Fatal(err)
	}
	if _, st, _ := call(t, w.h, "GET", "/api/hubs/keene/jobs/"+id, w.curator, ""); st["state"] != "published" || st["events"] != float64(3) || st["feeds_total"] != float64(2) {
		t.Errorf("GET job after the worker = %v", st)
	}
	if code, _, _ := call(t, w.h, "GET", "/api/hubs/keene/jobs/nosuchjob", w.curator, ""); code != 404 {
		t.Errorf("GET unknown job = %d, want 404", code)
	}
	if code, _, _ := call(t, w.h, "GET", "/api/hubs/other/jobs/"+id, w.curator, ""); code != 403 {
		t.Errorf("GET job of another hub = %d, want 403", code)
	}
	if code, _, _ := call(t, w.h, "GET", "/api/hubs/other/jobs/"+id, adminToken, ""); code != 404 {
		t.Errorf("GET keene's job under other = %d, want 404", code)
	}
}

func TestHistoryRecordsEveryChange(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	steps := []struct{ method, path, body string }{
		{"PATCH", "/api/hubs/keene", `{"title":"Keene NH","vocabulary":["music","books"]}`},
		{"POST", "/api/hubs/keene/feeds", `{"feedurl":"https://lib.example.org/e.ics","source":"Lib","catmap":{"kids":"family"}}`},
		{"PATCH", "/api/hubs/keene/feeds/FEED", `{"source":"Library","catmap":{"kids":"children","jazz":"music"},"approved":true}`},
		{"PATCH", "/api/hubs/keene", `{"vocabulary":["music","film"]}`},
		{"DELETE", "/api/hubs/keene/feeds/FEED", ""},
	}
	feed := ""
	for _, s := range steps {
		code, body, _ := call(t, w.h, s.method, strings.ReplaceAll(s.path, "FEED", feed), w.curator, s.body)
		if code >= 300 {
			t.Fatalf("%s %s = %d %v", s.method, s.path, code, body)
		}
		if id, ok := body["id"].(string); ok && s.method == "POST" {
			feed = id
		}
	}
	code, body, _ := call(t, w.h, "GET", "/api/hubs/keene/history", w.curator, "")
	if code != 200 {
		t.Fatalf("GET history = %d %v", code, body)
	}
	raw, _ := json.Marshal(body["entries"])
	var entries []tablestore.HistoryEntry
	if err := json.Unmarshal(raw, &entries); err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, e := range entries {
		actions = append(actions, e.Action)
		if e.Action != "hub created" && (e.ByName != "Ann" || e.By != "curator:"+w.curID) {
			t.Errorf("entry %s by %q %q, want Ann", e.Action, e.By, e.ByName)
		}
	}
	// Newest first; hub created by the administrator comes last.
	if got := strings.Join(actions, ", "); !strings.HasPrefix(got, "feed removed, hub changed, feed changed, feed added, hub changed") {
		t.Errorf("history actions = %s", got)
	}
	change := func(e tablestore.HistoryEntry, field string) (string, string) {
		for _, c := range e.Changes {
			if c.Field == field {
				return string(c.Before), string(c.After)
			}
		}
		return "none", "none"
	}
	if b, a := change(entries[2], "catmap"); b != `{"kids":"family"}` || a != `{"jazz":"music","kids":"children"}` {
		t.Errorf("feed changed catmap before %s after %s", b, a)
	}
	if b, a := change(entries[2], "source"); b != `"Lib"` || a != `"Library"` {
		t.Errorf("feed changed source before %s after %s", b, a)
	}
	if b, a := change(entries[2], "approved"); b != "false" || a != "true" {
		t.Errorf("feed changed approved before %s after %s", b, a)
	}
	if _, a := change(entries[2], "feedurl"); a != "none" {
		t.Errorf("an unchanged field is listed: feedurl %s", a)
	}
	if b, a := change(entries[1], "vocabulary"); b != `["books"]` || a != `["film"]` {
		t.Errorf("vocabulary before %s after %s, want the removed and the added", b, a)
	}
	if b, _ := change(entries[0], "source"); b != `"Library"` || entries[0].FeedURL != "https://lib.example.org/e.ics" {
		t.Errorf("feed removed = %+v", entries[0])
	}
	// Paged, and scoped like everything else.
	code, body, _ = call(t, w.h, "GET", "/api/hubs/keene/history?limit=2", w.curator, "")
	if got, _ := body["entries"].([]any); code != 200 || len(got) != 2 || body["next"] == "" {
		t.Errorf("GET history?limit=2 = %d %v", code, body)
	}
	code, body, _ = call(t, w.h, "GET", "/api/hubs/keene/history?limit=2&after="+body["next"].(string), w.curator, "")
	if got, _ := body["entries"].([]any); code != 200 || len(got) != 2 {
		t.Errorf("GET history page 2 = %d %v", code, body)
	}
	for _, q := range []string{"limit=201", "after=nonsense"} {
		if code, _, _ := call(t, w.h, "GET", "/api/hubs/keene/history?"+q, w.curator, ""); code != 400 {
			t.Errorf("GET history?%s = %d, want 400", q, code)
		}
	}
	if code, _, _ := call(t, w.h, "GET", "/api/hubs/other/history", w.curator, ""); code != 403 {
		t.Errorf("GET other's history = %d, want 403", code)
	}
}
