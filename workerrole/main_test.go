package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/elmcity/elmcity/shared/azstorage/storagetest"
	"github.com/elmcity/elmcity/shared/hub"
	"github.com/elmcity/elmcity/shared/publish"
	"github.com/elmcity/elmcity/shared/queue"
	"github.com/elmcity/elmcity/shared/roletest"
	"github.com/elmcity/elmcity/shared/tablelog"
	"github.com/elmcity/elmcity/shared/tablestore"
)

func testEnv(t *testing.T) map[string]string {
	t.Helper()
	acct := storagetest.Account(t)
	return map[string]string{
		"AZURE_STORAGE_CONNECTION_STRING": storagetest.ConnectionString(),
		"ELMCITY_WORKER_METRICS_ADDR":     "127.0.0.1:0",
		"ELMCITY_LOG_TABLE":               storagetest.Table(t, acct, "workerlog"),
		"ELMCITY_HUBS_TABLE":              storagetest.Table(t, acct, "hubs"),
		"ELMCITY_FEEDS_TABLE":             storagetest.Table(t, acct, "feeds"),
		"ELMCITY_CALENDARS_TABLE":         storagetest.Table(t, acct, "cals"),
		"ELMCITY_JOB_QUEUE":               storagetest.Queue(t, acct, "jobs"),
		"ELMCITY_FETCH_ALLOW_PRIVATE":     "true",
		"ELMCITY_INSTANCE":                "test",
		"ELMCITY_SCRIPTS":                 "../scripts",
	}
}

func TestRunAggregatesQueuedHub(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	env := testEnv(t)
	feed := libraryFeed(t)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write(feed) }))
	t.Cleanup(srv.Close)
	s := openStores(t, env)
	addHubs(t, s.hubs, srv.URL, "keene")
	jobs, pub := s.jobs, s.pub

	role := roletest.Start(t, run, env)
	if _, err := jobs.Enqueue(ctx, queue.Job{Kind: queue.KindAggregate, Hub: "keene", Reason: "test"}, 0); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		if p, err := pub.Current(ctx, "keene"); err == nil {
			if p.Meta["feeds_ok"] != "1" {
				t.Errorf("published meta = %v, want one good feed", p.Meta)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the hub was not published within 30s")
		}
		time.Sleep(50 * time.Millisecond) // polling storage, not synchronising goroutines
	}
	// The job counts as done once its message is deleted, just after the
	// publish; poll the metrics for it.
	var body []byte
	// (The scheduler may queue the never-aggregated hub too; that second
	// job is a no-op, so count at least one.)
	for !regexp.MustCompile(`elmcity_jobs_total\{kind="aggregate",outcome="ok"\} [1-9]`).Match(body) {
		if time.Now().After(deadline) {
			t.Fatalf("/metrics never counted the job:\n%s", body)
		}
		resp, err := http.Get("http://" + role.Addr + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		body, _ = io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		time.Sleep(20 * time.Millisecond) // polling, as above
	}
	// The scheduler's own request for the hub can run a second aggregation
	// if the test's request came after the first run started: count runs
	// of five events each, not one exact figure.
	for _, want := range []string{`elmcity_queue_length \d`, `elmcity_scheduler_leader 1`,
		`elmcity_feeds_fetched_total\{error_class="",status="ok"\} [1-9]`, `elmcity_events_published_total (5|10)\b`} {
		if !regexp.MustCompile(want).Match(body) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	if err := role.Stop(t); err != nil {
		t.Errorf("run() after cancel = %v", err)
	}
	// Curators read the publish in the hub's table log as a sentence; the
	// entry keeps the stdout message under tablelog.KeyMsg.
	tl, err := tablelog.Open(ctx, storagetest.Account(t), tablelog.Config{Table: env["ELMCITY_LOG_TABLE"]})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tl.Close(context.Background()) })
	page, err := tl.Read(ctx, tablelog.Query{Hub: "keene", Include: []string{"published"}})
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, e := range page.Entries {
		if !strings.HasPrefix(e.Message, "published") && e.Attrs[tablelog.KeyMsg] != "calendar published" {
			continue // a skipped second run's entry
		}
		found = true
		if e.Message != "published 5 events from 1 of 1 feeds" || e.Attrs[tablelog.KeyMsg] != "calendar published" {
			t.Errorf("table entry %q (msg %q), want %q (msg %q)", e.Message, e.Attrs[tablelog.KeyMsg],
				"published 5 events from 1 of 1 feeds", "calendar published")
		}
	}
	if !found {
		t.Errorf("the hub's table log has no entry of the publish: %+v", page.Entries)
	}
}

