package script_test

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/elmcity/elmcity/shared/script"
	"github.com/google/go-cmp/cmp"
)

// update rewrites the golden files in testdata/.
var update = flag.Bool("update", false, "rewrite golden files")

// repoScripts is the repository's scripts folder, from this package.
const repoScripts = "../../scripts"

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t testing.TB, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read golden file (run go test -update to create it): %v", err)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("%s mismatch (-want +got):\n%s", name, diff)
	}
}

// logHost is a fake host with a mixed log for hub "elmcity", entries
// added oldest first, one a minute up to testNow.
func logHost() *fakeHost {
	h := newFakeHost()
	h.hubs["elmcity"] = map[string]any{"id": "elmcity"}
	add := func(minutesAgo int, typ, msg, detail string) {
		h.logs["elmcity"] = append(h.logs["elmcity"], script.LogEntry{
			ID: fmt.Sprint(len(h.logs["elmcity"])), Hub: "elmcity", Type: typ, Message: msg, Detail: detail,
			Role: "workerrole", Instance: "w0", Time: testNow.Add(-time.Duration(minutesAgo) * time.Minute),
		})
	}
	add(60, "info", "aggregation started", "")
	add(50, "exception", "fetch feed https://a.example/cal.ics: 500 Internal Server Error", "Traceback:\n  line one\n  line two")
	add(40, "info", "feed merged: https://a.example/cal.ics", "12 events")
	add(30, "warning", "feed slow", "")
	add(20, "info", "feed merged: https://b.example/cal.ics", "3 events\nwith two lines")
	add(10, "exception", "parse feed https://b.example/cal.ics: bad DTSTART", "")
	add(5, "info", "aggregation done", "")
	return h
}

func TestLogScripts(t *testing.T) {
	t.Parallel()
	b := setup(t, nil, script.Config{Source: repoScripts, Now: func() time.Time { return testNow }})
	host := logHost()
	paged := logHost()
	paged.pageSize = 2
	odd := newFakeHost()
	odd.logs["elmcity"] = []script.LogEntry{
		{Type: "info", Message: "has \x01 in it", Detail: "crlf\r\nlines", Role: "webrole", Time: testNow},
		{Type: "info", Message: "two\nlines", Instance: "i1", Time: testNow.Add(-time.Second)},
	}
	crlf := newFakeHost()
	crlf.logs["elmcity"] = []script.LogEntry{{Type: "info", Message: "m", Detail: "a\r\nb", Time: testNow}}
	careless := logHost()
	careless.careless = true
	careless.pageSize = 3
	tests := []struct {
		name   string
		script string
		host   *fakeHost
		params map[string]string
		golden string // golden file, or
		want   string // the exact output
	}{
		{name: "Info", script: "services/log_info", host: host, golden: "log_info.golden"},
		{name: "Exception", script: "services/log_exception", host: host, golden: "log_exception.golden"},
		{name: "Include", script: "services/log_info", host: host, params: map[string]string{"include": "merged"},
			want: "2024-05-01T11:40:00Z info workerrole/w0 feed merged: https://b.example/cal.ics\n    3 events\n    with two lines\n\n" +
				"2024-05-01T11:20:00Z info workerrole/w0 feed merged: https://a.example/cal.ics\n    12 events\n"},
		{name: "IncludeExclude", script: "services/log_info", host: host, params: map[string]string{"include": "merged, aggregation", "exclude": "b.example,started"},
			want: "2024-05-01T11:55:00Z info workerrole/w0 aggregation done\n\n" +
				"2024-05-01T11:20:00Z info workerrole/w0 feed merged: https://a.example/cal.ics\n    12 events\n"},
		{name: "Limit", script: "services/log_info", host: host, params: map[string]string{"limit": "1"},
			want: "2024-05-01T11:55:00Z info workerrole/w0 aggregation done\n"},
		{name: "SinceUntil", script: "services/log_info", host: host, params: map[string]string{"since": "45m", "until": "2024-05-01T11:50:00Z"},
			want: "2024-05-01T11:40:00Z info workerrole/w0 feed merged: https://b.example/cal.ics\n    3 events\n    with two lines\n\n" +
				"2024-05-01T11:20:00Z info workerrole/w0 feed merged: https://a.example/cal.ics\n    12 events\n"},
		{name: "Paged", script: "services/log_info", host: paged, golden: "log_info.golden"},
		{name: "HostOldestFirst", script: "services/log_info", host: careless, golden: "log_info.golden"},
		{name: "PagedLimit", script: "services/log_info", host: paged, params: map[string]string{"limit": "3"},
			want: "2024-05-01T11:55:00Z info workerrole/w0 aggregation done\n\n" +
				"2024-05-01T11:40:00Z info workerrole/w0 feed merged: https://b.example/cal.ics\n    3 events\n    with two lines\n\n" +
				"2024-05-01T11:20:00Z info workerrole/w0 feed merged: https://a.example/cal.ics\n    12 events\n"},
		{name: "SeparatorInText", script: "services/log_info", host: odd,
			want: "2024-05-01T12:00:00Z info webrole has \x01 in it\n    crlf\n    lines\n\n" +
				"2024-05-01T11:59:59Z info i1 two\n    lines\n"},
		{name: "CRLF", script: "services/log_info", host: crlf, want: "2024-05-01T12:00:00Z info - m\n    a\n    b\n"},
		{name: "Nothing", script: "services/log_info", host: host, params: map[string]string{"include": "no such thing"},
			want: "no info entries for elmcity\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := b.run(t, script.Request{Name: tt.script, Argv: []string{"elmcity", filepath.Base(tt.script)},
				Params: tt.params, Hub: "elmcity", Host: tt.host})
			if tt.golden != "" {
				golden(t, tt.golden, got)
				return
			}
			if got != tt.want {
				t.Errorf("Run() =\n%s\nwant\n%s", got, tt.want)
			}
		})
	}
}

