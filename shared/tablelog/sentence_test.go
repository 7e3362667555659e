package tablelog_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/elmcity/elmcity/shared/tablelog"
)

func TestTemplate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		pattern string
		attrs   map[string]string
		want    string
	}{
		{name: "Plain", pattern: "feed merged", want: "feed merged"},
		{name: "Keys", pattern: "feed {source} failed ({error_class})", attrs: map[string]string{"source": "Library", "error_class": "http_4xx"},
			want: "feed Library failed (http_4xx)"},
		{name: "GroupKey", pattern: "took {req.ms} ms", attrs: map[string]string{"req.ms": "15"}, want: "took 15 ms"},
		{name: "MissingKeyShows", pattern: "member hub {member}: {error}", attrs: map[string]string{"member": "x"}, want: "member hub x: {error}"},
		{name: "Braces", pattern: "{{literal}} {k}}}", attrs: map[string]string{"k": "v"}, want: "{literal} v}"},
		{name: "ValueNotExpandedAgain", pattern: "{a}", attrs: map[string]string{"a": "{b}", "b": "no"}, want: "{b}"},
		{name: "AtEdges", pattern: "{a}{b}", attrs: map[string]string{"a": "1", "b": "2"}, want: "12"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := tablelog.Template(tt.pattern)(tt.attrs); got != tt.want {
				t.Errorf("Template(%q)(%v) = %q, want %q", tt.pattern, tt.attrs, got, tt.want)
			}
		})
	}
}

func TestTemplateMalformedPanics(t *testing.T) {
	t.Parallel()
	for _, pattern := range []string{"{unclosed", "{}", "lone }", "{a {b}", "{with space}"} {
		t.Run(pattern, func(t *testing.T) {
			t.Parallel()
			defer func() {
				if recover() == nil {
					t.Errorf("Template(%q) did not panic", pattern)
				}
			}()
			tablelog.Template(pattern)
		})
	}
}

func TestWithSentencesDuplicatePanics(t *testing.T) {
	t.Parallel()
	defer func() {
		if recover() == nil {
			t.Error("WithSentences() with one message in two sets did not panic")
		}
	}()
	same := tablelog.Template("x")
	tablelog.WithSentences(slog.DiscardHandler, tablelog.Sentences{"a": same}, tablelog.Sentences{"a": same})
}

