package api

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"slices"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/elmcity/elmcity/shared/fetch"
	"github.com/elmcity/elmcity/shared/hub"
	"github.com/elmcity/elmcity/shared/tablestore"
)

// maxHistoryPage is the most history entries one page holds.
const maxHistoryPage = 200

// getHistory lists the changes to a hub and its feeds, newest first, a
// page at a time (limit 1-200, default 50; after; next).
func (s *Server) getHistory(c *gin.Context) {
	pg, err := bindPage(c)
	if err != nil {
		_ = c.Error(err)
		return
	}
	if c.Query("limit") == "" {
		pg.limit = 50
	}
	if pg.limit > maxHistoryPage {
		_ = c.Error(&Error{Status: http.StatusBadRequest, Code: "invalid", Message: "invalid query parameters",
			Fields: map[string]string{"limit": "must be a whole number from 1 to 200"}})
		return
	}
	ctx := c.Request.Context()
	if _, err := s.deps.Store.GetHub(ctx, c.Param("hub")); err != nil {
		_ = c.Error(err)
		return
	}
	entries, next, err := s.deps.Store.ListHistory(ctx, c.Param("hub"), pg.after, pg.limit)
	if err != nil {
		_ = c.Error(err)
		return
	}
	if entries == nil {
		entries = []tablestore.HistoryEntry{}
	}
	c.JSON(http.StatusOK, gin.H{"entries": entries, "next": next})
}

// recordHistory records a change the request made: who, now, and the
// fields that differ between before and after (nil for none: a record
// created or removed). It runs after the change is stored and does not
// fail the request: a history entry lost to a storage failure is logged
// as an exception in the hub's log.
func (s *Server) recordHistory(c *gin.Context, e tablestore.HistoryEntry, before, after any) {
	s.history.record(c.Request.Context(), who(c), e, before, after)
}

// historian records the changes of hubs and feeds (recordHistory).
type historian struct {
	store  store
	logger *slog.Logger
	now    func() time.Time
}

// record records a change p made; see recordHistory.
func (h historian) record(ctx context.Context, p principal, e tablestore.HistoryEntry, before, after any) {
	e.By, e.ByName = p.name(), "administrator"
	if !p.admin {
		e.ByName = p.curator.Name
	}
	e.Time = h.now()
	e.Changes = changes(before, after)
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := h.store.AddHistory(ctx, e); err != nil {
		h.logger.ErrorContext(ctx, "history entry lost", "action", e.Action, "hub", e.Hub, "feed_url", fetch.LogURL(e.FeedURL),
			"by", e.By, "error", err.Error())
	}
}

// hubRecord is what a hub's history compares: its writable fields.
func hubRecord(h hub.Hub) hubInput {
	in := hubInputOf(h)
	in.ID = ""
	return in
}

// feedRecord is what a feed's history compares.
func feedRecord(f hub.Feed) feedInput {
	return feedInputOf(f)
}

// changes lists the fields that differ between two records (structs
// that marshal to JSON objects), in field name order. A nil side is a
// record that does not exist: every non-empty field of the other is a
// change. A list field's Before holds the items removed and its After
// the items added; an object field's, the keys removed or changed (as
// they were) and added or changed (as they are).
func changes(before, after any) []tablestore.Change {
	b, a := fieldsOf(before), fieldsOf(after)
	keys := make([]string, 0, len(a)+len(b))
	for k := range a {
		keys = append(keys, k)
	}
	for k := range b {
		if _, ok := a[k]; !ok {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	out := []tablestore.Change{}
	for _, k := range keys {
		bv, av := b[k], a[k]
		if bytes.Equal(bv, av) {
			continue
		}
		c := tablestore.Change{Field: k, Before: bv, After: av}
		var bl, al []json.RawMessage
		var bm, am map[string]json.RawMessage
		switch {
		case isKind(bv, av, '[') && json.Unmarshal(orEmpty(bv, "[]"), &bl) == nil && json.Unmarshal(orEmpty(av, "[]"), &al) == nil:
			c.Before, c.After = listDiff(bl, al), listDiff(al, bl)
		case isKind(bv, av, '{') && json.Unmarshal(orEmpty(bv, "{}"), &bm) == nil && json.Unmarshal(orEmpty(av, "{}"), &am) == nil:
			c.Before, c.After = mapDiff(bm, am), mapDiff(am, bm)
		}
		if c.Before == nil && c.After == nil {
			continue
		}
		out = append(out, c)
	}
	return out
}

// fieldsOf is a record's non-empty JSON fields.
func fieldsOf(v any) map[string]json.RawMessage {
	out := map[string]json.RawMessage{}
	if v == nil {
		return out
	}
	b, err := json.Marshal(v)
	if err != nil {
		return out
	}
	var m map[string]json.RawMessage
	if json.Unmarshal(b, &m) != nil {
		return out
	}
	for k, raw := range m {
		switch string(raw) {
		case "null", `""`, "[]", "{}":
			continue
		}
		out[k] = raw
	}
	return out
}

// isKind reports whether each present side starts with c ('[' or '{').
func isKind(b, a json.RawMessage, c byte) bool {
	if b == nil && a == nil {
		return false
	}
	return (b == nil || b[0] == c) && (a == nil || a[0] == c)
}

func orEmpty(v json.RawMessage, empty string) json.RawMessage {
	if v == nil {
		return json.RawMessage(empty)
	}
	return v
}

// listDiff is the items of x not in y, as a JSON array; nil for none.
func listDiff(x, y []json.RawMessage) json.RawMessage {
	var out []json.RawMessage
	for _, v := range x {
		if !slices.ContainsFunc(y, func(w json.RawMessage) bool { return bytes.Equal(v, w) }) {
			out = append(out, v)
		}
	}
	if len(out) == 0 {
		return nil
	}
	b, _ := json.Marshal(out)
	return b
}

// mapDiff is the keys of x missing from y or with another value there,
// with x's values, as a JSON object; nil for none.
func mapDiff(x, y map[string]json.RawMessage) json.RawMessage {
	out := map[string]json.RawMessage{}
	for k, v := range x {
		if w, ok := y[k]; !ok || !bytes.Equal(v, w) {
			out[k] = v
		}
	}
	if len(out) == 0 {
		return nil
	}
	b, _ := json.Marshal(out)
	return b
}
