//go:build unix

package main

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/elmcity/elmcity/shared/azstorage"
	"github.com/elmcity/elmcity/shared/hubcal"
	"github.com/elmcity/elmcity/shared/publish"
	"github.com/elmcity/elmcity/shared/queue"
	"github.com/elmcity/elmcity/shared/tablelog"
	"github.com/elmcity/elmcity/workerrole/internal/aggregate"
)

// TestFaults is the fault test against real processes: the built web
// role, two built workers and a private Azurite, driven through the
// public API while readers poll the public outputs (JSON, ICS and the hub
// page) every 50-100 ms. In order:
//
//  1. a worker is SIGKILLed mid-job (its feed fetch held open) while a
//     second runs: the second publishes the new version once the
//     message's visibility timeout and the dead run's hub lease lapse,
//     waiting for the lease rather than taking the job as covered;
//  2. two aggregation jobs for the hub on the one remaining worker, the
//     second arriving while the first holds the hub: the second waits
//     (put back, at info), never runs beside the first, and both finish;
//  3. a curator edits a feed's catmap while the feed itself is unchanged
//     (it answers 304): the new tags are published;
//  4. Azurite is stopped for 30 s and started again on the same data:
//     cached reads stay fast and succeed, /readyz stays 200, the data
//     survive, and a new aggregation publishes after the restart.
//
// Then every process is stopped with SIGTERM and the test checks 0 failed
// or slow (over 1 s) cached reads, 0 mixed generations, 0 log entries
// lost (each role's table-bound stdout records against the table), 0 jobs
// parked.
func TestFaults(t *testing.T) {
	if testing.Short() {
		t.Skip("runs Azurite, the web role and two workers as processes")
	}
	t.Parallel()
	e := newFaultEnv(t)
	e.setup(t)
	e.killMidJob(t)
	e.twoJobsOneWorker(t)
	e.startWorker(t, "worker-1b", leaseTTL) // the killed worker comes back for the rest
	e.editUnchangedFeed(t)
	e.storageOutage(t)
	e.finish(t)
}

const (
	faultHub   = "faultville"
	faultAdmin = "fault-test-admin-token-0123456789"
	// leaseTTL is the workers' ELMCITY_HUB_LEASE_TTL, and doomedLeaseTTL
	// that of the worker killed in scenario 1 (see killMidJob).
	leaseTTL       = 6 * time.Second
	doomedLeaseTTL = 18 * time.Second
)

// faultEnv is the running system and what the test measured.
type faultEnv struct {
	began   time.Time
	dir     string // process output
	bins    string
	scripts string

	az   *azurite
	acct *azstorage.Account
	pub  *publish.Store
	jobs *queue.Client
	tl   *tablelog.Log

	feed       *faultFeed
	web        *faultProc
	webMetrics string
	api        webClient
	workers    []*faultProc          // running, oldest first
	roles      []*faultProc          // every role process started
	probes     map[*faultProc]string // a worker's probe address
	cutoff     map[*faultProc]time.Time
	readers    *faultReaders

	token, feedID string
	fig           faultFigures
}

// faultFigures are what the report prints.
type faultFigures struct {
	build, setup                 time.Duration
	killRecovery, killServed     time.Duration // SIGKILL to the other worker's publish, and to the web role serving it
	killAttempts, killPutBack    int           // deliveries of the killed job on the other worker, and how many waited
	killAfterStart               time.Duration // from the other worker's start to the kill
	secondPutBack, twoJobsAtOnce int           // times the second job waited; most feed requests at once
	editServed                   time.Duration // aggregate request to the edit's tags served
	azStop, azStart              time.Duration
	readyz                       map[int]int // web /readyz answers during the outage, by status
	readyzMax                    time.Duration
	workerReadyz                 map[int]int
	outageReads                  readFigures
	restartPublish, restartSeen  time.Duration // Azurite started to the new calendar published, and served
	down                         [2]time.Time  // when Azurite stopped and started again
}

