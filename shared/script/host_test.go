package script_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/elmcity/elmcity/shared/script"
	"github.com/google/go-cmp/cmp"
)

var testNow = time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)

func TestCapabilities(t *testing.T) {
	t.Parallel()
	files := map[string]string{
		"call.js": `var args = JSON.parse(argv[1]);
result = JSON.stringify(elmcity[argv[0]].apply(null, args));`,
		"catch.js": `try { elmcity.enqueue("elmcity", "x"); result = "called"; } catch (e) { result = e.name + ": " + e.message; }`,
	}
	b := setup(t, files, script.Config{Now: func() time.Time { return testNow }})
	host := newFakeHost()
	host.hubs["elmcity"] = map[string]any{"id": "elmcity"}
	host.hubs["other"] = map[string]any{"id": "other"}
	tests := []struct {
		name    string
		req     script.Request
		wantIs  error
		wantErr string
		want    string
	}{
		{name: "QueryEnqueue", req: script.Request{Argv: []string{"enqueue", `["elmcity", "r"]`}, Hub: "elmcity", Host: host},
			wantIs: script.ErrCapability, wantErr: "elmcity.enqueue is a maintenance function; query scripts cannot call it"},
		{name: "QueryWriteLog", req: script.Request{Argv: []string{"writeLog", `[{"type": "info", "message": "m"}]`}, Hub: "elmcity", Host: host},
			wantIs: script.ErrCapability, wantErr: "elmcity.writeLog is a maintenance function"},
		{name: "QueryPurgeLog", req: script.Request{Argv: []string{"purgeLog", `["elmcity", "24h"]`}, Hub: "elmcity", Host: host},
			wantIs: script.ErrCapability, wantErr: "elmcity.purgeLog is a maintenance function"},
		{name: "QueryHubs", req: script.Request{Argv: []string{"hubs", `[]`}, Hub: "elmcity", Host: host},
			wantIs: script.ErrCapability, wantErr: "elmcity.hubs is a maintenance function"},
		{name: "QueryReadsOtherHub", req: script.Request{Argv: []string{"hubInfo", `["other"]`}, Hub: "elmcity", Host: host},
			wantIs: script.ErrCapability, wantErr: "can read only their own hub"},
		{name: "QueryReadsOtherHubLog", req: script.Request{Argv: []string{"readLog", `[{"hub": "other"}]`}, Hub: "elmcity", Host: host},
			wantIs: script.ErrCapability},
		{name: "NoHost", req: script.Request{Argv: []string{"hubInfo", `[]`}, Hub: "elmcity"},
			wantIs: script.ErrCapability, wantErr: "no host API"},
		{name: "MaintenanceNeedsMaintenanceHost", req: script.Request{Argv: []string{"hubs", `[]`}, Host: readOnlyHost{host}, Maintenance: true},
			wantIs: script.ErrCapability},
		{name: "QueryReadsOwnHub", req: script.Request{Argv: []string{"hubInfo", `[]`}, Hub: "elmcity", Host: host},
			want: `{"id":"elmcity"}`},
		{name: "MaintenanceReadsAnyHub", req: script.Request{Argv: []string{"hubInfo", `["other"]`}, Host: host, Maintenance: true},
			want: `{"id":"other"}`},
		{name: "MaintenanceHubs", req: script.Request{Argv: []string{"hubs", `[]`}, Host: host, Maintenance: true},
			want: `["elmcity","other"]`},
		{name: "MaintenanceEnqueue", req: script.Request{Argv: []string{"enqueue", `["other", "stale"]`}, Host: host, Maintenance: true},
			want: `"job-1"`},
		{name: "HostErrorPassesThrough", req: script.Request{Argv: []string{"hubInfo", `["missing"]`}, Host: host, Maintenance: true},
			wantIs: script.ErrNotFound, wantErr: "elmcity.hubInfo: hub missing"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.req.Name = "call.js"
			got, err := b.engine.Run(context.Background(), tt.req)
			if tt.wantIs == nil {
				if err != nil || got != tt.want {
					t.Errorf("Run() = %q, %v, want %q", got, err, tt.want)
				}
				return
			}
			if !errors.Is(err, tt.wantIs) || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("Run() error = %v, want errors.Is %v containing %q", err, tt.wantIs, tt.wantErr)
			}
		})
	}

	t.Run("Catchable", func(t *testing.T) {
		t.Parallel()
		got := b.run(t, script.Request{Name: "catch.js", Hub: "elmcity", Host: host})
		want := "CapabilityError: script: capability denied: elmcity.enqueue is a maintenance function; query scripts cannot call it"
		if got != want {
			t.Errorf("Run() = %q, want %q", got, want)
		}
	})
}