// TestWithSentences checks that the table entry of a record whose message
// has a sentence reads as the sentence, keeps the message under
// tablelog.KeyMsg, and that the stdout log beside it sees the constant
// message and its attributes and nothing of the sentence.
func TestWithSentences(t *testing.T) {
	t.Parallel()
	b := setup(t, tablelog.Config{Role: "workerrole", Instance: "w1", FlushInterval: time.Hour})
	out := &syncBuffer{}
	sentences := tablelog.Sentences{
		"feed failed": func(a map[string]string) string {
			if a["carried"] == "0" {
				return fmt.Sprintf("feed %s failed (%s); it has no earlier events to serve", a["source"], a["error_class"])
			}
			return fmt.Sprintf("feed %s failed (%s); serving its last %s good events", a["source"], a["error_class"], a["carried"])
		},
		"job failed":    tablelog.Template("job failed: {error}"),
		"grouped":       tablelog.Template("{job.id} by {job.user.name}"),
		"secret":        tablelog.Template("token {token}, feed {feed_url}"),
		"panics":        func(map[string]string) string { panic("bug") },
		"empty":         func(map[string]string) string { return "" },
		"long sentence": func(map[string]string) string { return strings.Repeat("x", tablelog.MaxMessageBytes+10) },
	}
	log := slog.New(tablelog.WithSentences(slog.NewMultiHandler(
		slog.NewJSONHandler(out, nil),
		b.log.Handler(tablelog.HandlerOptions{}),
	), sentences))

	entry := func(hub, typ, msg, detail string, attrs map[string]string) tablelog.Entry {
		return tablelog.Entry{Hub: hub, Type: typ, Message: msg, Detail: detail, Role: "workerrole", Instance: "w1", Attrs: attrs}
	}
	tests := []struct {
		name string
		log  func(l *slog.Logger)
		hub  string
		want []tablelog.Entry
		// stdout is the record the JSON handler wrote, less time and level.
		stdout map[string]any
	}{
		{
			name: "Rendered",
			log: func(l *slog.Logger) {
				l.With("hub", "s01").Warn("feed failed", "source", "Museum", "error_class", "http_4xx", "carried", 0, "detail", "HTTP 403")
			},
			hub: "s01",
			want: []tablelog.Entry{entry("s01", "warning", "feed Museum failed (http_4xx); it has no earlier events to serve", "HTTP 403",
				map[string]string{"msg": "feed failed", "source": "Museum", "error_class": "http_4xx", "carried": "0"})},
			stdout: map[string]any{"msg": "feed failed", "hub": "s01", "source": "Museum", "error_class": "http_4xx", "carried": 0.0, "detail": "HTTP 403"},
		},
		{
			name: "AttrsFromWith",
			log: func(l *slog.Logger) {
				l.With("hub", "s02", "source", "Library", "error_class", "dns").Warn("feed failed", "carried", 12)
			},
			hub: "s02",
			want: []tablelog.Entry{entry("s02", "warning", "feed Library failed (dns); serving its last 12 good events", "",
				map[string]string{"msg": "feed failed", "source": "Library", "error_class": "dns", "carried": "12"})},
		},
		{
			name: "Groups",
			log: func(l *slog.Logger) {
				l.With("hub", "s03").WithGroup("job").Info("grouped", "id", "j1", slog.Group("user", "name", "ann"))
			},
			hub: "s03",
			want: []tablelog.Entry{entry("s03", "info", "j1 by ann", "",
				map[string]string{"msg": "grouped", "job.id": "j1", "job.user.name": "ann"})},
			stdout: map[string]any{"msg": "grouped", "hub": "s03", "job": map[string]any{"id": "j1", "user": map[string]any{"name": "ann"}}},
		},
		{
			name: "SecretsRedactedInSentence",
			log: func(l *slog.Logger) {
				l.Info("secret", "hub", "s04", "token", "t0ps3cret", "feed_url", "http://x.example/")
			},
			hub: "s04",
			want: []tablelog.Entry{entry("s04", "info", "token REDACTED, feed http://x.example/", "",
				map[string]string{"msg": "secret", "token": "REDACTED", "feed_url": "http://x.example/"})},
		},
		{
			name: "OtherMessagesUntouched",
			log:  func(l *slog.Logger) { l.Info("job started", "hub", "s05", "attempt", 1) },
			hub:  "s05",
			want: []tablelog.Entry{entry("s05", "info", "job started", "", map[string]string{"attempt": "1"})},
		},
		{
			name: "PanicKeepsMessage",
			log:  func(l *slog.Logger) { l.Error("panics", "hub", "s06", "n", 1) },
			hub:  "s06",
			want: []tablelog.Entry{entry("s06", "exception", "panics", "", map[string]string{"msg": "panics", "n": "1"})},
		},
		{
			name: "EmptyKeepsMessage",
			log:  func(l *slog.Logger) { l.Info("empty", "hub", "s07") },
			hub:  "s07",
			want: []tablelog.Entry{entry("s07", "info", "empty", "", map[string]string{"msg": "empty"})},
		},
		{
			name: "ErrorValue",
			log: func(l *slog.Logger) {
				l.Error("job failed", "hub", "s08", "error", fmt.Errorf("publish s08: %w", errBoom))
			},
			hub: "s08",
			want: []tablelog.Entry{entry("s08", "exception", "job failed: publish s08: boom", "",
				map[string]string{"msg": "job failed", "error": "publish s08: boom"})},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.log(log)
			flush(t, b.log)
			got := read(t, b.log, tablelog.Query{Hub: tt.hub}).Entries
			for i := range got {
				got[i].Time = time.Time{}
			}
			if d := diffEntries(tt.want, got); d != "" {
				t.Errorf("entries mismatch (-want +got):\n%s", d)
			}
			if tt.stdout == nil {
				return
			}
			line := stdoutLine(t, out.String(), tt.hub)
			delete(line, "time")
			delete(line, "level")
			if d := cmp.Diff(tt.stdout, line); d != "" {
				t.Errorf("stdout record mismatch (-want +got):\n%s", d)
			}
		})
	}

	t.Run("LongSentenceTruncated", func(t *testing.T) {
		t.Parallel()
		log.Info("long sentence", "hub", "s09")
		flush(t, b.log)
		got := read(t, b.log, tablelog.Query{Hub: "s09"}).Entries
		if len(got) != 1 || len(got[0].Message) > tablelog.MaxMessageBytes || !strings.Contains(got[0].Message, "truncated") {
			t.Errorf("entries = %+v, want one message cut to %d bytes", got, tablelog.MaxMessageBytes)
		}
	})
}

var errBoom = errors.New("boom")

// stdoutLine returns the JSON record of out whose hub is hub.
func stdoutLine(t *testing.T, out, hub string) map[string]any {
	t.Helper()
	for l := range strings.Lines(out) {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("stdout line %q is not JSON: %v", l, err)
		}
		if m["hub"] == hub {
			return m
		}
	}
	t.Fatalf("no stdout record for hub %s in:\n%s", hub, out)
	return nil
}
