package console

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/elmcity/elmcity/shared/tablestore"
)

// logTypes are the log's entry types the filter offers.
var logTypes = []string{"info", "warning", "exception", "summary"}

// logFilter is the logs page's filter form.
type logFilter struct {
	Types        []string
	Search       string
	Since, Until string // as typed: a date or a local date and time
	After        string
}

// getLogs shows the hub's log, newest first, filtered by type, text,
// since and until (in the hub's zone), a page at a time.
func (h *handler) getLogs(c *gin.Context) {
	loc := h.hubLocation(c)
	f := logFilter{Search: strings.TrimSpace(c.Query("q")), Since: c.Query("since"), Until: c.Query("until"), After: c.Query("after")}
	for _, t := range c.QueryArray("type") {
		if slices.Contains(logTypes, t) && !slices.Contains(f.Types, t) {
			f.Types = append(f.Types, t)
		}
	}
	q := url.Values{"limit": {"50"}}
	if len(f.Types) > 0 {
		q.Set("type", strings.Join(f.Types, ","))
	}
	if f.Search != "" {
		q.Set("include", f.Search)
	}
	fields := map[string]string{}
	for _, p := range []struct{ name, val string }{{"since", f.Since}, {"until", f.Until}} {
		if p.val == "" {
			continue
		}
		t, err := localTime(p.val, loc, p.name == "until")
		if err != nil {
			fields[p.name] = "a date (2026-12-01) or a date and time (2026-12-01T18:00)"
			continue
		}
		q.Set(p.name, t.UTC().Format(time.RFC3339))
	}
	if f.After != "" {
		q.Set("after", f.After)
	}
	var page logsAnswer
	var problem string
	if len(fields) > 0 {
		problem = "The filter was not applied."
	} else if _, err := h.call(c, http.MethodGet, "/api/hubs/"+url.PathEscape(c.Param("hub"))+"/logs?"+q.Encode(), nil, "", &page); err != nil {
		if ae, ok := errors.AsType[*apiError](err); ok && ae.Status == http.StatusBadRequest {
			problem, fields = "The filter was not applied: "+ae.Message+".", ae.Fields
		} else {
			h.failAPI(c, err)
			return
		}
	}
	next := url.Values{}
	if page.Next != "" {
		for _, t := range f.Types {
			next.Add("type", t)
		}
		for k, v := range map[string]string{"q": f.Search, "since": f.Since, "until": f.Until, "after": page.Next} {
			if v != "" {
				next.Set(k, v)
			}
		}
	}
	status := http.StatusOK
	if problem != "" {
		status = http.StatusBadRequest
	}
	h.render(c, status, "logs", view{Title: "Logs", Hub: c.Param("hub"), Section: "logs", Problem: problem, Fields: fields,
		Data: map[string]any{"Filter": f, "Types": logTypes, "Entries": page.Entries, "Next": next.Encode(), "Loc": loc}})
}

// localTime reads a date or a date and time in loc; a date that ends a
// range (until) means the end of that day.
func localTime(s string, loc *time.Location, end bool) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	if t, err := time.ParseInLocation("2006-01-02T15:04", s, loc); err == nil {
		return t, nil
	}
	t, err := time.ParseInLocation(time.DateOnly, s, loc)
	if err == nil && end {
		t = t.AddDate(0, 0, 1)
	}
	return t, err
}

// historyChange is one field's change in words.
type historyChange struct {
	Field, Before, After string
}

// historyRow is one history entry as the page shows it.
type historyRow struct {
	tablestore.HistoryEntry
	Rows []historyChange
}

// getHistory lists the changes to the hub and its feeds, newest first,
// with who made each and each field's value before and after.
func (h *handler) getHistory(c *gin.Context) {
	loc := h.hubLocation(c)
	q := url.Values{"limit": {"25"}}
	if a := c.Query("after"); a != "" {
		q.Set("after", a)
	}
	var page struct {
		Entries []tablestore.HistoryEntry `json:"entries"`
		Next    string                    `json:"next"`
	}
	if _, err := h.call(c, http.MethodGet, "/api/hubs/"+url.PathEscape(c.Param("hub"))+"/history?"+q.Encode(), nil, "", &page); err != nil {
		h.failAPI(c, err)
		return
	}
	rows := make([]historyRow, len(page.Entries))
	for i, e := range page.Entries {
		rows[i].HistoryEntry = e
		for _, ch := range e.Changes {
			rows[i].Rows = append(rows[i].Rows, historyChange{Field: ch.Field, Before: valueWords(ch.Before), After: valueWords(ch.After)})
		}
	}
	h.render(c, http.StatusOK, "history", view{Title: "History", Hub: c.Param("hub"), Section: "history",
		Data: map[string]any{"Rows": rows, "Next": page.Next, "Loc": loc}})
}

// valueWords shows a JSON value plainly: a string as itself, a list as
// its items with commas, a map as from → to pairs.
func valueWords(raw json.RawMessage) string {
	if len(raw) == 0 {
		return "—"
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		if s == "" {
			return "(empty)"
		}
		return s
	}
	var l []any
	if json.Unmarshal(raw, &l) == nil {
		parts := make([]string, len(l))
		for i, v := range l {
			b, _ := json.Marshal(v)
			parts[i] = strings.Trim(string(b), `"`)
		}
		return strings.Join(parts, ", ")
	}
	var m map[string]string
	if json.Unmarshal(raw, &m) == nil {
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		parts := make([]string, len(keys))
		for i, k := range keys {
			parts[i] = k + " → " + m[k]
		}
		return strings.Join(parts, ", ")
	}
	switch string(bytes.TrimSpace(raw)) {
	case "true":
		return "yes"
	case "false":
		return "no"
	}
	return string(raw)
}
