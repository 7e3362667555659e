package script_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/elmcity/elmcity/shared/script"
	"github.com/google/go-cmp/cmp"
)

func TestRunResult(t *testing.T) {
	t.Parallel()
	files := map[string]string{
		"string.js":           `var result = "hi " + argv[0];`,
		"object.js":           `result = {b: [1, "two"], a: {c: null}};`,
		"array.js":            `result = argv.map(function (a) { return a.toUpperCase(); });`,
		"number.js":           `result = 6 * 7;`,
		"bool.js":             `result = argv.length > 1;`,
		"null.js":             `result = null;`,
		"let.js":              `let result = "from let";`,
		"params.js":           `result = params.since + "|" + Object.keys(params).join(",") + "|" + params.missing;`,
		"paramsfrozen.js":     `"use strict"; var result; try { params.since = "x"; result = "mutable"; } catch (e) { result = e.name + " " + params.since; }`,
		"paramsjson.js":       `result = JSON.stringify(params);`,
		"services/what.js":    `var f = require("../lib/fmt"); result = f.shout(argv[1]);`,
		"lib/fmt.js":          `exports.shout = function (s) { return s.toUpperCase() + "!"; };`,
		"cycle.js":            `result = require("./cyc/a.js").name;`,
		"cyc/a.js":            `exports.name = "a"; var b = require("./b"); exports.name = "a+" + b.seen;`,
		"cyc/b.js":            `var a = require("./a"); exports.seen = a.name;`,
		"moduleexports.js":    `result = require("./lib/fn")(3);`,
		"lib/fn.js":           `module.exports = function (n) { return n * 2; };`,
		"filename.js":         `result = require("./lib/where").where;`,
		"lib/where.js":        `exports.where = __filename + " " + __dirname + " " + (this === exports);`,
		"now.js":              `result = elmcity.now() + " " + elmcity.hub + " " + elmcity.maintenance;`,
		"globals.js":          `result = typeof process + " " + typeof setTimeout + " " + typeof require + " " + typeof console.log;`,
		"requireonce.js":      `require("./lib/count"); require("./lib/count"); result = String(globalThis.loads);`,
		"lib/count.js":        `globalThis.loads = (globalThis.loads || 0) + 1;`,
		"caught.js":           `try { require("./nope"); } catch (e) { result = e.name + ": " + (e.message.indexOf("not found") >= 0); }`,
		"names.js":            `result = [elmcity.readLog.name, console.log.name, require.name].join(",");`,
		"consolekeys.js":      `result = Object.keys(console).join(",") + " " + Object.keys(elmcity).length;`,
		"deep/er/nested.js":   `result = require("../../lib/fmt").shout("deep");`,
		"function.js":         `result = function named() {};`,
		"numberstring.js":     `result = new String("boxed");`,
		"undefinedinarray.js": `result = [1, undefined, function () {}];`,
	}
	b := setup(t, files, script.Config{Now: func() time.Time { return time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC) }})
	tests := []struct {
		name string
		req  script.Request
		want string
	}{
		{name: "String", req: script.Request{Name: "string.js", Argv: []string{"there"}}, want: "hi there"},
		{name: "NameWithoutExtension", req: script.Request{Name: "string", Argv: []string{"you"}}, want: "hi you"},
		{name: "Object", req: script.Request{Name: "object.js"}, want: `{"b":[1,"two"],"a":{"c":null}}`},
		{name: "Array", req: script.Request{Name: "array.js", Argv: []string{"a", "b"}}, want: `["A","B"]`},
		{name: "Number", req: script.Request{Name: "number.js"}, want: "42"},
		{name: "Bool", req: script.Request{Name: "bool.js", Argv: []string{"a", "b"}}, want: "true"},
		{name: "Null", req: script.Request{Name: "null.js"}, want: "null"},
		{name: "TopLevelLet", req: script.Request{Name: "let.js"}, want: "from let"},
		{name: "Params", req: script.Request{Name: "params.js", Params: map[string]string{"since": "2024-01-01", "limit": "5"}},
			want: "2024-01-01|limit,since|undefined"},
		{name: "ParamsReadOnly", req: script.Request{Name: "paramsfrozen.js", Params: map[string]string{"since": "a"}}, want: "TypeError a"},
		{name: "ParamsJSON", req: script.Request{Name: "paramsjson.js", Params: map[string]string{"b": "2", "a": "1"}}, want: `{"a":"1","b":"2"}`},
		{name: "RequireRelative", req: script.Request{Name: "services/what.js", Argv: []string{"hub", "hello"}}, want: "HELLO!"},
		{name: "RequireCycle", req: script.Request{Name: "cycle.js"}, want: "a+a"},
		{name: "ModuleExports", req: script.Request{Name: "moduleexports.js"}, want: "6"},
		{name: "FilenameAndThis", req: script.Request{Name: "filename.js"}, want: "lib/where.js lib true"},
		{name: "NowHubMaintenance", req: script.Request{Name: "now.js", Hub: "elmcity"}, want: "2024-05-01T12:00:00.000Z elmcity false"},
		{name: "OnlyWhitelistedGlobals", req: script.Request{Name: "globals.js"}, want: "undefined undefined function function"},
		{name: "ModuleEvaluatedOnce", req: script.Request{Name: "requireonce.js"}, want: "1"},
		{name: "MissingModuleCatchable", req: script.Request{Name: "caught.js"}, want: "ModuleError: true"},
		{name: "HostFunctionNames", req: script.Request{Name: "names.js"}, want: "readLog,log,require"},
		{name: "HostObjectKeys", req: script.Request{Name: "consolekeys.js"}, want: "debug,error,info,log,warn 13"},
		{name: "NestedRequire", req: script.Request{Name: "deep/er/nested.js"}, want: "DEEP!"},
		{name: "FunctionThroughString", req: script.Request{Name: "function.js"}, want: "function named() {}"},
		{name: "BoxedString", req: script.Request{Name: "numberstring.js"}, want: "boxed"},
		{name: "ArrayWithUndefined", req: script.Request{Name: "undefinedinarray.js"}, want: "[1,null,null]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := b.run(t, tt.req); got != tt.want {
				t.Errorf("Run() = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestRunErrors(t *testing.T) {
	t.Parallel()
	files := map[string]string{
		"undefined.js": `var x = 1;`,
		"throw.js": `var x = 1;
function f() {
  throw new Error("boom");
}
f();`,
		"reference.js":    `result = nope + 1;`,
		"syntax.js":       "var ok = 1;\nvar = ;",
		"modthrow.js":     "var m = require(\"./lib/bad\");\nresult = m.go();",
		"lib/bad.js":      "exports.go = function () {\n  return undefinedThing.x;\n};",
		"modsyntax.js":    `result = require("./lib/syntax");`,
		"lib/syntax.js":   `exports.x = );`,
		"escape.js":       `result = require("../../etc/passwd");`,
		"bare.js":         `result = require("lodash");`,
		"plainhttp.js":    `result = require("http://example.com/x.js");`,
		"filescheme.js":   `result = require("file:///etc/passwd");`,
		"abs.js":          `result = require("/etc/passwd");`,
		"big.js":          `result = "x".repeat(2000);`,
		"recurse.js":      "function f(n) { return f(n + 1) + 1; }\nresult = f(0);",
		"loop.js":         `while (true) {}`,
		"throwstring.js":  `throw "just a string";`,
		"nonstringreq.js": `result = require(42);`,
		"badtostring.js":  `throw {toString: function () { throw new Error("again"); }};`,
	}
	b := setup(t, files, script.Config{MaxResultBytes: 1000, MaxCallStackSize: 200, Timeout: 200 * time.Millisecond})
	tests := []struct {
		name     string
		req      script.Request
		wantIs   error  // errors.Is target, if any
		wantErr  string // substring of the error
		wantFile string // *Error.File, if a *Error is expected
		wantLine int
		wantCol  int
	}{
		{name: "UndefinedResult", req: script.Request{Name: "undefined.js"}, wantErr: "result is undefined", wantFile: "undefined.js"},
		{name: "Thrown", req: script.Request{Name: "throw.js"}, wantErr: "Error: boom", wantFile: "throw.js", wantLine: 3, wantCol: 9},
		{name: "ReferenceError", req: script.Request{Name: "reference.js"}, wantErr: "ReferenceError: nope is not defined", wantFile: "reference.js", wantLine: 1, wantCol: 10},
		{name: "SyntaxError", req: script.Request{Name: "syntax.js"}, wantErr: "SyntaxError", wantFile: "syntax.js", wantLine: 2, wantCol: 5},
		{name: "ModuleThrow", req: script.Request{Name: "modthrow.js"}, wantErr: "undefinedThing is not defined", wantFile: "lib/bad.js", wantLine: 2, wantCol: 10},
		{name: "ModuleSyntaxLineOne", req: script.Request{Name: "modsyntax.js"}, wantErr: "SyntaxError", wantFile: "lib/syntax.js", wantLine: 1, wantCol: 13},
		{name: "NotFound", req: script.Request{Name: "nope.js"}, wantIs: script.ErrNotFound},
		{name: "DotDot", req: script.Request{Name: "../x.js"}, wantIs: script.ErrInvalidName},
		{name: "Absolute", req: script.Request{Name: "/etc/passwd"}, wantIs: script.ErrInvalidName},
		{name: "Space", req: script.Request{Name: "a b.js"}, wantIs: script.ErrInvalidName},
		{name: "OtherExtension", req: script.Request{Name: "x.txt"}, wantIs: script.ErrInvalidName},
		{name: "Hidden", req: script.Request{Name: "lib/.secret.js"}, wantIs: script.ErrInvalidName},
		{name: "DoubleSlash", req: script.Request{Name: "lib//bad.js"}, wantIs: script.ErrInvalidName},
		{name: "Empty", req: script.Request{Name: ""}, wantIs: script.ErrInvalidName},
		{name: "RequireEscapes", req: script.Request{Name: "escape.js"}, wantIs: script.ErrInvalidName, wantFile: "escape.js", wantLine: 1},
		{name: "RequireBare", req: script.Request{Name: "bare.js"}, wantIs: script.ErrInvalidName, wantErr: "Config.Imports", wantFile: "bare.js", wantLine: 1, wantCol: 17},
		{name: "RequirePlainHTTP", req: script.Request{Name: "plainhttp.js"}, wantIs: script.ErrInvalidName, wantErr: "only on loopback", wantFile: "plainhttp.js", wantLine: 1},
		{name: "RequireFileScheme", req: script.Request{Name: "filescheme.js"}, wantIs: script.ErrInvalidName, wantFile: "filescheme.js", wantLine: 1},
		{name: "RequireAbsolutePath", req: script.Request{Name: "abs.js"}, wantIs: script.ErrInvalidName, wantFile: "abs.js", wantLine: 1},
		{name: "ResultTooLarge", req: script.Request{Name: "big.js"}, wantIs: script.ErrLimit},
		{name: "StackOverflow", req: script.Request{Name: "recurse.js"}, wantIs: script.ErrLimit, wantFile: "recurse.js", wantLine: 1},
		{name: "Timeout", req: script.Request{Name: "loop.js"}, wantIs: context.DeadlineExceeded, wantErr: "timed out", wantFile: "loop.js", wantLine: 1},
		{name: "ThrowString", req: script.Request{Name: "throwstring.js"}, wantErr: "just a string", wantFile: "throwstring.js", wantLine: 1},
		{name: "RequireNonString", req: script.Request{Name: "nonstringreq.js"}, wantErr: "TypeError", wantFile: "nonstringreq.js", wantLine: 1},
		{name: "ThrowingToString", req: script.Request{Name: "badtostring.js"}, wantErr: "toString threw", wantFile: "badtostring.js"},
		{name: "MaintenanceWithoutHost", req: script.Request{Name: "undefined.js", Maintenance: true}, wantIs: script.ErrCapability},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			out, err := b.engine.Run(context.Background(), tt.req)
			if err == nil {
				t.Fatalf("Run() = %q, want an error", out)
			}
			if tt.wantIs != nil && !errors.Is(err, tt.wantIs) {
				t.Errorf("Run() error = %v, want errors.Is %v", err, tt.wantIs)
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("Run() error = %q, want it to contain %q", err, tt.wantErr)
			}
			var se *script.Error
			if !errors.As(err, &se) {
				if tt.wantFile != "" {
					t.Fatalf("Run() error = %v (%T), want a *script.Error", err, err)
				}
				return
			}
			if tt.wantFile == "" {
				t.Fatalf("Run() error = %#v, want no *script.Error", se)
			}
			if se.File != tt.wantFile || se.Script != tt.req.Name {
				t.Errorf("Error.Script, File = %q, %q, want %q, %q", se.Script, se.File, tt.req.Name, tt.wantFile)
			}
			if tt.wantLine != 0 && se.Line != tt.wantLine || tt.wantCol != 0 && se.Col != tt.wantCol {
				t.Errorf("Error position = %d:%d, want %d:%d (%v)", se.Line, se.Col, tt.wantLine, tt.wantCol, se)
			}
			if len(se.Hash) != 64 {
				t.Errorf("Error.Hash = %q, want a SHA-256", se.Hash)
			}
		})
	}
}

