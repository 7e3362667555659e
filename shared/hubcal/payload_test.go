package hubcal_test

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/elmcity/elmcity/shared/hubcal"
)

func TestPayloadRoundTrip(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 12, 5, 19, 0, 0, 0, time.UTC)
	events := []hubcal.Event{
		{UID: "a@elmcity", Title: "Jazz <Night> & more", Start: at, End: at.Add(time.Hour), Tags: []string{"music"},
			Sources: []hubcal.Source{{Feed: "f", Name: "Library", UID: "a", ID: "a@elmcity"}}},
		{UID: "b@elmcity", Title: "Fair", Start: at, End: at.Add(24 * time.Hour), AllDay: true,
			Sources: []hubcal.Source{{Feed: "g", Name: "Town", UID: "b", ID: "b@elmcity"}}},
		// Folded from two feeds: both copies keep their UIDs, and the
		// note how the second matched.
		{UID: "c@elmcity", Title: "Story Time", Start: at, End: at.Add(time.Hour), Location: "Library", Tags: []string{"kids"},
			Sources: []hubcal.Source{{Feed: "f", Name: "Library", UID: "c", ID: "c@elmcity"}, {Feed: "g", Name: "Town", UID: "c2", ID: "d@elmcity"}},
			Merged:  []hubcal.MergeNote{{Feed: "g", UID: "c2", Reason: `same start 2026-12-05T19:00:00Z and similar title ("Story Time" ~ "Story Time!")`}}},
	}
	b, err := hubcal.FromEvents(events).Encode(map[string]int{"events": 3})
	if err != nil {
		t.Fatal(err)
	}
	var head json.RawMessage
	got, err := hubcal.DecodePayload(b, &head)
	if err != nil {
		t.Fatalf("DecodePayload() = %v", err)
	}
	if string(head) != `{"events":3}` {
		t.Errorf("header = %s", head)
	}
	if diff := cmp.Diff(events, got); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}
	if _, err := hubcal.DecodePayload(nil, &head); err == nil {
		t.Error("DecodePayload(empty) = nil error")
	}
	if _, err := hubcal.DecodePayload([]byte("{}\nnot json\n"), &head); err == nil {
		t.Error("DecodePayload(garbage event) = nil error")
	}
}

// TestPayloadReadsLiteralBodies checks that a compact payload written
// before bodies kept their UIDs, with whole events under "x" (a region's,
// or events carried from the first format), reads as it was published:
// each event with its UID, sources and merge notes, and a group that
// folded such an event with a body lists its primary copy.
func TestPayloadReadsLiteralBodies(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 12, 5, 19, 0, 0, 0, time.UTC)
	lit := hubcal.Event{UID: "m@elmcity", Title: "Story Time", Start: at, End: at.Add(time.Hour), Tags: []string{"kids"},
		Sources: []hubcal.Source{{Feed: "hub:a", Name: "A", UID: "s1", ID: "m@elmcity"}, {Feed: "hub:b", Name: "B", UID: "s2", ID: "n@elmcity"}},
		Merged:  []hubcal.MergeNote{{Feed: "hub:b", UID: "s2", Reason: `same start 2026-12-05T19:00:00Z and same title ("Story Time" ~ "Story Time")`}}}
	x, err := json.Marshal(map[string]any{"x": lit})
	if err != nil {
		t.Fatal(err)
	}
	payload := "{}\n" + `{"format":"elmcity/2","bodies":2,"groups":1,"rows":3}` + "\n" +
		string(x) + "\n" +
		`{"t":"Story Time","f":"hub:c","n":"C","i":"s3"}` + "\n" +
		`{"c":[0,1],"h":["same"]}` + "\n" +
		fmt.Sprintf("0 %d 3600\n1 0 3600\ng0 0 3600\n", at.Unix())
	var head json.RawMessage
	got, err := hubcal.DecodePayload([]byte(payload), &head)
	if err != nil {
		t.Fatalf("DecodePayload() = %v", err)
	}
	if len(got) != 3 {
		t.Fatalf("DecodePayload() = %d events, want 3", len(got))
	}
	if diff := cmp.Diff(lit, got[0]); diff != "" {
		t.Errorf("the literal event (-want +got):\n%s", diff)
	}
	if got[1].Title != "Story Time" || len(got[1].Sources) != 1 || got[1].Sources[0].Feed != "hub:c" {
		t.Errorf("the body = %+v", got[1])
	}
	if got[2].UID != "m@elmcity" || len(got[2].Sources) != 2 || got[2].Sources[1].Feed != "hub:c" {
		t.Errorf("the group = %+v, want the literal's primary and the body", got[2])
	}
}
