// Package scripthost adapts elmcity's storage to the script engine's host
// API: the read side for query scripts (web role) and the maintenance side
// for the worker's timed scripts. Which functions a run may call is decided
// by the engine, not here.
package scripthost

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/elmcity/elmcity/shared/hub"
	"github.com/elmcity/elmcity/shared/hubcal"
	"github.com/elmcity/elmcity/shared/publish"
	"github.com/elmcity/elmcity/shared/queue"
	"github.com/elmcity/elmcity/shared/script"
	"github.com/elmcity/elmcity/shared/tablelog"
	"github.com/elmcity/elmcity/shared/tablestore"
)

// logStore is the table log (*tablelog.Log).
type logStore interface {
	Read(ctx context.Context, q tablelog.Query) (tablelog.Page, error)
	Write(ctx context.Context, entries ...tablelog.Entry) error
	Purge(ctx context.Context, hub string, olderThan time.Time) (int, error)
}

// hubStore is the hub store (*tablestore.Store).
type hubStore interface {
	GetHub(ctx context.Context, id string) (hub.Hub, error)
	ListHubs(ctx context.Context) ([]hub.Hub, error)
	ListFeeds(ctx context.Context, hubID string) ([]hub.Feed, error)
}

// calendars reads published generations (*publish.Store).
type calendars interface {
	Current(ctx context.Context, hub string) (publish.Pointer, error)
	Load(ctx context.Context, hub string) (publish.Generation, error)
}

// enqueuer sends jobs (*queue.Client); nil in the web role, which never
// grants the maintenance capability.
type enqueuer interface {
	Enqueue(ctx context.Context, job queue.Job, delay time.Duration) (queue.Job, error)
}

var (
	_ logStore  = (*tablelog.Log)(nil)
	_ hubStore  = (*tablestore.Store)(nil)
	_ calendars = (*publish.Store)(nil)
	_ enqueuer  = (*queue.Client)(nil)
)

// Host implements script.MaintenanceHost over storage.
type Host struct {
	log   logStore
	hubs  hubStore
	cals  calendars
	jobs  enqueuer
	actor string
}

var _ script.MaintenanceHost = (*Host)(nil)

// New returns a Host. jobs may be nil where no run has the maintenance
// capability; actor names who enqueues ("script").
func New(log logStore, hubs hubStore, cals calendars, jobs enqueuer, actor string) *Host {
	if log == nil || hubs == nil || cals == nil {
		panic("scripthost.New: log, hubs and calendars are required")
	}
	return &Host{log: log, hubs: hubs, cals: cals, jobs: jobs, actor: actor}
}

// ReadLog reads a hub's table log.
func (h *Host) ReadLog(ctx context.Context, q script.LogQuery) ([]script.LogEntry, string, error) {
	page, err := h.log.Read(ctx, tablelog.Query{
		Hub: q.Hub, Types: q.Types, Since: q.Since, Until: q.Until,
		Include: q.Include, Exclude: q.Exclude, Limit: q.Limit, After: q.After,
	})
	if err != nil {
		return nil, "", err
	}
	out := make([]script.LogEntry, len(page.Entries))
	for i, e := range page.Entries {
		out[i] = script.LogEntry{ID: e.ID, Hub: e.Hub, Type: e.Type, Message: e.Message, Detail: e.Detail,
			Role: e.Role, Instance: e.Instance, Time: e.Time, Attrs: e.Attrs}
	}
	return out, page.Next, nil
}

// Hub returns a hub's settings as the API's JSON shape, plus
// aggregation_interval and, once published, last_good_aggregation.
func (h *Host) Hub(ctx context.Context, id string) (map[string]any, error) {
	rec, err := h.hubs.GetHub(ctx, id)
	if err != nil {
		return nil, err
	}
	m, err := jsonData[map[string]any](rec)
	if err != nil {
		return nil, err
	}
	m["aggregation_interval"] = rec.Interval().String()
	p, err := h.cals.Current(ctx, id)
	switch {
	case err == nil:
		m["last_good_aggregation"] = p.PublishedAt
	case !errors.Is(err, publish.ErrNotFound):
		return nil, err
	}
	return m, nil
}

// Feeds returns a hub's feeds as the API's JSON shape.
func (h *Host) Feeds(ctx context.Context, id string) ([]map[string]any, error) {
	feeds, err := h.hubs.ListFeeds(ctx, id)
	if err != nil {
		return nil, err
	}
	return jsonData[[]map[string]any](feeds)
}

// Events returns up to limit of a hub's published events, soonest first.
func (h *Host) Events(ctx context.Context, id string, limit int) ([]map[string]any, error) {
	g, err := h.cals.Load(ctx, id)
	if errors.Is(err, publish.ErrNotFound) {
		return nil, fmt.Errorf("hub %s has no published calendar yet", id)
	}
	if err != nil {
		return nil, err
	}
	// The compact form, of which only the events asked for are made.
	var head json.RawMessage
	cal, err := hubcal.Read(g.Payload, &head)
	if err != nil {
		return nil, err
	}
	n := cal.Len()
	if limit >= 0 && n > limit {
		n = limit
	}
	events := make([]hubcal.Event, n)
	for i := range events {
		events[i] = cal.Event(i)
	}
	return jsonData[[]map[string]any](events)
}

// WriteLog appends an entry to a hub's log, synchronously.
func (h *Host) WriteLog(ctx context.Context, e script.LogEntry) error {
	return h.log.Write(ctx, tablelog.Entry{Hub: e.Hub, Type: e.Type, Message: e.Message, Detail: e.Detail, Time: e.Time, Attrs: e.Attrs})
}

// PurgeLog deletes a hub's entries older than olderThan.
func (h *Host) PurgeLog(ctx context.Context, hubID string, olderThan time.Time) (int, error) {
	return h.log.Purge(ctx, hubID, olderThan)
}

// Enqueue queues an aggregation of hubID.
func (h *Host) Enqueue(ctx context.Context, hubID, reason string) (string, error) {
	if h.jobs == nil {
		return "", errors.New("this role cannot enqueue jobs")
	}
	job, err := h.jobs.Enqueue(ctx, queue.Job{Kind: queue.KindAggregate, Hub: hubID, Reason: reason, RequestedBy: h.actor}, 0)
	return job.ID, err
}

// Hubs lists every hub id.
func (h *Host) Hubs(ctx context.Context) ([]string, error) {
	hubs, err := h.hubs.ListHubs(ctx)
	if err != nil {
		return nil, err
	}
	ids := make([]string, len(hubs))
	for i, x := range hubs {
		ids[i] = x.ID
	}
	return ids, nil
}

// jsonData converts a record to the maps and slices scripts see, through
// its JSON form, so scripts see the API's field names.
func jsonData[T any](v any) (T, error) {
	var out T
	b, err := json.Marshal(v)
	if err != nil {
		return out, err
	}
	err = json.Unmarshal(b, &out)
	return out, err
}
