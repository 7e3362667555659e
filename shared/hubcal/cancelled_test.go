package hubcal_test

import (
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/elmcity/elmcity/shared/calendar"
	"github.com/elmcity/elmcity/shared/hubcal"
)

// cancelled is occ for a STATUS:CANCELLED event.
func cancelled(uid, title string, start time.Time, cats ...string) calendar.Occurrence {
	o := occ(uid, title, start, cats...)
	o.Status = calendar.StatusCancelled
	return o
}

// eventStatus is an event's title, status and sources' feeds (sorted: the
// primary is whichever copy has the smallest UID), as a test reads it.
type eventStatus struct {
	Title     string
	Cancelled bool
	Feeds     []string
}

func statuses(evs []hubcal.Event) []eventStatus {
	out := make([]eventStatus, len(evs))
	for i, e := range evs {
		out[i] = eventStatus{Title: e.Title, Cancelled: e.Cancelled}
		for _, s := range e.Sources {
			out[i].Feeds = append(out[i].Feeds, s.Feed)
		}
		slices.Sort(out[i].Feeds)
	}
	return out
}

// TestMergeKeepsCancelledCopiesApart: a cancelled copy of an event is
// published marked cancelled, folded with other feeds' cancelled copies
// but never with a copy that takes place.
func TestMergeKeepsCancelledCopiesApart(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 12, 5, 19, 0, 0, 0, time.UTC)
	tests := []struct {
		name       string
		feeds      []hubcal.Feed
		want       []eventStatus
		wantMerged int
	}{
		{
			name: "CancelledAndActive",
			feeds: []hubcal.Feed{
				{Feed: "lib", Occurrences: []calendar.Occurrence{cancelled("a@lib", "Jazz Night at the Colonial", at)}},
				{Feed: "col", Occurrences: []calendar.Occurrence{occ("x@col", "JAZZ NIGHT at the Colonial!", at)}},
			},
			want: []eventStatus{
				{Title: "JAZZ NIGHT at the Colonial!", Feeds: []string{"col"}},
				{Title: "Jazz Night at the Colonial", Cancelled: true, Feeds: []string{"lib"}},
			},
		},
		{
			name: "TwoCancelledFoldOneActiveApart",
			feeds: []hubcal.Feed{
				{Feed: "lib", Occurrences: []calendar.Occurrence{cancelled("a@lib", "Jazz Night at the Colonial", at)}},
				{Feed: "col", Occurrences: []calendar.Occurrence{occ("x@col", "Jazz Night at the Colonial", at)}},
				{Feed: "paper", Occurrences: []calendar.Occurrence{cancelled("p1", "Jazz Night at the Colonial", at)}},
			},
			want: []eventStatus{
				{Title: "Jazz Night at the Colonial", Feeds: []string{"col"}},
				{Title: "Jazz Night at the Colonial", Cancelled: true, Feeds: []string{"lib", "paper"}},
			},
			wantMerged: 1,
		},
		{
			name: "ActiveCopiesStillFold",
			feeds: []hubcal.Feed{
				{Feed: "lib", Occurrences: []calendar.Occurrence{occ("a@lib", "Story Time", at), cancelled("b@lib", "Knitting", at)}},
				{Feed: "col", Occurrences: []calendar.Occurrence{occ("x@col", "Story Time", at)}},
			},
			want: []eventStatus{
				{Title: "Knitting", Cancelled: true, Feeds: []string{"lib"}},
				{Title: "Story Time", Feeds: []string{"col", "lib"}},
			},
			wantMerged: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, st := hubcal.MergeEvents(tt.feeds, hubcal.Options{})
			// The order of two events of one start and title is their
			// UIDs': compare the cancelled one last.
			gs := statuses(got)
			if len(gs) == 2 && gs[0].Title == gs[1].Title && gs[0].Cancelled {
				gs[0], gs[1] = gs[1], gs[0]
			}
			if diff := cmp.Diff(tt.want, gs); diff != "" {
				t.Errorf("Merge() (-want +got):\n%s", diff)
			}
			if st.Merged != tt.wantMerged {
				t.Errorf("Stats.Merged = %d, want %d", st.Merged, tt.wantMerged)
			}
			cs := make([]*hubcal.Contribution, len(tt.feeds))
			for i, f := range tt.feeds {
				cs[i] = hubcal.NewContribution(f, hubcal.Options{})
			}
			hc, _ := hubcal.Merge(cs)
			if n := hc.Cancelled(); n != 1 {
				t.Errorf("Calendar.Cancelled() = %d of %d, want 1", n, hc.Len())
			}
		})
	}
}

// TestMergeRepeatThatTakesPlaceWins: of a feed's repeats of one (UID,
// RECURRENCE-ID), one that takes place is kept over a cancelled one,
// whichever comes first, as when cancelled copies were left out.
func TestMergeRepeatThatTakesPlaceWins(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 12, 5, 19, 0, 0, 0, time.UTC)
	tests := []struct {
		name          string
		occs          []calendar.Occurrence
		wantTitle     string
		wantCancelled bool
	}{
		{"CancelledFirst", []calendar.Occurrence{cancelled("a", "Old copy", at), occ("a", "New copy", at)}, "New copy", false},
		{"ActiveFirst", []calendar.Occurrence{occ("a", "New copy", at), cancelled("a", "Old copy", at)}, "New copy", false},
		{"BothCancelled", []calendar.Occurrence{cancelled("a", "First", at), cancelled("a", "Second", at)}, "First", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, st := hubcal.MergeEvents([]hubcal.Feed{{Feed: "f", Occurrences: tt.occs}}, hubcal.Options{})
			if len(got) != 1 || got[0].Title != tt.wantTitle || got[0].Cancelled != tt.wantCancelled {
				t.Fatalf("Merge() = %+v, want one event %q, cancelled %v", statuses(got), tt.wantTitle, tt.wantCancelled)
			}
			if st.In != 2 || st.SameFeedDups != 1 || st.Out != 1 {
				t.Errorf("Stats = %+v, want 2 in, 1 repeat, 1 out", st)
			}
		})
	}
}

