package tablelog

// Tests of unexported helpers whose effect cannot be observed through the
// service: how transactions are cut, and the exact row-key layout.

import (
	"math"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

func TestSplitBatches(t *testing.T) {
	t.Parallel()
	recs := func(n, size int) []record {
		out := make([]record, n)
		for i := range out {
			out[i] = record{body: make([]byte, size)}
		}
		return out
	}
	tests := []struct {
		name string
		recs []record
		want []int // batch sizes
	}{
		{name: "Empty", recs: nil, want: nil},
		{name: "One", recs: recs(1, 100), want: []int{1}},
		{name: "ExactlyMaxCount", recs: recs(100, 100), want: []int{100}},
		{name: "ByCount", recs: recs(250, 100), want: []int{100, 100, 50}},
		// 48 KiB entities: 79 fit in 4,000,000 bytes with the overhead.
		{name: "ByPayload", recs: recs(200, 48<<10), want: []int{79, 79, 42}},
		{name: "OversizedEntityAlone", recs: recs(2, maxBatchBytes+1), want: []int{1, 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var got []int
			for _, b := range splitBatches(tt.recs, maxBatchEntities, maxBatchBytes) {
				got = append(got, len(b))
				size := 0
				for _, r := range b {
					size += len(r.body) + entityOverhead
				}
				if len(b) > 1 && size > maxBatchBytes {
					t.Errorf("batch of %d has %d bytes, want <= %d", len(b), size, maxBatchBytes)
				}
			}
			if !equalInts(got, tt.want) {
				t.Errorf("splitBatches() sizes = %v, want %v", got, tt.want)
			}
		})
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestRowKey(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2025, 1, 2, 3, 4, 5, 6, time.UTC)
	tests := []struct {
		name         string
		newer, older string
	}{
		{name: "LaterTimeFirst", newer: rowKey(t0.Add(time.Nanosecond), "aaaaaaaaaaaa", 1), older: rowKey(t0, "aaaaaaaaaaaa", 2)},
		{name: "SameInstantLaterSequenceFirst", newer: rowKey(t0, "aaaaaaaaaaaa", 2), older: rowKey(t0, "aaaaaaaaaaaa", 1)},
		{name: "TimeBeatsTag", newer: rowKey(t0.Add(time.Nanosecond), "ffffffffffff", 1), older: rowKey(t0, "000000000000", 1)},
		{name: "YearsApart", newer: rowKey(t0.AddDate(100, 0, 0), "aaaaaaaaaaaa", 1), older: rowKey(time.Unix(0, 0), "aaaaaaaaaaaa", 1)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if tt.newer >= tt.older {
				t.Errorf("newer %s does not sort before older %s", tt.newer, tt.older)
			}
			for _, k := range []string{tt.newer, tt.older} {
				if !validRowKey(k) {
					t.Errorf("validRowKey(%s) = false", k)
				}
			}
		})
	}
	k := rowKey(t0, "0123456789ab", 1)
	if want := "7487584991854775801-0123456789ab-fffffffffffffffe"; k != want {
		t.Errorf("rowKey() = %s, want %s", k, want)
	}
	if got, ok := timeFromRowKey(k); !ok || !got.Equal(t0) {
		t.Errorf("timeFromRowKey(%s) = %v, %v; want %v", k, got, ok, t0)
	}
	if got := timeKey(time.Unix(0, 0)); got != "9223372036854775807" {
		t.Errorf("timeKey(epoch) = %s", got)
	}
	if got := timeKey(time.Unix(0, math.MaxInt64)); got != "0000000000000000000" {
		t.Errorf("timeKey(max) = %s", got)
	}
}

func TestTruncate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   string
		max  int
	}{
		{name: "Short", in: "hello", max: 100},
		{name: "ASCII", in: strings.Repeat("a", 500), max: 100},
		{name: "TwoByteRunes", in: strings.Repeat("é", 500), max: 101},
		{name: "FourByteRunes", in: strings.Repeat("😀", 500), max: 103},
		{name: "InvalidUTF8", in: strings.Repeat("a\xff", 300), max: 100},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := truncate(tt.in, tt.max)
			if len(got) > tt.max {
				t.Errorf("truncate() has %d bytes, want <= %d", len(got), tt.max)
			}
			if !utf8.ValidString(got) {
				t.Errorf("truncate() = %q, not valid UTF-8", got)
			}
			if len(tt.in) <= tt.max && got != tt.in {
				t.Errorf("truncate(%q) = %q, want unchanged", tt.in, got)
			}
			if len(tt.in) > tt.max && !strings.HasSuffix(got, "bytes total]") {
				t.Errorf("truncate() = %q, want a marker", got)
			}
		})
	}
}
