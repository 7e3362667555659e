package queue

import (
	"errors"
	"time"
)

// Backoff returns the delay before retry number attempt+1: base doubled
// attempt times, capped at ceiling, with "equal jitter": the result is uniform
// in [d/2, d] for the capped exponential d, so it grows with attempt yet
// spreads retries out. rnd returns values in [0, 1) (math/rand/v2.Float64,
// or a fixed function in tests); nil means no jitter, always d. A ceiling of 0
// or less means no cap; a negative attempt counts as 0.
func Backoff(attempt int, base, ceiling time.Duration, rnd func() float64) time.Duration {
	if base <= 0 {
		return 0
	}
	if attempt < 0 {
		attempt = 0
	}
	limit := ceiling
	if limit <= 0 {
		limit = time.Duration(1<<63 - 1)
	}
	d := base
	for range attempt {
		if d >= limit/2 {
			d = limit
			break
		}
		d *= 2
	}
	d = min(d, limit)
	if rnd == nil {
		return d
	}
	f := rnd()
	if f < 0 || f != f {
		f = 0
	}
	if f > 1 {
		f = 1
	}
	half := d / 2
	return d - half + time.Duration(f*float64(half))
}

// permanentError marks an outcome error as not worth retrying.
type permanentError struct{ err error }

func (e *permanentError) Error() string { return e.err.Error() }
func (e *permanentError) Unwrap() error { return e.err }

// Permanent marks err as a permanent outcome: the worker should park the
// message now rather than retry it (Delivery.Release parks such a cause).
// The mark survives wrapping with %w and errors.Is still sees err's chain.
// Permanent(nil) is nil.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return &permanentError{err: err}
}

// IsPermanent reports whether err, or any error it wraps, was marked by
// Permanent.
func IsPermanent(err error) bool {
	var p *permanentError
	return errors.As(err, &p)
}

// snoozeError asks for a job to be put back untried.
type snoozeError struct {
	delay  time.Duration
	reason string
}

func (e *snoozeError) Error() string { return "snoozed: " + e.reason }

// Snooze is the outcome of a job that could not run yet and is no
// failure (its hub is being aggregated by another run): the worker puts
// it back as a new message, visible after delay, with a fresh dequeue
// count (Delivery.Requeue), so waiting never uses up the attempts that
// decide poison.
func Snooze(delay time.Duration, reason string) error {
	return &snoozeError{delay: delay, reason: reason}
}

// SnoozeDelay reports whether err is a Snooze outcome, and its delay.
func SnoozeDelay(err error) (time.Duration, bool) {
	var s *snoozeError
	if errors.As(err, &s) {
		return s.delay, true
	}
	return 0, false
}
