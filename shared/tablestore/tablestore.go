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
	"regexp"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"

	"github.com/elmcity/elmcity/shared/azstorage"
	"github.com/elmcity/elmcity/shared/feedkind"
	"github.com/elmcity/elmcity/shared/hub"
)

// Sentinel errors of the store.
var (
	ErrNotFound = errors.New("not found")
	ErrExists   = errors.New("already exists")
	ErrChanged  = errors.New("changed since it was read (ETag mismatch)")
)

// Config names the tables and sets the limits.
type Config struct {
	HubsTable  string           // default "elmcityhubs"
	FeedsTable string           // default "elmcityfeeds"
	Now        func() time.Time // clock for leases and pending jobs, default time.Now
	Limits     Limits
}

// Limits bound what curators may store and how often they may ask for
// work. A zero field takes its default.
type Limits struct {
	// MaxFeedsPerHub is the most feeds one hub may have; CreateFeed
	// refuses another with a *LimitError. Default DefaultMaxFeedsPerHub.
	MaxFeedsPerHub int
	// MaxRegionMembers is the most member hubs a region may list; default
	// hub.DefaultMaxRegionMembers.
	MaxRegionMembers int
	// PendingJobTTL is how long a hub's pending-job record holds off
	// another aggregation request (ClaimPendingJob); a job lost before it
	// started blocks its hub no longer than this. Default
	// DefaultPendingJobTTL.
	PendingJobTTL time.Duration
	// HistoryRetention is how long a hub's history entries are kept
	// (AddHistory deletes older ones). Default DefaultHistoryRetention.
	HistoryRetention time.Duration
}

// Defaults of Limits.
const (
	DefaultMaxFeedsPerHub = 500
	DefaultPendingJobTTL  = 15 * time.Minute
)

// withDefaults fills the zero fields.
func (l Limits) withDefaults() Limits {
	if l.MaxFeedsPerHub <= 0 {
		l.MaxFeedsPerHub = DefaultMaxFeedsPerHub
	}
	if l.MaxRegionMembers <= 0 {
		l.MaxRegionMembers = hub.DefaultMaxRegionMembers
	}
	if l.PendingJobTTL <= 0 {
		l.PendingJobTTL = DefaultPendingJobTTL
	}
	if l.HistoryRetention <= 0 {
		l.HistoryRetention = DefaultHistoryRetention
	}
	return l
}

// ErrLimit is wrapped by every *LimitError.
var ErrLimit = errors.New("limit reached")

// LimitError is a write refused because it would pass one of Limits.
type LimitError struct {
	What string // what is limited: "feeds per hub"
	Max  int
}

func (e *LimitError) Error() string {
	return fmt.Sprintf("limit reached: at most %d %s", e.Max, e.What)
}

// Unwrap makes errors.Is(err, ErrLimit) hold.
func (e *LimitError) Unwrap() error { return ErrLimit }

// Store reads and writes hubs, feeds, curators, pending jobs and leases.
// It is safe for concurrent use.
type Store struct {
	hubs   *aztables.Client
	feeds  *aztables.Client
	now    func() time.Time
	limits Limits
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
	return &Store{hubs: acct.Tables().NewClient(cfg.HubsTable), feeds: acct.Tables().NewClient(cfg.FeedsTable),
		now: cfg.Now, limits: cfg.Limits.withDefaults()}, nil
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
	if err := checkProperties(map[string]string{"title": e.Title, "contact": e.Contact,
		"members": e.Members, "vocabulary": e.Vocabulary, "render": e.Render}); err != nil {
		return nil, err
	}
	return json.Marshal(e)
}

// maxPropertyChars is the most UTF-16 code units one string property of
// a table entity holds (64 KiB).
const maxPropertyChars = 32 << 10

// checkProperties returns a *hub.ValidationError naming each field whose
// stored form is too large for its entity property, so that no input is
// left for the storage service to refuse.
func checkProperties(props map[string]string) error {
	var fe map[string]string
	for field, v := range props {
		if n := utf16Len(v); n > maxPropertyChars {
			if fe == nil {
				fe = map[string]string{}
			}
			fe[field] = fmt.Sprintf("too large to store: %d characters once encoded, at most %d", n, maxPropertyChars)
		}
	}
	if fe != nil {
		return &hub.ValidationError{Fields: fe}
	}
	return nil
}

