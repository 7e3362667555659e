package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/elmcity/elmcity/shared/script"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

var testNow = time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)

// cli runs the command with env as the environment and returns its
// output.
func cli(t testing.TB, env map[string]string, args ...string) (string, string, error) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	err := run(context.Background(), args, func(k string) string { return env[k] }, &stdout, &stderr, func() time.Time { return testNow })
	return stdout.String(), stderr.String(), err
}

// mustCLI runs the command and fails the test on error.
func mustCLI(t testing.TB, env map[string]string, args ...string) string {
	t.Helper()
	out, errOut, err := cli(t, env, args...)
	if err != nil {
		t.Fatalf("run(%q) error = %v\nstderr: %s", args, err, errOut)
	}
	return out
}

func writeTestFile(t testing.TB, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestSignAndVerify(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		env      map[string]string // for keygen and sign
		signURL  string
		checkURL string
		wantErr  string // from verify
	}{
		{name: "Plain", signURL: "https://example.org/s/m.js", checkURL: "https://example.org/s/m.js"},
		{name: "ExtensionAdded", signURL: "https://example.org/s/m", checkURL: "https://example.org/s/m.js"},
		{name: "OtherURL", signURL: "https://example.org/old.js", checkURL: "https://example.org/new.js", wantErr: "signature is for file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			key := filepath.Join(dir, "author")
			file := filepath.Join(dir, "m.js")
			writeTestFile(t, file, `exports.value = 1;`)
			mustCLI(t, tt.env, "keygen", key)
			if info, err := os.Stat(key + ".key"); err != nil || info.Mode().Perm() != 0o600 {
				t.Errorf("secret key file mode = %v, %v, want 0600", info.Mode(), err)
			}
			mustCLI(t, tt.env, "sign", file, "--key", key+".key", "--url", tt.signURL)
			_, _, err := cli(t, nil, "verify", "-pub", key+".pub", "-url", tt.checkURL, file)
			if tt.wantErr == "" {
				if err != nil {
					t.Errorf("verify error = %v", err)
				}
				return
			}
			if !errors.Is(err, script.ErrIntegrity) || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("verify error = %v, want ErrIntegrity containing %q", err, tt.wantErr)
			}
		})
	}
}

// TestEncryptedKey signs with a password-protected key. The key in
// testdata was encrypted with cheap scrypt parameters: minisign.EncryptKey
// (what keygen calls when ELMCITY_SCRIPT_KEY_PASSWORD is set) uses 1 GiB
// and takes seconds, a minute under -race, so keygen's encryption is not
// run here.
func TestEncryptedKey(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	file := filepath.Join(dir, "m.js")
	writeTestFile(t, file, "x")
	key := filepath.Join("testdata", "encrypted")
	const u = "https://a.example/m.js"
	tests := []struct {
		name    string
		env     map[string]string
		wantErr string
	}{
		{name: "NoPassword", wantErr: "set ELMCITY_SCRIPT_KEY_PASSWORD"},
		{name: "WrongPassword", env: map[string]string{"ELMCITY_SCRIPT_KEY_PASSWORD": "nope"}, wantErr: "decryption failed"},
		{name: "Password", env: map[string]string{"ELMCITY_SCRIPT_KEY_PASSWORD": "test-password"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			sig := filepath.Join(dir, tt.name+".minisig")
			_, _, err := cli(t, tt.env, "sign", "-key", key+".key", "-url", u, "-o", sig, file)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("sign error = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("sign error = %v", err)
			}
			mustCLI(t, nil, "verify", "-pub", key+".pub", "-url", u, "-sig", sig, file)
		})
	}
}

func TestCLIErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	key := filepath.Join(dir, "k")
	mustCLI(t, nil, "keygen", key)
	writeTestFile(t, filepath.Join(dir, "m.js"), "x")
	tests := []struct {
		name    string
		args    []string
		wantErr string
	}{
		{name: "NoCommand", args: nil, wantErr: "bad usage"},
		{name: "UnknownCommand", args: []string{"frobnicate"}, wantErr: "bad usage"},
		{name: "KeygenNoOverwrite", args: []string{"keygen", key}, wantErr: "exists"},
		{name: "VerifyNoSignature", args: []string{"verify", "-pub", key + ".pub", "-url", "https://a.example/m.js", filepath.Join(dir, "m.js")}, wantErr: "no such file"},
		{name: "SignPlainHTTP", args: []string{"sign", "-key", key + ".key", "-url", "http://a.example/m.js", filepath.Join(dir, "m.js")}, wantErr: "only on loopback"},
		{name: "SignMissingURL", args: []string{"sign", "-key", key + ".key", filepath.Join(dir, "m.js")}, wantErr: "bad usage"},
		{name: "LockNothing", args: []string{"lock"}, wantErr: "bad usage"},
		{name: "BadFlag", args: []string{"lock", "-nope"}, wantErr: "bad usage"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, _, err := cli(t, nil, tt.args...)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("run(%q) error = %v, want %q", tt.args, err, tt.wantErr)
			}
		})
	}
}