// TestCancelledSurvivesPayloadAndCarry: the cancelled mark is written to
// the payload, read back, and kept when a feed's events are carried into
// the next run with the feed's records reapplied.
func TestCancelledSurvivesPayloadAndCarry(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 12, 5, 19, 0, 0, 0, time.UTC)
	feeds := []hubcal.Feed{
		{Feed: "lib", Source: "Library", Occurrences: []calendar.Occurrence{
			cancelled("a@lib", "Jazz Night", at, "Music"), occ("b@lib", "Story Time", at.Add(time.Hour)),
		}},
		{Feed: "paper", Source: "Sentinel", Occurrences: []calendar.Occurrence{cancelled("p1", "Jazz Night", at)}},
	}
	cs := []*hubcal.Contribution{hubcal.NewContribution(feeds[0], hubcal.Options{}), hubcal.NewContribution(feeds[1], hubcal.Options{})}
	if n := cs[0].Cancelled(); n != 1 || cs[0].Len() != 2 {
		t.Errorf("Contribution.Cancelled() = %d of %d, want 1 of 2", n, cs[0].Len())
	}
	hc, _ := hubcal.Merge(cs)
	want := []eventStatus{
		{Title: "Jazz Night", Cancelled: true, Feeds: []string{"lib", "paper"}},
		{Title: "Story Time", Feeds: []string{"lib"}},
	}
	if diff := cmp.Diff(want, statuses(hc.Events())); diff != "" {
		t.Fatalf("merged (-want +got):\n%s", diff)
	}
	payload, err := hc.Encode(map[string]int{"v": 2})
	if err != nil {
		t.Fatal(err)
	}
	var head json.RawMessage
	prev, err := hubcal.Read(payload, &head)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, statuses(prev.Events())); diff != "" {
		t.Errorf("read back (-want +got):\n%s", diff)
	}
	if n := prev.Cancelled(); n != 1 {
		t.Errorf("read back: Cancelled() = %d, want 1", n)
	}
	// Next run: the library is carried, with a new source name; the
	// paper no longer lists the event.
	k := prev.Carry("lib", at.Add(-time.Hour), at.Add(24*time.Hour))
	k.Reapply(hubcal.Feed{Feed: "lib", Source: "Public Library"}, hubcal.Options{})
	c := hubcal.NewContribution(hubcal.Feed{Feed: "lib"}, hubcal.Options{})
	c.AddCarried(k)
	if n := c.Cancelled(); n != 1 || c.Len() != 2 {
		t.Errorf("carried: Cancelled() = %d of %d, want 1 of 2", n, c.Len())
	}
	again, _ := hubcal.Merge([]*hubcal.Contribution{c})
	want = []eventStatus{
		{Title: "Jazz Night", Cancelled: true, Feeds: []string{"lib"}},
		{Title: "Story Time", Feeds: []string{"lib"}},
	}
	if diff := cmp.Diff(want, statuses(again.Events())); diff != "" {
		t.Errorf("carried (-want +got):\n%s", diff)
	}
	if got := again.Events()[0].Sources[0].Name; got != "Public Library" {
		t.Errorf("carried source = %q, want the feed's name reapplied", got)
	}
}

// TestPayloadCancelledField: a body line says "c":true when cancelled and
// nothing when not, so a payload written before there were cancelled
// events reads as none cancelled; a literal event keeps its own mark.
func TestPayloadCancelledField(t *testing.T) {
	t.Parallel()
	payload := `{"v":2}
{"format":"elmcity/2","bodies":2,"groups":0,"rows":2}
{"t":"Jazz Night","f":"lib","i":"a@lib","k":"s"}
{"t":"Story Time","f":"lib","i":"b@lib","k":"s","c":true}
0 1796511600 3600
1 3600 3600
`
	var head json.RawMessage
	got, err := hubcal.DecodePayload([]byte(payload), &head)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Cancelled || !got[1].Cancelled {
		t.Errorf("DecodePayload() = %+v, want the second event only cancelled", statuses(got))
	}
	at := time.Date(2026, 12, 5, 19, 0, 0, 0, time.UTC)
	lit := []hubcal.Event{
		{UID: "x@elmcity", Title: "Fair", Start: at, End: at.Add(time.Hour), Cancelled: true, Sources: []hubcal.Source{{Feed: "f", ID: "x@elmcity"}}},
		{UID: "y@elmcity", Title: "Market", Start: at, End: at.Add(time.Hour), Sources: []hubcal.Source{{Feed: "f", ID: "y@elmcity"}}},
	}
	b, err := hubcal.FromEvents(lit).Encode(map[string]int{})
	if err != nil {
		t.Fatal(err)
	}
	back, err := hubcal.DecodePayload(b, &head)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(lit, back); diff != "" {
		t.Errorf("literal events round trip (-want +got):\n%s", diff)
	}
	// The JSON form (the payload's first format, scripts) says
	// "cancelled" only when it is.
	js, _ := json.Marshal(lit)
	var raw []map[string]any
	_ = json.Unmarshal(js, &raw)
	if raw[0]["cancelled"] != true || raw[1]["cancelled"] != nil {
		t.Errorf("Event JSON = %s, want \"cancelled\":true on the first only", js)
	}
}
