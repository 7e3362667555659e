package cli_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/elmcity/elmcity/shared/calendar"
	"github.com/elmcity/elmcity/shared/feedkind"
	feedfetch "github.com/elmcity/elmcity/shared/fetch"
	"github.com/elmcity/elmcity/shared/script"
	"github.com/elmcity/elmcity/workerrole/internal/cli"
)

// TestCheckKindsGolden checks each kind that is not iCalendar: the
// conversion's report (items, events, skipped and why) comes before the
// usual report, read from a file or fetched from 127.0.0.1.
func TestCheckKindsGolden(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.FileServer(http.Dir("testdata")))
	t.Cleanup(srv.Close)
	mapping, err := os.ReadFile(filepath.Join("testdata", "events.mapping.json"))
	if err != nil {
		t.Fatal(err)
	}
	window := []string{"--from", "2024-03-01T00:00:00Z", "--to", "2024-04-01T00:00:00Z", "--tz", "America/New_York"}
	tests := []struct {
		name   string
		args   []string
		source string
		golden string
		want   []string
	}{
		{name: "CSVMappingFile", args: []string{"-kind", "csv", "-mapping-file", filepath.Join("testdata", "events.mapping.json")},
			source: filepath.Join("testdata", "events.csv"), golden: "check_csv.golden.txt",
			want: []string{"4 item(s) found, 3 event(s) written, 1 skipped", "Verdict: usable"}},
		{name: "CSVMappingURL", args: []string{"-kind", "csv", "-mapping", string(mapping)},
			source: srv.URL + "/events.csv", want: []string{"4 item(s) found, 3 event(s) written, 1 skipped"}},
		{name: "JSONLD", args: []string{"--kind", "jsonld"}, source: srv.URL + "/page.html", golden: "check_jsonld.golden.txt",
			want: []string{"2 item(s) found, 2 event(s) written, 0 skipped", "Verdict: OK"}},
		{name: "JSONPath", args: []string{"-kind", "json", "-mapping", `{"path":"data.events","title":"name","start_date":"when","duration":"length","location":"place.name","uid":"id"}`},
			source: filepath.Join("testdata", "api.json"), want: []string{"2 item(s) found, 1 event(s) written, 1 skipped"}},
		{name: "RSS", args: []string{"-kind", "rss"}, source: filepath.Join("testdata", "feed.rss"), golden: "check_rss.golden.txt",
			want: []string{"2 item(s) found, 1 event(s) written, 1 skipped"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			args := append(append(append([]string{}, window...), tt.args...), tt.source)
			stdout, stderr, err := run(t, cli.Check, nil, args...)
			if err != nil {
				t.Fatalf("Check(%q) = %v\n%s%s", args, err, stdout, stderr)
			}
			if !strings.HasPrefix(stdout, "Conversion of ") {
				t.Errorf("Check() printed\n%s\nwant the conversion's report first", stdout)
			}
			for _, w := range tt.want {
				if !strings.Contains(stdout, w) {
					t.Errorf("Check() printed\n%s\nwant %q", stdout, w)
				}
			}
			if tt.golden != "" {
				golden(t, tt.golden, strings.ReplaceAll(strings.ReplaceAll(stdout, srv.URL, "SERVER"), tt.source, "FEED"))
			}
		})
	}
}

func TestCheckKindErrors(t *testing.T) {
	t.Parallel()
	csv := filepath.Join("testdata", "events.csv")
	tests := []struct {
		name string
		args []string
		want error
	}{
		{name: "UnknownKind", args: []string{"-kind", "xls", csv}, want: cli.ErrUsage},
		{name: "ScriptWithoutAdapter", args: []string{"-kind", "script", "https://venue.example.org/api"}, want: cli.ErrUsage},
		{name: "ScriptFromFile", args: []string{"-kind", "script", "-adapter", "venue", csv}, want: cli.ErrUsage},
		{name: "ScriptBadAdapterName", args: []string{"-kind", "script", "-adapter", "../x", "https://venue.example.org/api"}, want: cli.ErrUsage},
		{name: "ScriptWithMapping", args: []string{"-kind", "script", "-adapter", "venue", "-mapping", `{"title":"1"}`, "https://venue.example.org/api"}, want: cli.ErrUsage},
		{name: "AdapterWithoutScript", args: []string{"-kind", "csv", "-adapter", "venue", "-mapping", `{"title":"1","start_date":"2"}`, csv}, want: cli.ErrUsage},
		{name: "HostsWithoutScript", args: []string{"-hosts", "api.example.org", csv}, want: cli.ErrUsage},
		{name: "CSVWithoutMapping", args: []string{"-kind", "csv", csv}, want: cli.ErrUsage},
		{name: "MappingNotJSON", args: []string{"-kind", "csv", "-mapping", "title=Event", csv}, want: cli.ErrUsage},
		{name: "MappingUnknownField", args: []string{"-kind", "csv", "-mapping", `{"title":"1","start_date":"2","colour":"red"}`, csv}, want: cli.ErrUsage},
		{name: "MappingWithoutKind", args: []string{"-mapping", `{"tz":"Europe/Paris"}`, csv}, want: cli.ErrUsage},
		{name: "BothMappings", args: []string{"-kind", "csv", "-mapping", `{}`, "-mapping-file", "x.json", csv}, want: cli.ErrUsage},
		{name: "MissingMappingFile", args: []string{"-kind", "csv", "-mapping-file", filepath.Join("testdata", "none.json"), csv}, want: cli.ErrUsage},
		{name: "NotOfItsKind", args: []string{"-kind", "rss", csv}, want: calendar.ErrInvalidFeed},
		{name: "NotOfItsKindSaysWhy", args: []string{"-kind", "json", "-mapping", `{"title":"1","start_date":"2"}`, csv}, want: feedkind.ErrInvalidInput},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			stdout, _, err := run(t, cli.Check, nil, tt.args...)
			if !errors.Is(err, tt.want) {
				t.Errorf("Check(%q) = %v, want %v", tt.args, err, tt.want)
			}
			if errors.Is(err, calendar.ErrInvalidFeed) && (!strings.Contains(stdout, "Conversion of") || !strings.Contains(stdout, "UNUSABLE: it is not a usable")) {
				t.Errorf("Check(%q) printed\n%s\nwant the conversion's failure", tt.args, stdout)
			}
		})
	}
}

