package hubcal

import (
	"runtime"
	"testing"

	"github.com/elmcity/elmcity/shared/calendar"
)

// TestReadersAgreeWithEvents checks the accessors readers use instead of
// making every event (UID, Span, EventsIn) against Events, on merged
// calendars with folded events, recurring and moved instances, as merged
// and as read back from their payload.
func TestReadersAgreeWithEvents(t *testing.T) {
	t.Parallel()
	for seed := range uint64(4) {
		feeds := randomFeeds(seed, 4, 40)
		cs := make([]*Contribution, len(feeds))
		for i, f := range feeds {
			cs[i] = NewContribution(f, Options{Vocabulary: []string{"music"}})
		}
		merged, _ := Merge(cs)
		payload, err := merged.Encode(map[string]int{"v": 2})
		if err != nil {
			t.Fatal(err)
		}
		var head map[string]int
		read, err := Read(payload, &head)
		if err != nil {
			t.Fatal(err)
		}
		for name, c := range map[string]*Calendar{"merged": merged, "read": read} {
			events := c.Events()
			if len(events) < 3 {
				t.Fatalf("seed %d: sample of %d events", seed, len(events))
			}
			for i, e := range events {
				if got := c.UID(i); got != e.UID {
					t.Errorf("seed %d %s: UID(%d) = %q, want %q", seed, name, i, got, e.UID)
				}
				start, end := c.Span(i)
				if !start.Equal(e.Start) || !end.Equal(e.End) {
					t.Errorf("seed %d %s: Span(%d) = %v, %v, want %v, %v", seed, name, i, start, end, e.Start, e.End)
				}
			}
			from, to := events[1].Start, events[len(events)-1].Start
			var want []string
			for _, e := range events {
				if calendar.InWindow(e.Start, e.End, from, to) {
					want = append(want, e.UID)
				}
			}
			got := c.EventsIn(from, to, 0)
			if len(got) != len(want) {
				t.Fatalf("seed %d %s: EventsIn() = %d events, want %d", seed, name, len(got), len(want))
			}
			for i := range got {
				if got[i].UID != want[i] {
					t.Errorf("seed %d %s: EventsIn()[%d] = %s, want %s", seed, name, i, got[i].UID, want[i])
				}
			}
			if n := len(c.EventsIn(from, to, 2)); n != 2 {
				t.Errorf("seed %d %s: EventsIn(limit 2) = %d events", seed, name, n)
			}
		}
	}
}

// TestSizeTracksHeap checks that Size, which readers count against their
// memory budget, is within a factor of two of the heap a calendar read
// from its payload holds.
func TestSizeTracksHeap(t *testing.T) {
	feeds := randomFeeds(7, 20, 400)
	cs := make([]*Contribution, len(feeds))
	for i, f := range feeds {
		cs[i] = NewContribution(f, Options{})
	}
	merged, _ := Merge(cs)
	payload, err := merged.Encode(map[string]int{"v": 2})
	if err != nil {
		t.Fatal(err)
	}
	merged, cs, feeds = nil, nil, nil //nolint:ineffassign // dropped so that the collector frees them before the heap is measured
	before := heapInUse()
	var head map[string]int
	c, err := Read(payload, &head)
	if err != nil {
		t.Fatal(err)
	}
	_ = c.UID(0)  // resolves the groups, as the first read does
	payload = nil //nolint:ineffassign // dropped: only the calendar read from it is measured
	held := heapInUse() - before
	size := c.Size()
	t.Logf("%d events, %d bodies: Size() = %d, heap held = %d", c.Len(), c.Bodies(), size, held)
	if size*2 < held || held*2 < size {
		t.Errorf("Size() = %d, heap held %d: not within a factor of two", size, held)
	}
	runtime.KeepAlive(c)
}

// heapInUse is the live heap after a collection.
func heapInUse() int64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return int64(m.HeapAlloc)
}
