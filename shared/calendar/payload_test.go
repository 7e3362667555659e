package calendar_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/elmcity/elmcity/shared/calendar"
)

func TestPayloadRoundTrip(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 12, 5, 19, 0, 0, 0, time.UTC)
	events := []calendar.HubEvent{
		{UID: "a@elmcity", Title: "Jazz <Night> & more", Start: at, End: at.Add(time.Hour), Tags: []string{"music"},
			Sources: []calendar.EventSource{{Feed: "f", Name: "Library", UID: "a", ID: "a@elmcity"}}},
		{UID: "b@elmcity", Title: "Fair", Start: at, End: at.Add(24 * time.Hour), AllDay: true},
	}
	b, err := calendar.EncodePayload(map[string]int{"events": 2}, events)
	if err != nil {
		t.Fatal(err)
	}
	var head json.RawMessage
	got, err := calendar.DecodePayload(b, &head)
	if err != nil {
		t.Fatalf("DecodePayload() = %v", err)
	}
	if string(head) != `{"events":2}` {
		t.Errorf("header = %s", head)
	}
	if diff := cmp.Diff(events, got); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}
	if _, err := calendar.DecodePayload(nil, &head); err == nil {
		t.Error("DecodePayload(empty) = nil error")
	}
	if _, err := calendar.DecodePayload([]byte("{}\nnot json\n"), &head); err == nil {
		t.Error("DecodePayload(garbage event) = nil error")
	}
}
