package fetch_test

import (
	"context"
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/elmcity/elmcity/shared/fetch"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// testBundle is one test's server and Fetcher.
type testBundle struct {
	srv   *httptest.Server
	f     *fetch.Fetcher
	hits  *atomic.Int64 // requests the server received
	conns *atomic.Int64 // connections the server accepted
}

// setup starts a loopback server for h and a Fetcher that may reach it
// (AllowPrivate), both closed when the test ends.
func setup(t testing.TB, h http.HandlerFunc, cfg fetch.Config) testBundle {
	t.Helper()
	cfg.AllowPrivate = true
	b := newBundle(t, h)
	b.f = newFetcher(t, cfg)
	return b
}

// newBundle starts a loopback server for h that counts requests and
// connections; the Fetcher is left to the caller.
func newBundle(t testing.TB, h http.HandlerFunc) testBundle {
	t.Helper()
	b := testBundle{hits: new(atomic.Int64), conns: new(atomic.Int64)}
	b.srv = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b.hits.Add(1)
		h(w, r)
	}))
	b.srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			b.conns.Add(1)
		}
	}
	b.srv.Config.ErrorLog = discardLog()
	b.srv.Start()
	t.Cleanup(b.srv.Close)
	return b
}

// discardLog silences a test server's log of the connections tests break
// on purpose.
func discardLog() *log.Logger { return log.New(io.Discard, "", 0) }

// newFetcher returns a Fetcher for cfg whose idle connections are closed
// when the test ends.
func newFetcher(t testing.TB, cfg fetch.Config) *fetch.Fetcher {
	t.Helper()
	f, err := fetch.New(cfg)
	if err != nil {
		t.Fatalf("New() = %v", err)
	}
	t.Cleanup(f.CloseIdleConnections)
	return f
}

// port returns the port of a server's URL.
func port(t testing.TB, srv *httptest.Server) string {
	t.Helper()
	_, p, err := net.SplitHostPort(strings.TrimPrefix(strings.TrimPrefix(srv.URL, "http://"), "https://"))
	if err != nil {
		t.Fatalf("SplitHostPort(%s) = %v", srv.URL, err)
	}
	return p
}

// waitOrTimeout waits for ch to yield or close, failing the test after a
// generous limit.
func waitOrTimeout[T any](t testing.TB, ch <-chan T) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(10 * time.Second):
		t.Fatal("timed out waiting")
	}
}

// wantError checks that err is an *fetch.Error of class, matching target
// with errors.Is when target is not nil.
func wantError(t testing.TB, err error, class fetch.Class, target error) {
	t.Helper()
	_ = wantFetchError(t, err, class, target)
}

// wantFetchError is wantError returning the *fetch.Error.
func wantFetchError(t testing.TB, err error, class fetch.Class, target error) *fetch.Error {
	t.Helper()
	if err == nil {
		t.Fatalf("Fetch() error = nil, want class %s", class)
	}
	fe, ok := errors.AsType[*fetch.Error](err)
	if !ok {
		t.Fatalf("Fetch() error = %T %v, want *fetch.Error", err, err)
	}
	if fe.Class != class {
		t.Errorf("Fetch() error class = %s, want %s (error: %v)", fe.Class, class, err)
	}
	if got := fetch.ClassOf(err); got != class {
		t.Errorf("ClassOf() = %s, want %s", got, class)
	}
	if target != nil && !errors.Is(err, target) {
		t.Errorf("errors.Is(%v, %v) = false, want true", err, target)
	}
	return fe
}

// mapResolver is a fetch.Resolver from a fixed table, so tests can give
// public-looking names loopback addresses without real DNS.
type mapResolver map[string][]netip.Addr

var _ fetch.Resolver = mapResolver(nil)

func (m mapResolver) LookupNetIP(_ context.Context, _, host string) ([]netip.Addr, error) {
	ips, ok := m[host]
	if !ok {
		return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
	}
	return ips, nil
}

// loopback is the resolver answer for names mapped to the test server.
func loopback() []netip.Addr { return []netip.Addr{netip.MustParseAddr("127.0.0.1")} }

// stepClock is a clock that advances by step on every reading.
type stepClock struct {
	mu   sync.Mutex
	t    time.Time
	step time.Duration
}

func (c *stepClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(c.step)
	return c.t
}
