package script_test

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"aead.dev/minisign"
	"github.com/elmcity/elmcity/shared/logtest"
	"github.com/elmcity/elmcity/shared/script"
)

// origin is a test web server for modules: files by path, with ETags and
// conditional GETs, request counting, an Authorization log, redirects and
// a switch that makes it answer 503.
type origin struct {
	srv *httptest.Server

	mu        sync.Mutex
	files     map[string]string
	hits      map[string]int
	cond      map[string]int // conditional requests by path
	auth      map[string][]string
	redirects map[string]string
	down      bool
	hang      chan struct{} // when set, requests wait for it or their context
}

func newOrigin(t testing.TB) *origin {
	t.Helper()
	o := &origin{
		files: make(map[string]string), hits: make(map[string]int), cond: make(map[string]int),
		auth: make(map[string][]string), redirects: make(map[string]string),
	}
	o.srv = httptest.NewServer(http.HandlerFunc(o.serve))
	t.Cleanup(o.srv.Close)
	return o
}

func (o *origin) serve(w http.ResponseWriter, r *http.Request) {
	o.mu.Lock()
	o.hits[r.URL.Path]++
	o.auth[r.URL.Path] = append(o.auth[r.URL.Path], r.Header.Get("Authorization"))
	body, ok := o.files[r.URL.Path]
	down, hang, to := o.down, o.hang, o.redirects[r.URL.Path]
	if r.Header.Get("If-None-Match") != "" {
		o.cond[r.URL.Path]++
	}
	o.mu.Unlock()
	if hang != nil {
		select {
		case <-hang:
		case <-r.Context().Done():
			return
		}
	}
	switch {
	case down:
		http.Error(w, "down for maintenance", http.StatusServiceUnavailable)
		return
	case to != "":
		http.Redirect(w, r, to, http.StatusFound)
		return
	case !ok:
		http.NotFound(w, r)
		return
	}
	sum := sha256.Sum256([]byte(body))
	etag := `"` + hex.EncodeToString(sum[:8]) + `"`
	w.Header().Set("ETag", etag)
	if r.Header.Get("If-None-Match") == etag {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	w.Header().Set("Content-Type", "text/javascript")
	_, _ = w.Write([]byte(body))
}

func (o *origin) url(path string) string { return o.srv.URL + path }

func (o *origin) set(path, body string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.files[path] = body
}

func (o *origin) setDown(down bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.down = down
}

func (o *origin) redirect(path, to string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.redirects[path] = to
}

// counts returns the requests and conditional requests for path.
func (o *origin) counts(path string) (int, int) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.hits[path], o.cond[path]
}

func (o *origin) authHeaders(path string) []string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]string(nil), o.auth[path]...)
}

// clock is a settable clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: testNow} }

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// requireScript is a local script that requires argv[0] and returns its
// value export.
func requireScript() map[string]string {
	return map[string]string{"main.js": `result = require(argv[0]).value;`}
}

