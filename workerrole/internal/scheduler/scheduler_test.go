package scheduler_test

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/elmcity/elmcity/shared/azstorage/storagetest"
	"github.com/elmcity/elmcity/shared/hub"
	"github.com/elmcity/elmcity/shared/logtest"
	"github.com/elmcity/elmcity/shared/publish"
	"github.com/elmcity/elmcity/shared/queue"
	"github.com/elmcity/elmcity/shared/script"
	"github.com/elmcity/elmcity/shared/scripthost"
	"github.com/elmcity/elmcity/shared/tablelog"
	"github.com/elmcity/elmcity/shared/tablestore"
	"github.com/elmcity/elmcity/workerrole/internal/scheduler"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

type testBundle struct {
	store *tablestore.Store
	pub   *publish.Store
	jobs  *queue.Client
	host  *scripthost.Host
	eng   *script.Engine
	clk   *clock
	logs  *logtest.Recorder
}

func setup(t *testing.T, scripts map[string]string) testBundle {
	t.Helper()
	ctx := context.Background()
	acct := storagetest.Account(t)
	clk := &clock{t: time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)}
	st, err := tablestore.Open(ctx, acct, tablestore.Config{HubsTable: storagetest.Table(t, acct, "hubs"), FeedsTable: storagetest.Table(t, acct, "feeds"), Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	pub, err := publish.Open(ctx, acct, publish.Config{Table: storagetest.Table(t, acct, "cals"), Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	jobs, err := queue.Open(ctx, acct, queue.Config{Name: storagetest.Queue(t, acct, "jobs")})
	if err != nil {
		t.Fatal(err)
	}
	tl, err := tablelog.Open(ctx, acct, tablelog.Config{Table: storagetest.Table(t, acct, "log")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tl.Close(context.Background()) })
	dir := t.TempDir()
	for name, src := range scripts {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	eng, err := script.New(script.Config{Source: dir, Timeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = eng.Close() })
	return testBundle{store: st, pub: pub, jobs: jobs, host: scripthost.New(tl, st, pub, jobs, "scheduler"), eng: eng, clk: clk, logs: &logtest.Recorder{}}
}

func (b testBundle) scheduler(t *testing.T, instance string, sch scheduler.Schedule) *scheduler.Scheduler {
	t.Helper()
	return scheduler.New(b.store, b.pub, b.jobs, b.eng, scheduler.Config{
		Instance: instance, Tick: time.Minute, Schedule: sch, Host: b.host, Logger: slog.New(b.logs), Now: b.clk.Now,
	})
}

// queued drains the queue and returns the hubs of the jobs in it.
func (b testBundle) queued(t *testing.T) []string {
	t.Helper()
	var hubs []string
	for {
		ds, err := b.jobs.Receive(context.Background(), 32)
		if err != nil {
			t.Fatal(err)
		}
		if len(ds) == 0 {
			return hubs
		}
		for _, d := range ds {
			hubs = append(hubs, d.Job.Hub)
			_ = d.Complete(context.Background())
		}
	}
}

func TestOneLeaderAndFailover(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := setup(t, nil)
	a, c := b.scheduler(t, "worker-a", scheduler.Schedule{}), b.scheduler(t, "worker-c", scheduler.Schedule{})
	if led, err := a.RunOnce(ctx); !led || err != nil {
		t.Fatalf("a.RunOnce() = %v, %v, want leader", led, err)
	}
	if led, err := c.RunOnce(ctx); led || err != nil {
		t.Fatalf("c.RunOnce() = %v, %v, want follower while a leads", led, err)
	}
	b.clk.Add(time.Minute)
	if led, _ := a.RunOnce(ctx); !led {
		t.Fatal("a lost leadership while renewing every tick")
	}
	// a dies: after one lease period (3 ticks) c takes over.
	b.clk.Add(3*time.Minute + time.Second)
	if led, err := c.RunOnce(ctx); !led || err != nil {
		t.Fatalf("c.RunOnce() after a's lease expired = %v, %v, want leader", led, err)
	}
	if led, _ := a.RunOnce(ctx); led {
		t.Error("a came back and also leads")
	}
}

func TestEnqueuesStaleHubsOnce(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := setup(t, nil)
	for _, id := range []string{"fresh", "stale", "never"} {
		if _, err := b.store.CreateHub(ctx, hub.Hub{ID: id, Title: id, IntervalHours: 8}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := b.pub.Publish(ctx, publish.Generation{Hub: "stale", Payload: []byte("{}\n")}); err != nil {
		t.Fatal(err)
	}
	b.clk.Add(7 * time.Hour)
	if _, err := b.pub.Publish(ctx, publish.Generation{Hub: "fresh", Payload: []byte("{}\n")}); err != nil {
		t.Fatal(err)
	}
	b.clk.Add(2 * time.Hour) // stale is 9h old, fresh 2h
	s := b.scheduler(t, "w", scheduler.Schedule{})
	if _, err := s.RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	got := strings.Join(sorted(b.queued(t)), ",")
	if got != "never,stale" {
		t.Errorf("queued %q, want never,stale", got)
	}
	// Next tick: the jobs are pending (nothing published yet), so they
	// are not queued again.
	b.clk.Add(time.Minute)
	if _, err := s.RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	if again := b.queued(t); len(again) != 0 {
		t.Errorf("queued again while pending: %v", again)
	}
}

// TestEnqueuesRegionAfterItsMembers checks that a region within its
// interval is queued once a member has published since the region did.
func TestEnqueuesRegionAfterItsMembers(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := setup(t, nil)
	for _, h := range []hub.Hub{
		{ID: "keene", Title: "Keene", IntervalHours: 8},
		{ID: "swanzey", Title: "Swanzey", IntervalHours: 8},
		{ID: "region", Title: "Region", Type: hub.TypeRegion, IntervalHours: 8, Members: []string{"keene", "swanzey", "gone"}},
	} {
		if _, err := b.store.CreateHub(ctx, h); err != nil {
			t.Fatal(err)
		}
	}
	publishHub := func(id string) {
		t.Helper()
		if _, err := b.pub.Publish(ctx, publish.Generation{Hub: id, Payload: []byte("{}\n")}); err != nil {
			t.Fatal(err)
		}
	}
	publishHub("keene")
	publishHub("swanzey")
	b.clk.Add(time.Minute)
	publishHub("region")
	b.clk.Add(time.Minute)
	s := b.scheduler(t, "w", scheduler.Schedule{})
	if _, err := s.RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	if got := b.queued(t); len(got) != 0 {
		t.Errorf("queued %v while every hub is fresh", got)
	}
	b.clk.Add(time.Minute)
	publishHub("swanzey")
	b.clk.Add(time.Minute)
	if _, err := s.RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(b.queued(t), ","); got != "region" {
		t.Errorf("queued %q after a member published, want region", got)
	}
}

func TestRunsDueScriptsAndLogsOutcomes(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := setup(t, map[string]string{
		"maintenance/ok.js":   `result = "hubs: " + elmcity.hubs().length + " args: " + argv.join(",");`,
		"maintenance/boom.js": "var a = 1;\nthrow new Error('disk full');\n",
	})
	if _, err := b.store.CreateHub(ctx, hub.Hub{ID: "keene", Title: "Keene"}); err != nil {
		t.Fatal(err)
	}
	sch, err := scheduler.ParseSchedule([]byte(`{"tasks":[
		{"name":"ok","script":"maintenance/ok.js","every":"1h","args":["30"]},
		{"name":"boom","script":"maintenance/boom.js","cron":"0 * * * *"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	s := b.scheduler(t, "w", sch)
	if _, err := s.RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	if got := findSaid(b.logs, "maintenance script ok: hubs: 1 args: 30"); len(got) != 1 || got[0].Attrs["hub"] != tablelog.System {
		t.Errorf("ok.js outcome = %+v, want one info entry in the system log", got)
	}
	boom := findSaid(b.logs, "maintenance script boom failed")
	if len(boom) != 1 || !strings.Contains(boom[0].Msg, "maintenance/boom.js:2") || !strings.Contains(boom[0].Attrs["detail"], "boom.js") {
		t.Errorf("boom.js outcome = %+v, want an exception with the script's stack", boom)
	}
	for _, r := range b.logs.Find("maintenance script") {
		if r.Msg != "maintenance script ran" && r.Msg != "maintenance script failed" || r.Attrs["task"] == "" {
			t.Errorf("record %q with task %q, want a constant message and the task as an attribute", r.Msg, r.Attrs["task"])
		}
	}
	// Not due again within the hour, and a failed script is not retried on
	// every tick.
	b.clk.Add(10 * time.Minute)
	if _, err := s.RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	if n := len(findSaid(b.logs, "maintenance script")); n != 2 {
		t.Errorf("%d script outcomes after a second tick, want still 2", n)
	}
	b.clk.Add(55 * time.Minute)
	if _, err := s.RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	if n := len(findSaid(b.logs, "maintenance script")); n != 4 {
		t.Errorf("%d script outcomes after an hour, want 4", n)
	}
}

func TestParseScheduleNamesEveryBadTask(t *testing.T) {
	t.Parallel()
	_, err := scheduler.ParseSchedule([]byte(`{"tasks":[
		{"name":"a","script":"x.js","every":"10s"},
		{"name":"b","script":"x.js","cron":"not cron"},
		{"name":"c","script":"x.js"},
		{"name":"a","script":"","every":"1h","cron":"* * * * *"}]}`))
	if err == nil {
		t.Fatal("ParseSchedule(bad) = nil")
	}
	for _, want := range []string{`task 0 ("a")`, `task 1 ("b")`, `task 2 ("c")`, `task 3 ("a")`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %s", err, want)
		}
	}
	shipped, err := script.New(script.Config{Source: "../../../scripts"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := scheduler.LoadSchedule(context.Background(), shipped); err != nil {
		t.Errorf("the shipped schedule does not load: %v", err)
	}
}

// TestLoadRemoteSchedule checks that a schedule from a URL source loads
// from the base URL (through the engine, whose rules for remote files
// shared/script tests) and that a missing one is empty.
func TestLoadRemoteSchedule(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	var serve atomic.Bool
	serve.Store(true)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/scripts/maintenance/schedule.json" || !serve.Load() {
			http.NotFound(w, r)
			return
		}
		_, _ = w.Write([]byte(`{"tasks":[{"name":"purge","script":"maintenance/purge_logs.js","every":"24h"}]}`))
	}))
	t.Cleanup(srv.Close)
	open := func(cfg script.Config) *script.Engine {
		t.Helper()
		cfg.Source = srv.URL + "/scripts/"
		eng, err := script.New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = eng.Close() })
		return eng
	}
	sch, err := scheduler.LoadSchedule(ctx, open(script.Config{}))
	if err != nil || len(sch.Tasks) != 1 || sch.Tasks[0].Name != "purge" {
		t.Errorf("LoadSchedule(remote) = %+v, %v; want the purge task", sch, err)
	}
	serve.Store(false)
	if sch, err := scheduler.LoadSchedule(ctx, open(script.Config{})); err != nil || len(sch.Tasks) != 0 {
		t.Errorf("LoadSchedule(missing) = %+v, %v; want an empty schedule", sch, err)
	}
}
