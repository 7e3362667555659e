package hubcal

import (
	cmpx "cmp"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/elmcity/elmcity/shared/calendar"
)

// randomFeeds builds feeds whose occurrences collide a lot: few start
// slots, titles that match exactly, fuzzily or not at all, repeated UIDs
// within a feed, events without a UID, all-day events, series with moved
// instances, cancelled events and instances, and zones of several offsets.
// (Which events are cancelled takes nothing from rng, so the rest is as
// it was before there were any.)
func randomFeeds(seed uint64, nFeeds, nEvents int) []Feed {
	rng := rand.New(rand.NewPCG(seed, seed*7+1))
	titles := []string{
		"Board Meeting", "board meeting!", "City Council Meeting", "City Council Meeting (budget)",
		"Yoga", "Yoga for Kids", "Knitting Book Club", "Book Club – Knitting", "Story Time",
		"Jazz Night at the Colonial", "JAZZ NIGHT at the Colonial!", "Jazz Night at the Colonial Theatre",
		"", "  Talk  ", "Open Studio", "the the the band", "the band the the", "Ünïcode Fête 2026",
	}
	zones := []*time.Location{time.UTC, mustZone("America/New_York"), mustZone("Europe/Berlin"), time.FixedZone("", 19800)}
	base := time.Date(2026, 3, 7, 0, 0, 0, 0, time.UTC) // a DST change in New York the next day
	pick := func(s []string) string { return s[rng.IntN(len(s))] }
	var feeds []Feed
	for f := range nFeeds {
		fe := Feed{
			Feed: fmt.Sprintf("feed%d", f), Source: fmt.Sprintf("Source %d", f), HomeURL: "https://example.org/" + fmt.Sprint(f),
			Categories: []string{"Town"}[:rng.IntN(2)], CatMap: map[string]string{"konzert": "music"},
		}
		untitled := map[string]bool{} // summary and start of events without a UID
		for e := range nEvents {
			ev := &calendar.Event{
				UID:        fmt.Sprintf("u%d@feed%d", rng.IntN(nEvents), f),
				Summary:    pick(titles),
				Categories: [][]string{nil, {"Music"}, {"Konzert", "Kids,Family"}}[rng.IntN(3)],
			}
			if rng.IntN(10) == 0 {
				ev.UID = ""
			}
			if (e+f)%5 == 3 {
				ev.Status = calendar.StatusCancelled
			}
			if rng.IntN(2) == 0 {
				ev.Description = pick([]string{"Bring a chair.", "category=Outdoors, free", "A much longer description of the event.\ncategory=music"})
			}
			if rng.IntN(2) == 0 {
				ev.Location = pick([]string{"Library", "Town Hall"})
			}
			if rng.IntN(3) == 0 {
				ev.URL = fmt.Sprintf("https://example.org/e/%d/%d", f, e)
			}
			loc := zones[rng.IntN(len(zones))]
			start := base.Add(time.Duration(rng.IntN(4)) * 24 * time.Hour).In(loc)
			start = time.Date(start.Year(), start.Month(), start.Day(), 9+rng.IntN(3), 0, 0, 0, loc)
			allDay := rng.IntN(7) == 0
			if allDay {
				start = time.Date(start.Year(), start.Month(), start.Day(), 0, 0, 0, 0, time.UTC)
			}
			if ev.UID == "" {
				// Two such events alike in summary and start have one hub
				// UID, and which one absorbs another copy is arbitrary.
				k := ev.Summary + start.UTC().String()
				if untitled[k] {
					ev.UID = fmt.Sprintf("x%d@feed%d", e, f)
				}
				untitled[k] = true
			}
			n := 1
			if ev.UID != "" && rng.IntN(3) == 0 {
				ev.Recurring = true
				n = 2 + rng.IntN(3)
			}
			for k := range n {
				s := start.AddDate(0, 0, 7*k)
				o := calendar.Occurrence{Event: ev, Start: s, End: s.Add(time.Hour), RecurrenceID: s, AllDay: allDay}
				if allDay {
					o.End = s.AddDate(0, 0, 1)
				}
				if ev.Recurring && rng.IntN(4) == 0 {
					moved := *ev
					moved.Summary = pick(titles)
					moved.Status = ""
					if (e+k)%3 == 0 {
						moved.Status = calendar.StatusCancelled
					}
					o.Event = &moved
					o.Override = true
					o.Start = s.Add(time.Duration(rng.IntN(3)-1) * time.Hour)
					o.End = o.Start.Add(90 * time.Minute)
				}
				fe.Occurrences = append(fe.Occurrences, o)
			}
		}
		feeds = append(feeds, fe)
	}
	return feeds
}

func mustZone(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return loc
}

var eventsEqual = cmp.Options{cmpopts.EquateEmpty()}

