package console_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/elmcity/elmcity/shared/tablelog"
	"github.com/elmcity/elmcity/shared/tablestore"
)

func TestRefreshShowsProgress(t *testing.T) {
	t.Parallel()
	b := setup(t)
	br := newBrowser(t, b.h)
	br.signIn(b.curator)
	_, tok := br.page("/console/hubs/keene")
	rec := br.post("/console/hubs/keene/refresh", url.Values{"csrf": {tok}}, nil)
	loc := rec.Header().Get("Location")
	if rec.Code != http.StatusSeeOther || !strings.HasPrefix(loc, "/console/hubs/keene/jobs/") {
		t.Fatalf("refresh = %d %s\n%s", rec.Code, loc, rec.Body)
	}
	jobID := strings.TrimPrefix(loc, "/console/hubs/keene/jobs/")
	page, _ := br.page(loc)
	// Without JavaScript the page reloads itself while the job runs.
	if !strings.Contains(page, "Queued: waiting for a worker.") || !strings.Contains(page, `<noscript><meta http-equiv="refresh" content="3"></noscript>`) {
		t.Errorf("queued job page:\n%s", page)
	}
	status := func() map[string]any {
		t.Helper()
		rec := br.get(loc + "/status")
		var out map[string]any
		if rec.Code != 200 || json.Unmarshal(rec.Body.Bytes(), &out) != nil {
			t.Fatalf("GET status = %d %s", rec.Code, rec.Body)
		}
		return out
	}
	if s := status(); s["state"] != "queued" || s["done"] != false {
		t.Errorf("status = %v", s)
	}
	ctx := context.Background()
	now := time.Now()
	run := tablestore.JobStatus{Hub: "keene", JobID: jobID, State: tablestore.JobRunning, Message: "fetching and merging the hub's feeds", StartedAt: now}
	if err := b.store.UpdateJob(ctx, run); err != nil {
		t.Fatal(err)
	}
	if s := status(); s["state"] != "running" || !strings.Contains(s["words"].(string), "Running since") {
		t.Errorf("status = %v", s)
	}
	run.State, run.Message, run.FinishedAt = tablestore.JobPublished, "published 12 events from 2 of 3 feeds", now
	if err := b.store.UpdateJob(ctx, run); err != nil {
		t.Fatal(err)
	}
	page, _ = br.page(loc)
	if !strings.Contains(page, "Done: published 12 events from 2 of 3 feeds") || strings.Contains(page, "http-equiv") {
		t.Errorf("published job page:\n%s", page)
	}
	run.State, run.Message = tablestore.JobFailed, "failed: publish keene: storage is down (it will be tried again)"
	if err := b.store.UpdateJob(ctx, run); err != nil {
		t.Fatal(err)
	}
	if s := status(); s["state"] != "failed" || s["done"] != true || !strings.Contains(s["words"].(string), "storage is down") {
		t.Errorf("failed status = %v", s)
	}
	page, _ = br.page("/console/hubs/keene/jobs/unknownjob")
	if !strings.Contains(page, "not known any more") {
		t.Errorf("unknown job page:\n%s", page)
	}
}

func TestLogsAndHistoryPages(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := context.Background()
	base := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
	var entries []tablelog.Entry
	for i := range 60 {
		typ := "info"
		if i%10 == 0 {
			typ = "exception"
		}
		entries = append(entries, tablelog.Entry{Hub: "keene", Type: typ, Message: "entry " + strings.Repeat("x", i%3) + time.Duration(i).String(),
			Detail: "detail of entry", Time: base.Add(time.Duration(i) * time.Minute)})
	}
	entries = append(entries, tablelog.Entry{Hub: "other", Type: "info", Message: "not yours", Time: base})
	if err := b.tlog.Write(ctx, entries...); err != nil {
		t.Fatal(err)
	}
	br := newBrowser(t, b.h)
	br.signIn(b.curator)
	page, _ := br.page("/console/hubs/keene/logs")
	if strings.Count(page, "<li>") < 50 || strings.Contains(page, "not yours") || !strings.Contains(page, "Older entries") {
		t.Errorf("logs page: want 50 entries and a link to older ones")
	}
	page, _ = br.page("/console/hubs/keene/logs?type=exception")
	if n := strings.Count(page, `type">exception`); n != 6 || strings.Contains(page, "Older entries") {
		t.Errorf("exceptions = %d, want 6 on one page", n)
	}
	// since and until are in the hub's zone (New York, UTC-5 in November):
	// 07:05 to 07:09 local is 12:05 to 12:09 UTC.
	page, _ = br.page("/console/hubs/keene/logs?since=2026-11-01T07:05&until=2026-11-01T07:09")
	if n := strings.Count(page, "<time "); n != 4 {
		t.Errorf("entries from 07:05 to 07:09 local = %d, want 4", n)
	}
	rec := br.get("/console/hubs/keene/logs?since=yesterday")
	if rec.Code != 400 || !strings.Contains(rec.Body.String(), "since:") {
		t.Errorf("bad since = %d", rec.Code)
	}
	page, _ = br.page("/console/hubs/keene/logs?q=xx")
	if strings.Count(page, "<time ") != 20 {
		t.Errorf("search xx = %d entries, want 20", strings.Count(page, "<time "))
	}
	if !strings.Contains(page, `href="/services/keene/log_info?since=24h"`) {
		t.Errorf("logs page has no link to log_info")
	}

	// History: a change made in the console shows who, before and after.
	lib := addFeed(t, b, `{"feedurl":"https://library.example.org/events.ics","source":"Library","catmap":{"kids":"family"}}`)
	page, tok := br.page("/console/hubs/keene")
	if rec := br.post("/console/hubs/keene/feeds/"+lib+"/approval", url.Values{"csrf": {tok}, "approved": {"yes"}}, nil); rec.Code != http.StatusSeeOther {
		t.Fatalf("approve = %d", rec.Code)
	}
	_ = page
	page, _ = br.page("/console/hubs/keene/history")
	for _, want := range []string{"feed changed Library", "by Ann", `data-label="Before">no</td>`, `data-label="After">yes</td>`, "feed added Library", "kids → family", "by administrator"} {
		if !strings.Contains(page, want) {
			t.Errorf("history page lacks %q", want)
		}
	}
	if t.Failed() {
		t.Logf("history page:\n%s", page)
	}
}
