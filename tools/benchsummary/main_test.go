package main

import (
	"bytes"
	"strings"
	"testing"
)

func TestFormat(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		v    float64
		unit string
		want string
	}{
		{"Nanoseconds", 583.6e-9, "sec/op", "584 ns/op"},
		{"Microseconds", 4.177e-6, "sec/op", "4.18 µs/op"},
		{"Milliseconds", 0.0080800, "sec/op", "8.08 ms/op"},
		{"Seconds", 15.94, "sec/op", "15.9 s/op"},
		{"BytesPerSecond", 5.191e8, "B/s", "519 MB/s"},
		{"Thousands", 5017.4, "entities/s", "5,017 entities/s"},
		{"Millions", 1234567, "occ/s", "1,234,567 occ/s"},
		{"Small", 42.29, "jobs/s", "42.3 jobs/s"},
		{"Zero", 0, "jobs/s", "0 jobs/s"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := Format(tt.v, tt.unit); got != tt.want {
				t.Errorf("Format(%v, %q) = %q, want %q", tt.v, tt.unit, got, tt.want)
			}
		})
	}
}

func TestRatio(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		ours, base float64
		unit       string
		want       string
	}{
		{"RateBetter", 5100, 4200, "entities/s", "1.21x"},
		{"CostBetter", 1, 2, "sec/op", "2.00x"},
		{"CostWorse", 9.2e-3, 5.3e-3, "sec/op", "0.58x"},
		{"FarWorse", 210.9, 30690, "req/s", "0.007x"},
		{"ZeroBase", 1, 0, "req/s", "-"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := Ratio(tt.ours, tt.base, tt.unit); got != tt.want {
				t.Errorf("Ratio(%v, %v, %q) = %q, want %q", tt.ours, tt.base, tt.unit, got, tt.want)
			}
		})
	}
}

func TestRun(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	err := run(t.Context(), []string{"-dir", "testdata",
		"fetch|fetch gzip 4MB|Fetch/body=4MB/enc=gzip/impl=fetch|net/http|Fetch/body=4MB/enc=gzip/impl=nethttp|B/s",
		"script|Run compiled once|Run/Run/CompiledOnce|bare goja|Run/goja/FreshRuntimeRunProgram|req/s,sec/op",
		"script|Run no baseline|Run/Run/CompiledOnce|||sec/op",
		"outputs|json cached|Outputs/format=json/impl=cached|bare Gin|Outputs/format=json/impl=fixed|sec/op",
		"broken|anything|X|base|Y|sec/op",
	}, &out)
	if err != nil {
		t.Fatalf("run() = %v", err)
	}
	want := []string{
		"suite    ours               figure      baseline   figure      ratio",
		"fetch    fetch gzip 4MB     519 MB/s    net/http   945 MB/s    0.55x",
		"script   Run compiled once  4.18 µs/op  bare goja  4.04 µs/op  0.97x",
		"script   Run no baseline    4.18 µs/op",
		"outputs  json cached        not run     bare Gin",
		"broken   anything           failed      base",
	}
	got := strings.Split(strings.TrimRight(out.String(), "\n"), "\n")
	if len(got) != len(want) {
		t.Fatalf("run() printed\n%s\nwant\n%s", out.String(), strings.Join(want, "\n"))
	}
	for i := range want {
		if strings.TrimRight(got[i], " ") != want[i] {
			t.Errorf("line %d = %q, want %q", i, got[i], want[i])
		}
	}
}

func TestParseRowRejects(t *testing.T) {
	t.Parallel()
	for _, s := range []string{"a|b|c", "|l|B|x|y|sec/op", "s|l|B|x|y|"} {
		if _, err := ParseRow(s); err == nil {
			t.Errorf("ParseRow(%q) = nil error, want one", s)
		}
	}
}
