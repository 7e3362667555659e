package queue_test

import (
	"errors"
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/elmcity/elmcity/shared/queue"
)

func TestBackoff(t *testing.T) {
	t.Parallel()
	fixed := func(f float64) func() float64 { return func() float64 { return f } }
	tests := []struct {
		name    string
		attempt int
		base    time.Duration
		max     time.Duration
		rnd     func() float64
		want    time.Duration
	}{
		{name: "FirstNoJitter", attempt: 0, base: time.Second, max: time.Minute, want: time.Second},
		{name: "ThirdNoJitter", attempt: 3, base: time.Second, max: time.Minute, want: 8 * time.Second},
		{name: "Capped", attempt: 10, base: time.Second, max: time.Minute, want: time.Minute},
		{name: "HugeAttemptCapped", attempt: 1000, base: time.Second, max: time.Hour, want: time.Hour},
		{name: "HugeAttemptUncappedNoOverflow", attempt: 1000, base: time.Hour, want: time.Duration(1<<63 - 1)},
		{name: "NegativeAttempt", attempt: -3, base: time.Second, max: time.Minute, want: time.Second},
		{name: "ZeroBase", attempt: 5, base: 0, max: time.Minute, want: 0},
		{name: "JitterLow", attempt: 3, base: time.Second, max: time.Minute, rnd: fixed(0), want: 4 * time.Second},
		{name: "JitterMid", attempt: 3, base: time.Second, max: time.Minute, rnd: fixed(0.5), want: 6 * time.Second},
		{name: "JitterCapped", attempt: 30, base: time.Second, max: time.Minute, rnd: fixed(0.5), want: 45 * time.Second},
		{name: "JitterOutOfRangeClamped", attempt: 0, base: time.Second, max: time.Minute, rnd: fixed(7), want: time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := queue.Backoff(tt.attempt, tt.base, tt.max, tt.rnd); got != tt.want {
				t.Errorf("Backoff(%d, %v, %v) = %v, want %v", tt.attempt, tt.base, tt.max, got, tt.want)
			}
		})
	}
}

func TestBackoffGrowsAndIsBounded(t *testing.T) {
	t.Parallel()
	const base, ceiling = 500 * time.Millisecond, 10 * time.Minute
	for _, f := range []float64{0, 0.25, 0.999999} {
		prev := time.Duration(0)
		for attempt := range 64 {
			got := queue.Backoff(attempt, base, ceiling, func() float64 { return f })
			if got < prev {
				t.Errorf("Backoff(%d) = %v with rnd %v, less than the previous %v", attempt, got, f, prev)
			}
			if got < base/2 || got > ceiling {
				t.Errorf("Backoff(%d) = %v with rnd %v, outside [%v, %v]", attempt, got, f, base/2, ceiling)
			}
			prev = got
		}
		if prev < ceiling/2 {
			t.Errorf("Backoff(63) = %v with rnd %v, want it near the cap %v", prev, f, ceiling)
		}
	}
}

func TestPermanent(t *testing.T) {
	t.Parallel()
	root := errors.New("feed URL is not http")
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{name: "Nil", err: nil},
		{name: "Plain", err: root},
		{name: "Marked", err: queue.Permanent(root), want: true},
		{name: "WrappedOnce", err: fmt.Errorf("fetch feed: %w", queue.Permanent(root)), want: true},
		{name: "WrappedTwice", err: fmt.Errorf("aggregate keene: %w", fmt.Errorf("fetch feed: %w", queue.Permanent(root))), want: true},
		{name: "Joined", err: errors.Join(io.EOF, queue.Permanent(root)), want: true},
		{name: "FormattedWithV", err: fmt.Errorf("fetch feed: %v", queue.Permanent(root))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := queue.IsPermanent(tt.err); got != tt.want {
				t.Errorf("IsPermanent(%v) = %v, want %v", tt.err, got, tt.want)
			}
		})
	}
	if queue.Permanent(nil) != nil {
		t.Errorf("Permanent(nil) != nil")
	}
	p := queue.Permanent(root)
	if !errors.Is(p, root) || p.Error() != root.Error() {
		t.Errorf("Permanent(%v) = %q, want the same message with errors.Is", root, p)
	}
}