func TestHostDataLimits(t *testing.T) {
	t.Parallel()
	host := newFakeHost()
	host.hubs["huge"] = map[string]any{"name": strings.Repeat("x", 2<<20)}
	host.hubs["deep"] = map[string]any{}
	deep := host.hubs["deep"]
	for range 40 {
		next := map[string]any{}
		deep["next"] = next
		deep = next
	}
	for i := range 300 {
		host.logs["busy"] = append(host.logs["busy"], script.LogEntry{Hub: "busy", Type: "info",
			Message: strings.Repeat("m", 10_000), Time: testNow.Add(-time.Duration(i) * time.Minute)})
	}
	b := setup(t, map[string]string{
		"huge.js":     `result = elmcity.hubInfo().name.length;`,
		"deep.js":     `result = JSON.stringify(elmcity.hubInfo());`,
		"busy.js":     `result = elmcity.readLog({limit: 300}).entries.length;`,
		"caught.js":   `try { elmcity.hubInfo(); } catch (e) { result = e.name; }`,
		"bigwrite.js": `elmcity.writeLog({type: "info", message: "x".repeat(100000)}); result = "written";`,
		"manyargs.js": `var t = []; for (var i = 0; i < 500; i++) t.push("info"); elmcity.readLog({types: t}); result = "read";`,
	}, script.Config{MaxHostBytes: 1 << 20})
	tests := []struct {
		name string
		req  script.Request
	}{
		{name: "HugeString", req: script.Request{Name: "huge.js", Hub: "huge", Host: host}},
		{name: "TooDeep", req: script.Request{Name: "deep.js", Hub: "deep", Host: host}},
		{name: "ManyLogEntries", req: script.Request{Name: "busy.js", Hub: "busy", Host: host}},
		{name: "WriteTooBig", req: script.Request{Name: "bigwrite.js", Hub: "busy", Host: host, Maintenance: true}},
		{name: "TooManyArgs", req: script.Request{Name: "manyargs.js", Hub: "busy", Host: host}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			out, err := b.engine.Run(context.Background(), tt.req)
			if !errors.Is(err, script.ErrLimit) {
				t.Errorf("Run() = %q, %v, want ErrLimit", out, err)
			}
		})
	}
	t.Run("Catchable", func(t *testing.T) {
		t.Parallel()
		if got := b.run(t, script.Request{Name: "caught.js", Hub: "huge", Host: host}); got != "LimitError" {
			t.Errorf("Run() = %q, want LimitError", got)
		}
	})
}

