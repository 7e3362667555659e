package queue_test

import (
	"errors"
	"fmt"
	"time"

	"github.com/elmcity/elmcity/shared/queue"
)

// A worker releases a failed job with a growing delay. Pass
// math/rand/v2.Float64 as rnd in production; a fixed value keeps the
// example deterministic.
func ExampleBackoff() {
	half := func() float64 { return 0.5 }
	for attempt := range 6 {
		fmt.Println(attempt, queue.Backoff(attempt, 10*time.Second, 2*time.Minute, half))
	}
	// Output:
	// 0 7.5s
	// 1 15s
	// 2 30s
	// 3 1m0s
	// 4 1m30s
	// 5 1m30s
}

// A handler marks an error that retrying cannot fix; the worker's loop
// parks such a job at once instead of retrying it.
func ExamplePermanent() {
	errBadURL := errors.New("feed URL is not http")
	err := fmt.Errorf("aggregate keene: %w", queue.Permanent(errBadURL))
	fmt.Println(queue.IsPermanent(err), errors.Is(err, errBadURL))
	fmt.Println(queue.IsPermanent(errors.New("timeout")))
	// Output:
	// true true
	// false
}