// TestMergeMatchesReference checks the compact merge, its payload and its
// carry against the merge as it was (one Event per occurrence).
func TestMergeMatchesReference(t *testing.T) {
	t.Parallel()
	opts := Options{Vocabulary: []string{"music", "family", "free", "town"}}
	for seed := range uint64(40) {
		t.Run(fmt.Sprintf("Seed%d", seed), func(t *testing.T) {
			t.Parallel()
			feeds := randomFeeds(seed, 2+int(seed%5), 10+int(seed*3%60))
			want, wantSt := referenceMerge(feeds, opts)

			got, st := MergeEvents(feeds, opts)
			if diff := cmp.Diff(want, got, eventsEqual); diff != "" {
				t.Fatalf("Merge() differs from the reference (-want +got):\n%s", diff)
			}
			if st != wantSt {
				t.Errorf("Stats = %+v, want %+v", st, wantSt)
			}

			cs := make([]*Contribution, len(feeds))
			for i, f := range feeds {
				cs[i] = NewContribution(f, opts)
			}
			// Folded in parts of a few rows, as a big hub is on several cores.
			hc, _ := mergeContributions(cs, 8)
			payload, err := hc.Encode(map[string]int{"v": 2})
			if err != nil {
				t.Fatal(err)
			}
			var head json.RawMessage
			decoded, err := DecodePayload(payload, &head)
			if err != nil {
				t.Fatalf("DecodePayload() = %v", err)
			}
			if diff := cmp.Diff(want, decoded, eventsEqual); diff != "" {
				t.Fatalf("DecodePayload(Encode()) differs from the reference (-want +got):\n%s", diff)
			}

			// Next run: feed 0 is down and carried, from the payload.
			prev, err := Read(payload, &head)
			if err != nil {
				t.Fatal(err)
			}
			from, to := time.Date(2026, 3, 8, 0, 0, 0, 0, time.UTC), time.Date(2026, 3, 20, 0, 0, 0, 0, time.UTC)
			refFeeds := append([]Feed(nil), feeds...)
			refFeeds[0] = Feed{Feed: feeds[0].Feed, Source: feeds[0].Source}
			want2, wantSt2 := referenceMergeCarried(refFeeds, map[int][]Event{0: referenceCarry(want, feeds[0].Feed, from, to)}, opts)
			cs = make([]*Contribution, len(feeds))
			for i, f := range feeds {
				if i == 0 {
					f.Occurrences = nil
				}
				cs[i] = NewContribution(f, opts)
			}
			cs[0].AddCarried(prev.Carry(feeds[0].Feed, from, to))
			hc2, st2 := Merge(cs)
			if diff := cmp.Diff(want2, hc2.Events(), eventsEqual); diff != "" {
				t.Fatalf("merge with a carried feed differs from the reference (-want +got):\n%s", diff)
			}
			if st2 != wantSt2 {
				t.Errorf("Stats with a carried feed = %+v, want %+v", st2, wantSt2)
			}
		})
	}
}

// TestPayloadReadsFormat1 checks that a payload published before the
// compact format is read, and carried, as it was.
func TestPayloadReadsFormat1(t *testing.T) {
	t.Parallel()
	opts := Options{}
	feeds := randomFeeds(7, 4, 40)
	want, _ := referenceMerge(feeds, opts)
	old := []byte(`{"v":1}` + "\n")
	for _, e := range want {
		b, err := json.Marshal(e)
		if err != nil {
			t.Fatal(err)
		}
		old = append(append(old, b...), '\n')
	}
	var head struct{ V int }
	got, err := DecodePayload(old, &head)
	if err != nil {
		t.Fatalf("DecodePayload(format 1) = %v", err)
	}
	if head.V != 1 {
		t.Errorf("header = %+v", head)
	}
	if diff := cmp.Diff(want, got, eventsEqual); diff != "" {
		t.Fatalf("DecodePayload(format 1) (-want +got):\n%s", diff)
	}
	prev, err := Read(old, &head)
	if err != nil {
		t.Fatal(err)
	}
	from, to := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC)
	for _, f := range feeds {
		// A carried copy of a merged event has its own UID, so the two
		// are compared in calendar order.
		if diff := cmp.Diff(calendarOrder(referenceCarry(want, f.Feed, from, to)), prev.Carry(f.Feed, from, to).events(), eventsEqual); diff != "" {
			t.Errorf("Carry(%s) from format 1 (-want +got):\n%s", f.Feed, diff)
		}
	}
}

// calendarOrder sorts events as a merge does: by start, title and UID.
func calendarOrder(evs []Event) []Event {
	slices.SortStableFunc(evs, func(a, b Event) int {
		return cmpx.Or(a.Start.Compare(b.Start), strings.Compare(a.Title, b.Title), strings.Compare(a.UID, b.UID))
	})
	return evs
}

// events returns the carried events as HubEvents.
func (c *Carried) events() []Event {
	cs := &Contribution{}
	cs.AddCarried(c)
	h, _ := Merge([]*Contribution{cs})
	var out []Event
	// Merge sorts; Carry keeps payload order, which is sorted too.
	out = append(out, h.Events()...)
	return out
}