func newFaultEnv(t *testing.T) *faultEnv {
	t.Helper()
	ctx := context.Background()
	e := &faultEnv{began: time.Now(), dir: t.TempDir(), probes: map[*faultProc]string{}, cutoff: map[*faultProc]time.Time{}}
	t.Cleanup(func() {
		if t.Failed() {
			keepLogs(t, e.dir)
		}
	})
	e.bins = filepath.Join(t.TempDir(), "bin")
	start := time.Now()
	if out, err := exec.Command("go", "build", "-o", e.bins+"/", "../webrole", ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	e.fig.build = time.Since(start)
	var err error
	if e.scripts, err = filepath.Abs("../scripts"); err != nil {
		t.Fatal(err)
	}
	e.az = newAzurite(t, e.dir)
	t.Cleanup(func() { e.az.stop(t) })
	e.feed = newFaultFeed(t, 1)

	// The web role, on a port chosen here so that its public URL is known.
	addr := fmt.Sprintf("127.0.0.1:%d", freePorts(t, 1)[0])
	e.web = e.startRole(t, "web", "webrole", map[string]string{
		"ELMCITY_INSTANCE":              "web-1",
		"ELMCITY_HTTP_ADDR":             addr,
		"ELMCITY_METRICS_ADDR":          "127.0.0.1:0",
		"ELMCITY_PUBLIC_URL":            "http://" + addr,
		"ELMCITY_ADMIN_TOKEN":           faultAdmin,
		"ELMCITY_OUTPUT_CHECK_INTERVAL": "1s",
	})
	e.web.listening(t)
	e.webMetrics = e.web.waitRecord(t, `"serving metrics"`, 10*time.Second, func(r logRecord) bool { return r.Msg == "serving metrics" }).str("addr")
	e.api = webClient{base: "http://" + addr, client: &http.Client{Timeout: 60 * time.Second}}
	e.readers = startReaders(e.api.base, []readerSpec{
		{"json", "/services/" + faultHub + "/json", "json"},
		{"ics", "/services/" + faultHub + "/ics", "ics"},
		{"page", "/" + faultHub, "html"},
		{"json-14d", "/services/" + faultHub + "/json?days=14", "json"},
	})
	t.Cleanup(e.readers.stop) // runs before the web role stops
	// The first worker holds hub leases longer than the others: see
	// killMidJob.
	e.startWorker(t, "worker-1", doomedLeaseTTL)

	// The test's own view of storage, after the roles made the tables.
	if e.acct, err = azstorage.Open(e.az.conn(), azstorage.Options{MaxRetries: 2, TryTimeout: 5 * time.Second, RetryDelay: 200 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	if e.pub, err = publish.Open(ctx, e.acct, publish.Config{}); err != nil {
		t.Fatal(err)
	}
	if e.jobs, err = queue.Open(ctx, e.acct, queue.Config{}); err != nil {
		t.Fatal(err)
	}
	if e.tl, err = tablelog.Open(ctx, e.acct, tablelog.Config{Role: "faulttest"}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.tl.Close(context.Background()) })
	return e
}

// startRole starts a role binary on the private Azurite.
func (e *faultEnv) startRole(t *testing.T, name, bin string, env map[string]string) *faultProc {
	t.Helper()
	env["AZURE_STORAGE_CONNECTION_STRING"] = e.az.conn()
	env["ELMCITY_SCRIPTS"] = e.scripts
	env["ELMCITY_SHUTDOWN_TIMEOUT"] = "10s"
	p := startProc(t, e.dir, name, filepath.Join(e.bins, bin), nil, env)
	e.roles = append(e.roles, p)
	return p
}

// startWorker starts a worker named instance, holding hub leases for
// leaseTTL, and waits until it listens.
func (e *faultEnv) startWorker(t *testing.T, instance string, leaseTTL time.Duration) *faultProc {
	t.Helper()
	p := e.startRole(t, instance, "workerrole", map[string]string{
		"ELMCITY_INSTANCE":               instance,
		"ELMCITY_WORKER_METRICS_ADDR":    "127.0.0.1:0",
		"ELMCITY_JOB_VISIBILITY_TIMEOUT": "5s",
		"ELMCITY_HUB_LEASE_TTL":          leaseTTL.String(),
		"ELMCITY_SCHEDULER_TICK":         "1h",
		"ELMCITY_FETCH_ALLOW_PRIVATE":    "true",
	})
	e.probes[p] = p.listening(t)
	e.workers = append(e.workers, p)
	return p
}

// setup creates the hub, a curator and an approved feed through the API,
// as an administrator and a curator would, and publishes version 1.
func (e *faultEnv) setup(t *testing.T) {
	t.Helper()
	start := time.Now()
	e.api.want(t, http.StatusCreated, http.MethodPut, "/api/hubs/"+faultHub, faultAdmin,
		map[string]any{"title": "Faultville", "tz": "America/New_York"}, nil)
	var cur struct{ Token string }
	e.api.want(t, http.StatusCreated, http.MethodPost, "/api/curators", faultAdmin,
		map[string]any{"name": "Fault curator", "hubs": []string{faultHub}}, &cur)
	e.token = cur.Token
	feed := map[string]any{"feedurl": e.feed.url(), "source": "Fault Library", "url": "https://library.elmcity.test/",
		"catmap": map[string]string{"films": "movies"}, "comments": "added by the fault test"}
	var created struct{ ID string }
	h := e.api.want(t, http.StatusCreated, http.MethodPost, "/api/hubs/"+faultHub+"/feeds", e.token, feed, &created)
	e.feedID = created.ID
	// Approve it: a PUT of every field, conditional on the ETag just read.
	feed["approved"] = true
	e.api.want(t, http.StatusOK, http.MethodPut, "/api/hubs/"+faultHub+"/feeds/"+e.feedID, e.token, feed, nil,
		"If-Match", h.Get("ETag"))
	e.aggregate(t)
	e.waitPublished(t, "", 60*time.Second)
	e.checkPayload(t, 1, "books")
	e.waitServed(t, "version 1", 30*time.Second, func(v view) bool { return v.version() == 1 })
	e.fig.setup = time.Since(start)
}

// aggregate asks for an aggregation through the API and returns the job id.
func (e *faultEnv) aggregate(t *testing.T) string {
	t.Helper()
	var a struct {
		JobID string `json:"job_id"`
	}
	e.api.want(t, http.StatusAccepted, http.MethodPost, "/api/hubs/"+faultHub+"/aggregate", e.token, nil, &a)
	return a.JobID
}

// current reads the hub's generation pointer.
func (e *faultEnv) current(t *testing.T) publish.Pointer {
	t.Helper()
	p, err := e.pub.Current(context.Background(), faultHub)
	if err != nil {
		t.Fatalf("current calendar of %s: %v", faultHub, err)
	}
	return p
}

// waitPublished polls storage until the hub's generation is other than
// old, and returns the new pointer.
func (e *faultEnv) waitPublished(t *testing.T, old string, timeout time.Duration) publish.Pointer {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		p, err := e.pub.Current(context.Background(), faultHub)
		if err == nil && p.ID != old {
			return p
		}
		if time.Now().After(deadline) {
			t.Fatalf("no new calendar of %s within %v (last: %v, %v)", faultHub, timeout, p.ID, err)
		}
		time.Sleep(100 * time.Millisecond) // polling storage
	}
}

// checkPayload loads the published calendar and checks it holds every
// event once, all of the given version and with the given tag.
func (e *faultEnv) checkPayload(t *testing.T, version int, tag string) aggregate.Header {
	t.Helper()
	g, err := e.pub.Load(context.Background(), faultHub)
	if err != nil {
		t.Fatal(err)
	}
	var head aggregate.Header
	events, err := hubcal.DecodePayload(g.Payload, &head)
	if err != nil {
		t.Fatal(err)
	}
	if len(events) != faultEvents {
		t.Errorf("generation %s has %d events, want %d", g.ID, len(events), faultEvents)
	}
	seen := map[string]bool{}
	for _, ev := range events {
		if seen[ev.UID] {
			t.Errorf("generation %s lists %s twice", g.ID, ev.UID)
		}
		seen[ev.UID] = true
		if n := markerOf(ev.Title); n != version {
			t.Errorf("generation %s: event %q is version %d, want %d", g.ID, ev.Title, n, version)
		}
		if !slices.Equal(ev.Tags, []string{tag}) {
			t.Errorf("generation %s: event %q has tags %v, want [%s]", g.ID, ev.Title, ev.Tags, tag)
		}
	}
	return head
}

// waitServed polls the web role's JSON output until ok accepts it, and
// returns how long that took.
func (e *faultEnv) waitServed(t *testing.T, what string, timeout time.Duration, ok func(view) bool) time.Duration {
	t.Helper()
	start := time.Now()
	var last string
	for {
		status, _, body, err := e.api.try(http.MethodGet, "/services/"+faultHub+"/json", "", nil)
		if err == nil && status == http.StatusOK {
			v, perr := parseView("json", body)
			if perr == nil && ok(v) {
				return time.Since(start)
			}
			last = fmt.Sprintf("%v %v", v.states, perr)
		} else {
			last = fmt.Sprintf("%d %v", status, err)
		}
		if time.Since(start) > timeout {
			t.Fatalf("the web role did not serve %s within %v; last answer: %s", what, timeout, last)
		}
		time.Sleep(100 * time.Millisecond) // polling the web role
	}
}

// waitFlushed polls the table until every table-bound stdout record of p
// is in it, and returns when the successful check began.
func (e *faultEnv) waitFlushed(t *testing.T, p *faultProc) time.Time {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		start := time.Now()
		f, err := compareLogs(context.Background(), e.tl, []*faultProc{p}, nil)
		if err == nil && len(f.missing) == 0 {
			return start
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s's log entries did not reach the table within 20s: %v %v", p.name, err, f.missing)
		}
		time.Sleep(200 * time.Millisecond) // polling storage
	}
}

