package hubcal_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/elmcity/elmcity/shared/calendar"
	"github.com/elmcity/elmcity/shared/hubcal"
)

func occ(uid, title string, start time.Time, cats ...string) calendar.Occurrence {
	return calendar.Occurrence{
		Event:        &calendar.Event{UID: uid, Summary: title, Categories: cats},
		Start:        start,
		End:          start.Add(time.Hour),
		RecurrenceID: start,
	}
}

func TestMergeAcrossFeeds(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 12, 5, 19, 0, 0, 0, time.UTC)
	feeds := []hubcal.Feed{
		{Feed: "lib", Source: "Library", HomeURL: "https://lib.example/", Occurrences: []calendar.Occurrence{
			occ("a@lib", "Jazz Night at the Colonial", at, "Music"),
			occ("b@lib", "Story Time", at),
			occ("a@lib", "Jazz Night at the Colonial", at), // repeat within the feed
		}},
		{Feed: "col", Source: "Colonial Theatre", Occurrences: []calendar.Occurrence{
			occ("x@col", "JAZZ NIGHT at the Colonial!", at, "Jazz"),
			occ("y@col", "Story Time", at.Add(time.Hour)), // other start: not the same event
		}},
		{Feed: "paper", Source: "Sentinel", Occurrences: []calendar.Occurrence{
			occ("p1", "Jazz Night at the Colonial Theatre", at),
			occ("p2", "Hockey", at),
		}},
	}
	got, st := hubcal.MergeEvents(feeds, hubcal.Options{})
	if diff := cmp.Diff([]string{"Hockey", "Jazz Night at the Colonial", "Story Time", "Story Time"}, sortedTitles(got)); diff != "" {
		t.Fatalf("Merge() titles (-want +got):\n%s", diff)
	}
	if st.In != 7 || st.SameFeedDups != 1 || st.Merged != 2 || st.Out != 4 {
		t.Errorf("Stats = %+v", st)
	}
	var jazz hubcal.Event
	for _, e := range got {
		if strings.HasPrefix(e.Title, "Jazz") || strings.HasPrefix(e.Title, "JAZZ") {
			jazz = e
		}
	}
	if len(jazz.Sources) != 3 || len(jazz.Merged) != 2 {
		t.Fatalf("merged event = %+v, want 3 sources and 2 merge notes", jazz)
	}
	if diff := cmp.Diff([]string{"jazz", "music"}, jazz.Tags); diff != "" {
		t.Errorf("merged tags (-want +got):\n%s", diff)
	}
	for _, n := range jazz.Merged {
		if !strings.Contains(n.Reason, "same start") || n.UID == "" {
			t.Errorf("merge note %+v does not explain itself", n)
		}
	}
}

func sortedTitles(evs []hubcal.Event) []string {
	var out []string
	for _, e := range evs {
		t := e.Title
		if strings.HasPrefix(strings.ToLower(t), "jazz") {
			t = "Jazz Night at the Colonial"
		}
		out = append(out, t)
	}
	slices.Sort(out)
	return out
}

func TestMergeNeverFoldsOneFeedsOwnEvents(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 12, 5, 19, 0, 0, 0, time.UTC)
	got, _ := hubcal.MergeEvents([]hubcal.Feed{{Feed: "f", Occurrences: []calendar.Occurrence{
		occ("room1", "Open Studio", at), occ("room2", "Open Studio", at),
	}}}, hubcal.Options{})
	if len(got) != 2 {
		t.Errorf("Merge() = %d events, want 2: two UIDs in one feed are two events", len(got))
	}
}

