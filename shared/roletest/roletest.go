// Package roletest runs a role's run function in-process for end-to-end
// tests: on a free port, with a map-backed getenv, watching its JSON stdout
// for the "listening" line instead of sleeping.
package roletest

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"testing"
	"time"
)

// RunFunc is the shape of every role's run (house style rule 5).
type RunFunc func(ctx context.Context, getenv func(string) string, stdout io.Writer) error

// Role is a running role.
type Role struct {
	// Addr is the host:port the role logged as "listening".
	Addr string
	// Lines receives every stdout line after "listening" (buffered; lines
	// are dropped when nobody reads).
	Lines <-chan string

	cancel context.CancelFunc
	done   chan error
	err    error
	exited bool
}

// Start runs run with env and waits for it to listen. The role is stopped
// at test cleanup if the test did not Stop it.
func Start(tb testing.TB, run RunFunc, env map[string]string) *Role {
	tb.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	addr := make(chan string, 1)
	lines := make(chan string, 1024)
	go func() {
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		listening := false
		for sc.Scan() {
			if listening {
				select {
				case lines <- sc.Text():
				default:
				}
				continue
			}
			var line struct {
				Msg  string `json:"msg"`
				Addr string `json:"addr"`
			}
			if json.Unmarshal(sc.Bytes(), &line) == nil && line.Msg == "listening" {
				listening = true
				addr <- line.Addr
			}
		}
		_, _ = io.Copy(io.Discard, pr)
	}()
	r := &Role{Lines: lines, cancel: cancel, done: make(chan error, 1)}
	go func() {
		r.done <- run(ctx, func(k string) string { return env[k] }, pw)
		_ = pw.Close()
	}()
	select {
	case r.Addr = <-addr:
		tb.Cleanup(func() { _ = r.Stop(tb) })
		return r
	case err := <-r.done:
		cancel()
		tb.Fatalf("run() returned before listening: %v", err)
	case <-time.After(60 * time.Second):
		cancel()
		tb.Fatal("run() did not log \"listening\" within 60s")
	}
	return nil
}

// Stop cancels the role's context and returns run's error.
func (r *Role) Stop(tb testing.TB) error {
	tb.Helper()
	if r.exited {
		return r.err
	}
	r.cancel()
	select {
	case r.err = <-r.done:
		r.exited = true
		return r.err
	case <-time.After(60 * time.Second):
		tb.Fatal("run() did not return within 60s of cancel")
		return nil
	}
}