func TestRunServesProbesAndStopsCleanly(t *testing.T) {
	t.Parallel()
	role := roletest.Start(t, run, testEnv(t))
	url := "http://" + role.Addr
	for _, path := range []string{"/healthz", "/readyz", "/queue"} {
		resp, err := http.Get(url + path)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		body, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("GET %s = %d %s, want 200", path, resp.StatusCode, body)
		}
		if !json.Valid(body) {
			t.Errorf("GET %s body %q is not JSON", path, body)
		}
	}
	if err := role.Stop(t); err != nil {
		t.Errorf("run() after cancel = %v, want nil", err)
	}
}

func TestRunRejectsBadConfig(t *testing.T) {
	t.Parallel()
	env := map[string]string{
		"ELMCITY_WORKER_METRICS_ADDR": "nope",
		"ELMCITY_JOB_MAX_DEQUEUE":     "0",
		"ELMCITY_JOB_QUEUE":           "Bad_Queue",
		"ELMCITY_SHUTDOWN_TIMEOUT":    "soon",
	}
	err := run(context.Background(), func(k string) string { return env[k] }, io.Discard)
	if err == nil {
		t.Fatal("run() = nil, want a configuration error")
	}
	for _, name := range []string{"ELMCITY_WORKER_METRICS_ADDR", "ELMCITY_JOB_MAX_DEQUEUE", "ELMCITY_JOB_QUEUE", "ELMCITY_SHUTDOWN_TIMEOUT"} {
		if !strings.Contains(err.Error(), name) {
			t.Errorf("run() error %q does not name %s", err, name)
		}
	}
}

// stores are the test's hub store, job queue and calendar store, opened
// on the tables and queue named in env.
type stores struct {
	hubs *tablestore.Store
	jobs *queue.Client
	pub  *publish.Store
}

func openStores(tb testing.TB, env map[string]string) stores {
	tb.Helper()
	ctx := context.Background()
	acct := storagetest.Account(tb)
	st, err := tablestore.Open(ctx, acct, tablestore.Config{HubsTable: env["ELMCITY_HUBS_TABLE"], FeedsTable: env["ELMCITY_FEEDS_TABLE"]})
	if err != nil {
		tb.Fatal(err)
	}
	jobs, err := queue.Open(ctx, acct, queue.Config{Name: env["ELMCITY_JOB_QUEUE"]})
	if err != nil {
		tb.Fatal(err)
	}
	pub, err := publish.Open(ctx, acct, publish.Config{Table: env["ELMCITY_CALENDARS_TABLE"]})
	if err != nil {
		tb.Fatal(err)
	}
	return stores{hubs: st, jobs: jobs, pub: pub}
}

// libraryFeed is the small test feed every hub here aggregates.
// libraryFeed returns the library fixture (five events from 2026-12-02)
// moved by whole weeks to start no earlier than today, where the worker's
// window (from local midnight today) holds all five.
func libraryFeed(tb testing.TB) []byte {
	tb.Helper()
	feed, err := os.ReadFile("internal/aggregate/testdata/library.ics")
	if err != nil {
		tb.Fatal(err)
	}
	first := time.Date(2026, 12, 2, 0, 0, 0, 0, time.UTC)
	weeks := 0
	if d := time.Since(first); d > 0 {
		weeks = int(d/(7*24*time.Hour)) + 1
	}
	// The fixture's dates are its DTSTART and DTEND values, and its one
	// rule has a COUNT: moving those moves every occurrence.
	return dateValue.ReplaceAllFunc(feed, func(line []byte) []byte {
		i := bytes.LastIndexByte(line, ':') + 1
		d, err := time.Parse("20060102", string(line[i:i+8]))
		if err != nil {
			return line
		}
		return append(append([]byte(nil), line[:i]...), append([]byte(d.AddDate(0, 0, 7*weeks).Format("20060102")), line[i+8:]...)...)
	})
}

// dateValue finds the fixture's DTSTART and DTEND lines.
var dateValue = regexp.MustCompile(`(?m)^DT(START|END)[^:\r\n]*:\d{8}`)

// addHubs creates each hub with one approved feed at baseURL/<id>.ics.
func addHubs(tb testing.TB, st *tablestore.Store, baseURL string, ids ...string) {
	tb.Helper()
	ctx := context.Background()
	for _, id := range ids {
		if _, err := st.CreateHub(ctx, hub.Hub{ID: id, Title: id, TZ: "America/New_York", HorizonDays: 3660}); err != nil {
			tb.Fatal(err)
		}
		if _, err := st.CreateFeed(ctx, id, hub.Feed{FeedURL: baseURL + "/" + id + ".ics", Source: "Library", Approved: true}); err != nil {
			tb.Fatal(err)
		}
	}
}