func TestMergeTitleMatchIsConservative(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 12, 5, 19, 0, 0, 0, time.UTC)
	tests := []struct {
		name       string
		a, b       string
		wantMerged bool
	}{
		{name: "Same", a: "Board Meeting", b: "board meeting", wantMerged: true},
		{name: "Punctuation", a: "Board Meeting", b: "Board Meeting.", wantMerged: true},
		{name: "LongerPrefix", a: "City Council Meeting", b: "City Council Meeting (budget)", wantMerged: true},
		{name: "ShortPrefixIsNotEnough", a: "Yoga", b: "Yoga for Kids", wantMerged: false},
		{name: "Different", a: "Board Meeting", b: "Planning Meeting", wantMerged: false},
		{name: "Empty", a: "", b: "", wantMerged: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, _ := hubcal.MergeEvents([]hubcal.Feed{
				{Feed: "a", Occurrences: []calendar.Occurrence{occ("1", tt.a, at)}},
				{Feed: "b", Occurrences: []calendar.Occurrence{occ("2", tt.b, at)}},
			}, hubcal.Options{})
			if merged := len(got) == 1; merged != tt.wantMerged {
				t.Errorf("Merge(%q, %q) = %d events, wantMerged %v", tt.a, tt.b, len(got), tt.wantMerged)
			}
		})
	}
}

func TestMergeTags(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 12, 5, 19, 0, 0, 0, time.UTC)
	// "Meeting, John" is one value: its comma was escaped in the feed.
	o := occ("u", "Concert", at, " Konzert ", "Kids", "Family", "Meeting, John")
	o.Description = "Bring a chair.\ncategory=Outdoors, free\n"
	got, _ := hubcal.MergeEvents([]hubcal.Feed{{
		Feed: "f", Categories: []string{"Music"}, CatMap: map[string]string{"konzert": "music"}, Occurrences: []calendar.Occurrence{o},
	}}, hubcal.Options{Vocabulary: []string{"music", "family", "free", "outdoors"}})
	want := []string{"family", "free", "music", "outdoors", "{kids}", "{meeting, john}"}
	if diff := cmp.Diff(want, got[0].Tags); diff != "" {
		t.Errorf("tags (-want +got):\n%s", diff)
	}
}

func TestMergeUIDsAreStable(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 12, 5, 19, 0, 0, 0, time.UTC)
	single := occ("s@x", "Talk", at)
	moved := occ("s@x", "Talk", at.Add(24*time.Hour)) // the same single event, rescheduled
	first, _ := hubcal.MergeEvents([]hubcal.Feed{{Feed: "f", Occurrences: []calendar.Occurrence{single}}}, hubcal.Options{})
	again, _ := hubcal.MergeEvents([]hubcal.Feed{
		{Feed: "other", Occurrences: []calendar.Occurrence{occ("o", "Other", at)}},
		{Feed: "f", Occurrences: []calendar.Occurrence{moved}},
	}, hubcal.Options{})
	var uid string
	for _, e := range again {
		if e.Title == "Talk" {
			uid = e.UID
		}
	}
	if uid != first[0].UID {
		t.Errorf("UID changed across runs: %s then %s", first[0].UID, uid)
	}

	// Instances of a series get distinct UIDs, by recurrence id.
	series := &calendar.Event{UID: "r@x", Summary: "Weekly", Recurring: true}
	a := calendar.Occurrence{Event: series, Start: at, End: at, RecurrenceID: at}
	b := calendar.Occurrence{Event: series, Start: at.Add(7 * 24 * time.Hour), End: at, RecurrenceID: at.Add(7 * 24 * time.Hour)}
	got, _ := hubcal.MergeEvents([]hubcal.Feed{{Feed: "f", Occurrences: []calendar.Occurrence{a, b}}}, hubcal.Options{})
	if len(got) != 2 || got[0].UID == got[1].UID {
		t.Errorf("series instances = %+v, want two distinct UIDs", got)
	}
}

