package api

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/elmcity/elmcity/shared/hub"
	"github.com/elmcity/elmcity/shared/tablestore"
)

// hubService owns what a change to a hub involves beyond its record:
// whether a PUT creates or replaces, the checks of a region's members
// against the caller, the history of changes, and the cascade of a
// delete across the hub store, the published calendars and the log. The
// handlers in hubs.go bind, call one of its methods and render.
type hubService struct {
	store   store
	cals    calendars
	log     logReader
	logger  *slog.Logger
	now     func() time.Time
	history historian
}

// Put creates the hub id from in (administrator only) or replaces an
// existing hub's settings, conditional on etag, which a replacement needs
// (errNoIfMatch without it): a field left out is reset. created says
// which it did. A curator gets errNoAccess for a hub that does not exist.
// It returns the store's errors, and a *Error for invalid fields or a
// region's member the curator may not name.
func (hs *hubService) Put(ctx context.Context, p principal, id string, in hubInput, etag string) (h hub.Hub, created bool, err error) {
	old, err := hs.store.GetHub(ctx, id)
	switch {
	case errors.Is(err, tablestore.ErrNotFound):
		if !p.admin {
			return hub.Hub{}, false, errNoAccess(id)
		}
		h, err = hs.save(ctx, p, id, nil, in, "")
		return h, err == nil, err
	case err != nil:
		return hub.Hub{}, false, err
	case etag == "":
		return hub.Hub{}, false, errNoIfMatch
	}
	h, err = hs.save(ctx, p, id, &old, in, etag)
	return h, false, err
}

// Patch changes the hub's fields as apply says: apply gets the hub's
// writable fields and its ETag and returns the fields to store (binding
// a merge patch, which may refuse with tablestore.ErrChanged). The write
// is conditional on the record read, so a change made meanwhile is
// tablestore.ErrChanged, never lost.
func (hs *hubService) Patch(ctx context.Context, p principal, id string, apply func(cur hubInput, etag string) (hubInput, error)) (hub.Hub, error) {
	old, err := hs.store.GetHub(ctx, id)
	if err != nil {
		return hub.Hub{}, err
	}
	in, err := apply(hubInputOf(old), old.ETag)
	if err != nil {
		return hub.Hub{}, err
	}
	return hs.save(ctx, p, id, &old, in, old.ETag)
}

// save stores in as the hub id: a new hub when old is nil, else old's
// replacement, conditional on etag; and records the change.
func (hs *hubService) save(ctx context.Context, p principal, id string, old *hub.Hub, in hubInput, etag string) (hub.Hub, error) {
	fields := map[string]string{}
	if in.ID != "" && in.ID != id {
		fields["id"] = "must match the hub in the path"
	}
	// A zone left out used to become UTC, silently placing the floating
	// times of every feed in the wrong hours.
	if strings.TrimSpace(in.TZ) == "" {
		fields["tz"] = "required: the hub's IANA time zone, such as America/New_York"
	}
	if len(fields) > 0 {
		return hub.Hub{}, &Error{Status: http.StatusBadRequest, Code: "invalid", Message: "the request has invalid fields", Fields: fields}
	}
	h := hub.Hub{ID: id, Title: in.Title, Type: in.Type, TZ: in.TZ, HorizonDays: in.HorizonDays, IntervalHours: in.IntervalHours,
		Contact: in.Contact, Members: in.Members, Vocabulary: in.Vocabulary, Render: in.Render, ETag: etag}
	if old == nil {
		if err := hs.checkMembers(ctx, p, hub.Hub{}, h); err != nil {
			return hub.Hub{}, err
		}
		created, err := hs.store.CreateHub(ctx, h)
		if err != nil {
			return hub.Hub{}, err
		}
		hs.logger.InfoContext(ctx, "hub created", "hub", id, "by", p.name())
		hs.history.record(ctx, p, tablestore.HistoryEntry{Hub: id, Action: "hub created"}, nil, hubRecord(created))
		return created, nil
	}
	if err := hs.checkMembers(ctx, p, *old, h); err != nil {
		return hub.Hub{}, err
	}
	updated, err := hs.store.UpdateHub(ctx, h)
	if err != nil {
		return hub.Hub{}, err
	}
	hs.logger.InfoContext(ctx, "hub settings changed", "hub", id, "by", p.name())
	hs.history.record(ctx, p, tablestore.HistoryEntry{Hub: id, Action: "hub changed"}, hubRecord(*old), hubRecord(updated))
	return updated, nil
}

// checkMembers checks a region's members against the caller, then the
// store: a curator may name only hubs they curate, besides members the
// hub already lists (old's, which the administrator chose), and the 403
// names the first other hub; the administrator may name any. The store
// then validates h and checks that every member exists (a 400 naming the
// first that does not). Invalid ids and the region itself are the
// store's to refuse.
func (hs *hubService) checkMembers(ctx context.Context, p principal, old, h hub.Hub) error {
	if !p.admin {
		for _, m := range h.Members {
			m = strings.TrimSpace(m)
			if hub.ValidID(m) && m != h.ID && !p.can(m) && !slices.Contains(old.Members, m) {
				return &Error{Status: http.StatusForbidden, Code: "forbidden",
					Message: fmt.Sprintf("you do not curate hub %q, so your region may not list it", m),
					Fields:  map[string]string{"members": fmt.Sprintf("%q is not one of your hubs", m)}}
			}
		}
	}
	return hs.store.CheckMembers(ctx, h)
}

// Delete removes a hub with everything stored for it: its published
// calendars, its log, and then its feeds, every curator's grant to it and
// its pending job with the hub record. The record goes last, so a delete
// that fails part way can be repeated. It returns tablestore.ErrNotFound
// for a hub that does not exist, and storage errors.
func (hs *hubService) Delete(ctx context.Context, p principal, id string) error {
	if _, err := hs.store.GetHub(ctx, id); err != nil {
		return err
	}
	if err := hs.cals.Delete(ctx, id); err != nil {
		return fmt.Errorf("delete calendars of %s: %w", id, err)
	}
	// Every entry, however recent (a clock ahead of this one included).
	n, err := hs.log.Purge(ctx, id, hs.now().Add(365*24*time.Hour))
	if err != nil {
		return fmt.Errorf("delete log of %s: %w", id, err)
	}
	if err := hs.store.DeleteHub(ctx, id); err != nil {
		return err
	}
	hs.logger.InfoContext(ctx, "hub deleted", "deleted_hub", id, "log_entries", n, "by", p.name())
	return nil
}
