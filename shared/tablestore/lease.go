package tablestore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"
)

// ErrHeld is returned by AcquireLease while another holder's lease is
// unexpired.
var ErrHeld = errors.New("lease held by another holder")

// HeldError is the error AcquireLease returns for a lease another holder
// has: who holds it, since when and until when (Acquired is zero when the
// lease was taken concurrently and is not known). It matches ErrHeld.
type HeldError struct {
	Name, Holder      string
	Acquired, Expires time.Time
}

func (e *HeldError) Error() string {
	if e.Holder == "" {
		return fmt.Sprintf("acquire lease %s: %v (taken concurrently)", e.Name, ErrHeld)
	}
	return fmt.Sprintf("acquire lease %s: %v by %s until %s", e.Name, ErrHeld, e.Holder, e.Expires.Format(time.RFC3339))
}

// Unwrap makes errors.Is(err, ErrHeld) hold.
func (e *HeldError) Unwrap() error { return ErrHeld }

// ErrLeaseLost is returned by RenewLease and ReleaseLease when the lease
// was taken over (it expired and another holder acquired it).
var ErrLeaseLost = errors.New("lease lost")

// Lease is a named, time-limited claim stored in a table entity and
// changed only with ETag preconditions, so two holders can never both
// believe they hold it (the scheduler's leadership, a hub's aggregation).
type Lease struct {
	Name     string
	Holder   string
	Acquired time.Time // when this holder took it (kept across renewals)
	Expires  time.Time
	etag     azcore.ETag
}

const leasePartition = "lease"

var leaseName = regexp.MustCompile(`^[A-Za-z0-9_-]{1,100}$`)

type leaseEntity struct {
	aztables.Entity
	Holder   string
	Acquired time.Time
	Expires  time.Time
}

func (s *Store) leaseBody(l Lease) ([]byte, error) {
	return json.Marshal(leaseEntity{
		Entity: aztables.Entity{PartitionKey: leasePartition, RowKey: l.Name},
		Holder: l.Holder, Acquired: l.Acquired.UTC(), Expires: l.Expires.UTC(),
	})
}

// AcquireLease takes the named lease for holder for ttl if it is free,
// expired, or already this holder's (then it is renewed). Otherwise it
// returns ErrHeld, with the current holder and expiry in the message.
func (s *Store) AcquireLease(ctx context.Context, name, holder string, ttl time.Duration) (Lease, error) {
	if !leaseName.MatchString(name) || holder == "" || ttl <= 0 {
		return Lease{}, fmt.Errorf("acquire lease %q: invalid name, holder or ttl", name)
	}
	now := s.now()
	l := Lease{Name: name, Holder: holder, Acquired: now, Expires: now.Add(ttl)}
	resp, err := s.hubs.GetEntity(ctx, leasePartition, name, nil)
	switch {
	case errors.Is(mapErr("", err), ErrNotFound):
		b, err := s.leaseBody(l)
		if err != nil {
			return Lease{}, err
		}
		add, err := s.hubs.AddEntity(ctx, b, nil)
		if err != nil {
			if errors.Is(mapErr("", err), ErrExists) {
				return Lease{}, &HeldError{Name: name}
			}
			return Lease{}, mapErr("acquire lease "+name, err)
		}
		l.etag = add.ETag
		return l, nil
	case err != nil:
		return Lease{}, mapErr("acquire lease "+name, err)
	}
	var cur leaseEntity
	if err := json.Unmarshal(resp.Value, &cur); err != nil {
		return Lease{}, fmt.Errorf("decode lease %s: %w", name, err)
	}
	if cur.Holder != holder && now.Before(cur.Expires) {
		return Lease{}, &HeldError{Name: name, Holder: cur.Holder, Acquired: cur.Acquired, Expires: cur.Expires}
	}
	if cur.Holder == holder && now.Before(cur.Expires) {
		l.Acquired = cur.Acquired
	}
	b, err := s.leaseBody(l)
	if err != nil {
		return Lease{}, err
	}
	etag := resp.ETag
	upd, err := s.hubs.UpdateEntity(ctx, b, &aztables.UpdateEntityOptions{IfMatch: &etag, UpdateMode: aztables.UpdateModeReplace})
	if err != nil {
		if errors.Is(mapErr("", err), ErrChanged) {
			return Lease{}, &HeldError{Name: name}
		}
		return Lease{}, mapErr("acquire lease "+name, err)
	}
	l.etag = upd.ETag
	return l, nil
}

// RenewLease extends a held lease by ttl from now. It returns ErrLeaseLost
// when someone else took the lease meanwhile.
func (s *Store) RenewLease(ctx context.Context, l Lease, ttl time.Duration) (Lease, error) {
	l.Expires = s.now().Add(ttl)
	b, err := s.leaseBody(l)
	if err != nil {
		return Lease{}, err
	}
	etag := l.etag
	upd, err := s.hubs.UpdateEntity(ctx, b, &aztables.UpdateEntityOptions{IfMatch: &etag, UpdateMode: aztables.UpdateModeReplace})
	if err != nil {
		if e := mapErr("", err); errors.Is(e, ErrChanged) || errors.Is(e, ErrNotFound) {
			return Lease{}, fmt.Errorf("renew lease %s: %w", l.Name, ErrLeaseLost)
		}
		return Lease{}, mapErr("renew lease "+l.Name, err)
	}
	l.etag = upd.ETag
	return l, nil
}

// ReleaseLease gives a held lease up at once so another holder need not
// wait for it to expire. Releasing a lease already lost is ErrLeaseLost.
func (s *Store) ReleaseLease(ctx context.Context, l Lease) error {
	etag := l.etag
	if _, err := s.hubs.DeleteEntity(ctx, leasePartition, l.Name, &aztables.DeleteEntityOptions{IfMatch: &etag}); err != nil {
		if e := mapErr("", err); errors.Is(e, ErrChanged) || errors.Is(e, ErrNotFound) {
			return fmt.Errorf("release lease %s: %w", l.Name, ErrLeaseLost)
		}
		return mapErr("release lease "+l.Name, err)
	}
	return nil
}

// LeaseHeld reports whether the named lease is held by anyone and
// unexpired, without taking it.
func (s *Store) LeaseHeld(ctx context.Context, name string) (bool, error) {
	if !leaseName.MatchString(name) {
		return false, fmt.Errorf("lease %q: invalid name", name)
	}
	resp, err := s.hubs.GetEntity(ctx, leasePartition, name, nil)
	if err != nil {
		if errors.Is(mapErr("", err), ErrNotFound) {
			return false, nil
		}
		return false, mapErr("read lease "+name, err)
	}
	var cur leaseEntity
	if err := json.Unmarshal(resp.Value, &cur); err != nil {
		return false, fmt.Errorf("decode lease %s: %w", name, err)
	}
	return s.now().Before(cur.Expires), nil
}