func TestErrorStack(t *testing.T) {
	t.Parallel()
	b := setup(t, map[string]string{
		"main.js":    "var m = require(\"./lib/bad\");\nfunction outer() { return m.go(); }\nresult = outer();",
		"lib/bad.js": "exports.go = function inner() { return [1].map(function () { null.x; }); };",
	}, script.Config{})
	_, err := b.engine.Run(context.Background(), script.Request{Name: "main.js"})
	var se *script.Error
	if !errors.As(err, &se) {
		t.Fatalf("Run() error = %v, want a *script.Error", err)
	}
	// goja places a property access at the property and a call at its "(".
	for _, want := range []string{"at <anonymous> (lib/bad.js:1:67)\n\tat native\n\tat inner (lib/bad.js:1:47)\n",
		"at outer (main.js:2:31)", "(main.js:3:15)"} {
		if !strings.Contains(se.Stack, want) {
			t.Errorf("Error.Stack =\n%s\nwant it to contain %q", se.Stack, want)
		}
	}
	if strings.Contains(se.Stack, "github.com") {
		t.Errorf("Error.Stack =\n%s\nwant no Go names", se.Stack)
	}
	if se.File != "lib/bad.js" || se.Line != 1 || se.Col != 67 {
		t.Errorf("Error position = %s:%d:%d, want lib/bad.js:1:67", se.File, se.Line, se.Col)
	}
}

