package tablestore_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/elmcity/elmcity/shared/azstorage/storagetest"
	"github.com/elmcity/elmcity/shared/tablestore"
)

// clock is an injected, settable clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

func newClockStore(t *testing.T) (*tablestore.Store, *clock) {
	t.Helper()
	acct := storagetest.Account(t)
	clk := &clock{t: time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)}
	s, err := tablestore.Open(context.Background(), acct, tablestore.Config{
		HubsTable: storagetest.Table(t, acct, "hubs"), FeedsTable: storagetest.Table(t, acct, "feeds"), Now: clk.Now,
	})
	if err != nil {
		t.Fatal(err)
	}
	return s, clk
}

func TestLeaseExclusiveAndTakeover(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, clk := newClockStore(t)

	a, err := s.AcquireLease(ctx, "scheduler", "worker-a", 30*time.Second)
	if err != nil {
		t.Fatalf("AcquireLease(a) = %v", err)
	}
	if _, err := s.AcquireLease(ctx, "scheduler", "worker-b", 30*time.Second); !errors.Is(err, tablestore.ErrHeld) {
		t.Fatalf("AcquireLease(b) while a holds = %v, want ErrHeld", err)
	}
	clk.Add(20 * time.Second)
	if a, err = s.RenewLease(ctx, a, 30*time.Second); err != nil {
		t.Fatalf("RenewLease(a) = %v", err)
	}
	clk.Add(20 * time.Second) // 10s left after the renewal
	if _, err := s.AcquireLease(ctx, "scheduler", "worker-b", 30*time.Second); !errors.Is(err, tablestore.ErrHeld) {
		t.Fatalf("AcquireLease(b) after renewal = %v, want ErrHeld", err)
	}
	clk.Add(11 * time.Second) // a's lease expired: b takes over
	b, err := s.AcquireLease(ctx, "scheduler", "worker-b", 30*time.Second)
	if err != nil {
		t.Fatalf("AcquireLease(b) after expiry = %v", err)
	}
	if _, err := s.RenewLease(ctx, a, 30*time.Second); !errors.Is(err, tablestore.ErrLeaseLost) {
		t.Errorf("RenewLease(a) after takeover = %v, want ErrLeaseLost", err)
	}
	if err := s.ReleaseLease(ctx, a); !errors.Is(err, tablestore.ErrLeaseLost) {
		t.Errorf("ReleaseLease(a) after takeover = %v, want ErrLeaseLost", err)
	}
	if held, err := s.LeaseHeld(ctx, "scheduler"); !held || err != nil {
		t.Errorf("LeaseHeld() while b holds = %v, %v", held, err)
	}
	if err := s.ReleaseLease(ctx, b); err != nil {
		t.Fatalf("ReleaseLease(b) = %v", err)
	}
	if held, err := s.LeaseHeld(ctx, "scheduler"); held || err != nil {
		t.Errorf("LeaseHeld() after release = %v, %v", held, err)
	}
	if _, err := s.AcquireLease(ctx, "scheduler", "worker-a", 30*time.Second); err != nil {
		t.Errorf("AcquireLease(a) after release = %v", err)
	}
}

func TestLeaseOneWinnerUnderContention(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, _ := newClockStore(t)
	var wins atomic.Int32
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := s.AcquireLease(ctx, "hub-keene", "w"+string(rune('0'+i)), time.Minute)
			switch {
			case err == nil:
				wins.Add(1)
			case !errors.Is(err, tablestore.ErrHeld):
				t.Errorf("AcquireLease() = %v, want nil or ErrHeld", err)
			}
		}()
	}
	wg.Wait()
	if wins.Load() != 1 {
		t.Errorf("%d holders acquired the lease, want exactly 1", wins.Load())
	}
}

func TestMarks(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, _ := newClockStore(t)
	if got, err := s.Mark(ctx, "purge_logs"); err != nil || !got.IsZero() {
		t.Fatalf("Mark(unset) = %v, %v, want zero", got, err)
	}
	at := time.Date(2026, 11, 24, 3, 0, 0, 0, time.UTC)
	if err := s.SetMark(ctx, "purge_logs", at); err != nil {
		t.Fatal(err)
	}
	if got, err := s.Mark(ctx, "purge_logs"); err != nil || !got.Equal(at) {
		t.Errorf("Mark() = %v, %v, want %v", got, err, at)
	}
	if err := s.SetMark(ctx, "bad name'", at); err == nil {
		t.Error("SetMark(bad name) = nil")
	}
}