// waitChan waits for ch to be closed.
func waitChan(t *testing.T, ch <-chan struct{}, timeout time.Duration, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(timeout):
		t.Fatalf("no %s within %v", what, timeout)
	}
}

// jobRecords returns p's records about one job.
func jobRecords(p *faultProc, jobID string) []logRecord {
	var out []logRecord
	for _, r := range p.records() {
		if r.str("job_id") == jobID {
			out = append(out, r)
		}
	}
	return out
}

// killMidJob is scenario 1: the worker running a job is SIGKILLed while
// its feed fetch hangs and a second worker runs; the second must publish
// the new version.
//
// The job's message comes back within the visibility timeout (5 s) of
// the kill, and the dead run's hub lease lapses within the killed
// worker's lease TTL: 18 s, of which at least 12 s are left at the kill,
// since the run renews it every third. The second worker starts just
// before the kill, so it still polls the queue often: from its start, at
// most 0.15, 0.45, 1.05, 2.25, 4.65 and 9.45 s (100 ms doubling, with up
// to +50% jitter). If the kill comes within 4.4 s of its start, the
// message is back by its poll at 9.45 s at the latest, while the dead
// run still holds the hub. So the second worker always meets that lease:
// the redelivered job must wait for it (put back, not an attempt) rather
// than count as covered by its own dead run, then publish.
func (e *faultEnv) killMidJob(t *testing.T) {
	t.Helper()
	before := e.current(t)
	arrived := e.feed.hold()
	jobID := e.aggregate(t)
	waitChan(t, arrived, 60*time.Second, "feed request of the job")
	if len(e.workers) != 1 {
		t.Fatalf("%d workers running, want one", len(e.workers))
	}
	doomed := e.workers[0]
	// Its stdout logs "job started" with the job id and its instance.
	doomed.waitRecord(t, "the job's start", 15*time.Second, func(r logRecord) bool {
		return r.Msg == "job started" && r.str("job_id") == jobID && r.str("instance") == doomed.name
	})
	// Entries the doomed worker logged must reach the table before the
	// kill; its table log writes every second.
	e.cutoff[doomed] = e.waitFlushed(t, doomed)
	started := time.Now()
	survivor := e.startWorker(t, "worker-2", leaseTTL)
	doomed.kill()
	killed := time.Now()
	e.fig.killAfterStart = killed.Sub(started)
	e.workers = slices.DeleteFunc(e.workers, func(w *faultProc) bool { return w == doomed })
	e.feed.release(2)

	p := e.waitPublished(t, before.ID, 60*time.Second)
	e.fig.killRecovery = p.PublishedAt.Sub(killed)
	e.checkPayload(t, 2, "books")
	e.fig.killServed = time.Since(killed) + e.waitServed(t, "version 2", 30*time.Second, func(v view) bool { return v.version() == 2 })

	// The survivor waited for the dead run's lease, then finished the
	// job; nothing failed.
	survivor.waitRecord(t, "the end of the recovered job", 10*time.Second, func(r logRecord) bool {
		return r.Msg == "job finished" && r.str("job_id") == jobID
	})
	for _, r := range jobRecords(survivor, jobID) {
		switch {
		case r.Msg == "job started":
			e.fig.killAttempts++
		case strings.HasPrefix(r.Msg, "job put back"):
			e.fig.killPutBack++
		}
		if r.Level > slog.LevelInfo || strings.Contains(r.Msg, "covered") {
			t.Errorf("recovering the killed job logged %v", r)
		}
	}
	if e.fig.killPutBack == 0 {
		t.Errorf("the surviving worker never met the dead run's hub lease (%d deliveries; killed %v after it started, want under 4.4s)",
			e.fig.killAttempts, e.fig.killAfterStart)
	}
}