func TestCarryKeepsAFeedsCopiesWithTheirUIDs(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 12, 5, 19, 0, 0, 0, time.UTC)
	lib := hubcal.Feed{Feed: "lib", Source: "Library", Occurrences: []calendar.Occurrence{occ("a", "Jazz Night at the Colonial", at), occ("old", "Past", at.Add(-48*time.Hour))}}
	col := hubcal.Feed{Feed: "col", Source: "Colonial", Occurrences: []calendar.Occurrence{occ("x", "Jazz Night at the Colonial", at)}}
	first, _ := hubcal.Merge([]*hubcal.Contribution{hubcal.NewContribution(lib, hubcal.Options{}), hubcal.NewContribution(col, hubcal.Options{})})
	// Next run: the library feed is down, so its copies are carried; the
	// window has moved past the old event.
	carried := first.Carry("lib", at.Add(-24*time.Hour), at.Add(24*time.Hour))
	if carried.Len() != 1 {
		t.Fatalf("Carry() = %d events, want the library's copy of the jazz night only", carried.Len())
	}
	down := hubcal.NewContribution(hubcal.Feed{Feed: "lib", Source: "Library"}, hubcal.Options{})
	down.AddCarried(carried)
	again, _ := hubcal.Merge([]*hubcal.Contribution{down, hubcal.NewContribution(col, hubcal.Options{})})
	var jazz []hubcal.Event
	for _, e := range first.Events() {
		if e.Title != "Past" {
			jazz = append(jazz, e)
		}
	}
	if diff := cmp.Diff(jazz, again.Events()); diff != "" {
		t.Errorf("re-merge with a carried feed differs from the first run (-first +again):\n%s", diff)
	}
}

// TestCategoriesSplitOnlyAtUnescapedCommas: CATEGORIES is a TEXT list
// (RFC 5545 3.3.11, 3.8.1.2): it is split at unescaped commas only, and
// an escaped comma belongs to its category, from the parse to the tags.
func TestCategoriesSplitOnlyAtUnescapedCommas(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, prop string
		wantCats   []string
		wantTags   []string
	}{
		{name: "EscapedCommas", prop: `CATEGORIES:Meeting\, John,Work\, Sarah,Project`,
			wantCats: []string{"Meeting, John", "Work, Sarah", "Project"}, wantTags: []string{"meeting, john", "project", "work, sarah"}},
		{name: "PlainList", prop: "CATEGORIES:Music,Jazz , Kids",
			wantCats: []string{"Music", "Jazz", "Kids"}, wantTags: []string{"jazz", "kids", "music"}},
		{name: "OtherEscapes", prop: `CATEGORIES:Rock\;Roll,Back\\slash,`,
			wantCats: []string{"Rock;Roll", `Back\slash`}, wantTags: []string{`back\slash`, "rock;roll"}},
		{name: "EscapedBackslashThenComma", prop: "CATEGORIES:A\\\\,B\r\nCATEGORIES:C\\\\, D",
			wantCats: []string{`A\`, "B", `C\`, "D"}, wantTags: []string{`a\`, "b", `c\`, "d"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			data := "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:c1\r\nDTSTART:20261205T190000Z\r\nSUMMARY:Staff meeting\r\n" + tt.prop + "\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
			cal, err := calendar.NewParser(calendar.Config{}).Parse(context.Background(), []byte(data))
			if err != nil {
				t.Fatal(err)
			}
			if len(cal.Events) != 1 {
				t.Fatalf("Parse() = %d events, want 1", len(cal.Events))
			}
			if diff := cmp.Diff(tt.wantCats, cal.Events[0].Categories); diff != "" {
				t.Errorf("Categories (-want +got):\n%s", diff)
			}
			x, err := cal.Expand(context.Background(), calendar.ExpandOptions{
				From: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC), To: time.Date(2026, 12, 31, 0, 0, 0, 0, time.UTC)})
			if err != nil {
				t.Fatal(err)
			}
			got, _ := hubcal.MergeEvents([]hubcal.Feed{{Feed: "f", Occurrences: x.Occurrences}}, hubcal.Options{})
			if len(got) != 1 {
				t.Fatalf("Merge() = %d events, want 1", len(got))
			}
			if diff := cmp.Diff(tt.wantTags, got[0].Tags); diff != "" {
				t.Errorf("Tags (-want +got):\n%s", diff)
			}
		})
	}
}