func sha(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// modulesLogged returns the "modules" attribute of the provenance records.
func modulesLogged(logs *logtest.Recorder) []string {
	var out []string
	for _, r := range logs.Find("script modules") {
		out = append(out, r.Attrs["modules"])
	}
	return out
}

func TestRemoteRevalidation(t *testing.T) {
	t.Parallel()
	o := newOrigin(t)
	o.set("/m.js", `exports.value = "v1";`)
	clk := newClock()
	b := setup(t, requireScript(), script.Config{CacheTTL: time.Minute, Now: clk.now, CacheDir: t.TempDir()})
	u := o.url("/m.js")
	steps := []struct {
		advance   time.Duration
		body      string // new content at the origin, if set
		want      string
		wantHits  int
		wantCond  int
		wantState string
	}{
		{want: "v1", wantHits: 1, wantCond: 0, wantState: "fetched"},
		{advance: 10 * time.Second, want: "v1", wantHits: 1, wantCond: 0, wantState: "fresh"},
		{advance: 2 * time.Minute, want: "v1", wantHits: 2, wantCond: 1, wantState: "revalidated"},
		{advance: 30 * time.Second, want: "v1", wantHits: 2, wantCond: 1, wantState: "fresh"},
		{advance: 2 * time.Minute, body: `exports.value = "v2";`, want: "v2", wantHits: 3, wantCond: 2, wantState: "fetched"},
	}
	for i, s := range steps {
		clk.advance(s.advance)
		if s.body != "" {
			o.set("/m.js", s.body)
		}
		if got := b.run(t, script.Request{Name: "main.js", Argv: []string{u}, Hub: "h"}); got != s.want {
			t.Fatalf("step %d: Run() = %q, want %q", i, got, s.want)
		}
		hits, cond := o.counts("/m.js")
		if hits != s.wantHits || cond != s.wantCond {
			t.Errorf("step %d: origin saw %d requests (%d conditional), want %d (%d)", i, hits, cond, s.wantHits, s.wantCond)
		}
		logged := modulesLogged(b.logs)
		if last := logged[len(logged)-1]; !strings.Contains(last, u+" sha256:") || !strings.Contains(last, "state:"+s.wantState) {
			t.Errorf("step %d: provenance %q, want %s in state %s", i, last, u, s.wantState)
		}
	}
}

func TestRemoteConcurrentColdCache(t *testing.T) {
	t.Parallel()
	o := newOrigin(t)
	o.set("/m.js", `exports.value = "shared";`)
	b := setup(t, requireScript(), script.Config{})
	var wg sync.WaitGroup
	errs := make(chan error, 50)
	for range 50 {
		wg.Go(func() {
			got, err := b.engine.Run(context.Background(), script.Request{Name: "main.js", Argv: []string{o.url("/m.js")}})
			if err != nil || got != "shared" {
				errs <- fmt.Errorf("Run() = %q, %v", got, err)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if hits, _ := o.counts("/m.js"); hits != 1 {
		t.Errorf("origin saw %d requests, want 1", hits)
	}
}

func TestRemoteCredentials(t *testing.T) {
	t.Parallel()
	// Each case gets origins A and B; A redirects /moved.js to B's /b.js.
	// Tokens name the hosts as "A" and "B", replaced by their host:port.
	tests := []struct {
		name   string
		tokens string
		path   string
		wantA  []string // Authorization headers origin A saw for path
		wantB  []string // and origin B saw for /b.js
	}{
		{name: "TokenReachesItsHost", tokens: "secret-a@A", path: "/a.js", wantA: []string{"Bearer secret-a"}},
		{name: "RedirectToOtherHostGetsNone", tokens: "secret-a@A", path: "/moved.js",
			wantA: []string{"Bearer secret-a"}, wantB: []string{""}},
		{name: "RedirectGetsOnlyItsOwn", tokens: "secret-a@A;user:pw-b@B", path: "/moved.js",
			wantA: []string{"Bearer secret-a"}, wantB: []string{"Basic dXNlcjpwdy1i"}},
		{name: "OtherPortGetsNone", tokens: "secret-a@B", path: "/a.js", wantA: []string{""}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			a, bsrv := newOrigin(t), newOrigin(t)
			a.set("/a.js", `exports.value = "a";`)
			a.redirect("/moved.js", bsrv.url("/b.js"))
			bsrv.set("/b.js", `exports.value = "b";`)
			tokens := strings.NewReplacer("@A", "@"+strings.TrimPrefix(a.srv.URL, "http://"),
				"@B", "@"+strings.TrimPrefix(bsrv.srv.URL, "http://")).Replace(tt.tokens)
			b := setup(t, requireScript(), script.Config{AuthTokens: tokens})
			b.run(t, script.Request{Name: "main.js", Argv: []string{a.url(tt.path)}, Hub: "h"})
			if got := a.authHeaders(tt.path); fmt.Sprint(got) != fmt.Sprint(tt.wantA) {
				t.Errorf("origin A saw Authorization %q, want %q", got, tt.wantA)
			}
			if got := bsrv.authHeaders("/b.js"); fmt.Sprint(got) != fmt.Sprint(tt.wantB) {
				t.Errorf("origin B saw Authorization %q, want %q", got, tt.wantB)
			}
			for _, r := range b.logs.Find("") {
				if strings.Contains(fmt.Sprint(r), "secret-a") || strings.Contains(fmt.Sprint(r), "pw-b") {
					t.Errorf("a log record holds a credential: %v", r)
				}
			}
		})
	}
	t.Run("ConfigRedactsTokens", func(t *testing.T) {
		t.Parallel()
		var sb strings.Builder
		slog.New(slog.NewTextHandler(&sb, nil)).Info("config", "cfg", script.Config{AuthTokens: "secret-a@x"})
		if strings.Contains(sb.String(), "secret-a") {
			t.Errorf("logged config %q holds the token", sb.String())
		}
	})
}

func TestRemoteLock(t *testing.T) {
	t.Parallel()
	const good, bad = `exports.value = "good";`, `exports.value = "evil";`
	tests := []struct {
		name    string
		lock    string // lock file content; %s is replaced by the module URL
		serve   string
		wantErr string
		want    string
	}{
		{name: "Match", lock: `{"version": 1, "remote": {"%s": "` + sha(good) + `"}}`, serve: good, want: "good"},
		{name: "Tampered", lock: `{"version": 1, "remote": {"%s": "` + sha(good) + `"}}`, serve: bad,
			wantErr: "has sha256 " + sha(good) + ", the content has sha256 " + sha(bad)},
		{name: "NotLocked", lock: `{"version": 1, "remote": {}}`, serve: good, wantErr: "is not in lock file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			o := newOrigin(t)
			o.set("/m.js", tt.serve)
			lockPath := filepath.Join(t.TempDir(), "script.lock")
			if err := os.WriteFile(lockPath, []byte(strings.ReplaceAll(tt.lock, "%s", o.url("/m.js"))), 0o600); err != nil {
				t.Fatal(err)
			}
			b := setup(t, requireScript(), script.Config{Lock: script.LockVerify, LockFile: lockPath})
			got, err := b.engine.Run(context.Background(), script.Request{Name: "main.js", Argv: []string{o.url("/m.js")}})
			if tt.wantErr == "" {
				if err != nil || got != tt.want {
					t.Errorf("Run() = %q, %v, want %q", got, err, tt.want)
				}
				return
			}
			if !errors.Is(err, script.ErrIntegrity) || !strings.Contains(err.Error(), tt.wantErr) || !strings.Contains(err.Error(), o.url("/m.js")) {
				t.Errorf("Run() = %q, %v, want ErrIntegrity naming the URL and %q", got, err, tt.wantErr)
			}
		})
	}

	t.Run("ChangedBodyKeepsVerifiedCopy", func(t *testing.T) {
		t.Parallel()
		o := newOrigin(t)
		o.set("/m.js", good)
		lockPath := filepath.Join(t.TempDir(), "script.lock")
		clk := newClock()
		cacheDir := t.TempDir()
		update := setup(t, requireScript(), script.Config{Lock: script.LockUpdate, LockFile: lockPath})
		update.run(t, script.Request{Name: "main.js", Argv: []string{o.url("/m.js")}})
		locked, err := script.ReadLockFile(lockPath)
		if err != nil || locked[o.url("/m.js")] != sha(good) {
			t.Fatalf("ReadLockFile() = %v, %v, want the good hash recorded", locked, err)
		}

		b := setup(t, requireScript(), script.Config{Lock: script.LockVerify, LockFile: lockPath, CacheDir: cacheDir, CacheTTL: time.Minute, Now: clk.now})
		req := script.Request{Name: "main.js", Argv: []string{o.url("/m.js")}}
		if got := b.run(t, req); got != "good" {
			t.Fatalf("Run() = %q, want good", got)
		}
		o.set("/m.js", bad)
		clk.advance(2 * time.Minute)
		if _, err := b.engine.Run(context.Background(), req); !errors.Is(err, script.ErrIntegrity) {
			t.Fatalf("Run() with tampered origin error = %v, want ErrIntegrity", err)
		}
		// The verified copy is still the cached one: with the origin down, it runs.
		o.setDown(true)
		if got := b.run(t, req); got != "good" {
			t.Errorf("Run() with origin down = %q, want the verified copy", got)
		}
	})
}

// signer holds a key pair for signing test modules.
type signer struct {
	pub  minisign.PublicKey
	priv minisign.PrivateKey
}

func newSigner(t testing.TB) signer {
	t.Helper()
	pub, priv, err := minisign.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return signer{pub: pub, priv: priv}
}

func (s signer) pubText(t testing.TB) string {
	t.Helper()
	b, err := s.pub.MarshalText()
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestRemoteSignatures(t *testing.T) {
	t.Parallel()
	trusted, stranger := newSigner(t), newSigner(t)
	const body = `exports.value = "signed";`
	tests := []struct {
		name    string
		mode    script.SignatureMode
		setup   func(o *origin) // serves /m.js and maybe /m.js.minisig
		wantErr string
	}{
		{name: "Good", mode: script.SignaturesRequire, setup: func(o *origin) {
			o.set("/m.js", body)
			o.set("/m.js.minisig", string(script.SignModule(trusted.priv, o.url("/m.js"), []byte(body), testNow)))
		}},
		{name: "TamperedBody", mode: script.SignaturesRequire, setup: func(o *origin) {
			o.set("/m.js", `exports.value = "evil";`)
			o.set("/m.js.minisig", string(script.SignModule(trusted.priv, o.url("/m.js"), []byte(body), testNow)))
		}, wantErr: "bad signature"},
		{name: "TamperedInVerifyMode", mode: script.SignaturesVerify, setup: func(o *origin) {
			o.set("/m.js", `exports.value = "evil";`)
			o.set("/m.js.minisig", string(script.SignModule(trusted.priv, o.url("/m.js"), []byte(body), testNow)))
		}, wantErr: "bad signature"},
		{name: "Unsigned", mode: script.SignaturesRequire, setup: func(o *origin) {
			o.set("/m.js", body)
		}, wantErr: "is unsigned"},
		{name: "UnsignedAllowedInVerifyMode", mode: script.SignaturesVerify, setup: func(o *origin) {
			o.set("/m.js", body)
		}},
		{name: "UntrustedKey", mode: script.SignaturesRequire, setup: func(o *origin) {
			o.set("/m.js", body)
			o.set("/m.js.minisig", string(script.SignModule(stranger.priv, o.url("/m.js"), []byte(body), testNow)))
		}, wantErr: "which is not trusted"},
		{name: "SignedForAnotherName", mode: script.SignaturesRequire, setup: func(o *origin) {
			o.set("/m.js", body)
			o.set("/m.js.minisig", string(script.SignModule(trusted.priv, o.url("/old.js"), []byte(body), testNow)))
		}, wantErr: "signature is for file"},
		{name: "Garbage", mode: script.SignaturesRequire, setup: func(o *origin) {
			o.set("/m.js", body)
			o.set("/m.js.minisig", "not a signature")
		}, wantErr: "malformed signature"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			o := newOrigin(t)
			tt.setup(o)
			b := setup(t, requireScript(), script.Config{Signatures: tt.mode, TrustedKeys: []string{trusted.pubText(t)}})
			got, err := b.engine.Run(context.Background(), script.Request{Name: "main.js", Argv: []string{o.url("/m.js")}})
			if tt.wantErr == "" {
				if err != nil || got != "signed" {
					t.Fatalf("Run() = %q, %v, want signed", got, err)
				}
				if tt.mode == script.SignaturesRequire {
					logged := modulesLogged(b.logs)
					if want := "signer:" + script.KeyID(trusted.pub.ID()); len(logged) != 1 || !strings.Contains(logged[0], want) {
						t.Errorf("provenance = %q, want %q", logged, want)
					}
				}
				return
			}
			if !errors.Is(err, script.ErrIntegrity) || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("Run() = %q, %v, want ErrIntegrity containing %q", got, err, tt.wantErr)
			}
		})
	}
}

func TestRemoteOffline(t *testing.T) {
	t.Parallel()
	o := newOrigin(t)
	o.set("/m.js", `exports.value = "cached";`)
	clk := newClock()
	cacheDir := t.TempDir()
	cfg := script.Config{CacheDir: cacheDir, CacheTTL: time.Minute, Now: clk.now}
	b := setup(t, requireScript(), cfg)
	req := script.Request{Name: "main.js", Argv: []string{o.url("/m.js")}, Hub: "elmcity"}
	b.run(t, req)

	o.setDown(true)
	clk.advance(2 * time.Minute)
	if got := b.run(t, req); got != "cached" {
		t.Fatalf("Run() with origin down = %q, want the cached copy", got)
	}
	warns := b.logs.Find("origin unavailable")
	if len(warns) != 1 || warns[0].Level != slog.LevelWarn || warns[0].Attrs["hub"] != "elmcity" || warns[0].Attrs["url"] != o.url("/m.js") {
		t.Errorf("warnings = %+v, want one Warn with hub elmcity and the URL", warns)
	}
	if logged := modulesLogged(b.logs); !strings.Contains(logged[len(logged)-1], "state:stale") {
		t.Errorf("provenance = %q, want state:stale", logged[len(logged)-1])
	}
	// Within StaleRetry the origin is not asked again.
	hits, _ := o.counts("/m.js")
	b.run(t, req)
	if again, _ := o.counts("/m.js"); again != hits {
		t.Errorf("origin saw %d more requests within StaleRetry, want 0", again-hits)
	}

	t.Run("NewProcessUsesDiskCache", func(t *testing.T) {
		t.Parallel()
		b2 := setup(t, requireScript(), cfg)
		if got := b2.run(t, req); got != "cached" {
			t.Errorf("Run() from disk cache with origin down = %q, want cached", got)
		}
	})
	t.Run("NothingCached", func(t *testing.T) {
		t.Parallel()
		b2 := setup(t, requireScript(), script.Config{CacheDir: t.TempDir()})
		_, err := b2.engine.Run(context.Background(), script.Request{Name: "main.js", Argv: []string{o.url("/other.js")}})
		if !errors.Is(err, script.ErrUnavailable) || !strings.Contains(err.Error(), "503") {
			t.Errorf("Run() error = %v, want ErrUnavailable with the status", err)
		}
	})
	t.Run("TamperedDiskCacheIgnored", func(t *testing.T) {
		t.Parallel()
		o2 := newOrigin(t)
		const body = `exports.value = "on disk";`
		o2.set("/m.js", body)
		dir := t.TempDir()
		r := script.Request{Name: "main.js", Argv: []string{o2.url("/m.js")}}
		setup(t, requireScript(), script.Config{CacheDir: dir}).run(t, r)
		blob := filepath.Join(dir, "blobs", sha(body))
		if err := os.WriteFile(blob, []byte(`exports.value = "evil";`), 0o600); err != nil {
			t.Fatal(err)
		}
		o2.setDown(true)
		_, err := setup(t, requireScript(), script.Config{CacheDir: dir}).engine.Run(context.Background(), r)
		if !errors.Is(err, script.ErrUnavailable) {
			t.Errorf("Run() with a tampered cache and origin down error = %v, want ErrUnavailable", err)
		}
	})
	t.Run("ClosedOrigin", func(t *testing.T) {
		t.Parallel()
		gone := newOrigin(t)
		gone.set("/m.js", `exports.value = "before";`)
		c := newClock()
		b2 := setup(t, requireScript(), script.Config{CacheTTL: time.Minute, Now: c.now})
		r := script.Request{Name: "main.js", Argv: []string{gone.url("/m.js")}}
		b2.run(t, r)
		gone.srv.Close()
		c.advance(2 * time.Minute)
		if got := b2.run(t, r); got != "before" {
			t.Errorf("Run() with origin closed = %q, want before", got)
		}
	})
}

func TestRemoteFetchLimits(t *testing.T) {
	t.Parallel()
	o := newOrigin(t)
	o.set("/big.js", "// "+strings.Repeat("x", 5000))
	o.set("/http.js", `exports.value = require("http://example.com/x.js");`)
	slow := newOrigin(t)
	slow.set("/slow.js", `exports.value = 1;`)
	slow.hang = make(chan struct{})
	t.Cleanup(func() { close(slow.hang) })
	b := setup(t, requireScript(), script.Config{MaxModuleBytes: 1000, FetchTimeout: 100 * time.Millisecond})
	tests := []struct {
		name   string
		url    string
		wantIs error
	}{
		{name: "TooBig", url: o.url("/big.js"), wantIs: script.ErrLimit},
		{name: "Slow", url: slow.url("/slow.js"), wantIs: script.ErrUnavailable},
		{name: "NotFound", url: o.url("/none.js"), wantIs: script.ErrNotFound},
		{name: "PlainHTTPFromRemote", url: o.url("/http.js"), wantIs: script.ErrInvalidName},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := b.engine.Run(context.Background(), script.Request{Name: "main.js", Argv: []string{tt.url}})
			if !errors.Is(err, tt.wantIs) {
				t.Errorf("Run() error = %v, want %v", err, tt.wantIs)
			}
		})
	}
}

