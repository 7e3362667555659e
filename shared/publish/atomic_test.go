package publish_test

import (
	"context"
	"errors"
	"maps"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/elmcity/elmcity/shared/publish"
)

var errInjected = errors.New("injected transport failure")

func TestReadersNeverSeeAMix(t *testing.T) {
	t.Parallel()
	b := setupSmall(t, publish.Config{})
	ctx := context.Background()
	// Each payload spans six chunk entities in three transactions written
	// concurrently, so a reader following anything but the pointer would
	// see a mix.
	payloads := [][]byte{randomBytes(1<<20, 10), randomBytes(1<<20, 11), randomBytes(1<<20, 12), randomBytes(1<<20, 13)}
	index := make(map[string]int)
	for i, p := range payloads {
		index[sum(p)] = i
	}
	b.publish(t, "mix", payloads[0])

	done := make(chan struct{})
	var pubErr error
	go func() {
		defer close(done)
		for _, p := range payloads[1:] {
			if _, err := b.store.Publish(ctx, publish.Generation{Hub: "mix", Payload: p}); err != nil {
				pubErr = err
				return
			}
		}
	}()

	const readers = 3
	seen := make([][]int, readers) // generation index per load, per reader
	var wg sync.WaitGroup
	for r := range readers {
		wg.Go(func() {
			for running := true; running; {
				select {
				case <-done:
					running = false // one more load after the last publish
				default:
				}
				g, err := b.store.Load(ctx, "mix")
				if err != nil {
					t.Errorf("reader %d: Load() error = %v, want none", r, err)
					return
				}
				i, ok := index[sum(g.Payload)]
				if !ok {
					t.Errorf("reader %d: Load() returned %d bytes that were never published as one generation", r, len(g.Payload))
					return
				}
				seen[r] = append(seen[r], i)
			}
		})
	}
	waitOrTimeout(t, done)
	wg.Wait()
	if pubErr != nil {
		t.Fatalf("Publish() error = %v", pubErr)
	}
	for r, s := range seen {
		if !slices.IsSorted(s) || len(s) == 0 || s[len(s)-1] != len(payloads)-1 {
			t.Errorf("reader %d saw generations %v, want a non-decreasing run ending at %d", r, s, len(payloads)-1)
		}
		t.Logf("reader %d saw generations %v", r, s)
	}
}

func TestInterruptedPublish(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		// fault builds the publisher's transport; cancel cancels Publish's
		// context.
		fault func(cancel context.CancelFunc) *faultTransport
		// orphan: the failed publish cannot clean up after itself, so its
		// chunks wait for Cleanup.
		orphan bool
	}{
		{
			name: "ContextCancelledMidWrite",
			fault: func(cancel context.CancelFunc) *faultTransport {
				var n atomic.Int32
				return &faultTransport{before: func(r *http.Request) error {
					if isBatch(r) && n.Add(1) == 2 {
						cancel()
					}
					return nil
				}}
			},
		},
		{
			name: "TransportFailsAfterFirstTransaction",
			fault: func(context.CancelFunc) *faultTransport {
				// One transaction lands, then every request fails, the
				// clean-up's included. The others wait for the first to
				// land: failing one cancels the rest.
				var batches atomic.Int32
				var broken atomic.Bool
				var once sync.Once
				landed := make(chan struct{})
				return &faultTransport{
					before: func(r *http.Request) error {
						if broken.Load() {
							return errInjected
						}
						if isBatch(r) && batches.Add(1) > 1 {
							select {
							case <-landed:
							case <-r.Context().Done():
							}
							broken.Store(true)
							return errInjected
						}
						return nil
					},
					after: func(r *http.Request) error {
						if isBatch(r) {
							once.Do(func() { close(landed) })
						}
						return nil
					},
				}
			},
			orphan: true,
		},
		{
			name: "SwitchFailsUnsent",
			fault: func(context.CancelFunc) *faultTransport {
				return &faultTransport{before: func(r *http.Request) error {
					if isPointerWrite(r) {
						return errInjected
					}
					return nil
				}}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := setupSmall(t, publish.Config{})
			a := b.publish(t, "hub", randomBytes(256<<10, 20))

			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			faulty := b.storeOn(t, faultyAccount(t, tt.fault(cancel)), 4)
			next := randomBytes(1<<20, 21) // three transactions
			_, err := faulty.Publish(ctx, publish.Generation{Hub: "hub", Payload: next})
			if err == nil || errors.Is(err, publish.ErrStale) {
				t.Fatalf("Publish() through a failing transport error = %v, want a failure other than ErrStale", err)
			}

			got, err := b.store.Load(context.Background(), "hub")
			if err != nil || got.ID != a.ID || sum(got.Payload) != sum(a.Payload) {
				t.Fatalf("Load() = generation %s, %v; want the previous generation %s intact", got.ID, err, a.ID)
			}

			orphans := len(b.generations(t, "hub")) - 1
			if tt.orphan && orphans != 1 {
				t.Fatalf("after the failure %d orphaned generations, want 1", orphans)
			}
			// A young orphan may be a publish in progress: Cleanup leaves it.
			if n, err := b.store.Cleanup(context.Background(), "hub"); err != nil || n != 0 {
				t.Errorf("Cleanup() before OrphanAge = %d, %v; want 0, nil", n, err)
			}
			b.clock.Advance(publish.DefaultOrphanAge + time.Minute)
			// A cancelled transaction can still land after Publish cleaned up,
			// so only the orphan case knows the count.
			if n, err := b.store.Cleanup(context.Background(), "hub"); err != nil || tt.orphan && n != 1 {
				t.Errorf("Cleanup() = %d, %v; want %d, nil", n, err, orphans)
			}
			if diff := cmp.Diff([]string{a.ID}, slices.Sorted(maps.Keys(b.generations(t, "hub")))); diff != "" {
				t.Errorf("generations left (-want +got):\n%s", diff)
			}
			if got, err := b.store.Load(context.Background(), "hub"); err != nil || got.ID != a.ID {
				t.Errorf("Load() after Cleanup = %s, %v; want %s", got.ID, err, a.ID)
			}
		})
	}
}