func TestHostAPI(t *testing.T) {
	t.Parallel()
	host := newFakeHost()
	host.hubs["elmcity"] = map[string]any{
		"id": "elmcity", "updated": testNow, "interval": 2 * time.Hour, "count": 3, "tags": []string{"a", "b"},
		"where": map[string]any{"lat": 42.5, "ok": true, "none": nil},
		"stats": struct {
			Feeds []int `json:"feeds"`
		}{Feeds: []int{1, 2}},
	}
	host.feeds["elmcity"] = []map[string]any{{"url": "https://a.example/cal.ics", "events": 12}}
	host.events["elmcity"] = []map[string]any{{"title": "one"}, {"title": "two"}, {"title": "three"}}
	host.logs["elmcity"] = []script.LogEntry{
		{ID: "1", Hub: "elmcity", Type: "info", Message: "hello", Role: "webrole", Instance: "w0",
			Time: testNow, Attrs: map[string]string{"k": "v"}},
	}
	b := setup(t, map[string]string{
		"hub.js":    `result = elmcity.hubInfo();`,
		"feeds.js":  `result = elmcity.feeds();`,
		"events.js": `result = elmcity.events(undefined, 2);`,
		"log.js": `var r = elmcity.readLog({types: "info, warning", since: "24h", until: "2024-05-02",
  include: ["hel"], exclude: "nope", limit: 999999, after: "0"});
result = r;`,
		"logdate.js": `elmcity.readLog({since: new Date(Date.UTC(2024, 0, 2)), until: 1704153600000}); result = "ok";`,
		"badtime.js": `elmcity.readLog({since: "yesterday-ish"}); result = "ok";`,
		"write.js": `elmcity.writeLog({hub: "other", type: "summary", message: "m", detail: "d", attrs: {a: "b"}});
result = String(elmcity.purgeLog("elmcity", "2024-04-01T00:00:00Z"));`,
	}, script.Config{Now: func() time.Time { return testNow }, MaxLogEntries: 50})
	tests := []struct {
		name string
		req  script.Request
		want string
	}{
		{name: "HubInfo", req: script.Request{Name: "hub.js"},
			want: `{"count":3,"id":"elmcity","interval":"2h0m0s","stats":{"feeds":[1,2]},"tags":["a","b"],"updated":"2024-05-01T12:00:00.000Z","where":{"lat":42.5,"none":null,"ok":true}}`},
		{name: "Feeds", req: script.Request{Name: "feeds.js"}, want: `[{"events":12,"url":"https://a.example/cal.ics"}]`},
		{name: "Events", req: script.Request{Name: "events.js"}, want: `[{"title":"one"},{"title":"two"}]`},
		{name: "ReadLog", req: script.Request{Name: "log.js"},
			want: `{"entries":[{"id":"1","hub":"elmcity","type":"info","time":"2024-05-01T12:00:00Z","ms":1714564800000,"message":"hello","detail":"","role":"webrole","instance":"w0","attrs":{"k":"v"}}],"next":""}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.req.Hub, tt.req.Host = "elmcity", host
			if got := b.run(t, tt.req); got != tt.want {
				t.Errorf("Run() = %s\nwant %s", got, tt.want)
			}
		})
	}

	t.Run("Arguments", func(t *testing.T) {
		t.Parallel()
		h := newFakeHost()
		b.run(t, script.Request{Name: "log.js", Hub: "elmcity", Host: h})
		b.run(t, script.Request{Name: "logdate.js", Hub: "elmcity", Host: h})
		want := []script.LogQuery{
			{Hub: "elmcity", Types: []string{"info", "warning"}, Since: testNow.Add(-24 * time.Hour),
				Until: time.Date(2024, 5, 2, 0, 0, 0, 0, time.UTC), Include: []string{"hel"}, Exclude: []string{"nope"}, Limit: 50, After: "0"},
			{Hub: "elmcity", Since: time.Date(2024, 1, 2, 0, 0, 0, 0, time.UTC), Until: time.Date(2024, 1, 2, 0, 0, 0, 0, time.UTC), Limit: 100},
		}
		if diff := cmp.Diff(want, h.queries); diff != "" {
			t.Errorf("ReadLog queries mismatch (-want +got):\n%s", diff)
		}
		_, err := b.engine.Run(context.Background(), script.Request{Name: "badtime.js", Hub: "elmcity", Host: h})
		if err == nil || !strings.Contains(err.Error(), `TypeError: elmcity.readLog: since "yesterday-ish" is not`) {
			t.Errorf("Run(badtime.js) error = %v, want a TypeError about since", err)
		}
	})

	t.Run("Maintenance", func(t *testing.T) {
		t.Parallel()
		h := newFakeHost()
		h.logs["elmcity"] = []script.LogEntry{{Time: time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)}, {Time: testNow}}
		if got := b.run(t, script.Request{Name: "write.js", Host: h, Maintenance: true}); got != "1" {
			t.Errorf("Run() = %q, want 1 purged", got)
		}
		want := []script.LogEntry{{Hub: "other", Type: "summary", Message: "m", Detail: "d", Time: testNow, Attrs: map[string]string{"a": "b"}}}
		if diff := cmp.Diff(want, h.written); diff != "" {
			t.Errorf("WriteLog entries mismatch (-want +got):\n%s", diff)
		}
	})
}
