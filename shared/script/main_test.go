package script_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/elmcity/elmcity/shared/logtest"
	"github.com/elmcity/elmcity/shared/script"
	"go.uber.org/goleak"
)

// TestMain fails the run when a goroutine outlives the tests: a run's
// interrupt timer, or an HTTP connection an Engine did not close.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// testBundle is what setup gives a test.
type testBundle struct {
	engine *script.Engine
	logs   *logtest.Recorder
	dir    string
	cfg    script.Config
}

// setup writes files into a fresh script folder and opens an Engine on
// it, closed when the test ends. Zero cfg fields get the defaults, except
// Source (the folder, unless cfg sets one) and Logger.
func setup(t testing.TB, files map[string]string, cfg script.Config) *testBundle {
	t.Helper()
	dir := writeScripts(t, files)
	if cfg.Source == "" {
		cfg.Source = dir
	}
	logs := &logtest.Recorder{}
	cfg.Logger = slog.New(logs)
	return &testBundle{engine: newEngine(t, cfg), logs: logs, dir: dir, cfg: cfg}
}

// newEngine opens an Engine, closed when the test ends.
func newEngine(t testing.TB, cfg script.Config) *script.Engine {
	t.Helper()
	e, err := script.New(cfg)
	if err != nil {
		t.Fatalf("New() error = %v", err)
	}
	t.Cleanup(func() {
		if err := e.Close(); err != nil {
			t.Errorf("Close() error = %v", err)
		}
	})
	return e
}

// writeScripts writes files (name -> content) into a new temporary folder.
func writeScripts(t testing.TB, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	writeScriptsInto(t, dir, files)
	return dir
}

// writeScriptsInto writes files (name -> content) into dir.
func writeScriptsInto(t testing.TB, dir string, files map[string]string) {
	t.Helper()
	for name, src := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// run runs a script and fails the test on error.
func (b *testBundle) run(t testing.TB, req script.Request) string {
	t.Helper()
	out, err := b.engine.Run(context.Background(), req)
	if err != nil {
		t.Fatalf("Run(%q) error = %v", req.Name, err)
	}
	return out
}

// waitOrTimeout waits for ch to close or yield, failing after timeout.
func waitOrTimeout[T any](t testing.TB, ch <-chan T, timeout time.Duration) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(timeout):
		t.Fatalf("timed out after %v", timeout)
		var zero T
		return zero
	}
}

// fakeHost is an in-memory host: a log per hub, hub records, feeds and
// events, and a record of what maintenance functions did.
type fakeHost struct {
	mu       sync.Mutex
	logs     map[string][]script.LogEntry
	hubs     map[string]map[string]any
	feeds    map[string][]map[string]any
	events   map[string][]map[string]any
	written  []script.LogEntry
	purged   map[string]time.Time
	enqueued []string
	queries  []script.LogQuery
	pageSize int  // when set, ReadLog returns at most this many per call
	careless bool // when set, ReadLog returns each page oldest first
}

var (
	_ script.Host            = (*fakeHost)(nil)
	_ script.MaintenanceHost = (*fakeHost)(nil)
)

func newFakeHost() *fakeHost {
	return &fakeHost{
		logs:   make(map[string][]script.LogEntry),
		hubs:   make(map[string]map[string]any),
		feeds:  make(map[string][]map[string]any),
		events: make(map[string][]map[string]any),
		purged: make(map[string]time.Time),
	}
}

// ReadLog filters like the table log reader: types, [since, until),
// include and exclude on message and detail, newest first, paged by
// offset.
func (h *fakeHost) ReadLog(_ context.Context, q script.LogQuery) ([]script.LogEntry, string, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.queries = append(h.queries, q)
	// Keep each hub's log sorted newest first, as the table is.
	newestFirst := func(a, b script.LogEntry) int { return b.Time.Compare(a.Time) }
	all := h.logs[q.Hub]
	if !slices.IsSortedFunc(all, newestFirst) {
		slices.SortStableFunc(all, newestFirst)
	}
	contains := func(e *script.LogEntry, subs []string) bool {
		if len(subs) == 0 {
			return false
		}
		text := strings.ToLower(e.Message + "\n" + e.Detail)
		for _, s := range subs {
			if strings.Contains(text, strings.ToLower(s)) {
				return true
			}
		}
		return false
	}
	out := make([]script.LogEntry, 0, len(all))
	for i := range all {
		e := &all[i]
		switch {
		case len(q.Types) > 0 && !slices.Contains(q.Types, e.Type),
			!q.Since.IsZero() && e.Time.Before(q.Since),
			!q.Until.IsZero() && !e.Time.Before(q.Until),
			len(q.Include) > 0 && !contains(e, q.Include),
			contains(e, q.Exclude):
			continue
		}
		out = append(out, *e)
	}
	if h.pageSize > 0 {
		q.Limit = min(q.Limit, h.pageSize)
	}
	start, _ := strconv.Atoi(q.After)
	start = min(start, len(out))
	out = out[start:]
	next := ""
	if len(out) > q.Limit {
		out = out[:q.Limit]
		next = strconv.Itoa(start + q.Limit)
	}
	if h.careless {
		slices.Reverse(out)
	}
	return out, next, nil
}

func (h *fakeHost) Hub(_ context.Context, id string) (map[string]any, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	rec, ok := h.hubs[id]
	if !ok {
		return nil, fmt.Errorf("hub %s: %w", id, script.ErrNotFound)
	}
	return rec, nil
}

func (h *fakeHost) Feeds(_ context.Context, hub string) ([]map[string]any, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.feeds[hub], nil
}

func (h *fakeHost) Events(_ context.Context, hub string, limit int) ([]map[string]any, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	evs := h.events[hub]
	return evs[:min(limit, len(evs))], nil
}

func (h *fakeHost) WriteLog(_ context.Context, e script.LogEntry) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.written = append(h.written, e)
	return nil
}

func (h *fakeHost) PurgeLog(_ context.Context, hub string, olderThan time.Time) (int, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.purged[hub] = olderThan
	n := 0
	kept := h.logs[hub][:0]
	for _, e := range h.logs[hub] {
		if e.Time.Before(olderThan) {
			n++
			continue
		}
		kept = append(kept, e)
	}
	h.logs[hub] = kept
	return n, nil
}

func (h *fakeHost) Enqueue(_ context.Context, hub, reason string) (string, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.enqueued = append(h.enqueued, hub+": "+reason)
	return "job-" + strconv.Itoa(len(h.enqueued)), nil
}

func (h *fakeHost) Hubs(_ context.Context) ([]string, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	ids := make([]string, 0, len(h.hubs))
	for id := range h.hubs {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids, nil
}

// readOnlyHost hides the maintenance methods of a fakeHost.
type readOnlyHost struct{ h *fakeHost }

var _ script.Host = readOnlyHost{}

func (r readOnlyHost) ReadLog(ctx context.Context, q script.LogQuery) ([]script.LogEntry, string, error) {
	return r.h.ReadLog(ctx, q)
}
func (r readOnlyHost) Hub(ctx context.Context, id string) (map[string]any, error) {
	return r.h.Hub(ctx, id)
}
func (r readOnlyHost) Feeds(ctx context.Context, hub string) ([]map[string]any, error) {
	return r.h.Feeds(ctx, hub)
}
func (r readOnlyHost) Events(ctx context.Context, hub string, limit int) ([]map[string]any, error) {
	return r.h.Events(ctx, hub, limit)
}
