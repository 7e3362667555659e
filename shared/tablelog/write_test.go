package tablelog_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/elmcity/elmcity/shared/tablelog"
)

// TestWriteSameInstant writes from several goroutines of two Logs on one
// table, all with a clock stuck on one instant, through Write and Add.
func TestWriteSameInstant(t *testing.T) {
	t.Parallel()
	instant := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { return instant }
	b := setup(t, tablelog.Config{Now: clock, Role: "webrole", Instance: "web0", FlushInterval: time.Hour})
	second := openLog(t, b.acct, tablelog.Config{Table: b.table, Now: clock, Role: "workerrole", Instance: "worker0", FlushInterval: time.Hour})
	logs := []*tablelog.Log{b.log, second}

	const goroutines, perGoroutine = 4, 30
	var wg sync.WaitGroup
	for li, l := range logs {
		for g := range goroutines {
			wg.Go(func() {
				for i := range perGoroutine {
					e := tablelog.Entry{Hub: "samehub", Message: fmt.Sprintf("log%d g%d n%03d", li, g, i)}
					if g%2 == 0 {
						if err := l.Write(context.Background(), e); err != nil {
							t.Errorf("Write() error = %v", err)
						}
					} else if !l.Add(e) {
						t.Errorf("Add(%q) = false", e.Message)
					}
				}
			})
		}
	}
	wg.Wait()
	for _, l := range logs {
		flush(t, l)
	}

	got := read(t, b.log, tablelog.Query{Hub: "samehub", Limit: tablelog.MaxLimit}).Entries
	if want := len(logs) * goroutines * perGoroutine; len(got) != want {
		t.Fatalf("Read() returned %d entries, want %d", len(got), want)
	}
	checkNewestFirst(t, got) // strictly ascending IDs: no collision
	lastSeen := map[string]int{}
	for _, e := range got {
		if !e.Time.Equal(instant) {
			t.Errorf("entry %q Time = %v, want %v", e.Message, e.Time, instant)
		}
		var li, g, n int
		if _, err := fmt.Sscanf(e.Message, "log%d g%d n%d", &li, &g, &n); err != nil {
			t.Fatalf("unexpected message %q", e.Message)
		}
		wantRole := []string{"webrole", "workerrole"}[li]
		if e.Role != wantRole {
			t.Errorf("entry %q Role = %q, want %q", e.Message, e.Role, wantRole)
		}
		// Within one writer goroutine, later writes come first.
		w := fmt.Sprintf("log%d g%d", li, g)
		if prev, ok := lastSeen[w]; ok && n >= prev {
			t.Errorf("%s: n%03d listed after n%03d, want newest first", w, n, prev)
		}
		lastSeen[w] = n
	}
}

// TestWriteRoundTrip checks stamping, the stored fields and newest-first
// order for entries written out of time order.
func TestWriteRoundTrip(t *testing.T) {
	t.Parallel()
	now := time.Date(2025, 6, 1, 8, 0, 0, 0, time.UTC)
	b := setup(t, tablelog.Config{Role: "webrole", Instance: "web3", Now: func() time.Time { return now }})
	at := func(minutes int) time.Time { return now.Add(time.Duration(minutes) * time.Minute) }
	write(t, b.log,
		tablelog.Entry{Hub: "rt", Message: "second", Time: at(-2), Type: tablelog.TypeWarning, Detail: "GET /x"},
		tablelog.Entry{Hub: "rt", Message: "stamped now"},
		tablelog.Entry{Hub: "rt", Message: "first", Time: at(-3), Type: tablelog.TypeException, Role: "workerrole", Instance: "w9"},
		tablelog.Entry{Hub: "rt", Message: "third", Time: at(-1).Add(123456789), Type: tablelog.TypeRequest,
			Attrs: map[string]string{"status": "200", "path": "/rt/ics", "sas_token": "sv=2020&sig=abc"}},
		tablelog.Entry{Message: "system entry"},
	)
	want := []tablelog.Entry{
		{Hub: "rt", Type: "info", Message: "stamped now", Role: "webrole", Instance: "web3", Time: now},
		{Hub: "rt", Type: "request", Message: "third", Role: "webrole", Instance: "web3", Time: at(-1).Add(123456789),
			Attrs: map[string]string{"status": "200", "path": "/rt/ics", "sas_token": tablelog.Redacted}},
		{Hub: "rt", Type: "warning", Message: "second", Detail: "GET /x", Role: "webrole", Instance: "web3", Time: at(-2)},
		{Hub: "rt", Type: "exception", Message: "first", Role: "workerrole", Instance: "w9", Time: at(-3)},
	}
	got := read(t, b.log, tablelog.Query{Hub: "rt"})
	if d := diffEntries(want, got.Entries); d != "" {
		t.Errorf("Read() mismatch (-want +got):\n%s", d)
	}
	if got.Next != "" {
		t.Errorf("Read().Next = %q, want empty", got.Next)
	}
	sys := read(t, b.log, tablelog.Query{Hub: tablelog.System})
	wantSys := []tablelog.Entry{{Hub: tablelog.System, Type: "info", Message: "system entry", Role: "webrole", Instance: "web3", Time: now}}
	if d := diffEntries(wantSys, sys.Entries); d != "" {
		t.Errorf("Read(System) mismatch (-want +got):\n%s", d)
	}
	// "" reads the System partition too.
	if d := diffEntries(wantSys, read(t, b.log, tablelog.Query{}).Entries); d != "" {
		t.Errorf("Read(\"\") mismatch (-want +got):\n%s", d)
	}
}

