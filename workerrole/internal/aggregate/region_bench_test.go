package aggregate_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/elmcity/elmcity/shared/calendar"
	"github.com/elmcity/elmcity/shared/fetch"
	"github.com/elmcity/elmcity/shared/hub"
	"github.com/elmcity/elmcity/shared/hubcal"
	"github.com/elmcity/elmcity/shared/publish"
	"github.com/elmcity/elmcity/shared/queue"
	"github.com/elmcity/elmcity/shared/tablestore"
	"github.com/elmcity/elmcity/workerrole/internal/aggregate"
)

// regionHubs is an in-memory hub store of several hubs.
type regionHubs struct{ hubs map[string]hub.Hub }

func (m *regionHubs) GetHub(_ context.Context, id string) (hub.Hub, error) {
	h, ok := m.hubs[id]
	if !ok {
		return hub.Hub{}, tablestore.ErrNotFound
	}
	return h, nil
}
func (m *regionHubs) ListFeeds(context.Context, string) ([]hub.Feed, error) { return nil, nil }
func (m *regionHubs) ClearPendingJob(context.Context, string, string) error { return nil }
func (m *regionHubs) AcquireLease(_ context.Context, name, holder string, _ time.Duration) (tablestore.Lease, error) {
	return tablestore.Lease{Name: name, Holder: holder}, nil
}
func (m *regionHubs) RenewLease(_ context.Context, l tablestore.Lease, _ time.Duration) (tablestore.Lease, error) {
	return l, nil
}
func (m *regionHubs) ReleaseLease(context.Context, tablestore.Lease) error { return nil }

// regionPub keeps generations in memory; a publish keeps only its size.
type regionPub struct {
	mu    sync.Mutex
	gens  map[string]publish.Generation
	bytes int
}

func (p *regionPub) Current(_ context.Context, id string) (publish.Pointer, error) {
	g, err := p.Load(context.Background(), id)
	return publish.Pointer{Hub: id, ID: g.ID, PublishedAt: g.PublishedAt}, err
}

func (p *regionPub) Load(_ context.Context, id string) (publish.Generation, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	g, ok := p.gens[id]
	if !ok {
		return publish.Generation{}, publish.ErrNotFound
	}
	return g, nil
}

func (p *regionPub) Publish(_ context.Context, g publish.Generation) (publish.Generation, error) {
	n := len(g.Payload)
	for _, part := range g.Parts {
		n += len(part)
	}
	p.mu.Lock()
	p.bytes = n
	p.mu.Unlock()
	return g, nil
}

// memberPayload is the published calendar of member m of a region: n
// events from series of 100 daily occurrences from day; a tenth of the
// series are the same events in every member (the region folds them).
func memberPayload(tb testing.TB, m, n int, day time.Time) []byte {
	tb.Helper()
	fe := hubcal.Feed{Feed: fmt.Sprintf("feed%d", m), Source: fmt.Sprintf("Member %d feed", m), HomeURL: "https://example.org/"}
	desc := strings.Repeat("An evening of music and conversation, all welcome. ", 3)
	for i := range n / 100 {
		title := fmt.Sprintf("Member %d event %d", m, i)
		if i%10 == 0 {
			title = fmt.Sprintf("Shared event %d", i)
		}
		ev := &calendar.Event{UID: fmt.Sprintf("s%05d@m%d.example.org", i, m), Summary: title, Description: desc,
			Location: fmt.Sprintf("Main Street %d", i%300), Categories: []string{fmt.Sprintf("t%d", i%16)}, Recurring: true}
		for d := range 100 {
			s := day.AddDate(0, 0, d).Add(time.Duration(i%720) * time.Minute)
			fe.Occurrences = append(fe.Occurrences, calendar.Occurrence{Event: ev, Start: s, End: s.Add(time.Hour), RecurrenceID: s})
		}
	}
	cal, _ := hubcal.Merge([]*hubcal.Contribution{hubcal.NewContribution(fe, hubcal.Options{})})
	payload, err := cal.Encode(aggregate.Header{V: 2, Hub: fmt.Sprintf("m%d", m), Events: cal.Len()})
	if err != nil {
		tb.Fatal(err)
	}
	return payload
}

// BenchmarkRegionOf8Members aggregates a region of 8 member hubs that
// have published 250,000 events each (all in the region's window, all
// merged: the job's cap is raised above their sum), from memory, and
// reports the peak live heap above what was live before (the members'
// payloads), sampled every 5 ms:
//
//	go test -run '^$' -bench RegionOf8Members -benchtime 1x ./workerrole/internal/aggregate/
func BenchmarkRegionOf8Members(b *testing.B) {
	const members, perMember = 8, 250_000
	now := time.Now()
	day := now.Truncate(24 * time.Hour).Add(24 * time.Hour)
	hubs := &regionHubs{hubs: map[string]hub.Hub{}}
	pub := &regionPub{gens: map[string]publish.Generation{}}
	region := hub.Hub{ID: "region", Title: "Region", Type: hub.TypeRegion, TZ: "UTC", HorizonDays: 120}
	for m := range members {
		id := fmt.Sprintf("m%d", m)
		hubs.hubs[id] = hub.Hub{ID: id, Title: "Member " + id, TZ: "UTC", HorizonDays: 120}
		pub.gens[id] = publish.Generation{Hub: id, ID: "g1", PublishedAt: now, Payload: memberPayload(b, m, perMember, day)}
		region.Members = append(region.Members, id)
	}
	hubs.hubs[region.ID] = region
	f, err := fetch.New(fetch.Config{})
	if err != nil {
		b.Fatal(err)
	}
	job := aggregate.New(hubs, f, pub, aggregate.Config{Instance: "bench", Logger: slog.New(slog.DiscardHandler),
		MaxHubEvents: members * perMember, Now: func() time.Time { return now }})
	b.ReportAllocs()
	var peak, base uint64
	for range b.N {
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		base = ms.HeapAlloc
		stop := peakHeap()
		if err := job.Handle(context.Background(), queue.Job{Hub: region.ID}); err != nil && !errors.Is(err, context.Canceled) {
			b.Fatal(err)
		}
		peak = max(peak, stop())
	}
	b.ReportMetric(float64(peak-base)/(1<<20), "peak-heap-MB")
	b.ReportMetric(float64(base)/(1<<20), "heap-before-MB")
	b.ReportMetric(float64(pub.bytes)/(1<<20), "payload-MB")
}
