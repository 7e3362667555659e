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
		{name: "Script", args: []string{"-kind", "script", csv}, want: cli.ErrUsage},
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
