package tablelog_test

import (
	"context"
	"errors"
	"log/slog"
	"testing"
	"time"

	"github.com/elmcity/elmcity/shared/tablelog"
)

// secretString redacts itself, as the roles' config secrets do.
type secretString string

func (secretString) LogValue() slog.Value { return slog.StringValue("masked") }

func TestHandler(t *testing.T) {
	t.Parallel()
	b := setup(t, tablelog.Config{Role: "webrole", Instance: "web1", FlushInterval: time.Hour})
	base := slog.New(b.log.Handler(tablelog.HandlerOptions{}))
	at := time.Date(2025, 5, 6, 7, 8, 9, 10, time.FixedZone("x", 3600))

	entry := func(hub, typ, msg, detail string, attrs map[string]string) tablelog.Entry {
		return tablelog.Entry{Hub: hub, Type: typ, Message: msg, Detail: detail, Role: "webrole", Instance: "web1", Attrs: attrs}
	}
	tests := []struct {
		name string
		log  func(l *slog.Logger)
		hub  string // partition to read
		// include isolates this case's entries in the shared System
		// partition.
		include string
		want    []tablelog.Entry // newest first
	}{
		{
			name: "InfoWithHub",
			log: func(l *slog.Logger) {
				l.Info("feed merged", "hub", "h01", "feed_url", "http://x.example/a.ics", "count", 3)
			},
			hub:  "h01",
			want: []tablelog.Entry{entry("h01", "info", "feed merged", "", map[string]string{"feed_url": "http://x.example/a.ics", "count": "3"})},
		},
		{
			name: "DebugBelowLevel",
			log: func(l *slog.Logger) {
				l.Debug("noise", "hub", "h02")
				l.Info("kept", "hub", "h02")
			},
			hub:  "h02",
			want: []tablelog.Entry{entry("h02", "info", "kept", "", nil)},
		},
		{
			name: "LevelsToTypes",
			log: func(l *slog.Logger) {
				l.Info("i", "hub", "h03")
				l.Warn("w", "hub", "h03")
				l.Error("e", "hub", "h03")
				l.Log(context.Background(), slog.LevelError+4, "fatal", "hub", "h03")
			},
			hub: "h03",
			want: []tablelog.Entry{
				entry("h03", "exception", "fatal", "", nil),
				entry("h03", "exception", "e", "", nil),
				entry("h03", "warning", "w", "", nil),
				entry("h03", "info", "i", "", nil),
			},
		},
		{
			name: "DetailAndStack",
			log: func(l *slog.Logger) {
				l.Error("boom", "hub", "h04", "detail", "GET /h04/ics", "stack", "goroutine 1 [running]", "error", errors.New("bad thing"))
			},
			hub:  "h04",
			want: []tablelog.Entry{entry("h04", "exception", "boom", "GET /h04/ics\ngoroutine 1 [running]", map[string]string{"error": "bad thing"})},
		},
		{
			name: "StackOnly",
			log:  func(l *slog.Logger) { l.Error("panic", "hub", "h05", "stack", "trace") },
			hub:  "h05",
			want: []tablelog.Entry{entry("h05", "exception", "panic", "trace", nil)},
		},
		{
			name: "TypeOverride",
			log:  func(l *slog.Logger) { l.Info("GET /h06/ics", "hub", "h06", "type", "request", "status", 200) },
			hub:  "h06",
			want: []tablelog.Entry{entry("h06", "request", "GET /h06/ics", "", map[string]string{"status": "200"})},
		},
		{
			name: "InvalidTypeKept",
			log:  func(l *slog.Logger) { l.Info("m", "hub", "h07", "type", "bad type'") },
			hub:  "h07",
			want: []tablelog.Entry{entry("h07", "info", "m", "", map[string]string{"type": "bad type'"})},
		},
		{
			name: "WithAttrs",
			log:  func(l *slog.Logger) { l.With("hub", "h08", "component", "merge").Warn("slow", "ms", 1500) },
			hub:  "h08",
			want: []tablelog.Entry{entry("h08", "warning", "slow", "", map[string]string{"component": "merge", "ms": "1500"})},
		},
		{
			name: "WithGroup",
			log: func(l *slog.Logger) {
				l.With("hub", "h09").WithGroup("req").With("id", "r1").Info("done", "path", "/x", slog.Group("user", "id", 7), slog.Group("empty"))
			},
			hub:  "h09",
			want: []tablelog.Entry{entry("h09", "info", "done", "", map[string]string{"req.id": "r1", "req.path": "/x", "req.user.id": "7"})},
		},
		{
			name: "HubInsideWithGroup",
			log:  func(l *slog.Logger) { l.WithGroup("worker").Info("m", "hub", "h10", "n", 1) },
			hub:  "h10",
			want: []tablelog.Entry{entry("h10", "info", "m", "", map[string]string{"worker.n": "1"})},
		},
		{
			name: "GroupValueKeysAreOrdinary",
			log: func(l *slog.Logger) {
				l.Info("m", "hub", "h11", slog.Group("http", "type", "text/html", "hub", "elsewhere"), slog.Group("", "inline", "yes"))
			},
			hub:  "h11",
			want: []tablelog.Entry{entry("h11", "info", "m", "", map[string]string{"http.type": "text/html", "http.hub": "elsewhere", "inline": "yes"})},
		},
		{
			name: "RecordHubOverridesWithAttrs",
			log:  func(l *slog.Logger) { l.With("hub", "elsewhere").Info("m", "hub", "h12") },
			hub:  "h12",
			want: []tablelog.Entry{entry("h12", "info", "m", "", nil)},
		},
		{
			name: "Secrets",
			log: func(l *slog.Logger) {
				l.With("hub", "h13", "api_key", "k1").Info("m",
					"token", "t", "password", "p", "Authorization", "Bearer x", "AccountKey", "k2",
					"accessToken", "t2", "client_secret", "s",
					slog.Group("db", "password", "p2"), "conn", secretString("raw"), "feed_url", "ok")
			},
			hub: "h13",
			want: []tablelog.Entry{entry("h13", "info", "m", "", map[string]string{
				"api_key": "REDACTED", "token": "REDACTED", "password": "REDACTED", "Authorization": "REDACTED",
				"AccountKey": "REDACTED", "accessToken": "REDACTED", "client_secret": "REDACTED",
				"db.password": "REDACTED", "conn": "masked", "feed_url": "ok",
			})},
		},
		{
			name: "Values",
			log: func(l *slog.Logger) {
				l.Info("m", "hub", "h14", "at", at, "took", 1500*time.Millisecond, "ok", true, "ratio", 0.5)
			},
			hub: "h14",
			want: []tablelog.Entry{entry("h14", "info", "m", "", map[string]string{
				"at": "2025-05-06T06:08:09.00000001Z", "took": "1.5s", "ok": "true", "ratio": "0.5",
			})},
		},
		{
			name: "Immutable",
			log: func(l *slog.Logger) {
				parent := l.With("hub", "h15")
				a := parent.With("a", "1")
				g := parent.WithGroup("g")
				_ = a.With("b", "2")
				parent.Info("parent")
				a.Info("a")
				g.Info("g", "k", "v")
			},
			hub: "h15",
			want: []tablelog.Entry{
				entry("h15", "info", "g", "", map[string]string{"g.k": "v"}),
				entry("h15", "info", "a", "", map[string]string{"a": "1"}),
				entry("h15", "info", "parent", "", nil),
			},
		},
		{
			name:    "SystemWarn",
			log:     func(l *slog.Logger) { l.Warn("sys16 disk low", "detail", "d") },
			hub:     tablelog.System,
			include: "sys16",
			want:    []tablelog.Entry{entry(tablelog.System, "warning", "sys16 disk low", "d", nil)},
		},
		{
			name: "SystemInfoBelowLevel",
			log: func(l *slog.Logger) {
				l.Info("sys17 dropped")
				l.Error("sys17 kept")
			},
			hub:     tablelog.System,
			include: "sys17",
			want:    []tablelog.Entry{entry(tablelog.System, "exception", "sys17 kept", "", nil)},
		},
		{
			name: "InvalidHubToSystem",
			log: func(l *slog.Logger) {
				l.Info("sys18 info dropped", "hub", "bad hub")
				l.Warn("sys18 kept", "hub", "x' or PartitionKey ne 'y")
			},
			hub:     tablelog.System,
			include: "sys18",
			want:    []tablelog.Entry{entry(tablelog.System, "warning", "sys18 kept", "", map[string]string{"hub": "x' or PartitionKey ne 'y"})},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.log(base)
			flush(t, b.log)
			q := tablelog.Query{Hub: tt.hub}
			if tt.include != "" {
				q.Include = []string{tt.include}
			}
			got := read(t, b.log, q).Entries
			for i := range got {
				if got[i].Time.IsZero() {
					t.Errorf("entry %q has no time", got[i].Message)
				}
				got[i].Time = time.Time{}
			}
			if d := diffEntries(tt.want, got); d != "" {
				t.Errorf("entries mismatch (-want +got):\n%s", d)
			}
		})
	}
}

