package api_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/elmcity/elmcity/shared/hubcal"
	"github.com/elmcity/elmcity/shared/publish"
)

// publishFixture publishes a small calendar for keene.
func publishFixture(t *testing.T, cals *publish.Store) {
	t.Helper()
	at := time.Date(2026, 12, 5, 19, 0, 0, 0, time.UTC)
	run := map[string]any{"events": 2, "feeds": []map[string]any{{"feed": "f1", "status": "failed", "error_class": "http_5xx"}}}
	payload, err := hubcal.FromEvents([]hubcal.Event{
		{UID: "a@elmcity", Title: "Jazz Night", Start: at, End: at.Add(time.Hour)},
		{UID: "b@elmcity", Title: "Story Time", Start: at.Add(24 * time.Hour), End: at.Add(25 * time.Hour)},
	}).Encode(run)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cals.Publish(context.Background(), publish.Generation{Hub: "keene", Payload: payload}); err != nil {
		t.Fatal(err)
	}
}

func TestStats(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	if code, body, _ := call(t, w.h, "GET", "/api/hubs/keene/stats", w.curator, ""); code != 404 || !strings.Contains(body["error"].(map[string]any)["code"].(string), "not_published") {
		t.Errorf("GET stats before a run = %d %v, want 404 not_published", code, body)
	}
	publishFixture(t, w.cals)
	code, body, _ := call(t, w.h, "GET", "/api/hubs/keene/stats", w.curator, "")
	run, _ := body["run"].(map[string]any)
	if code != 200 || body["generation"] == "" || run["events"] != float64(2) {
		t.Fatalf("GET stats = %d %v", code, body)
	}
	feeds, _ := run["feeds"].([]any)
	if len(feeds) != 1 || feeds[0].(map[string]any)["error_class"] != "http_5xx" {
		t.Errorf("stats feeds = %v", feeds)
	}
}

// TestScriptsSeeCancelledEvents: elmcity.events() gives a cancelled
// event's "cancelled": true, as the JSON output does, and no such field
// for the others.
func TestScriptsSeeCancelledEvents(t *testing.T) {
	t.Parallel()
	h, _, b := newScriptServer(t, map[string]string{
		"status": `result = JSON.stringify(elmcity.events(argv[0], 5).map(function (e) { return [e.title, e.cancelled === undefined ? "absent" : e.cancelled]; }));`,
	})
	at := time.Date(2026, 12, 5, 19, 0, 0, 0, time.UTC)
	payload, err := hubcal.FromEvents([]hubcal.Event{
		{UID: "a@elmcity", Title: "Jazz Night", Start: at, End: at.Add(time.Hour)},
		{UID: "b@elmcity", Title: "Story Time", Start: at.Add(24 * time.Hour), End: at.Add(25 * time.Hour), Cancelled: true},
	}).Encode(map[string]any{"events": 2})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.cals.Publish(context.Background(), publish.Generation{Hub: "keene", Payload: payload}); err != nil {
		t.Fatal(err)
	}
	code, _, body := get(t, h, "/services/keene/status", adminToken)
	if want := `[["Jazz Night","absent"],["Story Time",true]]`; code != 200 || body != want {
		t.Errorf("GET status = %d %s, want %s", code, body, want)
	}
}

func TestScriptsReadPublishedEvents(t *testing.T) {
	t.Parallel()
	h, _, b := newScriptServer(t, map[string]string{
		"titles": "result = elmcity.events(argv[0], 1).map(function (e) { return e.title; }).join(',');",
	})
	code, _, body := get(t, h, "/services/keene/titles", adminToken)
	if code != 500 || !strings.Contains(body, "no published calendar") {
		t.Errorf("GET titles before a run = %d %s, want an error saying so", code, body)
	}
	publishFixture(t, b.cals)
	code, _, body = get(t, h, "/services/keene/titles", adminToken)
	if code != 200 || body != "Jazz Night" {
		t.Errorf("GET titles = %d %q, want the first published event", code, body)
	}
}
