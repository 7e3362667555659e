package tablelog_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/elmcity/elmcity/shared/tablelog"
)

// TestReadPaging reads past the service's 1,000-entity pages.
func TestReadPaging(t *testing.T) {
	t.Parallel()
	start := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	b := setup(t, tablelog.Config{Now: stepClock(start, time.Second)})
	const total = 2500
	msg := func(i int) string { return fmt.Sprintf("entry %04d", i) }
	typ := func(i int) string {
		if i%5 == 0 {
			return tablelog.TypeRequest
		}
		return tablelog.TypeInfo
	}
	entries := make([]tablelog.Entry, total)
	for i := range entries {
		entries[i] = tablelog.Entry{Hub: "paging", Type: typ(i), Message: msg(i)}
	}
	for chunk := range slices.Chunk(entries, 500) {
		write(t, b.log, chunk...)
	}
	// newest first: entry 2499 down to entry 0.
	wantAll := make([]string, 0, total)
	for i := total - 1; i >= 0; i-- {
		wantAll = append(wantAll, msg(i))
	}

	t.Run("LimitThenNext", func(t *testing.T) {
		t.Parallel()
		first := read(t, b.log, tablelog.Query{Hub: "paging", Limit: 2000})
		if got, want := messages(first.Entries), wantAll[:2000]; !slices.Equal(got, want) {
			t.Fatalf("first page: %d entries %q...; want %d entries %q...", len(got), head(got), len(want), head(want))
		}
		if first.Next == "" {
			t.Fatal("first page Next is empty, want a token")
		}
		second := read(t, b.log, tablelog.Query{Hub: "paging", Limit: 2000, After: first.Next})
		if got, want := messages(second.Entries), wantAll[2000:]; !slices.Equal(got, want) {
			t.Fatalf("second page: %d entries %q...; want %d entries %q...", len(got), head(got), len(want), head(want))
		}
		if second.Next != "" {
			t.Errorf("second page Next = %q, want empty", second.Next)
		}
		checkNewestFirst(t, append(first.Entries, second.Entries...))
	})
	t.Run("ServerFilterAcrossPages", func(t *testing.T) {
		t.Parallel()
		got := read(t, b.log, tablelog.Query{Hub: "paging", Types: []string{tablelog.TypeRequest}, Limit: tablelog.MaxLimit})
		var want []string
		for i := total - 1; i >= 0; i-- {
			if typ(i) == tablelog.TypeRequest {
				want = append(want, msg(i))
			}
		}
		if !slices.Equal(messages(got.Entries), want) {
			t.Errorf("Read(Types=request) = %d entries, want %d", len(got.Entries), len(want))
		}
	})
	t.Run("ClientFilterAcrossPages", func(t *testing.T) {
		t.Parallel()
		// "entry 00" matches entries 0..99 only: the oldest, at the end of
		// the third service page.
		got := read(t, b.log, tablelog.Query{Hub: "paging", Include: []string{"ENTRY 00"}, Limit: 30})
		if want := wantAll[total-100 : total-70]; !slices.Equal(messages(got.Entries), want) {
			t.Errorf("Read(Include) = %q..., want %q...", head(messages(got.Entries)), head(want))
		}
		rest := read(t, b.log, tablelog.Query{Hub: "paging", Include: []string{"entry 00"}, Limit: 1000, After: got.Next})
		if want := wantAll[total-70:]; !slices.Equal(messages(rest.Entries), want) {
			t.Errorf("Read(Include, After) = %d entries, want %d", len(rest.Entries), len(want))
		}
	})
}

func head(s []string) []string { return s[:min(3, len(s))] }