func TestMaintenanceScripts(t *testing.T) {
	t.Parallel()
	b := setup(t, nil, script.Config{Source: repoScripts, Now: func() time.Time { return testNow }})

	t.Run("PurgeLogs", func(t *testing.T) {
		t.Parallel()
		h := logHost()
		h.hubs["quiet"] = map[string]any{}
		h.logs["elmcity"] = append(h.logs["elmcity"], script.LogEntry{Type: "info", Time: testNow.AddDate(0, 0, -40)})
		got := b.run(t, script.Request{Name: "maintenance/purge_logs", Argv: []string{"30"}, Host: h, Maintenance: true})
		if want := "purged 1 entries older than 30 days from 2 hubs and the system log"; got != want {
			t.Errorf("Run() = %q, want %q", got, want)
		}
		want := map[string]time.Time{"elmcity": testNow.AddDate(0, 0, -30), "quiet": testNow.AddDate(0, 0, -30), "~system": testNow.AddDate(0, 0, -30)}
		if diff := cmp.Diff(want, h.purged); diff != "" {
			t.Errorf("PurgeLog calls mismatch (-want +got):\n%s", diff)
		}
	})

	t.Run("EnqueueStale", func(t *testing.T) {
		t.Parallel()
		h := newFakeHost()
		h.hubs["fresh"] = map[string]any{"last_good_aggregation": testNow.Add(-30 * time.Minute), "aggregation_interval": time.Hour}
		h.hubs["stale"] = map[string]any{"last_good_aggregation": testNow.Add(-2 * time.Hour), "aggregation_interval": "1h"}
		h.hubs["never"] = map[string]any{"aggregation_interval": 3600}
		h.hubs["default"] = map[string]any{"last_good_aggregation": "2024-04-29T12:00:00Z"}
		got := b.run(t, script.Request{Name: "maintenance/enqueue_stale", Host: h, Maintenance: true})
		if want := "queued 3 of 4 hubs: default, never, stale"; got != want {
			t.Errorf("Run() = %q, want %q", got, want)
		}
		want := []string{
			"default: last good aggregation 2024-04-29T12:00:00Z is older than the interval of 86400s",
			"never: never aggregated",
			"stale: last good aggregation 2024-05-01T10:00:00.000Z is older than the interval of 3600s",
		}
		if diff := cmp.Diff(want, h.enqueued); diff != "" {
			t.Errorf("Enqueue calls mismatch (-want +got):\n%s", diff)
		}
	})

	t.Run("DailySummary", func(t *testing.T) {
		t.Parallel()
		h := logHost()
		h.pageSize = 3
		h.hubs["quiet"] = map[string]any{}
		h.logs["elmcity"] = append(h.logs["elmcity"],
			script.LogEntry{Type: "exception", Message: "parse feed https://b.example/cal.ics: bad DTSTART", Time: testNow.Add(-time.Hour)},
			script.LogEntry{Type: "info", Message: "too old", Time: testNow.Add(-25 * time.Hour)})
		got := b.run(t, script.Request{Name: "maintenance/daily_summary", Host: h, Maintenance: true})
		if want := "wrote daily summaries for 2 hubs"; got != want {
			t.Errorf("Run() = %q, want %q", got, want)
		}
		want := []script.LogEntry{
			{Hub: "elmcity", Type: "summary", Time: testNow, Message: "daily summary: 3 exception, 4 info, 1 warning",
				Detail: "2x exception: parse feed https://b.example/cal.ics: bad DTSTART\n" +
					"1x exception: fetch feed https://a.example/cal.ics: 500 Internal Server Error\n1x warning: feed slow"},
			{Hub: "quiet", Type: "summary", Time: testNow, Message: "daily summary: no entries"},
		}
		if diff := cmp.Diff(want, h.written); diff != "" {
			t.Errorf("WriteLog calls mismatch (-want +got):\n%s", diff)
		}
	})

	t.Run("QueryRunCannotPurge", func(t *testing.T) {
		t.Parallel()
		_, err := b.engine.Run(context.Background(), script.Request{Name: "maintenance/purge_logs", Hub: "elmcity", Host: logHost()})
		if err == nil || !strings.Contains(err.Error(), "elmcity.hubs is a maintenance function") {
			t.Errorf("Run() error = %v, want a capability error", err)
		}
	})
}
