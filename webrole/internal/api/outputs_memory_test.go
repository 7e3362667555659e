package api_test

import (
	"context"
	"fmt"
	"net/http"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/elmcity/elmcity/shared/calendar"
	"github.com/elmcity/elmcity/shared/hubcal"
	"github.com/elmcity/elmcity/shared/publish"
	"github.com/elmcity/elmcity/webrole/internal/api"
	"github.com/elmcity/elmcity/webrole/internal/outputs"
)

// memoryCalendars serves one generation from memory: the memory test
// measures the web role, not storage.
type memoryCalendars struct{ g publish.Generation }

func (m *memoryCalendars) Current(context.Context, string) (publish.Pointer, error) {
	return publish.Pointer{Hub: m.g.Hub, ID: m.g.ID, PublishedAt: m.g.PublishedAt}, nil
}

func (m *memoryCalendars) Load(context.Context, string) (publish.Generation, error) { return m.g, nil }

func (m *memoryCalendars) Delete(context.Context, string) error { return nil }

// bigHub is the payload of a hub of 20,000 daily events over 13 days
// from now: 260,000 events, as one large feed gives a hub.
func bigHub(t testing.TB, now time.Time) []byte {
	t.Helper()
	fe := hubcal.Feed{Feed: "big", Source: "Big Feed", HomeURL: "https://big.example.org/"}
	day := now.Truncate(24 * time.Hour)
	desc := strings.Repeat("An evening of music and conversation, all welcome. ", 3)
	for i := range 20000 {
		ev := &calendar.Event{UID: fmt.Sprintf("s%05d@big.example.org", i), Summary: fmt.Sprintf("Daily event %d", i),
			Description: desc, Location: "Main Street " + fmt.Sprint(i%300), Categories: []string{fmt.Sprintf("t%d", i%16)}, Recurring: true}
		for d := range 13 {
			s := day.AddDate(0, 0, d).Add(time.Duration(i%720) * time.Minute)
			fe.Occurrences = append(fe.Occurrences, calendar.Occurrence{Event: ev, Start: s, End: s.Add(time.Hour), RecurrenceID: s})
		}
	}
	c := hubcal.NewContribution(fe, hubcal.Options{})
	merged, _ := hubcal.Merge([]*hubcal.Contribution{c})
	payload, err := merged.Encode(map[string]any{"v": 2, "hub": "keene", "events": merged.Len()})
	if err != nil {
		t.Fatal(err)
	}
	return payload
}

// heapObjects is the heap's object bytes, live and not yet collected.
func heapObjects() uint64 {
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

// TestOutputsMemoryUnderLoad asks for 16 different views of a hub of
// 260,000 events at once, cold, and checks that the web role's heap stays
// under its cache budget plus a fixed overhead: the calendar is held in
// its compact form and counted, each view renders once, at most GOMAXPROCS
// render at a time, and no view is larger than its format's maximum.
//
//	go test -run TestOutputsMemoryUnderLoad -v ./webrole/internal/api/
func TestOutputsMemoryUnderLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a 260,000-event hub")
	}
	// The overhead: two renders of the largest views at once (20,000
	// events of ICS with its gzip, about 40 MB each with buffer growth)
	// and the collector's slack over the live heap.
	const budget, overhead = 64 << 20, 192 << 20
	w := newWorld(t)
	clock := &testClock{now: time.Now()}
	payload := bigHub(t, clock.Now())
	cals := &memoryCalendars{g: publish.Generation{Hub: "keene", ID: "g1", PublishedAt: clock.Now(), Payload: payload}}
	srv := api.New(apiDeps(t, w.testBundle, clock, outputs.Config{CacheBytes: budget, RenderWait: 5 * time.Minute}, cals))
	h := srv.Handler()
	views := []string{
		"/keene", "/keene?days=3", "/keene?view=t9", "/services/keene/html?eventsonly=yes",
		"/services/keene/ics", "/services/keene/ics?count=20000", "/services/keene/ics?view=t7&count=20000",
		"/services/keene/json", "/services/keene/json?count=10000", "/services/keene/json?view=t5&count=10000",
		"/services/keene/csv?count=10000", "/services/keene/xml?count=10000", "/services/keene/text?count=10000",
		"/services/keene/rss?count=1000", "/services/keene/tags_json?count=10000", "/services/keene/html?view=t3&days=5",
	}
	// As in production with GOMEMLIMIT set to what the web role is given
	// (the README's advice): the collector then works to keep the heap,
	// garbage included, under it, as long as what is live fits.
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(budget + overhead))
	runtime.GC()
	base := heapObjects()
	stop := make(chan struct{})
	peak := make(chan uint64)
	go func() {
		var p uint64
		t := time.NewTicker(200 * time.Microsecond)
		defer t.Stop()
		for {
			select {
			case <-stop:
				peak <- p
				return
			case <-t.C:
				p = max(p, heapObjects())
			}
		}
	}()
	start := time.Now()
	var wg sync.WaitGroup
	sizes := make([]int, len(views))
	for i, path := range views {
		wg.Go(func() {
			rec := do(t, h, http.MethodGet, path, nil)
			if rec.Code != 200 {
				t.Errorf("GET %s = %d %.200s", path, rec.Code, rec.Body)
			}
			sizes[i] = rec.Body.Len()
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	close(stop)
	over := int64(<-peak) - int64(base)
	held := metricValue(t, srv, "elmcity_output_cache_bytes")
	t.Logf("16 views of %d payload bytes in %v; peak heap %d MB over the %d MB before (cache budget %d MB, %.0f MB held after); view sizes %v",
		len(payload), elapsed.Round(time.Millisecond), over>>20, base>>20, budget>>20, held/(1<<20), sizes)
	if over > budget+overhead {
		t.Errorf("peak heap %d MB over the baseline, want at most the %d MB budget plus %d MB", over>>20, budget>>20, overhead>>20)
	}
	if held > budget {
		t.Errorf("cache holds %v bytes, over its budget of %d", held, budget)
	}
}