func TestReadFilters(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2025, 2, 1, 9, 0, 0, 0, time.UTC)
	at := func(i int) time.Time { return t0.Add(time.Duration(i) * time.Minute) }
	b := setup(t, tablelog.Config{})
	seed := []struct{ typ, msg, detail string }{
		{"info", "m00 feed fetched", ""},
		{"warning", "m01 feed slow", "url https://a.example/cal.ics"},
		{"exception", "m02 feed failed", "stack: parse error at line 3"},
		{"request", "m03 GET /hub/ics", ""},
		{"info", "m04 Feed merged", "12 events"},
		{"warning", "m05 script slow", "url https://b.example/cal.ics"},
		{"exception", "m06 script failed", "stack: ReferenceError"},
		{"request", "m07 GET /hub/html", ""},
		{"info", "m08 feed fetched", "cached"},
		{"request", "m09 GET /hub/rss", "slow client"},
	}
	var entries []tablelog.Entry
	for i, s := range seed {
		entries = append(entries, tablelog.Entry{Hub: "filters", Type: s.typ, Message: s.msg, Detail: s.detail, Time: at(i)})
	}
	write(t, b.log, entries...)

	tests := []struct {
		name     string
		query    tablelog.Query
		want     []string // message prefixes, newest first
		wantNext bool
	}{
		{name: "All", want: []string{"m09", "m08", "m07", "m06", "m05", "m04", "m03", "m02", "m01", "m00"}},
		{name: "OneType", query: tablelog.Query{Types: []string{"exception"}}, want: []string{"m06", "m02"}},
		{name: "TwoTypes", query: tablelog.Query{Types: []string{"warning", "request"}}, want: []string{"m09", "m07", "m05", "m03", "m01"}},
		{name: "UnknownType", query: tablelog.Query{Types: []string{"nothing"}}, want: []string{}},
		{name: "SinceInclusive", query: tablelog.Query{Since: at(5)}, want: []string{"m09", "m08", "m07", "m06", "m05"}},
		{name: "UntilExclusive", query: tablelog.Query{Until: at(3)}, want: []string{"m02", "m01", "m00"}},
		{name: "SinceUntil", query: tablelog.Query{Since: at(2), Until: at(6)}, want: []string{"m05", "m04", "m03", "m02"}},
		{name: "SinceBetweenEntries", query: tablelog.Query{Since: at(7).Add(-time.Nanosecond), Until: at(8).Add(time.Nanosecond)}, want: []string{"m08", "m07"}},
		{name: "IncludeIgnoresCase", query: tablelog.Query{Include: []string{"FEED"}}, want: []string{"m08", "m04", "m02", "m01", "m00"}},
		{name: "IncludeDetail", query: tablelog.Query{Include: []string{"example"}}, want: []string{"m05", "m01"}},
		{name: "IncludeAnyTerm", query: tablelog.Query{Include: []string{"script", "cached"}}, want: []string{"m08", "m06", "m05"}},
		{name: "Exclude", query: tablelog.Query{Include: []string{"feed"}, Exclude: []string{"fetched"}}, want: []string{"m04", "m02", "m01"}},
		{name: "ExcludeAnyTerm", query: tablelog.Query{Exclude: []string{"slow", "failed"}}, want: []string{"m08", "m07", "m04", "m03", "m00"}},
		{name: "Limit", query: tablelog.Query{Limit: 3}, want: []string{"m09", "m08", "m07"}, wantNext: true},
		{name: "Combined", query: tablelog.Query{Types: []string{"info"}, Since: at(1), Include: []string{"feed"}, Limit: 1}, want: []string{"m08"}, wantNext: true},
		{name: "OtherHub", query: tablelog.Query{Hub: "nothere"}, want: []string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			q := tt.query
			if q.Hub == "" {
				q.Hub = "filters"
			}
			got := read(t, b.log, q)
			prefixes := []string{}
			for _, e := range got.Entries {
				prefixes = append(prefixes, e.Message[:3])
			}
			if d := cmp.Diff(tt.want, prefixes); d != "" {
				t.Errorf("Read() message prefixes mismatch (-want +got):\n%s", d)
			}
			if (got.Next != "") != tt.wantNext {
				t.Errorf("Read().Next = %q, want token: %v", got.Next, tt.wantNext)
			}
		})
	}

	t.Run("PageToken", func(t *testing.T) {
		t.Parallel()
		q := tablelog.Query{Hub: "filters", Types: []string{"info", "request"}, Limit: 2}
		var got []string
		for range 10 {
			page := read(t, b.log, q)
			got = append(got, messages(page.Entries)...)
			if page.Next == "" {
				break
			}
			q.After = page.Next
		}
		want := []string{"m09 GET /hub/rss", "m08 feed fetched", "m07 GET /hub/html", "m04 Feed merged", "m03 GET /hub/ics", "m00 feed fetched"}
		if d := cmp.Diff(want, got); d != "" {
			t.Errorf("pages mismatch (-want +got):\n%s", d)
		}
	})
}

