package aggregate_test

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-ical"

	"github.com/elmcity/elmcity/shared/fetch"
	"github.com/elmcity/elmcity/shared/hub"
	"github.com/elmcity/elmcity/shared/publish"
	"github.com/elmcity/elmcity/shared/queue"
	"github.com/elmcity/elmcity/shared/tablestore"
	"github.com/elmcity/elmcity/workerrole/internal/aggregate"
)

// synthetic writes the corpus generator's hub (200 feeds x 500 events,
// 30% recurring, 10% duplicated) into a temporary folder and returns the
// feeds' bytes by name. It skips when ../shared/corpus/gen is missing.
func synthetic(b *testing.B) map[string][]byte {
	b.Helper()
	gen, err := filepath.Abs("../../../../shared/corpus/gen")
	if err != nil {
		b.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(gen, "main.go")); err != nil {
		b.Skip("corpus generator not found beside the repository")
	}
	out := b.TempDir()
	cmd := exec.Command("go", "run", ".", "-feeds", "200", "-events", "500", "-recurring", "0.3", "-dup", "0.1", "-seed", "42", "-out", out)
	cmd.Dir = gen
	cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=mod")
	if msg, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("corpusgen: %v\n%s", err, msg)
	}
	files, err := filepath.Glob(filepath.Join(out, "feed-*.ics"))
	if err != nil || len(files) != 200 {
		b.Fatalf("corpusgen wrote %d feeds: %v", len(files), err)
	}
	feeds := make(map[string][]byte, len(files))
	for _, f := range files {
		body, err := os.ReadFile(f)
		if err != nil {
			b.Fatal(err)
		}
		feeds[filepath.Base(f)] = body
	}
	return feeds
}

// memHub is an in-memory hub store: the benchmark measures the pipeline,
// not Azurite.
type memHub struct {
	h     hub.Hub
	feeds []hub.Feed
}

func (m *memHub) GetHub(context.Context, string) (hub.Hub, error)       { return m.h, nil }
func (m *memHub) ListFeeds(context.Context, string) ([]hub.Feed, error) { return m.feeds, nil }
func (m *memHub) ClearPendingJob(context.Context, string, string) error { return nil }
func (m *memHub) AcquireLease(_ context.Context, name, holder string, ttl time.Duration) (tablestore.Lease, error) {
	return tablestore.Lease{Name: name, Holder: holder}, nil
}
func (m *memHub) RenewLease(_ context.Context, l tablestore.Lease, _ time.Duration) (tablestore.Lease, error) {
	return l, nil
}
func (m *memHub) ReleaseLease(context.Context, tablestore.Lease) error { return nil }

// sink is a publisher that keeps nothing but the payload's size and event
// count.
type sink struct{ bytes, events atomic.Int64 }

func (s *sink) Current(context.Context, string) (publish.Pointer, error) {
	return publish.Pointer{}, publish.ErrNotFound
}
func (s *sink) Load(context.Context, string) (publish.Generation, error) {
	return publish.Generation{}, publish.ErrNotFound
}
func (s *sink) Publish(_ context.Context, g publish.Generation) (publish.Generation, error) {
	n := len(g.Payload)
	for _, p := range g.Parts {
		n += len(p)
	}
	s.bytes.Store(int64(n))
	events, _ := strconv.Atoi(g.Meta["events"])
	s.events.Store(int64(events))
	return g, nil
}

// peakHeap samples the live heap until stop is called and returns its peak.
func peakHeap() (stop func() uint64) {
	var peak atomic.Uint64
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		var ms runtime.MemStats
		t := time.NewTicker(5 * time.Millisecond)
		defer t.Stop()
		for {
			runtime.ReadMemStats(&ms)
			if ms.HeapAlloc > peak.Load() {
				peak.Store(ms.HeapAlloc)
			}
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	}()
	return func() uint64 { close(done); wg.Wait(); return peak.Load() }
}

