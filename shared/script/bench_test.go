package script_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/dop251/goja"
	"github.com/elmcity/elmcity/shared/script"
)

const trivial = `var result = "hello " + argv[0];`

// infoLogger is a logger at Info, as in production, writing nowhere: a
// run's Debug provenance record is skipped, the Info one is formatted.
func infoLogger() *slog.Logger {
	return slog.New(slog.NewTextHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelInfo}))
}

// setLogger replaces the bundle's engine with one logging to log.
func (tb *testBundle) setLogger(t testing.TB, log *slog.Logger) {
	t.Helper()
	cfg := tb.cfg
	cfg.Logger = log
	tb.engine = newEngine(t, cfg)
}

// BenchmarkRun measures the per-run overhead of a trivial script against
// bare goja doing the same work.
func BenchmarkRun(b *testing.B) {
	prog := goja.MustCompile("trivial.js", trivial, false)
	b.Run("goja/New", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_ = goja.New()
		}
	})
	b.Run("goja/FreshRuntimeRunProgram", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			vm := goja.New()
			stop := context.AfterFunc(ctx, func() { vm.Interrupt(ctx.Err()) })
			_ = vm.Set("argv", vm.NewArray("world"))
			if _, err := vm.RunProgram(prog); err != nil {
				b.Fatal(err)
			}
			if vm.Get("result").String() != "hello world" {
				b.Fatal("wrong result")
			}
			stop()
			cancel()
		}
	})
	b.Run("goja/FreshRuntimeRunProgramNoGlobals", func(b *testing.B) {
		bare := goja.MustCompile("bare.js", `var result = "hello " + "world";`, false)
		b.ReportAllocs()
		for b.Loop() {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			vm := goja.New()
			stop := context.AfterFunc(ctx, func() { vm.Interrupt(ctx.Err()) })
			if _, err := vm.RunProgram(bare); err != nil {
				b.Fatal(err)
			}
			if vm.Get("result").String() != "hello world" {
				b.Fatal("wrong result")
			}
			stop()
			cancel()
		}
	})
	b.Run("goja/CompileAndRun", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			p, err := goja.Compile("trivial.js", trivial, false)
			if err != nil {
				b.Fatal(err)
			}
			vm := goja.New()
			_ = vm.Set("argv", vm.NewArray("world"))
			if _, err := vm.RunProgram(p); err != nil {
				b.Fatal(err)
			}
		}
	})

	bundle := setup(b, map[string]string{
		"trivial.js": trivial,
		"require.js": `result = require("./lib/fmt").shout(argv[0]);`,
		"lib/fmt.js": `exports.shout = function (s) { return s.toUpperCase(); };`,
	}, script.Config{})
	bundle.setLogger(b, infoLogger())
	runOnce := func(b *testing.B, name string) {
		b.Helper()
		if _, err := bundle.engine.Run(context.Background(), script.Request{Name: name, Argv: []string{"world"}, Hub: "h"}); err != nil {
			b.Fatal(err)
		}
	}
	b.Run("Run/CompiledOnce", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			runOnce(b, "trivial.js")
		}
	})
	b.Run("Run/CompileEveryTime", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			bundle.engine.ForgetPrograms()
			runOnce(b, "trivial.js")
		}
	})
	b.Run("Run/CompiledOnceParallel", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				runOnce(b, "trivial.js")
			}
		})
	})
	b.Run("Run/LocalRequire", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			runOnce(b, "require.js")
		}
	})
	b.Run("Run/RemoteRequireCached", func(b *testing.B) {
		o := newOrigin(b)
		o.set("/m.js", `exports.value = "remote";`)
		rb := setup(b, requireScript(), script.Config{CacheTTL: time.Hour})
		rb.setLogger(b, infoLogger())
		req := script.Request{Name: "main.js", Argv: []string{o.url("/m.js")}}
		b.ReportAllocs()
		for b.Loop() {
			if _, err := rb.engine.Run(context.Background(), req); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkLogInfo measures services/log_info.js rendering a hub's log
// over a fake host, by number of entries.
func BenchmarkLogInfo(b *testing.B) {
	for _, n := range []int{100, 1000, 5000} {
		b.Run(fmt.Sprintf("entries=%d", n), func(b *testing.B) {
			h := newFakeHost()
			for i := range n {
				h.logs["elmcity"] = append(h.logs["elmcity"], script.LogEntry{
					ID: fmt.Sprint(i), Hub: "elmcity", Type: "info", Role: "workerrole", Instance: "w0",
					Message: fmt.Sprintf("feed merged: https://example.org/feed/%d.ics", i),
					Detail:  strings.Repeat("detail line\n", i%3), Time: testNow.Add(-time.Duration(i) * time.Second),
				})
			}
			bundle := setup(b, nil, script.Config{Source: repoScripts, MaxLogEntries: 5000})
			bundle.setLogger(b, infoLogger())
			req := script.Request{Name: "services/log_info", Argv: []string{"elmcity", "log_info"},
				Params: map[string]string{"limit": fmt.Sprint(n)}, Hub: "elmcity", Host: h}
			b.ReportAllocs()
			for b.Loop() {
				out, err := bundle.engine.Run(context.Background(), req)
				if err != nil {
					b.Fatal(err)
				}
				if strings.Count(out, " info ") != n {
					b.Fatalf("rendered %d entries, want %d", strings.Count(out, " info "), n)
				}
			}
		})
	}
}