func TestHandlerEnabled(t *testing.T) {
	t.Parallel()
	b := setup(t, tablelog.Config{})
	ctx := context.Background()
	tests := []struct {
		name  string
		opts  tablelog.HandlerOptions
		attrs []any
		level slog.Level
		want  bool
	}{
		{name: "DefaultDebug", level: slog.LevelDebug, want: false},
		{name: "DefaultInfoMayHaveHub", level: slog.LevelInfo, want: true},
		{name: "HubInfo", attrs: []any{"hub", "h"}, level: slog.LevelInfo, want: true},
		{name: "HubDebug", attrs: []any{"hub", "h"}, level: slog.LevelDebug, want: false},
		{name: "HubDebugLowered", opts: tablelog.HandlerOptions{Level: slog.LevelDebug}, attrs: []any{"hub", "h"}, level: slog.LevelDebug, want: true},
		{name: "InvalidHubUsesSystemLevel", opts: tablelog.HandlerOptions{Level: slog.LevelError, SystemLevel: slog.LevelWarn}, attrs: []any{"hub", "a b"}, level: slog.LevelWarn, want: true},
		{name: "BothRaised", opts: tablelog.HandlerOptions{Level: slog.LevelWarn, SystemLevel: slog.LevelError}, level: slog.LevelInfo, want: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			l := slog.New(b.log.Handler(tt.opts)).With(tt.attrs...)
			if got := l.Enabled(ctx, tt.level); got != tt.want {
				t.Errorf("Enabled(%v) = %v, want %v", tt.level, got, tt.want)
			}
		})
	}
}