// twoJobsOneWorker is scenario 2: two jobs for the hub on the one worker
// left, the second arriving while the first holds the hub.
func (e *faultEnv) twoJobsOneWorker(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	if len(e.workers) != 1 {
		t.Fatalf("%d workers running, want one", len(e.workers))
	}
	w := e.workers[0]
	before := e.current(t)
	arrived := e.feed.hold()
	e.feed.resetInflight()
	// The API keeps one pending job per hub, so the two jobs go straight
	// onto the queue.
	first, err := e.jobs.Enqueue(ctx, queue.Job{Kind: queue.KindAggregate, Hub: faultHub, Reason: "fault test: first of two", RequestedBy: "fault test"}, 0)
	if err != nil {
		t.Fatal(err)
	}
	waitChan(t, arrived, 30*time.Second, "feed request of the first job")
	second, err := e.jobs.Enqueue(ctx, queue.Job{Kind: queue.KindAggregate, Hub: faultHub, Reason: "fault test: second of two", RequestedBy: "fault test"}, 0)
	if err != nil {
		t.Fatal(err)
	}
	// The second must wait for the hub, not run beside the first.
	if _, err := w.findRecord(30*time.Second, func(r logRecord) bool {
		return strings.HasPrefix(r.Msg, "job put back") && r.str("job_id") == second.ID
	}); err != nil {
		t.Errorf("the second job was not put back while the first held the hub: %v", err)
	}
	e.feed.release(3)
	for _, j := range []queue.Job{first, second} {
		w.waitRecord(t, "the end of the job ("+j.Reason+")", 45*time.Second, func(r logRecord) bool {
			return r.str("job_id") == j.ID && (r.Msg == "job finished" || strings.HasPrefix(r.Msg, "job failed"))
		})
	}
	e.waitPublished(t, before.ID, 10*time.Second)
	e.checkPayload(t, 3, "books")
	if _, _, e.fig.twoJobsAtOnce = e.feed.counts(); e.fig.twoJobsAtOnce != 1 {
		t.Errorf("the feed had %d requests at once from the two jobs, want 1", e.fig.twoJobsAtOnce)
	}

	// Runs: each delivery from "job started" to how it settled. Only one
	// run may do the work at a time; the other waits.
	type run struct {
		job        string
		start, end time.Time
		settled    string
		published  bool
	}
	var runs []run
	open := map[string]*run{}
	for _, r := range w.records() {
		id := r.str("job_id")
		if id != first.ID && id != second.ID {
			continue
		}
		if r.Level > slog.LevelInfo {
			t.Errorf("two jobs on one worker: %v, want info at most", r)
		}
		switch {
		case r.Msg == "job started":
			open[id] = &run{job: id, start: r.Time}
		case open[id] == nil:
		case strings.HasPrefix(r.Msg, "published "):
			open[id].published = true
		case r.Msg == "job finished" || strings.HasPrefix(r.Msg, "job put back") || strings.HasPrefix(r.Msg, "job failed") ||
			strings.HasPrefix(r.Msg, "job cancelled"):
			open[id].end, open[id].settled = r.Time, r.Msg
			runs = append(runs, *open[id])
			delete(open, id)
		}
	}
	var worked []run
	for _, r := range runs {
		switch {
		case r.job == first.ID && r.settled != "job finished":
			t.Errorf("the first job ended with %q, want job finished", r.settled)
		case r.job == second.ID && strings.HasPrefix(r.settled, "job put back"):
			e.fig.secondPutBack++
		case r.settled != "job finished":
			t.Errorf("the second job ended with %q", r.settled)
		}
		if r.settled == "job finished" {
			worked = append(worked, r)
		}
	}
	if len(worked) != 2 {
		t.Errorf("runs that finished: %+v, want one per job", worked)
	}
	for i := range worked {
		for j := range i {
			a, b := worked[i], worked[j]
			if a.start.Before(b.end) && b.start.Before(a.end) {
				t.Errorf("runs of the two jobs overlap: %+v and %+v", a, b)
			}
		}
	}
	e.waitServed(t, "version 3", 30*time.Second, func(v view) bool { return v.version() == 3 })
}