func TestRemoteSourceAndImports(t *testing.T) {
	t.Parallel()
	o := newOrigin(t)
	o.set("/scripts/services/hello.js", `var f = require("../lib/fmt"); var std = require("std/pad"); result = std.pad(f.shout(argv[0]));`)
	o.set("/scripts/lib/fmt.js", `exports.shout = function (s) { return s.toUpperCase(); };`)
	o.set("/std/v1/pad.js", `exports.pad = function (s) { return "[" + s + "]"; };`)
	b := setup(t, map[string]string{"lib/fmt.js": `exports.shout = function () { return "LOCAL"; };`}, script.Config{
		Source:  o.url("/scripts"),
		Imports: map[string]string{"std/": o.url("/std/v1/")},
	})
	if got := b.run(t, script.Request{Name: "services/hello", Argv: []string{"hi"}}); got != "[HI]" {
		t.Errorf("Run() = %q, want [HI]", got)
	}
	infos, err := b.engine.Preload(context.Background(), "services/hello")
	if err != nil || len(infos) != 3 || infos[0].Name != o.url("/scripts/services/hello.js") || infos[0].State != "fresh" {
		t.Errorf("Preload() = %+v, %v, want hello.js and its two modules, fresh", infos, err)
	}
	// Static requires were fetched before the run started.
	logged := modulesLogged(b.logs)
	for _, want := range []string{o.url("/scripts/services/hello.js"), o.url("/scripts/lib/fmt.js"), o.url("/std/v1/pad.js")} {
		if len(logged) != 1 || !strings.Contains(logged[0], want) {
			t.Errorf("provenance %q does not name %s", logged, want)
		}
	}
}