func TestReadInvalid(t *testing.T) {
	t.Parallel()
	b := setup(t, tablelog.Config{})
	write(t, b.log, tablelog.Entry{Hub: "y", Message: "must not leak"})
	t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name  string
		query tablelog.Query
	}{
		{name: "HubInjection", query: tablelog.Query{Hub: "x' or PartitionKey ne 'y"}},
		{name: "HubInjectionParen", query: tablelog.Query{Hub: "x') or (true"}},
		{name: "HubTooLong", query: tablelog.Query{Hub: strings.Repeat("h", 65)}},
		{name: "HubSpace", query: tablelog.Query{Hub: "a b"}},
		{name: "TypeInjection", query: tablelog.Query{Hub: "y", Types: []string{"info' or Type ne 'x"}}},
		{name: "TypeEmpty", query: tablelog.Query{Hub: "y", Types: []string{""}}},
		{name: "TooManyTypes", query: tablelog.Query{Hub: "y", Types: slices.Repeat([]string{"info"}, tablelog.MaxTypes+1)}},
		{name: "TokenInjection", query: tablelog.Query{Hub: "y", After: "0' or RowKey ne '"}},
		{name: "TokenShape", query: tablelog.Query{Hub: "y", After: "abc"}},
		{name: "TokenUppercaseHex", query: tablelog.Query{Hub: "y", After: "9223370283920775807-ABCDEF012345-ffffffffffffffff"}},
		{name: "NegativeLimit", query: tablelog.Query{Hub: "y", Limit: -1}},
		{name: "LimitTooLarge", query: tablelog.Query{Hub: "y", Limit: tablelog.MaxLimit + 1}},
		{name: "UntilBeforeSince", query: tablelog.Query{Hub: "y", Since: t0, Until: t0.Add(-time.Second)}},
		{name: "UntilEqualsSince", query: tablelog.Query{Hub: "y", Since: t0, Until: t0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			page, err := b.log.Read(context.Background(), tt.query)
			if !errors.Is(err, tablelog.ErrInvalid) {
				t.Fatalf("Read() error = %v, want ErrInvalid", err)
			}
			if len(page.Entries) != 0 {
				t.Errorf("Read() returned %d entries with an error", len(page.Entries))
			}
		})
	}
}

func TestPurge(t *testing.T) {
	t.Parallel()
	b := setup(t, tablelog.Config{})
	cutoff := time.Date(2025, 4, 1, 0, 0, 0, 0, time.UTC)
	var entries []tablelog.Entry
	const old, recent = 1230, 20 // more than one 1,000-entity service page to delete
	for i := range old {
		entries = append(entries, tablelog.Entry{Hub: "purged", Message: fmt.Sprintf("old %d", i), Time: cutoff.Add(-time.Duration(i+1) * time.Second)})
	}
	for i := range recent { // the first one is exactly at the cutoff, and kept
		entries = append(entries, tablelog.Entry{Hub: "purged", Message: fmt.Sprintf("recent %d", i), Time: cutoff.Add(time.Duration(i) * time.Second)})
	}
	for i := range 10 {
		entries = append(entries, tablelog.Entry{Hub: "kept", Message: fmt.Sprintf("other hub %d", i), Time: cutoff.Add(-time.Hour)})
	}
	write(t, b.log, entries...)

	n, err := b.log.Purge(context.Background(), "purged", cutoff)
	if err != nil {
		t.Fatalf("Purge() error = %v", err)
	}
	if n != old {
		t.Errorf("Purge() = %d, want %d", n, old)
	}
	got := read(t, b.log, tablelog.Query{Hub: "purged", Limit: tablelog.MaxLimit}).Entries
	if len(got) != recent {
		t.Errorf("after Purge, Read() = %d entries, want %d", len(got), recent)
	}
	for _, e := range got {
		if e.Time.Before(cutoff) {
			t.Errorf("entry %q at %v survived Purge(%v)", e.Message, e.Time, cutoff)
		}
	}
	if got := read(t, b.log, tablelog.Query{Hub: "kept", Limit: tablelog.MaxLimit}).Entries; len(got) != 10 {
		t.Errorf("other hub has %d entries after Purge, want 10", len(got))
	}
	if n, err := b.log.Purge(context.Background(), "purged", cutoff); err != nil || n != 0 {
		t.Errorf("second Purge() = %d, %v; want 0, nil", n, err)
	}

	t.Run("Invalid", func(t *testing.T) {
		t.Parallel()
		if _, err := b.log.Purge(context.Background(), "x' or PartitionKey ne 'y", cutoff); !errors.Is(err, tablelog.ErrInvalid) {
			t.Errorf("Purge(bad hub) error = %v, want ErrInvalid", err)
		}
		if _, err := b.log.Purge(context.Background(), "kept", time.Time{}); !errors.Is(err, tablelog.ErrInvalid) {
			t.Errorf("Purge(zero time) error = %v, want ErrInvalid", err)
		}
	})
}