// editUnchangedFeed is scenario 3: a curator changes the feed's catmap
// and asks for an aggregation; the feed answers 304 and the published
// events carry the new tag.
func (e *faultEnv) editUnchangedFeed(t *testing.T) {
	t.Helper()
	path := "/api/hubs/" + faultHub + "/feeds/" + e.feedID
	var f map[string]any
	h := e.api.want(t, http.StatusOK, http.MethodGet, path, e.token, nil, &f)
	edit := map[string]any{"source": f["source"], "url": f["url"], "categories": f["categories"],
		"catmap": map[string]string{"books": "reading"}, "approved": f["approved"], "comments": f["comments"]}
	e.api.want(t, http.StatusOK, http.MethodPut, path, e.token, edit, nil, "If-Match", h.Get("ETag"))
	full, notModified, _ := e.feed.counts()
	before := e.current(t)
	start := time.Now()
	e.aggregate(t)
	e.waitPublished(t, before.ID, 60*time.Second)
	head := e.checkPayload(t, 3, "reading")
	if len(head.Feeds) != 1 || head.Feeds[0].Status != "not_modified" {
		t.Errorf("feed stats after the edit = %+v, want one feed not_modified", head.Feeds)
	}
	if f2, nm2, _ := e.feed.counts(); f2 != full || nm2 <= notModified {
		t.Errorf("the feed answered %d in full and %d with 304 for the edit, want 0 and at least 1", f2-full, nm2-notModified)
	}
	e.waitServed(t, "the edited tags", 30*time.Second, func(v view) bool {
		return v.version() == 3 && slices.Equal(v.tags, []string{"reading"})
	})
	e.fig.editServed = time.Since(start)
}