func TestPreload(t *testing.T) {
	t.Parallel()
	o := newOrigin(t)
	o.set("/a.js", `require("./b.js"); exports.value = 1;`)
	o.set("/b.js", `exports.value = 2;`)
	lockPath := filepath.Join(t.TempDir(), "script.lock")
	e := newEngine(t, script.Config{Source: t.TempDir(), Lock: script.LockUpdate, LockFile: lockPath})
	infos, err := e.Preload(context.Background(), o.url("/a.js"))
	if err != nil {
		t.Fatalf("Preload() error = %v", err)
	}
	if len(infos) != 2 || infos[0].State != "fetched" || infos[1].Name != o.url("/b.js") {
		t.Errorf("Preload() = %+v, want a.js and b.js fetched", infos)
	}
	locked, err := script.ReadLockFile(lockPath)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{o.url("/a.js"): sha(`require("./b.js"); exports.value = 1;`), o.url("/b.js"): sha(`exports.value = 2;`)}
	if fmt.Sprint(locked) != fmt.Sprint(want) {
		t.Errorf("lock file = %v, want %v", locked, want)
	}
}

func TestNewConfigErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		cfg  script.Config
		want string
	}{
		{name: "MissingSource", cfg: script.Config{Source: "/nonexistent/elmcity"}, want: "Config.Source"},
		{name: "PlainHTTPSource", cfg: script.Config{Source: "http://example.com/scripts/"}, want: "Config.Source"},
		{name: "BadTokens", cfg: script.Config{AuthTokens: "no-at-sign"}, want: "Config.AuthTokens: entry 1"},
		{name: "BadKey", cfg: script.Config{TrustedKeys: []string{"nope"}}, want: "Config.TrustedKeys[0]"},
		{name: "RequireWithoutKeys", cfg: script.Config{Signatures: script.SignaturesRequire}, want: "Config.Signatures"},
		{name: "LockWithoutFile", cfg: script.Config{Lock: script.LockVerify}, want: "Config.LockFile"},
		{name: "MissingLockFile", cfg: script.Config{Lock: script.LockVerify, LockFile: "/nonexistent/lock"}, want: "Config.LockFile"},
		{name: "BadMode", cfg: script.Config{Lock: "sometimes"}, want: "Config.Lock"},
		{name: "BadImport", cfg: script.Config{Imports: map[string]string{"./x": "https://a/"}}, want: "Config.Imports"},
		{name: "Negative", cfg: script.Config{Timeout: -1}, want: "Config.Timeout"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if tt.cfg.Source == "" {
				tt.cfg.Source = t.TempDir()
			}
			e, err := script.New(tt.cfg)
			if err == nil {
				_ = e.Close()
				t.Fatalf("New() error = nil, want one naming %s", tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) || strings.Contains(err.Error(), "no-at-sign") {
				t.Errorf("New() error = %v, want it to name %s (and no credential)", err, tt.want)
			}
		})
	}
}