// BenchmarkSyntheticHub runs a whole aggregation (fetch over HTTP on
// 127.0.0.1, repair, parse, expand a year, merge, encode) of the corpus
// generator's 200-feed hub, next to raw go-ical decoding of the same
// bytes (impl=goical-decode). events/s counts the feeds' VEVENTs, as
// go-ical decodes them; occurrences/s the hub events published.
// peak-heap/feed-bytes is the peak live heap of the process, which holds
// the served feeds too (1x); peak-heap-above-start/feed-bytes leaves out
// what was live before the run.
//
//	go test -run '^$' -bench SyntheticHub -benchtime 3x ./workerrole/internal/aggregate/
func BenchmarkSyntheticHub(b *testing.B) {
	feeds := offHeap(b, synthetic(b))
	runtime.GC()
	names := make([]string, 0, len(feeds))
	var total int64
	for n, body := range feeds {
		names = append(names, n)
		total += int64(len(body))
	}
	sort.Strings(names)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, ok := feeds[strings.TrimPrefix(r.URL.Path, "/")]
		if !ok {
			http.NotFound(w, r)
			return
		}
		// As a web server sends a static file.
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		_, _ = w.Write(body)
	}))
	defer srv.Close()

	var events int
	b.Run("impl=goical-decode", func(b *testing.B) {
		b.SetBytes(total)
		b.ReportAllocs()
		for range b.N {
			events = 0
			for _, n := range names {
				cal, err := ical.NewDecoder(bytes.NewReader(feeds[n])).Decode()
				if err != nil {
					b.Fatal(err)
				}
				events += len(cal.Events())
			}
		}
		b.ReportMetric(float64(events*b.N)/b.Elapsed().Seconds(), "events/s")
	})

	// The yardstick: go-ical decoding plus reading the fields a
	// merge needs, with time.LoadLocation's results cached.
	b.Run("impl=goical-extract-cachedzones", func(b *testing.B) {
		b.SetBytes(total)
		b.ReportAllocs()
		for range b.N {
			zones := map[string]*time.Location{}
			for _, n := range names {
				cal, err := ical.NewDecoder(bytes.NewReader(feeds[n])).Decode()
				if err != nil {
					b.Fatal(err)
				}
				for _, e := range cal.Events() {
					if err := extract(e, zones); err != nil {
						b.Fatal(err)
					}
				}
			}
		}
		b.ReportMetric(float64(events*b.N)/b.Elapsed().Seconds(), "events/s")
	})

	b.Run("impl=elmcity-aggregate", func(b *testing.B) {
		m := &memHub{h: hub.Hub{ID: "synthetic", Title: "Synthetic", TZ: "America/New_York", HorizonDays: 365, IntervalHours: 8}}
		for _, n := range names {
			m.feeds = append(m.feeds, hub.Feed{ID: hub.FeedID(srv.URL + "/" + n), FeedURL: srv.URL + "/" + n, Source: n, Approved: true})
		}
		f, err := fetch.New(fetch.Config{AllowPrivate: true, PerHost: 8})
		if err != nil {
			b.Fatal(err)
		}
		defer f.CloseIdleConnections()
		var out sink
		var lines atomic.Int64
		log := slog.New(slog.NewTextHandler(&countWriter{n: &lines}, nil))
		job := aggregate.New(m, f, &out, aggregate.Config{
			Instance: "bench", Logger: log, FeedConcurrency: 8, MaxPerSeries: 10000,
			Now: func() time.Time { return time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC) },
		})
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		base := ms.HeapAlloc
		b.SetBytes(total)
		b.ReportAllocs()
		b.ResetTimer()
		stop := peakHeap()
		for range b.N {
			if err := job.Handle(context.Background(), queue.Job{Hub: "synthetic"}); err != nil {
				b.Fatal(err)
			}
		}
		peak := stop()
		b.StopTimer()
		if events > 0 {
			b.ReportMetric(float64(events*b.N)/b.Elapsed().Seconds(), "events/s")
		}
		b.ReportMetric(float64(out.events.Load()*int64(b.N))/b.Elapsed().Seconds(), "occurrences/s")
		b.ReportMetric(float64(peak)/float64(total), "peak-heap/feed-bytes")
		b.ReportMetric(float64(peak-min(base, peak))/float64(total), "peak-heap-above-start/feed-bytes")
		b.ReportMetric(float64(out.bytes.Load())/1e6, "payload-MB")
	})
}

// extracted is what the yardstick reads of an event.
type extracted struct {
	uid, summary, description, location, url, rrule string
	categories                                      []string
	start, end                                      time.Time
}

// extract reads e's usual fields, its times in zones looked up once each.
func extract(e ical.Event, zones map[string]*time.Location) error {
	var x extracted
	text := func(name string) string {
		if p := e.Props.Get(name); p != nil {
			return p.Value
		}
		return ""
	}
	x.uid, x.summary, x.description = text(ical.PropUID), text(ical.PropSummary), text(ical.PropDescription)
	x.location, x.url, x.rrule = text(ical.PropLocation), text(ical.PropURL), text(ical.PropRecurrenceRule)
	for _, p := range e.Props.Values(ical.PropCategories) {
		x.categories = append(x.categories, strings.Split(p.Value, ",")...)
	}
	at := func(name string) (time.Time, error) {
		p := e.Props.Get(name)
		if p == nil {
			return time.Time{}, nil
		}
		if p.ValueType() == ical.ValueDate {
			return time.ParseInLocation("20060102", p.Value, time.UTC)
		}
		if strings.HasSuffix(p.Value, "Z") {
			return time.Parse("20060102T150405Z", p.Value)
		}
		loc := time.UTC
		if tz := p.Params.Get(ical.ParamTimezoneID); tz != "" {
			l, ok := zones[tz]
			if !ok {
				// go-ical knows no Windows names: those read as UTC here.
				if l, _ = time.LoadLocation(tz); l == nil {
					l = time.UTC
				}
				zones[tz] = l
			}
			loc = l
		}
		return time.ParseInLocation("20060102T150405", p.Value, loc)
	}
	var err error
	if x.start, err = at(ical.PropDateTimeStart); err != nil {
		return err
	}
	x.end, err = at(ical.PropDateTimeEnd)
	return err
}

// countWriter counts log lines and discards them.
type countWriter struct{ n *atomic.Int64 }

func (w *countWriter) Write(p []byte) (int, error) { w.n.Add(1); return len(p), nil }