// storageOutage is scenario 4: Azurite stops for 30 s and starts again
// on the same data folder.
func (e *faultEnv) storageOutage(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	before := e.current(t)
	logBefore, err := e.tl.Read(ctx, tablelog.Query{Hub: faultHub, Limit: tablelog.MaxLimit})
	if err != nil {
		t.Fatal(err)
	}
	e.feed.release(4) // what the aggregation after the restart finds

	start := time.Now()
	e.az.stop(t)
	stopped := time.Now()
	e.fig.azStop = stopped.Sub(start)
	// The probes wait up to 2 s for storage each: the web role's every
	// round, a worker's every fourth.
	probe := &http.Client{Timeout: 5 * time.Second}
	e.fig.readyz, e.fig.workerReadyz = map[int]int{}, map[int]int{}
	for i := 0; time.Since(stopped) < 30*time.Second; i++ {
		t0 := time.Now()
		resp, err := probe.Get(e.api.base + "/readyz")
		status := 0
		if err == nil {
			status = resp.StatusCode
			_ = resp.Body.Close()
		}
		e.fig.readyz[status]++
		e.fig.readyzMax = max(e.fig.readyzMax, time.Since(t0))
		if i%4 == 0 {
			if resp, err := probe.Get("http://" + e.probes[e.workers[0]] + "/readyz"); err == nil {
				e.fig.workerReadyz[resp.StatusCode]++
				_ = resp.Body.Close()
			}
		}
		time.Sleep(250 * time.Millisecond) // polling the probes
	}
	restart := time.Now()
	e.fig.down = [2]time.Time{stopped, restart}
	e.az.start(t)
	e.fig.azStart = time.Since(restart)
	var outage []faultRead
	for _, r := range e.readers.snapshot() {
		if !r.at.Before(stopped) && r.at.Before(restart) {
			outage = append(outage, r)
		}
	}
	e.fig.outageReads = sumReads(outage)
	if e.fig.readyz[http.StatusOK] == 0 || len(e.fig.readyz) != 1 {
		t.Errorf("web /readyz during the outage answered %v, want 200 only", e.fig.readyz)
	}

	// The data survived the restart.
	deadline := time.Now().Add(30 * time.Second)
	var p publish.Pointer
	for p, err = e.pub.Current(ctx, faultHub); err != nil; p, err = e.pub.Current(ctx, faultHub) {
		if time.Now().After(deadline) {
			t.Fatalf("storage did not answer within 30s of the restart: %v", err)
		}
		time.Sleep(200 * time.Millisecond) // polling storage
	}
	if p.ID != before.ID {
		t.Errorf("after the restart the current calendar is %s, want %s", p.ID, before.ID)
	}
	logAfter, err := e.tl.Read(ctx, tablelog.Query{Hub: faultHub, Limit: tablelog.MaxLimit})
	if err != nil {
		t.Fatal(err)
	}
	have := map[string]bool{}
	for _, en := range logAfter.Entries {
		have[en.ID] = true
	}
	for _, en := range logBefore.Entries {
		if !have[en.ID] {
			t.Errorf("log entry %s %q lost in the restart", en.ID, en.Message)
		}
	}

	// A new aggregation publishes: the web role takes the request once
	// its storage answers again, and a worker runs it.
	deadline = time.Now().Add(30 * time.Second)
	for {
		status, _, body, err := e.api.try(http.MethodPost, "/api/hubs/"+faultHub+"/aggregate", e.token, nil)
		if err == nil && status == http.StatusAccepted {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("POST aggregate after the restart: %d %s %v", status, body, err)
		}
		time.Sleep(500 * time.Millisecond) // polling the web role
	}
	p = e.waitPublished(t, before.ID, 90*time.Second)
	e.fig.restartPublish = p.PublishedAt.Sub(restart)
	e.checkPayload(t, 4, "reading")
	e.waitServed(t, "version 4", 90*time.Second, func(v view) bool { return v.version() == 4 })
	e.fig.restartSeen = time.Since(restart)
}