func TestRunTimeoutStopsLoop(t *testing.T) {
	t.Parallel()
	b := setup(t, map[string]string{
		"loop.js":     `while (true) {}`,
		"modloop.js":  `require("./lib/spin");`,
		"lib/spin.js": `for (;;) { [1, 2, 3].map(function (x) { return x * 2; }); }`,
	}, script.Config{Timeout: 100 * time.Millisecond})
	tests := []struct {
		name string
		ctx  func() (context.Context, context.CancelFunc)
		want error
	}{
		{name: "Timeout", ctx: func() (context.Context, context.CancelFunc) { return context.WithCancel(context.Background()) }, want: context.DeadlineExceeded},
		{name: "CallerDeadline", ctx: func() (context.Context, context.CancelFunc) {
			return context.WithTimeout(context.Background(), 50*time.Millisecond)
		}, want: context.DeadlineExceeded},
	}
	for _, tt := range tests {
		for _, name := range []string{"loop.js", "modloop.js"} {
			t.Run(tt.name+"/"+name, func(t *testing.T) {
				t.Parallel()
				ctx, cancel := tt.ctx()
				defer cancel()
				done := make(chan error, 1)
				start := time.Now()
				go func() {
					_, err := b.engine.Run(ctx, script.Request{Name: name})
					done <- err
				}()
				err := waitOrTimeout(t, done, 5*time.Second)
				if !errors.Is(err, tt.want) {
					t.Errorf("Run() error = %v, want %v", err, tt.want)
				}
				if d := time.Since(start); d > 2*time.Second {
					t.Errorf("Run() took %v, want about the 100ms limit", d)
				}
			})
		}
	}
}