// utf16Len is the length of s in UTF-16 code units, how the service
// measures a string.
func utf16Len(s string) int {
	if len(s) <= maxPropertyChars {
		return len(s) // never more code units than bytes
	}
	n := 0
	for _, r := range s {
		n++
		if r > 0xFFFF {
			n++
		}
	}
	return n
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

// CreateHub adds a new hub after normalizing and validating it (whether
// a region's members exist is the caller's check: CheckMembers). A hub
// with the same id gives ErrExists. A
// new hub starts with no curators: grants left naming its id (by a
// deleted hub of the same name) are removed first.
func (s *Store) CreateHub(ctx context.Context, h hub.Hub) (hub.Hub, error) {
	h.Normalize()
	if err := h.ValidateWith(hub.Limits{MaxRegionMembers: s.limits.MaxRegionMembers}); err != nil {
		return hub.Hub{}, err
	}
	b, err := toHubEntity(h)
	if err != nil {
		return hub.Hub{}, err
	}
	switch _, err := s.GetHub(ctx, h.ID); {
	case err == nil:
		return hub.Hub{}, fmt.Errorf("create hub %s: %w", h.ID, ErrExists)
	case !errors.Is(err, ErrNotFound):
		return hub.Hub{}, err
	}
	if _, err := s.revokeGrants(ctx, h.ID); err != nil {
		return hub.Hub{}, fmt.Errorf("create hub %s: %w", h.ID, err)
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

// ListHubsPage returns up to limit hubs whose ids sort after after ("" for
// the first page), ordered by id, and the after of the next page ("" when
// there is none). An after that is not a hub id is a *hub.ValidationError
// naming "after".
func (s *Store) ListHubsPage(ctx context.Context, after string, limit int) ([]hub.Hub, string, error) {
	if after != "" && !hub.ValidID(after) {
		return nil, "", errBadPageToken
	}
	return listPage(ctx, s.hubs, hubPartition, after, limit, "list hubs", fromHubEntity, func(h hub.Hub) string { return h.ID })
}

// GetHubs returns the hubs among ids that exist, in the order given;
// invalid and unknown ids are left out.
func (s *Store) GetHubs(ctx context.Context, ids []string) ([]hub.Hub, error) {
	out := make([]hub.Hub, 0, len(ids))
	for _, id := range ids {
		h, err := s.GetHub(ctx, id)
		switch {
		case errors.Is(err, ErrNotFound):
			continue
		case err != nil:
			return nil, err
		}
		out = append(out, h)
	}
	return out, nil
}

// CheckMembers validates h as CreateHub and UpdateHub do and then, for a
// region, checks that every member is a hub; it returns a
// *hub.ValidationError naming the first that is not. The writes do not
// check members, so that a region can outlive one (the worker reports it
// failed), and so that callers can check who may name which hub first;
// invalid input never costs a read.
func (s *Store) CheckMembers(ctx context.Context, h hub.Hub) error {
	h.Normalize()
	if err := h.ValidateWith(hub.Limits{MaxRegionMembers: s.limits.MaxRegionMembers}); err != nil {
		return err
	}
	if h.Type != hub.TypeRegion {
		return nil
	}
	missing, err := s.missingHubs(ctx, h.Members)
	if err != nil {
		return err
	}
	if len(missing) > 0 {
		return &hub.ValidationError{Fields: map[string]string{"members": fmt.Sprintf("no hub %q", missing[0])}}
	}
	return nil
}

// missingHubs returns those of ids that are not hubs (invalid ids
// included), in order.
func (s *Store) missingHubs(ctx context.Context, ids []string) ([]string, error) {
	var missing []string
	for _, id := range ids {
		_, err := s.GetHub(ctx, id)
		switch {
		case errors.Is(err, ErrNotFound):
			missing = append(missing, id)
		case err != nil:
			return nil, err
		}
	}
	return missing, nil
}

// UpdateHub replaces a hub's settings if it has not changed since h.ETag
// was read (an empty ETag or "*" overwrites unconditionally; an ETag the
// service never issues cannot match and is ErrChanged). It returns
// ErrNotFound, ErrChanged or a *hub.ValidationError.
func (s *Store) UpdateHub(ctx context.Context, h hub.Hub) (hub.Hub, error) {
	h.Normalize()
	if err := h.ValidateWith(hub.Limits{MaxRegionMembers: s.limits.MaxRegionMembers}); err != nil {
		return hub.Hub{}, err
	}
	b, err := toHubEntity(h)
	if err != nil {
		return hub.Hub{}, err
	}
	im, err := ifMatch(h.ETag)
	if err != nil {
		return hub.Hub{}, fmt.Errorf("update hub %s: %w", h.ID, err)
	}
	resp, err := s.hubs.UpdateEntity(ctx, b, &aztables.UpdateEntityOptions{IfMatch: im, UpdateMode: aztables.UpdateModeReplace})
	if err != nil {
		return hub.Hub{}, mapErr("update hub "+h.ID, err)
	}
	h.ETag = string(resp.ETag)
	return h, nil
}

// DeleteHub removes a hub with all its feeds, every curator's grant to it
// (a curator left with no hub is revoked), its pending-job record, its
// job records and its history, then the hub record itself. The record
// goes last, so a DeleteHub that fails part way can be repeated.
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
	if _, err := s.revokeGrants(ctx, id); err != nil {
		return fmt.Errorf("delete hub %s: %w", id, err)
	}
	if _, err := s.hubs.DeleteEntity(ctx, pendingPartition, id, nil); err != nil && !errors.Is(mapErr("", err), ErrNotFound) {
		return mapErr("delete pending job of "+id, err)
	}
	for _, p := range []string{jobPartition(id), historyPartition(id)} {
		if err := s.deletePartition(ctx, p); err != nil {
			return err
		}
	}
	if _, err := s.hubs.DeleteEntity(ctx, hubPartition, id, nil); err != nil {
		return mapErr("delete hub "+id, err)
	}
	return nil
}

// storageETag is the shape of the ETags Azure Tables and Azurite issue,
// W/"datetime'2026-12-07T01%3A45%3A56.0949559Z'". Only such an ETag is
// sent to the service: it answers others with errors of its own.
var storageETag = regexp.MustCompile(`^W/"datetime'\d{4}-\d{2}-\d{2}T\d{2}%3A\d{2}%3A\d{2}(\.\d{1,7})?Z'"$`)

// ifMatch is the precondition for a write conditional on etag: any
// version for "" or "*"; ErrChanged for an ETag the service never issues,
// since no stored version can match it.
func ifMatch(etag string) (*azcore.ETag, error) {
	if etag == "" || etag == "*" {
		all := azcore.ETagAny
		return &all, nil
	}
	if !storageETag.MatchString(etag) {
		return nil, ErrChanged
	}
	e := azcore.ETag(etag)
	return &e, nil
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
	Kind       string `json:",omitempty"`
	Mapping    string `json:",omitempty"` // JSON object
	Adapter    string `json:",omitempty"`
	Hosts      string `json:",omitempty"` // JSON array
}

func toFeedEntity(hubID string, f hub.Feed) ([]byte, error) {
	e := feedEntity{
		Entity:  aztables.Entity{PartitionKey: hubID, RowKey: f.ID},
		FeedURL: f.FeedURL, URL: f.URL, Source: f.Source,
		Categories: jsonString(f.Categories), CatMap: jsonString(f.CatMap),
		Approved: f.Approved, Comments: f.Comments, Kind: f.Kind, Adapter: f.Adapter,
	}
	if f.Mapping != nil && !f.Mapping.IsZero() {
		e.Mapping = jsonString(f.Mapping)
	}
	if len(f.Hosts) > 0 {
		e.Hosts = jsonString(f.Hosts)
	}
	if err := checkProperties(map[string]string{"categories": e.Categories, "catmap": e.CatMap, "mapping": e.Mapping, "hosts": e.Hosts}); err != nil {
		return nil, err
	}
	return json.Marshal(e)
}

func fromFeedEntity(b []byte) (hub.Feed, error) {
	var e feedEntity
	if err := json.Unmarshal(b, &e); err != nil {
		return hub.Feed{}, fmt.Errorf("decode feed entity: %w", err)
	}
	f := hub.Feed{ID: e.RowKey, FeedURL: e.FeedURL, URL: e.URL, Source: e.Source, Approved: e.Approved, Comments: e.Comments,
		Kind: e.Kind, Adapter: e.Adapter}
	unjson(e.Categories, &f.Categories)
	unjson(e.CatMap, &f.CatMap)
	if e.Mapping != "" {
		f.Mapping = new(feedkind.Mapping)
		unjson(e.Mapping, f.Mapping)
	}
	unjson(e.Hosts, &f.Hosts)
	f.ETag = etagOf(b)
	return f, nil
}

// CreateFeed adds a feed to an existing hub. The feed's id derives from its
// normalized URL, so the same URL twice in one hub gives ErrExists. A hub
// that has Limits.MaxFeedsPerHub feeds takes no more: that is a
// *LimitError. The count is checked before the write and again after it,
// and a feed that took its hub over the limit is removed again, so
// concurrent adds cannot pass the limit (some of them may fail at it).
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
	limit := &LimitError{What: "feeds per hub", Max: s.limits.MaxFeedsPerHub}
	if n, err := s.countFeeds(ctx, hubID); err != nil {
		return hub.Feed{}, err
	} else if n >= limit.Max {
		return hub.Feed{}, fmt.Errorf("create feed in %s: %w", hubID, limit)
	}
	resp, err := s.feeds.AddEntity(ctx, b, nil)
	if err != nil {
		return hub.Feed{}, mapErr("create feed "+f.FeedURL, err)
	}
	if n, err := s.countFeeds(ctx, hubID); err != nil {
		return hub.Feed{}, err
	} else if n > limit.Max {
		if err := s.DeleteFeed(ctx, hubID, f.ID); err != nil && !errors.Is(err, ErrNotFound) {
			return hub.Feed{}, fmt.Errorf("remove feed over the limit: %w", err)
		}
		return hub.Feed{}, fmt.Errorf("create feed in %s: %w", hubID, limit)
	}
	f.ETag = string(resp.ETag)
	return f, nil
}

// countFeeds counts a hub's feeds, reading their keys only.
func (s *Store) countFeeds(ctx context.Context, hubID string) (int, error) {
	filter, sel := "PartitionKey eq '"+hubID+"'", "RowKey"
	pager := s.feeds.NewListEntitiesPager(&aztables.ListEntitiesOptions{Filter: &filter, Select: &sel})
	n := 0
	for pager.More() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			return 0, mapErr("count feeds of "+hubID, err)
		}
		n += len(page.Entities)
	}
	return n, nil
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

