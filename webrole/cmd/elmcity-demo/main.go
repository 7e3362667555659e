// Command elmcity-demo loads a demo hub into a running elmcity: it serves a
// handful of demo feeds from 127.0.0.1 (a Windows time zone feed, a
// recurring series with a moved and a cancelled instance, an event listed
// by two feeds, floating times), creates the hub, a curator and the feeds
// through the REST API, asks for the first aggregation, prints the URLs to
// open, and keeps serving the feeds until interrupted. `make dev` runs it.
package main

import (
	"bytes"
	"cmp"
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path"
	"strconv"
	"strings"
	"syscall"
	"time"
)

//go:embed feeds/*.ics
var feeds embed.FS

// written is the day the demo feeds' dates were written for; they are
// shifted by whole weeks so the demo always shows the coming weeks.
var written = time.Date(2026, 11, 24, 0, 0, 0, 0, time.UTC)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Getenv, os.Stdout); err != nil {
		slog.New(slog.NewJSONHandler(os.Stderr, nil)).Error("elmcity-demo stopped", "error", err)
		stop()
		os.Exit(1)
	}
}

func run(ctx context.Context, getenv func(string) string, stdout io.Writer) error {
	api := cmp.Or(getenv("ELMCITY_DEMO_API"), "http://127.0.0.1:8080")
	admin := getenv("ELMCITY_ADMIN_TOKEN")
	if admin == "" {
		return errors.New("ELMCITY_ADMIN_TOKEN must be set (the web role's admin token)")
	}
	weeks := int(time.Since(written).Hours() / 24 / 7)

	ln, err := net.Listen("tcp", cmp.Or(getenv("ELMCITY_DEMO_FEEDS_ADDR"), "127.0.0.1:0"))
	if err != nil {
		return fmt.Errorf("listen for demo feeds: %w", err)
	}
	srv := &http.Server{Handler: feedHandler(weeks), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	defer func() { _ = srv.Close() }()
	base := "http://" + ln.Addr().String()

	c := client{api: api, http: &http.Client{Timeout: 10 * time.Second}}
	if err := c.waitReady(ctx); err != nil {
		return err
	}
	if _, err := c.do(ctx, admin, "PUT", "/api/hubs/demo", map[string]any{
		"title": "Elm City (demo)", "tz": "America/New_York", "contact": "demo@elmcity.example",
	}, 201, 428); err != nil { // 428: the hub exists already (a PUT over it needs its ETag)
		return err
	}
	cur, err := c.do(ctx, admin, "POST", "/api/curators", map[string]any{"name": "Demo curator", "hubs": []string{"demo"}}, 201)
	if err != nil {
		return err
	}
	token, _ := cur["token"].(string)
	for _, f := range []struct{ file, source, home string }{
		{"library.ics", "Elm City Public Library", "https://library.elmcity.example/"},
		{"theatre.ics", "Colonial Theatre", "https://colonial.elmcity.example/"},
		{"cityhall.ics", "City Hall", "https://cityhall.elmcity.example/"},
	} {
		if _, err := c.do(ctx, token, "POST", "/api/hubs/demo/feeds", map[string]any{
			"feedurl": base + "/" + f.file, "url": f.home, "source": f.source, "approved": true,
		}, 201, 409); err != nil {
			return err
		}
	}
	if _, err := c.do(ctx, token, "POST", "/api/hubs/demo/aggregate", nil, 202); err != nil {
		return err
	}
	stats, err := c.waitStats(ctx, token)
	if err != nil {
		return err
	}
	last, _ := stats["run"].(map[string]any)
	fmt.Fprintf(stdout, `
The demo hub is loaded: %v events from %v feeds (%v failed).

  The curator console:          %s/console  (sign in with the curator token below)
  Every hub:                    %s/
  The hub page:                 %s/demo
  Subscribe (ICS):              webcal://%s/services/demo/ics  (or %s/services/demo/ics)
  JSON, RSS, CSV, text:         %s/services/demo/json  .../rss  .../csv  .../text
  Per-feed report:              %s/services/demo/stats
  Last run and per-feed stats:  curl -H 'Authorization: Bearer %s' %s/api/hubs/demo/stats
  The hub's info log:           curl -H 'Authorization: Bearer %s' %s/services/demo/log_info
  Its exceptions:               curl -H 'Authorization: Bearer %s' %s/services/demo/log_exception
  The API (OpenAPI):            %s/api/openapi.json

Curator token for the demo hub: %s
Demo feeds are served from %s; Ctrl-C stops everything.
`, last["events"], last["feeds_ok"], last["feeds_failed"], api, api, api, strings.TrimPrefix(api, "http://"), api, api, api, token, api, token, api, token, api, api, token, base)
	<-ctx.Done()
	return nil
}

// feedHandler serves the embedded feeds with their dates moved forward by
// whole weeks (so weekdays and weekly rules hold).
func feedHandler(weeks int) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, err := feeds.ReadFile("feeds/" + path.Base(r.URL.Path))
		if err != nil {
			http.NotFound(w, r)
			return
		}
		b = shiftWeeks(b, weeks)
		w.Header().Set("Content-Type", "text/calendar; charset=utf-8")
		_, _ = w.Write(b) // #nosec G705 -- the demo's own feed, served as text/calendar
	})
}

type client struct {
	api  string
	http *http.Client
}

func (c client) waitReady(ctx context.Context) error {
	deadline := time.Now().Add(90 * time.Second)
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, c.api+"/readyz", nil)
		if resp, err := c.http.Do(req); err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the web role at %s is not ready after 90s", c.api)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(300 * time.Millisecond):
		}
	}
}

func (c client) waitStats(ctx context.Context, token string) (map[string]any, error) {
	deadline := time.Now().Add(90 * time.Second)
	for {
		out, err := c.do(ctx, token, "GET", "/api/hubs/demo/stats", nil, 200)
		if err == nil {
			return out, nil
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("the demo hub was not aggregated within 90s (is the worker running?): %w", err)
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// do sends a JSON request and decodes the JSON answer; a status outside
// want is an error carrying the body.
func (c client) do(ctx context.Context, token, method, p string, body any, want ...int) (map[string]any, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.api+p, rd)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", method, p, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	for _, w := range want {
		if resp.StatusCode == w {
			var out map[string]any
			_ = json.Unmarshal(b, &out)
			return out, nil
		}
	}
	return nil, fmt.Errorf("%s %s: %s %s", method, p, strconv.Itoa(resp.StatusCode), bytes.TrimSpace(b))
}