// finish stops everything and checks the reads, the logs and the poison
// queue, then prints the figures.
func (e *faultEnv) finish(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	e.readers.stop()
	reads := sumReads(e.readers.snapshot())

	// Nothing the table log was given was dropped.
	for _, p := range append([]*faultProc{e.web}, e.workers...) {
		addr := e.probes[p]
		if p == e.web {
			addr = e.webMetrics
		}
		if n, err := metric(addr, "elmcity_table_log_dropped_total"); err != nil || n != 0 {
			t.Errorf("%s: elmcity_table_log_dropped_total = %v, %v; want 0", p.name, n, err)
		}
	}
	// SIGTERM: each role stops by itself and flushes its table log.
	for _, p := range append(slices.Clone(e.workers), e.web) {
		if !p.stop(30 * time.Second) {
			t.Errorf("%s did not stop within 30s of SIGTERM", p.name)
		} else if p.waitErr != nil {
			t.Errorf("%s exited with %v after SIGTERM:\n%s", p.name, p.waitErr, tail(p.stderr, 10))
		}
	}

	parked, err := e.jobs.PoisonLength(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if parked != 0 {
		ps, _ := e.jobs.PeekPoison(ctx, 32)
		for _, p := range ps {
			t.Errorf("parked: %s (job %+v)", p.Reason, p.Job)
		}
	}
	logs, err := compareLogs(ctx, e.tl, e.roles, e.cutoff)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range logs.missing {
		t.Errorf("log record not in the table: %v", r)
	}
	warnings := map[string]int{}
	duringOutage := map[string]int{}
	for _, p := range e.roles {
		for _, r := range p.records() {
			if part, ok := tableBound(r); ok && r.Time.After(e.fig.down[0]) && r.Time.Before(e.fig.down[1]) {
				duringOutage[fmt.Sprintf("%s %s %q to %s", p.name, r.Level, r.Msg, part)]++
			}
			text := r.Msg + " " + r.str("error")
			if strings.Contains(text, "hub lease lost") || strings.HasPrefix(r.Msg, "job failed") || r.Msg == "queue message parked" {
				t.Errorf("%v", r)
			}
			if r.Level >= slog.LevelWarn && !strings.HasPrefix(r.Msg, "http request") {
				warnings[fmt.Sprintf("%s %s %q", p.name, r.Level, r.Msg)]++
			}
		}
	}

	if len(duringOutage) == 0 {
		t.Errorf("no table-bound records written while storage was down; the outage checks nothing of the table log")
	}

	if reads.failed > 0 || reads.slow > 0 || reads.mixed > 0 || reads.dupes > 0 || reads.regressions > 0 || reads.incomplete > 0 {
		t.Errorf("reads: %d failed, %d slow, %d mixed, %d with duplicates, %d older than one seen before, %d incomplete; want none",
			reads.failed, reads.slow, reads.mixed, reads.dupes, reads.regressions, reads.incomplete)
		for _, r := range reads.bad[:min(len(reads.bad), 20)] {
			t.Logf("  %s at %s: %d %s in %v, states %v", r.reader, r.at.Format(time.TimeOnly+".000"), r.status, r.err, r.latency, r.view.states)
		}
	}

	var b strings.Builder
	fmt.Fprintf(&b, "fault test figures (wall time %v; binaries built in %v, setup %v)\n",
		time.Since(e.began).Round(time.Second), e.fig.build.Round(time.Millisecond), e.fig.setup.Round(time.Millisecond))
	fmt.Fprintf(&b, "reads: %d in all, %d cached, %d failed, %d slow (>1s), %d mixed generations, %d with duplicate events, %d older than one seen before, %d incomplete; cached p50 %v, p99 %v, max %v\n",
		reads.total, reads.cached, reads.failed, reads.slow, reads.mixed, reads.dupes, reads.regressions, reads.incomplete,
		reads.p50.Round(10*time.Microsecond), reads.p99.Round(10*time.Microsecond), reads.max.Round(10*time.Microsecond))
	o := e.fig.outageReads
	fmt.Fprintf(&b, "  %d cached reads took 250ms or more (a due storage check held them)\n", reads.waited)
	fmt.Fprintf(&b, "  during the outage: %d reads, %d cached, %d failed, %d slow, %d of 250ms or more; p50 %v, p99 %v, max %v\n",
		o.total, o.cached, o.failed, o.slow, o.waited, o.p50.Round(10*time.Microsecond), o.p99.Round(10*time.Microsecond), o.max.Round(10*time.Microsecond))
	fmt.Fprintf(&b, "1. SIGKILL mid-job (%v after the other worker started): the other worker published %v after the kill (%d deliveries of the job there, %d put back while the dead run's lease held), served %v after\n",
		e.fig.killAfterStart.Round(time.Millisecond), e.fig.killRecovery.Round(time.Millisecond), e.fig.killAttempts, e.fig.killPutBack, e.fig.killServed.Round(time.Millisecond))
	fmt.Fprintf(&b, "2. two jobs on one worker: the second was put back %d time(s); feed requests at once: %d\n", e.fig.secondPutBack, e.fig.twoJobsAtOnce)
	fmt.Fprintf(&b, "3. edit with an unchanged feed (304): new tags served %v after the aggregate request\n", e.fig.editServed.Round(time.Millisecond))
	fmt.Fprintf(&b, "4. Azurite stopped in %v, down 30s, started in %v; web /readyz %v (slowest %v), worker /readyz %v; new calendar published %v after the restart, served %v after\n",
		e.fig.azStop.Round(time.Millisecond), e.fig.azStart.Round(time.Millisecond), e.fig.readyz, e.fig.readyzMax.Round(time.Millisecond),
		e.fig.workerReadyz, e.fig.restartPublish.Round(time.Millisecond), e.fig.restartSeen.Round(time.Millisecond))
	fmt.Fprintf(&b, "logs: %d table-bound stdout records from %d processes, %d found in the table (%d entries read), %d missing, %d lost to SIGKILL after the last flush\n",
		logs.stdout, len(e.roles), logs.found, logs.tableEntries, len(logs.missing), len(logs.lostToKill))
	for _, k := range slices.Sorted(maps.Keys(duringOutage)) {
		fmt.Fprintf(&b, "  written while storage was down: %s x%d\n", k, duringOutage[k])
	}
	fmt.Fprintf(&b, "parked jobs: %d\n", parked)
	for _, k := range slices.Sorted(maps.Keys(warnings)) {
		fmt.Fprintf(&b, "  warn+: %s x%d\n", k, warnings[k])
	}
	t.Log(b.String())
}

// TestFaultReaderSeesMixedGenerations checks the readers' parsing: a
// response with events of two versions, or of two tag states, is mixed,
// and one of a single generation is not.
func TestFaultReaderSeesMixedGenerations(t *testing.T) {
	t.Parallel()
	ics := func(events ...string) string {
		var b strings.Builder
		b.WriteString("BEGIN:VCALENDAR\r\nBEGIN:VTIMEZONE\r\nTZID:X\r\nEND:VTIMEZONE\r\n")
		for i, e := range events {
			summary, cats, _ := strings.Cut(e, "|")
			// A long SUMMARY folds, as the web role's ICS does at 75 octets.
			fmt.Fprintf(&b, "BEGIN:VEVENT\r\nUID:u%d\r\nSUMMARY:%s and a title long enough to be fo\r\n lded\r\nCATEGORIES:%s\r\nEND:VEVENT\r\n", i, summary, cats)
		}
		b.WriteString("END:VCALENDAR\r\n")
		return b.String()
	}
	tests := []struct {
		name, kind, body string
		mixed            bool
		version          int
	}{
		{"JSONOneGeneration", "json", `{"generation":"g","events":[{"uid":"a","title":"elmgen3 A","tags":["books"]},{"uid":"b","title":"elmgen3 B","tags":["books"]}]}`, false, 3},
		{"JSONTwoVersions", "json", `{"events":[{"uid":"a","title":"elmgen3 A","tags":["books"]},{"uid":"b","title":"elmgen4 B","tags":["books"]}]}`, true, -1},
		{"JSONTwoTagStates", "json", `{"events":[{"uid":"a","title":"elmgen3 A","tags":["books"]},{"uid":"b","title":"elmgen3 B","tags":["reading"]}]}`, true, 3},
		{"ICSOneGeneration", "ics", ics("elmgen2 A|books", "elmgen2 B|books"), false, 2},
		{"ICSTwoVersions", "ics", ics("elmgen2 A|books", "elmgen3 B|books"), true, -1},
		{"ICSTwoTagStates", "ics", ics("elmgen2 A|books", "elmgen2 B|reading"), true, 2},
		{"PageOneGeneration", "html", `<li>elmgen5 A</li><li>elmgen5 B</li>`, false, 5},
		{"PageTwoVersions", "html", `<li>elmgen5 A</li><li>elmgen6 B</li>`, true, -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			v, err := parseView(tt.kind, []byte(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			if v.mixed() != tt.mixed || v.version() != tt.version {
				t.Errorf("parseView() = states %v, versions %v; want mixed %v, version %d", v.states, v.versions, tt.mixed, tt.version)
			}
		})
	}
}