// TestProbesAnswerWhileStorageHangs checks that /readyz and /queue answer
// 503 within their deadline when storage takes the call and never
// answers.
func TestProbesAnswerWhileStorageHangs(t *testing.T) {
	t.Parallel()
	hang := func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() }
	h := probeHandler(hang, func(ctx context.Context) (int, error) { return 0, hang(ctx) }, http.NotFoundHandler())
	for _, path := range []string{"/readyz", "/queue"} {
		t.Run(strings.TrimPrefix(path, "/"), func(t *testing.T) {
			t.Parallel()
			done := make(chan int, 1)
			go func() {
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
				done <- rec.Code
			}()
			select {
			case code := <-done:
				if code != http.StatusServiceUnavailable {
					t.Errorf("GET %s = %d, want 503", path, code)
				}
			case <-time.After(20 * time.Second):
				t.Fatalf("GET %s did not answer while storage hung", path)
			}
		})
	}
}

// TestRunLeavesNothingRunningWhenProbesCannotBind checks that run, failing
// because its probe address is taken, returns having stopped everything
// it started (the table log writer, storage clients' goroutines).
func TestRunLeavesNothingRunningWhenProbesCannotBind(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = taken.Close() }()
	env := testEnv(t)
	env["ELMCITY_WORKER_METRICS_ADDR"] = taken.Addr().String()
	defer goleak.VerifyNone(t, leakOptions()...)
	err = run(context.Background(), func(k string) string { return env[k] }, io.Discard)
	if err == nil || !strings.Contains(err.Error(), taken.Addr().String()) {
		t.Fatalf("run() = %v, want the bind failure", err)
	}
}

// leakOptions are goleak's options for a test that checks that what it
// ran stopped everything it started: the goroutines running already are
// not its own, nor are idle keep-alive connections of the storage SDK's
// shared HTTP transport. Such a test cannot be parallel: it runs with the
// package's sequential tests, before any parallel one starts.
func leakOptions() []goleak.Option {
	return []goleak.Option{goleak.IgnoreCurrent(),
		goleak.IgnoreAnyFunction("net/http.(*persistConn).readLoop"),
		goleak.IgnoreAnyFunction("net/http.(*persistConn).writeLoop"),
	}
}

// TestServeStopsEverything checks that serve, however it ends (asked to
// stop, the probe server failing, a task failing or returning early),
// cancels every task, waits for each and shuts the probe server down
// before it returns. Not parallel: see leakOptions.
func TestServeStopsEverything(t *testing.T) {
	tests := []struct {
		name string
		// closeListener makes the probe server fail at once.
		closeListener bool
		// fail is the task that returns at once, with failErr.
		fail    string
		failErr error
		cancel  bool
		want    []string // substrings of serve's error; none: nil
	}{
		{name: "Cancelled", cancel: true},
		{name: "ProbeServerFails", closeListener: true, want: []string{"serve probes"}},
		{name: "TaskFails", fail: "job runner", failErr: errors.New("queue gone"), want: []string{"job runner: queue gone"}},
		{name: "TaskReturnsEarly", fail: "scheduler", want: []string{"scheduler: " + errStoppedEarly.Error()}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			defer goleak.VerifyNone(t, leakOptions()...)
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			addr := ln.Addr().String()
			if tt.closeListener {
				_ = ln.Close()
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			started := make(chan string, 2)
			var stopped atomic.Int32
			task := func(name string) func(context.Context) error {
				return func(ctx context.Context) error {
					defer stopped.Add(1)
					started <- name
					if name == tt.fail {
						return tt.failErr
					}
					<-ctx.Done()
					return nil
				}
			}
			tasks := map[string]func(context.Context) error{"job runner": task("job runner"), "scheduler": task("scheduler")}
			probe := &http.Server{Handler: http.NotFoundHandler(), ReadHeaderTimeout: time.Second}
			served := make(chan error, 1)
			go func() { served <- serve(ctx, slog.New(slog.DiscardHandler), 5*time.Second, probe, ln, tasks) }()
			waitOrTimeout(t, started)
			waitOrTimeout(t, started)
			if tt.cancel {
				if resp, err := http.Get("http://" + addr + "/healthz"); err == nil { // the probes answer meanwhile
					_ = resp.Body.Close()
				} else {
					t.Errorf("GET /healthz while serving: %v", err)
				}
				cancel()
			}
			err = waitOrTimeout(t, served)
			if n := stopped.Load(); n != 2 {
				t.Errorf("serve() returned with %d of 2 tasks stopped", n)
			}
			switch {
			case len(tt.want) == 0 && err != nil:
				t.Errorf("serve() = %v, want nil", err)
			case len(tt.want) > 0 && err == nil:
				t.Errorf("serve() = nil, want an error with %q", tt.want)
			}
			for _, w := range tt.want {
				if err != nil && !strings.Contains(err.Error(), w) {
					t.Errorf("serve() = %v, want it to say %q", err, w)
				}
			}
			if !tt.closeListener {
				if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
					_ = c.Close()
					t.Errorf("the probe address %s still accepts after serve returned", addr)
				}
			}
		})
	}
}

// waitOrTimeout waits for ch to deliver.
func waitOrTimeout[T any](t testing.TB, ch <-chan T) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(30 * time.Second):
		t.Fatal("timed out after 30s")
		var zero T
		return zero
	}
}