// writeAdapters writes a scripts directory holding adapters/{name}.js
// for each of adapters, and returns it.
func writeAdapters(t *testing.T, adapters map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "adapters"), 0o750); err != nil {
		t.Fatal(err)
	}
	for name, src := range adapters {
		if err := os.WriteFile(filepath.Join(dir, "adapters", name+".js"), []byte(src), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// TestCheckScript runs adapters from a temporary scripts directory over
// a fake venue on 127.0.0.1: what the adapter returned is printed before
// the usual report, and an adapter that throws or fetches from a host
// that is not allowed is unusable, with the script's file and line.
func TestCheckScript(t *testing.T) {
	t.Parallel()
	venue := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.Path {
		case "/api/events":
			_, _ = w.Write([]byte(`{"next":"/api/page2","events":[{"id":1,"name":"Open mic","date":"2024-03-07"},{"id":2,"name":"No date"}]}`))
		case "/api/page2":
			_, _ = w.Write([]byte(`{"events":[{"id":3,"name":"Quiz","date":"2024-03-14"}]}`))
		case "/api/other":
			_, _ = w.Write([]byte(`{"elsewhere":"http://localhost:` + r.Host[strings.LastIndex(r.Host, ":")+1:] + `/api/page2"}`))
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(venue.Close)
	scripts := writeAdapters(t, map[string]string{
		"venue": `var first = JSON.parse(elmcity.source.body);
var second = JSON.parse(elmcity.fetch(argv[0].replace(/\/api.*$/, first.next)).body);
console.log("pages read");
result = first.events.concat(second.events).map(function (e) {
  return {uid: "v-" + e.id, title: e.name, start: e.date ? e.date + "T19:00" : undefined};
});
`,
		"throws": "var first = JSON.parse(elmcity.source.body);\nvar n = first.events.length;\nthrow new Error(\"the venue changed its API\");\n",
		"elsewhere": `var api = JSON.parse(elmcity.source.body).elsewhere;
result = JSON.parse(elmcity.fetch(api).body).events.map(function (e) { return {uid: "e-" + e.id, title: e.name, start: e.date + "T10:00"}; });
`,
	})
	window := []string{"--from", "2024-03-01T00:00:00Z", "--to", "2024-04-01T00:00:00Z", "--tz", "America/New_York", "--kind", "script", "--scripts", scripts}
	tests := []struct {
		name    string
		args    []string
		source  string
		want    error // nil, or what the error wraps
		printed []string
	}{
		{name: "Venue", args: []string{"--adapter", "venue"}, source: "/api/events",
			printed: []string{"Conversion of " + venue.URL + "/api/events by adapter venue", "3 item(s) found, 2 event(s) written, 1 skipped",
				"1 page(s) fetched by the adapter", "result[1]", "Events: 2 usable", "Verdict: usable"}},
		{name: "AllowedHost", args: []string{"--adapter", "elsewhere", "--hosts", "localhost"}, source: "/api/other",
			printed: []string{"1 item(s) found, 1 event(s) written, 0 skipped", "Verdict: OK"}},
		{name: "Throws", args: []string{"--adapter", "throws"}, source: "/api/events", want: calendar.ErrInvalidFeed,
			printed: []string{"FAILED: adapter throws failed", "adapters/throws.js:3", "the venue changed its API", "UNUSABLE"}},
		{name: "RefusedHost", args: []string{"--adapter", "elsewhere"}, source: "/api/other", want: calendar.ErrInvalidFeed,
			printed: []string{`host "localhost" is neither the feed's`, "UNUSABLE"}},
		{name: "UnknownAdapter", args: []string{"--adapter", "nosuch"}, source: "/api/events", want: script.ErrNotFound},
		{name: "Unfetchable", args: []string{"--adapter", "venue"}, source: "/gone", want: feedfetch.ErrStatus,
			printed: []string{"could not fetch it (http_4xx)"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			args := append(append(append([]string{}, window...), tt.args...), venue.URL+tt.source)
			stdout, stderr, err := run(t, cli.Check, nil, args...)
			if tt.want == nil && err != nil || tt.want != nil && !errors.Is(err, tt.want) {
				t.Fatalf("Check(%q) = %v, want %v\n%s%s", args, err, tt.want, stdout, stderr)
			}
			if len(tt.printed) > 0 && !strings.HasPrefix(stdout, "Conversion of ") && !errors.Is(tt.want, feedfetch.ErrStatus) {
				t.Errorf("Check() printed\n%s\nwant the adapter's report first", stdout)
			}
			for _, w := range tt.printed {
				if !strings.Contains(stdout, w) {
					t.Errorf("Check() printed\n%s\nwant %q", stdout, w)
				}
			}
			if tt.name == "Venue" && !strings.Contains(stderr, "pages read") {
				t.Errorf("stderr = %q, want what the adapter logged", stderr)
			}
		})
	}
}