// ListFeedsPage returns up to limit of a hub's feeds whose ids sort after
// after ("" for the first page), ordered by id, and the after of the next
// page ("" when there is none). An after that is not a feed id is a
// *hub.ValidationError naming "after".
func (s *Store) ListFeedsPage(ctx context.Context, hubID, after string, limit int) ([]hub.Feed, string, error) {
	if err := validID(hubID); err != nil {
		return nil, "", err
	}
	if after != "" && !hub.ValidFeedID(after) {
		return nil, "", errBadPageToken
	}
	return listPage(ctx, s.feeds, hubID, after, limit, "list feeds of "+hubID, fromFeedEntity, func(f hub.Feed) string { return f.ID })
}

// errBadPageToken answers an after that no page returned.
var errBadPageToken = &hub.ValidationError{Fields: map[string]string{"after": "not a page token from a previous answer"}}

// Page sizes of the List...Page methods.
const (
	DefaultPageLimit = 100
	MaxPageLimit     = 1000
)

// listPage reads up to limit entities of one partition whose row keys
// sort after after, decoding each with decode, and returns the key of the
// last one as the next page's after when more remain. The partition and
// after are validated keys, never quoted input. A limit outside
// 1..MaxPageLimit is DefaultPageLimit.
func listPage[T any](ctx context.Context, c *aztables.Client, partition, after string, limit int, op string,
	decode func([]byte) (T, error), key func(T) string) ([]T, string, error) {
	if limit < 1 || limit > MaxPageLimit {
		limit = DefaultPageLimit
	}
	filter := "PartitionKey eq '" + partition + "'"
	if after != "" {
		filter += " and RowKey gt '" + after + "'"
	}
	top := int32(limit + 1) // one more than the page says whether another follows
	pager := c.NewListEntitiesPager(&aztables.ListEntitiesOptions{Filter: &filter, Top: &top})
	out := make([]T, 0, limit+1)
	for pager.More() && len(out) <= limit {
		page, err := pager.NextPage(ctx)
		if err != nil {
			return nil, "", mapErr(op, err)
		}
		for _, b := range page.Entities {
			v, err := decode(b)
			if err != nil {
				return nil, "", err
			}
			out = append(out, v)
		}
	}
	if len(out) <= limit {
		return out, "", nil
	}
	out = out[:limit]
	return out, key(out[limit-1]), nil
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

// UpdateFeed replaces a feed's fields, conditional on f.ETag ("" or "*":
// unconditional; a stale or unknown one: ErrChanged). The feed URL
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
	if f.ETag != "" && f.ETag != "*" && f.ETag != old.ETag {
		return hub.Feed{}, fmt.Errorf("update feed %s: %w", f.ID, ErrChanged)
	}
	b, err := toFeedEntity(hubID, f)
	if err != nil {
		return hub.Feed{}, err
	}
	etag := azcore.ETag(old.ETag)
	resp, err := s.feeds.UpdateEntity(ctx, b, &aztables.UpdateEntityOptions{IfMatch: &etag, UpdateMode: aztables.UpdateModeReplace})
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