func TestRunCancelled(t *testing.T) {
	t.Parallel()
	b := setup(t, map[string]string{"loop.js": `while (true) {}`}, script.Config{})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := b.engine.Run(ctx, script.Request{Name: "loop.js"})
		done <- err
	}()
	cancel()
	err := waitOrTimeout(t, done, 5*time.Second)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Run() error = %v, want context.Canceled", err)
	}
}

func TestRunConcurrent(t *testing.T) {
	t.Parallel()
	b := setup(t, map[string]string{
		"counter.js": `globalThis.count = (globalThis.count || 0) + 1;
var f = require("./lib/f");
f.calls.push(argv[0]);
result = elmcity.hub + ":" + argv[0] + ":" + count + ":" + f.calls.length + ":" + params.n;`,
		"lib/f.js": `exports.calls = [];`,
	}, script.Config{})
	const n = 200
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			hub := fmt.Sprintf("hub%d", i%7)
			req := script.Request{Name: "counter.js", Hub: hub, Argv: []string{fmt.Sprint(i)}, Params: map[string]string{"n": fmt.Sprint(i * 2)}}
			got, err := b.engine.Run(context.Background(), req)
			if err != nil {
				errs <- err
				return
			}
			if want := fmt.Sprintf("%s:%d:1:1:%d", hub, i, i*2); got != want {
				errs <- fmt.Errorf("run %d = %q, want %q", i, got, want)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestRunPicksUpEdits(t *testing.T) {
	t.Parallel()
	clk := newClock()
	b := setup(t, map[string]string{"v.js": `result = "one";`}, script.Config{LocalTTL: time.Second, Now: clk.now})
	steps := []struct {
		edit    string
		advance time.Duration
		want    string
	}{
		{want: "one"},
		{edit: `result = "two, longer";`, advance: 500 * time.Millisecond, want: "one"},
		{advance: time.Second, want: "two, longer"},
	}
	for i, s := range steps {
		if s.edit != "" {
			writeFile(t, b.dir, "v.js", s.edit)
		}
		clk.advance(s.advance)
		if got := b.run(t, script.Request{Name: "v.js"}); got != s.want {
			t.Errorf("step %d: Run() = %q, want %q", i, got, s.want)
		}
	}
}

func TestConsole(t *testing.T) {
	t.Parallel()
	b := setup(t, map[string]string{
		"console.js": `console.log("hello", 1, {a: [1]}, null);
console.info("info");
console.warn("careful");
console.error(new TypeError("bad"));
console.debug("debug");
result = "ok";`,
		"chatty.js": `for (var i = 0; i < 10; i++) console.log("line " + i);
console.log("x".repeat(500));
console.log("after1");
console.log("after2");
result = "ok";`,
	}, script.Config{MaxLogLines: 12, MaxLogBytes: 100})

	b.run(t, script.Request{Name: "console.js", Hub: "elmcity"})
	type rec struct {
		Level       slog.Level
		Msg         string
		Hub, Script string
	}
	var got []rec
	for _, r := range b.logs.Find("") {
		if r.Attrs["script"] == "console.js" && r.Msg != "script modules" {
			got = append(got, rec{r.Level, r.Msg, r.Attrs["hub"], r.Attrs["script"]})
		}
	}
	want := []rec{
		{slog.LevelInfo, `hello 1 {"a":[1]} null`, "elmcity", "console.js"},
		{slog.LevelInfo, "info", "elmcity", "console.js"},
		{slog.LevelWarn, "careful", "elmcity", "console.js"},
		{slog.LevelError, "TypeError: bad", "elmcity", "console.js"},
		{slog.LevelDebug, "debug", "elmcity", "console.js"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("console records mismatch (-want +got):\n%s", diff)
	}

	b.run(t, script.Request{Name: "chatty.js"})
	var lines []string
	for _, r := range b.logs.Find("") {
		if r.Attrs["script"] == "chatty.js" && r.Msg != "script modules" {
			if _, ok := r.Attrs["hub"]; ok {
				t.Errorf("record %q has a hub attribute in a run without a hub", r.Msg)
			}
			lines = append(lines, r.Msg)
		}
	}
	if len(lines) != 13 || !strings.HasSuffix(lines[10], "…(truncated)") || len(lines[10]) > 100 ||
		lines[11] != "after1" || lines[12] != "console output stopped after 12 lines" {
		t.Errorf("chatty console lines = %q, want 12 lines, one truncated to 100 bytes, and a stop notice", lines)
	}
}

func writeFile(t testing.TB, dir, name, src string) {
	t.Helper()
	writeScriptsInto(t, dir, map[string]string{name: src})
}
