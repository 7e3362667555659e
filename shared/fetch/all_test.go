package fetch_test

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/elmcity/elmcity/shared/fetch"
)

// gauge counts requests in flight at a server and remembers the most.
type gauge struct {
	mu       sync.Mutex
	cur, max int
}

func (g *gauge) enter() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.cur++
	g.max = max(g.max, g.cur)
}

func (g *gauge) leave() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.cur--
}

func (g *gauge) peak() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.max
}

// TestFetchPerHost saturates one host and checks that a further request to
// it waits while a request to another host name does not.
func TestFetchPerHost(t *testing.T) {
	t.Parallel()
	const perHost = 2
	var g gauge
	arrived := make(chan struct{}, 16)
	release := make(chan struct{})
	b := newBundle(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			g.enter()
			defer g.leave()
			arrived <- struct{}{}
			select {
			case <-release:
			case <-r.Context().Done():
			}
		}
		_, _ = w.Write([]byte(calendar))
	})
	f := newFetcher(t, fetch.Config{
		AllowPrivate: true,
		PerHost:      perHost,
		Resolver:     mapResolver{"other.test": loopback()},
	})

	reqs := make([]fetch.Request, 6)
	for i := range reqs {
		reqs[i] = fetch.Request{URL: b.srv.URL + "/slow"}
	}
	done := make(chan []fetch.Outcome, 1)
	go func() { done <- f.FetchAll(t.Context(), reqs, 0) }()
	for range perHost {
		waitOrTimeout(t, arrived)
	}

	// The host is saturated: a further request to it cannot get a slot...
	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	_, err := f.Fetch(ctx, b.srv.URL+"/fast", fetch.Validators{})
	wantError(t, err, fetch.ClassTimeout, context.DeadlineExceeded)
	// ...while the same server under another name can.
	if _, err := f.Fetch(t.Context(), "http://other.test:"+port(t, b.srv)+"/fast", fetch.Validators{}); err != nil {
		t.Errorf("Fetch() other host = %v, want nil", err)
	}
	if n := len(arrived); n != 0 {
		t.Errorf("%d more requests reached the saturated host, want 0", n)
	}

	close(release)
	var outs []fetch.Outcome
	select {
	case outs = <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("FetchAll() did not return")
	}
	for i, o := range outs {
		if o.Err != nil {
			t.Errorf("FetchAll()[%d] = %v, want nil", i, o.Err)
		}
	}
	if p := g.peak(); p != perHost {
		t.Errorf("peak concurrent requests = %d, want %d", p, perHost)
	}
}

// TestFetchAllLimit checks the hub-wide bound: with limit 2, two requests
// to three different host names reach the server, and no more before the
// context is cancelled.
func TestFetchAllLimit(t *testing.T) {
	t.Parallel()
	const limit = 2
	arrived := make(chan struct{}, 16)
	b := newBundle(t, func(_ http.ResponseWriter, r *http.Request) {
		arrived <- struct{}{}
		<-r.Context().Done()
	})
	f := newFetcher(t, fetch.Config{
		AllowPrivate: true,
		Resolver:     mapResolver{"a.test": loopback(), "b.test": loopback(), "c.test": loopback()},
	})
	var reqs []fetch.Request
	for range 2 {
		for _, h := range []string{"a.test", "b.test", "c.test"} {
			reqs = append(reqs, fetch.Request{URL: "http://" + h + ":" + port(t, b.srv) + "/"})
		}
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan []fetch.Outcome, 1)
	go func() { done <- f.FetchAll(ctx, reqs, limit) }()
	for range limit {
		waitOrTimeout(t, arrived)
	}
	cancel()
	var outs []fetch.Outcome
	select {
	case outs = <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("FetchAll() did not return")
	}
	if n := b.hits.Load(); n != limit {
		t.Errorf("server got %d requests, want %d", n, limit)
	}
	for _, o := range outs {
		wantError(t, o.Err, fetch.ClassOther, context.Canceled)
	}
}

// TestFetchAll checks that outcomes keep the input order and that failing
// feeds do not affect the others.
func TestFetchAll(t *testing.T) {
	t.Parallel()
	var g gauge
	b := setup(t, func(w http.ResponseWriter, r *http.Request) {
		g.enter()
		defer g.leave()
		switch name, ok := strings.CutPrefix(r.URL.Path, "/ok/"); {
		case ok:
			_, _ = w.Write([]byte(name))
		case r.URL.Path == "/fail":
			w.WriteHeader(http.StatusInternalServerError)
		default:
			http.NotFound(w, r)
		}
	}, fetch.Config{})
	reqs := []fetch.Request{
		{URL: b.srv.URL + "/ok/a"},
		{URL: b.srv.URL + "/missing"},
		{URL: "ftp://example.org/cal.ics"},
		{URL: b.srv.URL + "/ok/b"},
		{URL: b.srv.URL + "/fail"},
		{URL: b.srv.URL + "/ok/c"},
	}
	want := []struct {
		body  string
		class fetch.Class
	}{
		{body: "a"}, {class: fetch.ClassHTTP4xx}, {class: fetch.ClassBadURL},
		{body: "b"}, {class: fetch.ClassHTTP5xx}, {body: "c"},
	}
	outs := b.f.FetchAll(t.Context(), reqs, 2)
	if len(outs) != len(reqs) {
		t.Fatalf("FetchAll() = %d outcomes, want %d", len(outs), len(reqs))
	}
	for i, w := range want {
		o := outs[i]
		if w.class != "" {
			wantError(t, o.Err, w.class, nil)
			continue
		}
		if o.Err != nil || string(o.Result.Body) != w.body {
			t.Errorf("FetchAll()[%d] = %q, %v; want %q", i, o.Result.Body, o.Err, w.body)
		}
	}
	if p := g.peak(); p > 2 {
		t.Errorf("peak concurrent requests = %d, want at most 2", p)
	}
}

// TestFetchEachHoldsSlots checks that FetchEach hands outcomes over as
// they come and that a request keeps its hub slot until its handle
// returns: with limit 2 and both handles blocked, no third request is
// sent; once they return, the rest are.
func TestFetchEachHoldsSlots(t *testing.T) {
	t.Parallel()
	const limit = 2
	b := newBundle(t, func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte(calendar)) })
	f := newFetcher(t, fetch.Config{AllowPrivate: true})
	reqs := make([]fetch.Request, 5)
	for i := range reqs {
		reqs[i] = fetch.Request{URL: b.srv.URL + "/" + strings.Repeat("x", i)}
	}
	handed := make(chan int, len(reqs))
	release := make(chan struct{})
	done := make(chan struct{})
	var mu sync.Mutex
	got := map[int]bool{}
	go func() {
		defer close(done)
		f.FetchEach(t.Context(), reqs, limit, func(i int, o fetch.Outcome) {
			if o.Err != nil || string(o.Result.Body) != calendar {
				t.Errorf("outcome %d = %q, %v", i, o.Result.Body, o.Err)
			}
			mu.Lock()
			got[i] = true
			mu.Unlock()
			handed <- i
			<-release
		})
	}()
	for range limit {
		waitOrTimeout(t, handed)
	}
	// Both slots are held by blocked handles: nothing else is fetched.
	time.Sleep(100 * time.Millisecond) // waiting for something not to happen
	if n := b.hits.Load(); n != limit {
		t.Errorf("server got %d requests while both handles were blocked, want %d", n, limit)
	}
	close(release)
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("FetchEach() did not return")
	}
	if len(got) != len(reqs) {
		t.Errorf("handled %d outcomes, want %d", len(got), len(reqs))
	}
}
