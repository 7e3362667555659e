package calendar_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/elmcity/elmcity/shared/calendar"
)

// TestParseMostlyUTF8 parses feeds that are not valid UTF-8 straight
// from their bytes (as the corpus and the worker's check command do): a
// UTF-8 feed with a few broken bytes keeps its UTF-8 and only those
// bytes become U+FFFD; a Latin-1 line pasted into it keeps its accents;
// and a Latin-1 feed is Latin-1 throughout, even on a line that holds a
// valid UTF-8 sequence by accident.
func TestParseMostlyUTF8(t *testing.T) {
	t.Parallel()
	event := func(uid, summary string) string {
		return "BEGIN:VEVENT\r\nUID:" + uid + "\r\nDTSTART:20240410T170000Z\r\nSUMMARY:" + summary + "\r\nEND:VEVENT\r\n"
	}
	feed := func(events ...string) []byte {
		s := "BEGIN:VCALENDAR\r\nVERSION:2.0\r\n"
		for _, e := range events {
			s += e
		}
		return []byte(s + "END:VCALENDAR\r\n")
	}
	at := "2024-04-10T17:00:00Z"
	tests := []struct {
		name string
		data []byte
		want []calendar.Record
	}{
		{name: "UTF8WithBrokenBytes",
			data: feed(event("a", "2005年日本\xff博覧会"), event("b", "Grüße aus Köln"), event("c", "東京 \xe6\x97 fin")),
			want: []calendar.Record{
				r("a", "2005年日本\uFFFD博覧会", at, at), r("b", "Grüße aus Köln", at, at), r("c", "東京 \uFFFD\uFFFD fin", at, at),
			}},
		{name: "Latin1LineInUTF8",
			data: feed(event("a", "2005年日本"), event("b", "Caf\xe9 M\xfcller"), event("c", "Ünïcödé")),
			want: []calendar.Record{
				r("a", "2005年日本", at, at), with(r("b", "Café Müller", at, at), policy("charset")), r("c", "Ünïcödé", at, at),
			}},
		{name: "Latin1WithAnAccidentalSequence",
			data: feed(event("a", "\xc3\xa9t\xe9 \xe0 Montr\xe9al"), event("b", "Caf\xe9 cr\xe8me br\xfbl\xe9e")),
			want: []calendar.Record{
				with(r("a", "Ã©té à Montréal", at, at), policy("charset")), with(r("b", "Café crème brûlée", at, at), policy("charset")),
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t, calendar.Config{})
			if diff := cmp.Diff(tt.want, b.records(t, tt.data, "")); diff != "" {
				t.Errorf("Expand() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}