// TestSwitchResponseLost: the service applies the pointer switch but the
// response never arrives. Publish must find its own generation in the
// pointer and succeed, not discard the chunks now being served.
func TestSwitchResponseLost(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		prior bool // a generation is served, so the switch is a conditional replace
	}{{"Create", false}, {"Replace", true}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := setupSmall(t, publish.Config{})
			var a publish.Generation
			if tt.prior {
				a = b.publish(t, "hub", []byte("previous"))
			}
			faulty := b.storeOn(t, faultyAccount(t, &faultTransport{after: func(r *http.Request) error {
				if isPointerWrite(r) {
					return errInjected
				}
				return nil
			}}), 4)
			payload := randomBytes(512<<10, 30)
			g, err := faulty.Publish(context.Background(), publish.Generation{Hub: "hub", Payload: payload})
			if err != nil {
				t.Fatalf("Publish() error = %v, want success", err)
			}
			got, err := b.store.Load(context.Background(), "hub")
			if err != nil || got.ID != g.ID || sum(got.Payload) != sum(payload) {
				t.Fatalf("Load() = %s, %v; want the new generation %s", got.ID, err, g.ID)
			}
			want := []string{g.ID}
			if tt.prior {
				want = []string{a.ID, g.ID}
			}
			if diff := cmp.Diff(want, slices.Sorted(maps.Keys(b.generations(t, "hub")))); diff != "" {
				t.Errorf("generations (-want +got):\n%s", diff)
			}
		})
	}
}

func TestConcurrentPublishers(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		prior bool // a generation is served: the loser gets 412, else 409
	}{{"Create", false}, {"Replace", true}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := setupSmall(t, publish.Config{})
			var want []string
			if tt.prior {
				want = append(want, b.publish(t, "hub", []byte("previous")).ID)
			}

			// Both publishers read the same pointer before either switches.
			var reads atomic.Int32
			bothRead := make(chan struct{})
			acct := faultyAccount(t, &faultTransport{before: func(r *http.Request) error {
				if !isPointerRead(r) {
					return nil
				}
				switch reads.Add(1) {
				case 1:
				case 2:
					close(bothRead)
				default:
					return nil
				}
				select {
				case <-bothRead:
					return nil
				case <-r.Context().Done():
					return r.Context().Err()
				}
			}})
			stores := []*publish.Store{b.storeOn(t, acct, 4), b.storeOn(t, acct, 4)}
			payloads := [][]byte{randomBytes(512<<10, 40), randomBytes(512<<10, 41)}
			gens := make([]publish.Generation, 2)
			errs := make([]error, 2)
			var wg sync.WaitGroup
			for i := range stores {
				wg.Go(func() {
					gens[i], errs[i] = stores[i].Publish(context.Background(), publish.Generation{Hub: "hub", Payload: payloads[i]})
				})
			}
			wg.Wait()

			winner := slices.IndexFunc(errs, func(err error) bool { return err == nil })
			if winner < 0 || !errors.Is(errs[1-winner], publish.ErrStale) {
				t.Fatalf("Publish() errors = %v, want one nil and one ErrStale", errs)
			}
			got, err := b.store.Load(context.Background(), "hub")
			if err != nil || got.ID != gens[winner].ID || sum(got.Payload) != sum(payloads[winner]) {
				t.Fatalf("Load() = %s, %v; want the winner's generation %s, complete", got.ID, err, gens[winner].ID)
			}
			want = append(want, gens[winner].ID)
			if diff := cmp.Diff(want, slices.Sorted(maps.Keys(b.generations(t, "hub")))); diff != "" {
				t.Errorf("generations (-want +got), the loser's chunks should be gone:\n%s", diff)
			}
		})
	}
}
