package api_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/elmcity/elmcity/shared/calendar"
	"github.com/elmcity/elmcity/shared/hubcal"
	"github.com/elmcity/elmcity/shared/publish"
	"github.com/elmcity/elmcity/webrole/internal/api"
	"github.com/elmcity/elmcity/webrole/internal/outputs"
)

// measuredHub is the payload of a hub of n events from tomorrow on: n/10
// daily series of 10 occurrences, each with a paragraph of description,
// a location and a tag, as one feed gives a hub.
func measuredHub(tb testing.TB, now time.Time, n int) []byte {
	tb.Helper()
	fe := hubcal.Feed{Feed: "big", Source: "Big Feed", HomeURL: "https://big.example.org/"}
	day := now.Truncate(24 * time.Hour).Add(24 * time.Hour)
	desc := strings.Repeat("An evening of music and conversation, all welcome. ", 3)
	for i := range n / 10 {
		ev := &calendar.Event{UID: fmt.Sprintf("s%06d@big.example.org", i), Summary: fmt.Sprintf("Daily event %d", i),
			Description: desc, Location: fmt.Sprintf("Main Street %d", i%300), Categories: []string{fmt.Sprintf("t%d", i%16)}, Recurring: true}
		for d := range 10 {
			s := day.AddDate(0, 0, d).Add(time.Duration(i%720) * time.Minute)
			fe.Occurrences = append(fe.Occurrences, calendar.Occurrence{Event: ev, Start: s, End: s.Add(time.Hour), RecurrenceID: s})
		}
	}
	merged, _ := hubcal.Merge([]*hubcal.Contribution{hubcal.NewContribution(fe, hubcal.Options{})})
	payload, err := merged.Encode(map[string]any{"v": 2, "hub": "keene", "events": merged.Len()})
	if err != nil {
		tb.Fatal(err)
	}
	return payload
}

// liveHeap is the live heap after a collection.
func liveHeap() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// BenchmarkCachedHubHeap measures the web role's heap per cached hub: the
// live heap after one hub page of a hub of 5,000 or 250,000 events was
// served (its calendar and that view held in the cache), less the live
// heap before (which holds the payload, served from memory):
//
//	go test -run '^$' -bench CachedHubHeap -benchtime 1x ./webrole/internal/api/
func BenchmarkCachedHubHeap(b *testing.B) {
	w := newWorld(b)
	for _, n := range []int{5_000, 250_000} {
		b.Run(fmt.Sprintf("events=%d", n), func(b *testing.B) {
			clock := &testClock{now: time.Now()}
			cals := &memoryCalendars{g: publish.Generation{Hub: "keene", ID: "g1", PublishedAt: clock.Now(), Payload: measuredHub(b, clock.Now(), n)}}
			var held uint64
			for range b.N {
				srv := api.New(apiDeps(b, w.testBundle, clock, outputs.Config{CacheBytes: 1 << 30}, cals))
				h := srv.Handler()
				base := liveHeap()
				if rec := do(b, h, http.MethodGet, "/keene", nil); rec.Code != 200 {
					b.Fatalf("GET /keene = %d", rec.Code)
				}
				held = liveHeap() - base
				runtime.KeepAlive(srv)
			}
			b.ReportMetric(float64(held)/(1<<20), "heap-MB/hub")
		})
	}
}

// ttfb is the time from sending a GET of url to the first byte of its
// answer, which must be 200.
func ttfb(tb testing.TB, url, token string) time.Duration {
	tb.Helper()
	var start, first time.Time
	trace := &httptrace.ClientTrace{
		WroteRequest:         func(httptrace.WroteRequestInfo) { start = time.Now() },
		GotFirstResponseByte: func() { first = time.Now() },
	}
	req, err := http.NewRequestWithContext(httptrace.WithClientTrace(context.Background(), trace), http.MethodGet, url, nil)
	if err != nil {
		tb.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, res.Body)
	_ = res.Body.Close()
	if res.StatusCode != 200 {
		tb.Fatalf("GET %s = %d", url, res.StatusCode)
	}
	return first.Sub(start)
}

// BenchmarkColdTTFB measures the time to first byte of a hub page and of
// the stats endpoint of a hub of 250,000 events published to Azurite,
// each asked of a web role that has just started (nothing cached), over
// HTTP on 127.0.0.1:
//
//	go test -run '^$' -bench ColdTTFB -benchtime 3x ./webrole/internal/api/
func BenchmarkColdTTFB(b *testing.B) {
	w := newWorld(b)
	clock := &testClock{now: time.Now()}
	if _, err := w.cals.Publish(context.Background(), publish.Generation{Hub: "keene", Payload: measuredHub(b, clock.Now(), 250_000)}); err != nil {
		b.Fatal(err)
	}
	for _, v := range []struct{ name, path, token string }{
		{"what=page", "/keene", ""},
		{"what=stats", "/api/hubs/keene/stats", adminToken},
	} {
		b.Run(v.name, func(b *testing.B) {
			var total time.Duration
			for range b.N {
				srv := httptest.NewServer(api.New(apiDeps(b, w.testBundle, clock, outputs.Config{}, w.cals)).Handler())
				total += ttfb(b, srv.URL+v.path, v.token)
				srv.Close()
			}
			b.ReportMetric(float64(total.Milliseconds())/float64(b.N), "ms-to-first-byte")
		})
	}
}