// TestReadFile checks that data files come from the local folder or the
// remote base as modules do: the signature policy applies, the last
// verified copy serves while the origin is down, and bad names and
// missing files are told apart.
func TestReadFile(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	local := setup(t, map[string]string{"maintenance/schedule.json": `{"tasks":[]}`}, script.Config{})
	if b, err := local.engine.ReadFile(ctx, "maintenance/schedule.json"); err != nil || string(b) != `{"tasks":[]}` {
		t.Errorf("ReadFile(local) = %q, %v", b, err)
	}
	for _, name := range []string{"../etc/passwd.json", "maintenance/run.js", "/abs.json"} {
		if _, err := local.engine.ReadFile(ctx, name); !errors.Is(err, script.ErrInvalidName) {
			t.Errorf("ReadFile(%q) = %v, want ErrInvalidName", name, err)
		}
	}
	if _, err := local.engine.ReadFile(ctx, "none.json"); !errors.Is(err, script.ErrNotFound) {
		t.Errorf("ReadFile(missing) = %v, want ErrNotFound", err)
	}

	trusted := newSigner(t)
	o := newOrigin(t)
	const body = `{"tasks":[{"name":"purge","script":"maintenance/purge_logs.js","every":"24h"}]}`
	o.set("/s/maintenance/schedule.json", body)
	required := setup(t, nil, script.Config{Source: o.url("/s/"), Signatures: script.SignaturesRequire, TrustedKeys: []string{trusted.pubText(t)}})
	if _, err := required.engine.ReadFile(ctx, "maintenance/schedule.json"); !errors.Is(err, script.ErrIntegrity) {
		t.Errorf("ReadFile(unsigned, signatures required) = %v, want ErrIntegrity", err)
	}
	o.set("/s/maintenance/schedule.json.minisig", string(script.SignModule(trusted.priv, o.url("/s/maintenance/schedule.json"), []byte(body), testNow)))
	if b, err := required.engine.ReadFile(ctx, "maintenance/schedule.json"); err != nil || string(b) != body {
		t.Errorf("ReadFile(signed) = %q, %v", b, err)
	}
	o.setDown(true)
	if b, err := required.engine.ReadFile(ctx, "maintenance/schedule.json"); err != nil || string(b) != body {
		t.Errorf("ReadFile(origin down) = %q, %v; want the last verified copy", b, err)
	}
}
