// Package tablestore keeps elmcity's domain records (hubs and their feeds)
// in Azure Tables. Hubs live in one partition of the hubs table; each hub's
// feeds live in their own partition of the feeds table, keyed by the
// feed's URL-derived id. Every write is conditional on the record's ETag
// (optimistic concurrency), so two curators cannot silently overwrite each
// other.
package tablestore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"

	"github.com/elmcity/elmcity/shared/azstorage"
	"github.com/elmcity/elmcity/shared/hub"
)

// Sentinel errors of the store.
var (
	ErrNotFound = errors.New("not found")
	ErrExists   = errors.New("already exists")
	ErrChanged  = errors.New("changed since it was read (ETag mismatch)")
)

// Config names the tables.
type Config struct {
	HubsTable  string           // default "elmcityhubs"
	FeedsTable string           // default "elmcityfeeds"
	Now        func() time.Time // clock for leases, default time.Now
}

// Store reads and writes hubs, feeds, curators and leases. It is safe for
// concurrent use.
type Store struct {
	hubs  *aztables.Client
	feeds *aztables.Client
	now   func() time.Time
}

const hubPartition = "hub"

// Open creates the tables if missing and returns the Store.
func Open(ctx context.Context, acct *azstorage.Account, cfg Config) (*Store, error) {
	if cfg.HubsTable == "" {
		cfg.HubsTable = "elmcityhubs"
	}
	if cfg.FeedsTable == "" {
		cfg.FeedsTable = "elmcityfeeds"
	}
	for _, name := range []string{cfg.HubsTable, cfg.FeedsTable} {
		if _, err := acct.Tables().CreateTable(ctx, name, nil); err != nil && !errors.Is(azstorage.Wrap(err), azstorage.ErrConflict) {
			return nil, fmt.Errorf("create table %s: %w", name, azstorage.Wrap(err))
		}
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Store{hubs: acct.Tables().NewClient(cfg.HubsTable), feeds: acct.Tables().NewClient(cfg.FeedsTable), now: cfg.Now}, nil
}

// mapErr turns storage errors into the store's sentinels.
func mapErr(op string, err error) error {
	if err == nil {
		return nil
	}
	err = azstorage.Wrap(err)
	switch {
	case errors.Is(err, azstorage.ErrNotFound):
		return fmt.Errorf("%s: %w", op, ErrNotFound)
	case errors.Is(err, azstorage.ErrConflict):
		return fmt.Errorf("%s: %w", op, ErrExists)
	case errors.Is(err, azstorage.ErrPrecondition):
		return fmt.Errorf("%s: %w", op, ErrChanged)
	}
	return fmt.Errorf("%s: %w", op, err)
}

type hubEntity struct {
	aztables.Entity
	Title         string
	Type          string
	TZ            string
	HorizonDays   int32
	IntervalHours int32
	Contact       string
	Members       string // JSON array
	Vocabulary    string // JSON array
	Render        string // JSON object
}

func toHubEntity(h hub.Hub) ([]byte, error) {
	e := hubEntity{
		Entity: aztables.Entity{PartitionKey: hubPartition, RowKey: h.ID},
		Title:  h.Title, Type: h.Type, TZ: h.TZ,
		HorizonDays: int32(h.HorizonDays), IntervalHours: int32(h.IntervalHours),
		Contact: h.Contact, Members: jsonString(h.Members), Vocabulary: jsonString(h.Vocabulary), Render: jsonString(h.Render),
	}
	return json.Marshal(e)
}

func fromHubEntity(b []byte) (hub.Hub, error) {
	var e hubEntity
	if err := json.Unmarshal(b, &e); err != nil {
		return hub.Hub{}, fmt.Errorf("decode hub entity: %w", err)
	}
	h := hub.Hub{
		ID: e.RowKey, Title: e.Title, Type: e.Type, TZ: e.TZ,
		HorizonDays: int(e.HorizonDays), IntervalHours: int(e.IntervalHours), Contact: e.Contact,
	}
	unjson(e.Members, &h.Members)
	unjson(e.Vocabulary, &h.Vocabulary)
	unjson(e.Render, &h.Render)
	h.ETag = etagOf(b)
	return h, nil
}

// etagOf reads the odata.etag the service returns inside a listed entity.
func etagOf(b []byte) string {
	var m struct {
		ETag string `json:"odata.etag"`
	}
	_ = json.Unmarshal(b, &m)
	return m.ETag
}

func jsonString(v any) string {
	switch x := v.(type) {
	case []string:
		if len(x) == 0 {
			return ""
		}
	case map[string]string:
		if len(x) == 0 {
			return ""
		}
	}
	b, _ := json.Marshal(v)
	return string(b)
}

func unjson(s string, v any) {
	if s != "" {
		_ = json.Unmarshal([]byte(s), v)
	}
}

// validID guards every key that reaches a query or an entity path.
func validID(id string) error {
	if !hub.ValidID(id) {
		return fmt.Errorf("hub id %q: %w", id, hub.ErrInvalid)
	}
	return nil
}

// CreateHub adds a new hub after normalizing and validating it. A hub with
// the same id gives ErrExists.
func (s *Store) CreateHub(ctx context.Context, h hub.Hub) (hub.Hub, error) {
	h.Normalize()
	if err := h.Validate(); err != nil {
		return hub.Hub{}, err
	}
	b, err := toHubEntity(h)
	if err != nil {
		return hub.Hub{}, err
	}
	resp, err := s.hubs.AddEntity(ctx, b, nil)
	if err != nil {
		return hub.Hub{}, mapErr("create hub "+h.ID, err)
	}
	h.ETag = string(resp.ETag)
	return h, nil
}

// GetHub returns one hub, or ErrNotFound.
func (s *Store) GetHub(ctx context.Context, id string) (hub.Hub, error) {
	if err := validID(id); err != nil {
		return hub.Hub{}, fmt.Errorf("get hub: %w", ErrNotFound)
	}
	resp, err := s.hubs.GetEntity(ctx, hubPartition, id, nil)
	if err != nil {
		return hub.Hub{}, mapErr("get hub "+id, err)
	}
	h, err := fromHubEntity(resp.Value)
	h.ETag = string(resp.ETag)
	return h, err
}

// ListHubs returns every hub, ordered by id.
func (s *Store) ListHubs(ctx context.Context) ([]hub.Hub, error) {
	return listAll(ctx, s.hubs, "PartitionKey eq '"+hubPartition+"'", "list hubs", fromHubEntity)
}

// UpdateHub replaces a hub's settings if it has not changed since h.ETag
// was read (an empty ETag overwrites unconditionally). It returns
// ErrNotFound, ErrChanged or a validation error.
func (s *Store) UpdateHub(ctx context.Context, h hub.Hub) (hub.Hub, error) {
	h.Normalize()
	if err := h.Validate(); err != nil {
		return hub.Hub{}, err
	}
	b, err := toHubEntity(h)
	if err != nil {
		return hub.Hub{}, err
	}
	resp, err := s.hubs.UpdateEntity(ctx, b, &aztables.UpdateEntityOptions{IfMatch: ifMatch(h.ETag), UpdateMode: aztables.UpdateModeReplace})
	if err != nil {
		return hub.Hub{}, mapErr("update hub "+h.ID, err)
	}
	h.ETag = string(resp.ETag)
	return h, nil
}

// DeleteHub removes a hub and all its feeds.
func (s *Store) DeleteHub(ctx context.Context, id string) error {
	if err := validID(id); err != nil {
		return fmt.Errorf("delete hub: %w", ErrNotFound)
	}
	feeds, err := s.ListFeeds(ctx, id)
	if err != nil {
		return err
	}
	for _, f := range feeds {
		if err := s.DeleteFeed(ctx, id, f.ID); err != nil && !errors.Is(err, ErrNotFound) {
			return err
		}
	}
	if _, err := s.hubs.DeleteEntity(ctx, hubPartition, id, nil); err != nil {
		return mapErr("delete hub "+id, err)
	}
	return nil
}

func ifMatch(etag string) *azcore.ETag {
	if etag == "" {
		all := azcore.ETagAny
		return &all
	}
	e := azcore.ETag(etag)
	return &e
}

type feedEntity struct {
	aztables.Entity
	FeedURL    string
	URL        string
	Source     string
	Categories string // JSON array
	CatMap     string // JSON object
	Approved   bool
	Comments   string
}

func toFeedEntity(hubID string, f hub.Feed) ([]byte, error) {
	return json.Marshal(feedEntity{
		Entity:  aztables.Entity{PartitionKey: hubID, RowKey: f.ID},
		FeedURL: f.FeedURL, URL: f.URL, Source: f.Source,
		Categories: jsonString(f.Categories), CatMap: jsonString(f.CatMap),
		Approved: f.Approved, Comments: f.Comments,
	})
}

func fromFeedEntity(b []byte) (hub.Feed, error) {
	var e feedEntity
	if err := json.Unmarshal(b, &e); err != nil {
		return hub.Feed{}, fmt.Errorf("decode feed entity: %w", err)
	}
	f := hub.Feed{ID: e.RowKey, FeedURL: e.FeedURL, URL: e.URL, Source: e.Source, Approved: e.Approved, Comments: e.Comments}
	unjson(e.Categories, &f.Categories)
	unjson(e.CatMap, &f.CatMap)
	f.ETag = etagOf(b)
	return f, nil
}

// CreateFeed adds a feed to an existing hub. The feed's id derives from its
// normalized URL, so the same URL twice in one hub gives ErrExists.
func (s *Store) CreateFeed(ctx context.Context, hubID string, f hub.Feed) (hub.Feed, error) {
	if _, err := s.GetHub(ctx, hubID); err != nil {
		return hub.Feed{}, err
	}
	f.Normalize()
	if err := f.Validate(); err != nil {
		return hub.Feed{}, err
	}
	b, err := toFeedEntity(hubID, f)
	if err != nil {
		return hub.Feed{}, err
	}
	resp, err := s.feeds.AddEntity(ctx, b, nil)
	if err != nil {
		return hub.Feed{}, mapErr("create feed "+f.FeedURL, err)
	}
	f.ETag = string(resp.ETag)
	return f, nil
}

// GetFeed returns one feed of a hub, or ErrNotFound.
func (s *Store) GetFeed(ctx context.Context, hubID, feedID string) (hub.Feed, error) {
	if validID(hubID) != nil || !hub.ValidFeedID(feedID) {
		return hub.Feed{}, fmt.Errorf("get feed: %w", ErrNotFound)
	}
	resp, err := s.feeds.GetEntity(ctx, hubID, feedID, nil)
	if err != nil {
		return hub.Feed{}, mapErr("get feed "+feedID, err)
	}
	f, err := fromFeedEntity(resp.Value)
	f.ETag = string(resp.ETag)
	return f, err
}

// ListFeeds returns a hub's feeds, ordered by id.
func (s *Store) ListFeeds(ctx context.Context, hubID string) ([]hub.Feed, error) {
	if err := validID(hubID); err != nil {
		return nil, err
	}
	return listAll(ctx, s.feeds, "PartitionKey eq '"+hubID+"'", "list feeds of "+hubID, fromFeedEntity)
}

// listAll reads every entity the filter selects, across the service's
// pages, decoding each with decode. The filter is built by the caller from
// validated ids only.
func listAll[T any](ctx context.Context, c *aztables.Client, filter, op string, decode func([]byte) (T, error)) ([]T, error) {
	pager := c.NewListEntitiesPager(&aztables.ListEntitiesOptions{Filter: &filter})
	var out []T
	for pager.More() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			return nil, mapErr(op, err)
		}
		for _, b := range page.Entities {
			v, err := decode(b)
			if err != nil {
				return nil, err
			}
			out = append(out, v)
		}
	}
	return out, nil
}