func TestWriteInvalid(t *testing.T) {
	t.Parallel()
	b := setup(t, tablelog.Config{})
	tests := []struct {
		name  string
		entry tablelog.Entry
	}{
		{name: "HubInjection", entry: tablelog.Entry{Hub: "x' or PartitionKey ne 'y"}},
		{name: "HubTooLong", entry: tablelog.Entry{Hub: strings.Repeat("h", 65)}},
		{name: "HubNonASCII", entry: tablelog.Entry{Hub: "zürich"}},
		{name: "TypeInjection", entry: tablelog.Entry{Hub: "ok", Type: "info' or Type ne 'x"}},
		{name: "TypeSpace", entry: tablelog.Entry{Hub: "ok", Type: "bad type"}},
		{name: "TimeBefore1970", entry: tablelog.Entry{Hub: "ok", Time: time.Date(1969, 12, 31, 0, 0, 0, 0, time.UTC)}},
		{name: "TimeAfter2262", entry: tablelog.Entry{Hub: "ok", Time: time.Date(2263, 1, 1, 0, 0, 0, 0, time.UTC)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			hub := "inv" + tt.name
			// The valid neighbour is not written either: Write validates all
			// entries first.
			err := b.log.Write(context.Background(), tablelog.Entry{Hub: hub, Message: "valid"}, tt.entry)
			if !errors.Is(err, tablelog.ErrInvalid) {
				t.Fatalf("Write() error = %v, want ErrInvalid", err)
			}
			if got := read(t, b.log, tablelog.Query{Hub: hub}).Entries; len(got) != 0 {
				t.Errorf("Read() = %d entries, want 0", len(got))
			}
			before := b.log.Dropped()
			if b.log.Add(tt.entry) {
				t.Errorf("Add() = true, want false")
			}
			if got := b.log.Dropped(); got <= before {
				t.Errorf("Dropped() = %d, want > %d", got, before)
			}
		})
	}
}

// TestWriteTruncates writes 100 oversized entries in one call: the values
// are cut to the limits at rune boundaries and the call is split into
// transactions below the 4 MiB payload limit.
func TestWriteTruncates(t *testing.T) {
	t.Parallel()
	b := setup(t, tablelog.Config{})
	msg := strings.Repeat("é", 5000)       // 10,000 bytes of 2-byte runes
	detail := strings.Repeat("ab😀", 20000) // 120,000 bytes with 4-byte runes
	attrs := map[string]string{"password": "hunter2"}
	for i := range 40 {
		attrs[fmt.Sprintf("k%02d", i)] = strings.Repeat("v", 1000)
	}
	attrs["long"] = strings.Repeat("x", 10000)
	const n = 100
	entries := make([]tablelog.Entry, n)
	for i := range entries {
		entries[i] = tablelog.Entry{Hub: "big", Message: msg, Detail: detail, Attrs: attrs}
	}
	entries[0].Message = "bad\xffutf8 " + msg
	write(t, b.log, entries...)

	got := read(t, b.log, tablelog.Query{Hub: "big", Limit: 2 * n}).Entries
	if len(got) != n {
		t.Fatalf("Read() = %d entries, want %d", len(got), n)
	}
	for _, e := range got {
		checkTruncated(t, "Message", e.Message, tablelog.MaxMessageBytes, "éé")
		checkTruncated(t, "Detail", e.Detail, tablelog.MaxDetailBytes, "ab😀ab😀")
		if e.Attrs["password"] != tablelog.Redacted {
			t.Errorf("Attrs[password] = %q, want %q", e.Attrs["password"], tablelog.Redacted)
		}
		if e.Attrs["attrs_truncated"] == "" {
			t.Errorf("Attrs has no attrs_truncated marker: %d keys", len(e.Attrs))
		}
		if v := e.Attrs["long"]; v != "" && !strings.Contains(v, "truncated") {
			t.Errorf("Attrs[long] has %d bytes and no marker", len(v))
		}
	}
	first := got[n-1] // oldest
	if !strings.HasPrefix(first.Message, "bad\uFFFDutf8 ") {
		t.Errorf("invalid UTF-8 message stored as %q..., want replacement character", first.Message[:12])
	}
}

func checkTruncated(t *testing.T, field, s string, limit int, prefix string) {
	t.Helper()
	if len(s) > limit {
		t.Errorf("%s has %d bytes, want <= %d", field, len(s), limit)
	}
	if len(s) < limit-64 {
		t.Errorf("%s has %d bytes, want close to %d", field, len(s), limit)
	}
	if !utf8.ValidString(s) {
		t.Errorf("%s is not valid UTF-8", field)
	}
	if !strings.Contains(s, prefix) || !strings.HasSuffix(s, "bytes total]") {
		t.Errorf("%s = %q...%q, want content and a truncation marker", field, s[:16], s[len(s)-32:])
	}
}
