package cli_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/elmcity/elmcity/shared/calendar"
	"github.com/elmcity/elmcity/workerrole/internal/cli"
)

// update rewrites the golden files: go test ./workerrole/internal/cli -update
var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// command is the signature of Expand and Check.
type command func(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error

// run runs a command and returns its stdout, stderr and error.
func run(t *testing.T, cmd command, stdin io.Reader, args ...string) (string, string, error) {
	t.Helper()
	if stdin == nil {
		stdin = strings.NewReader("")
	}
	var stdout, stderr bytes.Buffer
	err := cmd(context.Background(), args, stdin, &stdout, &stderr)
	return stdout.String(), stderr.String(), err
}

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatalf("WriteFile(%s) = %v", path, err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("ReadFile(%s) = %v (run with -update to create it)", path, err)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("output mismatch with %s (-want +got):\n%s", path, diff)
	}
}

// feedServer serves testdata/feed.ics at /feed.ics and 404 elsewhere.
func feedServer(t *testing.T) *httptest.Server {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "feed.ics"))
	if err != nil {
		t.Fatalf("ReadFile() = %v", err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/feed.ics" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/calendar")
		_, _ = w.Write(data)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestExpandGolden(t *testing.T) {
	t.Parallel()
	feed := filepath.Join("testdata", "feed.ics")
	tests := []struct {
		name   string
		args   []string
		golden string
	}{
		{name: "CorpusDefaults", args: []string{feed}, golden: "expand.golden.json"},
		{name: "WindowCapAndHubZone", args: []string{"--from", "2024-01-10T00:00:00Z", "--to", "2024-02-01T00:00:00Z", "--cap", "1", "--tz", "Europe/Paris", feed}, golden: "expand_window.golden.json"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			stdout, _, err := run(t, cli.Expand, nil, tt.args...)
			if err != nil {
				t.Fatalf("Expand(%q) = %v", tt.args, err)
			}
			golden(t, tt.golden, strings.ReplaceAll(stdout, feed, "FEED"))
			var out struct {
				Occurrences []calendar.Record `json:"occurrences"`
			}
			if err := json.Unmarshal([]byte(stdout), &out); err != nil {
				t.Errorf("Expand() printed invalid JSON: %v", err)
			}
		})
	}
}

func TestExpandSources(t *testing.T) {
	t.Parallel()
	srv := feedServer(t)
	data, err := os.ReadFile(filepath.Join("testdata", "feed.ics"))
	if err != nil {
		t.Fatalf("ReadFile() = %v", err)
	}
	tests := []struct {
		name    string
		stdin   io.Reader
		source  string
		wantErr bool
	}{
		{name: "File", source: filepath.Join("testdata", "feed.ics")},
		{name: "Stdin", stdin: bytes.NewReader(data), source: "-"},
		{name: "URL", source: srv.URL + "/feed.ics"},
		{name: "URLNotFound", source: srv.URL + "/missing.ics", wantErr: true},
		{name: "MissingFile", source: filepath.Join("testdata", "missing.ics"), wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			stdout, _, err := run(t, cli.Expand, tt.stdin, tt.source)
			if (err != nil) != tt.wantErr {
				t.Fatalf("Expand(%s) = %v, want error %v", tt.source, err, tt.wantErr)
			}
			if err == nil && strings.Count(stdout, `"uid":`) != 6 {
				t.Errorf("Expand(%s) printed %d occurrences, want 6:\n%s", tt.source, strings.Count(stdout, `"uid":`), stdout)
			}
		})
	}
}

func TestCommandErrors(t *testing.T) {
	t.Parallel()
	feed := filepath.Join("testdata", "feed.ics")
	tests := []struct {
		name  string
		cmd   command
		stdin string
		args  []string
		want  error
	}{
		{name: "ExpandNoSource", cmd: cli.Expand, want: cli.ErrUsage},
		{name: "ExpandTwoSources", cmd: cli.Expand, args: []string{feed, feed}, want: cli.ErrUsage},
		{name: "ExpandBadFrom", cmd: cli.Expand, args: []string{"--from", "yesterday", feed}, want: cli.ErrUsage},
		{name: "ExpandToBeforeFrom", cmd: cli.Expand, args: []string{"--from", "2024-02-01T00:00:00Z", "--to", "2024-01-01T00:00:00Z", feed}, want: cli.ErrUsage},
		{name: "ExpandBadZone", cmd: cli.Expand, args: []string{"--tz", "Mars/Olympus", feed}, want: cli.ErrUsage},
		{name: "ExpandBadCap", cmd: cli.Expand, args: []string{"--cap", "0", feed}, want: cli.ErrUsage},
		{name: "ExpandUnknownFlag", cmd: cli.Expand, args: []string{"--frobnicate", feed}, want: cli.ErrUsage},
		{name: "ExpandNotAFeed", cmd: cli.Expand, stdin: "<html>hello</html>", args: []string{"-"}, want: calendar.ErrInvalidFeed},
		{name: "CheckNotAFeed", cmd: cli.Check, stdin: "<html>hello</html>", args: []string{"-"}, want: calendar.ErrInvalidFeed},
		{name: "CheckNoUsableEvent", cmd: cli.Check, stdin: "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:x\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n", args: []string{"-"}, want: calendar.ErrInvalidFeed},
		{name: "CheckNoSource", cmd: cli.Check, want: cli.ErrUsage},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, _, err := run(t, tt.cmd, strings.NewReader(tt.stdin), tt.args...)
			if !errors.Is(err, tt.want) {
				t.Errorf("command(%q) = %v, want %v", tt.args, err, tt.want)
			}
		})
	}
}

func TestCheckGolden(t *testing.T) {
	t.Parallel()
	feed := filepath.Join("testdata", "feed.ics")
	stdout, _, err := run(t, cli.Check, nil, "--from", "2024-01-01T00:00:00Z", "--to", "2025-01-01T00:00:00Z", feed)
	if err != nil {
		t.Fatalf("Check() = %v", err)
	}
	golden(t, "check.golden.txt", strings.ReplaceAll(stdout, feed, "FEED"))
}

// TestCheckSaysAFetchErrorOnce checks that check reports a feed it cannot
// fetch with the URL and the cause once each (no "fetch feed: fetch
// feed ...: Get ...:" chain), and marks the error as reported so that the
// command does not print it again.
func TestCheckSaysAFetchErrorOnce(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + ln.Addr().String() + "/cal.ics"
	_ = ln.Close() // nothing listens there now: connection refused
	stdout, _, err := run(t, cli.Check, strings.NewReader(""), url)
	if !errors.Is(err, cli.ErrReported) {
		t.Errorf("Check() = %v, want it marked as reported", err)
	}
	if strings.Count(stdout, url) != 1 || strings.Contains(stdout, "fetch feed") || strings.Contains(stdout, "Get ") ||
		!strings.Contains(stdout, "could not fetch it (connect)") || strings.Count(stdout, "connection refused") != 1 {
		t.Errorf("Check() printed %q, want the URL and the cause once each", stdout)
	}
}
