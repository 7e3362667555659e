package tablestore

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"regexp"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"
)

// HistoryEntry is one change to a hub or one of its feeds: who made it,
// when, and each field's value before and after. For a list field Before
// holds the items removed and After the items added; for a map field,
// the mappings removed or changed (as they were) and added or changed
// (as they are).
type HistoryEntry struct {
	ID     string    `json:"id"`
	Hub    string    `json:"hub"`
	Time   time.Time `json:"time"`
	By     string    `json:"by"`      // "admin" or "curator:<id>"
	ByName string    `json:"by_name"` // the curator's name, or "administrator"
	// Action is "hub created", "hub changed", "feed added", "feed
	// changed" or "feed removed".
	Action  string   `json:"action"`
	Feed    string   `json:"feed,omitempty"` // the feed's id
	FeedURL string   `json:"feed_url,omitempty"`
	Source  string   `json:"source,omitempty"`
	Changes []Change `json:"changes"`
	// Truncated reports changes too large to keep in full: their fields
	// are listed without values.
	Truncated bool `json:"truncated,omitempty"`
}

// Change is one field's value before and after a change (JSON; absent
// for none).
type Change struct {
	Field  string          `json:"field"`
	Before json.RawMessage `json:"before,omitempty"`
	After  json.RawMessage `json:"after,omitempty"`
}

// DefaultHistoryRetention is how long history entries are kept when
// Config.HistoryRetention is zero.
const DefaultHistoryRetention = 400 * 24 * time.Hour

// maxChangesBytes bounds an entry's changes as stored.
const maxChangesBytes = 30_000

// historyPartition is the partition of a hub's history.
func historyPartition(hubID string) string { return "history~" + hubID }

type historyEntity struct {
	aztables.Entity
	Time      time.Time
	By        string
	ByName    string
	Action    string
	Feed      string
	FeedURL   string
	Source    string
	Changes   string // JSON array
	Truncated bool
}

// historyKey is an entry's row key: newest first (the inverted time),
// then random, so entries made in the same instant never collide.
func historyKey(t time.Time) (string, error) {
	var b [4]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	return invertedTime(t) + "-" + hex.EncodeToString(b[:]), nil
}

func invertedTime(t time.Time) string {
	return fmt.Sprintf("%019d", math.MaxInt64-t.UnixNano())
}

var historyKeyPattern = regexp.MustCompile(`^\d{19}-[0-9a-f]{8}$`)

// AddHistory records one change to a hub, and deletes the hub's entries
// older than the retention. e.Time defaults to now.
func (s *Store) AddHistory(ctx context.Context, e HistoryEntry) error {
	if err := validID(e.Hub); err != nil {
		return fmt.Errorf("add history: %w", err)
	}
	if e.Time.IsZero() {
		e.Time = s.now()
	}
	key, err := historyKey(e.Time)
	if err != nil {
		return err
	}
	changes, err := json.Marshal(e.Changes)
	if err != nil {
		return err
	}
	if len(changes) > maxChangesBytes {
		short := make([]Change, len(e.Changes))
		for i, c := range e.Changes {
			short[i] = Change{Field: c.Field}
		}
		if changes, err = json.Marshal(short); err != nil {
			return err
		}
		e.Truncated = true
	}
	if len(e.Source) > 200 {
		e.Source = e.Source[:200]
	}
	b, err := json.Marshal(historyEntity{
		Entity: aztables.Entity{PartitionKey: historyPartition(e.Hub), RowKey: key},
		Time:   e.Time.UTC(), By: e.By, ByName: e.ByName, Action: e.Action, Feed: e.Feed, FeedURL: e.FeedURL, Source: e.Source,
		Changes: string(changes), Truncated: e.Truncated,
	})
	if err != nil {
		return err
	}
	if _, err := s.hubs.AddEntity(ctx, b, nil); err != nil {
		return mapErr("add history of "+e.Hub, err)
	}
	return s.purgeHistory(ctx, e.Hub, s.now().Add(-s.limits.HistoryRetention))
}

// purgeHistory deletes a hub's entries made before cutoff: the range of
// row keys after cutoff's.
func (s *Store) purgeHistory(ctx context.Context, hubID string, cutoff time.Time) error {
	filter := fmt.Sprintf("PartitionKey eq '%s' and RowKey gt '%s'", historyPartition(hubID), invertedTime(cutoff))
	sel := "RowKey"
	pager := s.hubs.NewListEntitiesPager(&aztables.ListEntitiesOptions{Filter: &filter, Select: &sel})
	for pager.More() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			return mapErr("list old history of "+hubID, err)
		}
		for _, b := range page.Entities {
			var e aztables.Entity
			if err := json.Unmarshal(b, &e); err != nil {
				return err
			}
			if _, err := s.hubs.DeleteEntity(ctx, historyPartition(hubID), e.RowKey, nil); err != nil && !errors.Is(mapErr("", err), ErrNotFound) {
				return mapErr("delete old history of "+hubID, err)
			}
		}
	}
	return nil
}

func fromHistoryEntity(b []byte) (HistoryEntry, error) {
	var e historyEntity
	if err := json.Unmarshal(b, &e); err != nil {
		return HistoryEntry{}, fmt.Errorf("decode history entry: %w", err)
	}
	h := HistoryEntry{ID: e.RowKey, Hub: e.PartitionKey[len("history~"):], Time: e.Time, By: e.By, ByName: e.ByName, Action: e.Action,
		Feed: e.Feed, FeedURL: e.FeedURL, Source: e.Source, Truncated: e.Truncated, Changes: []Change{}}
	unjson(e.Changes, &h.Changes)
	return h, nil
}

// ListHistory returns up to limit of a hub's history entries, newest
// first, after the entry after ("" for the newest), and the after of the
// next page ("" when there is none). An after that no page returned is a
// *hub.ValidationError naming "after".
func (s *Store) ListHistory(ctx context.Context, hubID, after string, limit int) ([]HistoryEntry, string, error) {
	if err := validID(hubID); err != nil {
		return nil, "", err
	}
	if after != "" && !historyKeyPattern.MatchString(after) {
		return nil, "", errBadPageToken
	}
	return listPage(ctx, s.hubs, historyPartition(hubID), after, limit, "list history of "+hubID, fromHistoryEntity,
		func(e HistoryEntry) string { return e.ID })
}