// origin serves files by path and records Authorization headers.
type origin struct {
	srv   *httptest.Server
	mu    sync.Mutex
	files map[string]string
	auth  []string
}

func newOrigin(t testing.TB) *origin {
	t.Helper()
	o := &origin{files: make(map[string]string)}
	o.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		o.mu.Lock()
		defer o.mu.Unlock()
		o.auth = append(o.auth, r.Header.Get("Authorization"))
		body, ok := o.files[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		_, _ = w.Write([]byte(body))
	}))
	t.Cleanup(o.srv.Close)
	return o
}

func (o *origin) set(path, body string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.files[path] = body
}

func sha(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

func TestLock(t *testing.T) {
	t.Parallel()
	o := newOrigin(t)
	const a, b, b2 = `exports.b = require("./b");`, `exports.value = 1;`, `exports.value = 2;`
	o.set("/a.js", a)
	o.set("/b.js", b)
	lockFile := filepath.Join(t.TempDir(), "script.lock")
	env := map[string]string{"ELMCITY_SCRIPT_AUTH_TOKENS": "tok@" + strings.TrimPrefix(o.srv.URL, "http://")}

	out := mustCLI(t, env, "lock", "-lockfile", lockFile, o.srv.URL+"/a")
	if !strings.Contains(out, "2 modules locked") {
		t.Errorf("lock output = %q, want 2 modules locked", out)
	}
	got, err := script.ReadLockFile(lockFile)
	if err != nil {
		t.Fatal(err)
	}
	if got[o.srv.URL+"/a.js"] != sha(a) || got[o.srv.URL+"/b.js"] != sha(b) || len(got) != 2 {
		t.Errorf("lock file = %v, want a.js and b.js", got)
	}
	if strings.Contains(out, "tok") {
		t.Errorf("lock output %q holds the token", out)
	}

	o.set("/b.js", b2)
	mustCLI(t, env, "lock", "-update", "-lockfile", lockFile)
	got, err = script.ReadLockFile(lockFile)
	if err != nil {
		t.Fatal(err)
	}
	if got[o.srv.URL+"/b.js"] != sha(b2) {
		t.Errorf("lock -update: b.js = %s, want %s", got[o.srv.URL+"/b.js"], sha(b2))
	}
	o.mu.Lock()
	for _, h := range o.auth {
		if h != "Bearer tok" {
			t.Errorf("origin saw Authorization %q, want the bearer token", h)
		}
	}
	o.mu.Unlock()

	t.Run("RequiresSignatures", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		mustCLI(t, nil, "keygen", filepath.Join(dir, "k"))
		_, _, err := cli(t, nil, "lock", "-lockfile", filepath.Join(dir, "l"), "-pub", filepath.Join(dir, "k.pub"), o.srv.URL+"/a.js")
		if !errors.Is(err, script.ErrIntegrity) || !strings.Contains(err.Error(), "unsigned") {
			t.Errorf("lock error = %v, want unsigned refused", err)
		}
	})
}

// TestKeygenWritesOutsideTheWorkingFolder checks that keygen with a bare
// name writes into -out, or the user's config folder, never the working
// folder (a repository, often).
func TestKeygenWritesOutsideTheWorkingFolder(t *testing.T) {
	t.Parallel()
	home, out := t.TempDir(), t.TempDir()
	env := map[string]string{"HOME": home}
	mustCLI(t, env, "keygen", "author")
	for _, f := range []string{"author.key", "author.pub"} {
		if _, err := os.Stat(filepath.Join(home, ".config", "elmcity", "keys", f)); err != nil {
			t.Errorf("keygen author did not write %s under ~/.config/elmcity/keys: %v", f, err)
		}
		if _, err := os.Stat(f); err == nil {
			t.Errorf("keygen author wrote %s into the working folder", f)
		}
	}
	mustCLI(t, env, "keygen", "-out", out, "other")
	if _, err := os.Stat(filepath.Join(out, "other.key")); err != nil {
		t.Errorf("keygen -out did not write there: %v", err)
	}
}
