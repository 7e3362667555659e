package fetch

import (
	"context"
	"sync"
)

// hostSlots bounds concurrent requests per host with one semaphore per
// host, created on first use and dropped when nobody holds or waits for it,
// so the map does not grow with every host ever fetched.
type hostSlots struct {
	perHost int
	mu      sync.Mutex
	m       map[string]*hostSlot
}

type hostSlot struct {
	sem  chan struct{}
	refs int // holders and waiters; guarded by hostSlots.mu
}

func newHostSlots(perHost int) *hostSlots {
	return &hostSlots{perHost: perHost, m: make(map[string]*hostSlot)}
}

// acquire waits for a slot for host, or for ctx to end. The returned
// function releases the slot.
func (h *hostSlots) acquire(ctx context.Context, host string) (func(), error) {
	h.mu.Lock()
	s := h.m[host]
	if s == nil {
		s = &hostSlot{sem: make(chan struct{}, h.perHost)}
		h.m[host] = s
	}
	s.refs++
	h.mu.Unlock()

	select {
	case s.sem <- struct{}{}:
		return func() {
			<-s.sem
			h.unref(host, s)
		}, nil
	case <-ctx.Done():
		h.unref(host, s)
		return nil, ctx.Err()
	}
}

func (h *hostSlots) unref(host string, s *hostSlot) {
	h.mu.Lock()
	defer h.mu.Unlock()
	s.refs--
	if s.refs == 0 {
		delete(h.m, host)
	}
}