// UpdateFeed replaces a feed's fields, conditional on f.ETag. The feed URL
// is its identity: changing it gives a validation error (delete and create
// instead).
func (s *Store) UpdateFeed(ctx context.Context, hubID string, f hub.Feed) (hub.Feed, error) {
	id := f.ID
	f.Normalize()
	if id != "" && f.ID != id {
		return hub.Feed{}, &hub.ValidationError{Fields: map[string]string{"feedurl": "the feed URL is the feed's identity and cannot change; delete the feed and add the new URL"}}
	}
	if err := f.Validate(); err != nil {
		return hub.Feed{}, err
	}
	old, err := s.GetFeed(ctx, hubID, f.ID)
	if err != nil {
		return hub.Feed{}, err
	}
	if f.ETag != "" && f.ETag != old.ETag {
		return hub.Feed{}, fmt.Errorf("update feed %s: %w", f.ID, ErrChanged)
	}
	b, err := toFeedEntity(hubID, f)
	if err != nil {
		return hub.Feed{}, err
	}
	resp, err := s.feeds.UpdateEntity(ctx, b, &aztables.UpdateEntityOptions{IfMatch: ifMatch(old.ETag), UpdateMode: aztables.UpdateModeReplace})
	if err != nil {
		return hub.Feed{}, mapErr("update feed "+f.ID, err)
	}
	f.ETag = string(resp.ETag)
	return f, nil
}

// DeleteFeed removes a feed from a hub.
func (s *Store) DeleteFeed(ctx context.Context, hubID, feedID string) error {
	if validID(hubID) != nil || !hub.ValidFeedID(feedID) {
		return fmt.Errorf("delete feed: %w", ErrNotFound)
	}
	if _, err := s.feeds.DeleteEntity(ctx, hubID, feedID, nil); err != nil {
		return mapErr("delete feed "+feedID, err)
	}
	return nil
}
