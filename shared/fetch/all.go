package fetch

import (
	"context"
	"sync"
)

// Request is one feed for [Fetcher.FetchAll].
type Request struct {
	// URL is the feed URL.
	URL string
	// Prev is the feed's validators from its last fetch.
	Prev Validators
}

// Outcome is the result of one [Request]: Result when Err is nil.
type Outcome struct {
	Result Result
	// Err is an [*Error], as from [Fetcher.Fetch].
	Err error
}

// FetchAll fetches every request, at most limit at a time (limit <= 0: no
// bound but the per-host one) and at most [Config.PerHost] at a time per
// host, and returns one Outcome per request in the same order. A failing
// feed has no effect on the others. Cancelling ctx fails the fetches not yet
// done with the context's error.
func (f *Fetcher) FetchAll(ctx context.Context, reqs []Request, limit int) []Outcome {
	out := make([]Outcome, len(reqs))
	f.FetchEach(ctx, reqs, limit, func(i int, o Outcome) { out[i] = o })
	return out
}

// FetchEach fetches like [Fetcher.FetchAll] but hands each outcome to
// handle as soon as it is in, from the fetching goroutine, and returns
// once every handle call has returned. A request keeps its slots until
// its handle returns, so a handle that passes the body on to a bounded
// pool of workers also bounds the bodies held: at most limit are fetched
// and not yet taken.
func (f *Fetcher) FetchEach(ctx context.Context, reqs []Request, limit int, handle func(i int, o Outcome)) {
	var hub chan struct{}
	if limit > 0 {
		hub = make(chan struct{}, limit)
	}
	// One goroutine per request, each waiting first for its host's slot
	// and then for a hub slot, so a queue for one busy host never holds hub
	// slots that other hosts could use.
	var wg sync.WaitGroup
	for i, r := range reqs {
		wg.Go(func() {
			res, done, err := f.fetch(ctx, r.URL, r.Prev, hub, GetOptions{})
			defer done()
			handle(i, Outcome{Result: res, Err: err})
		})
	}
	wg.Wait()
}
