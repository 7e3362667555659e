package api

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/elmcity/elmcity/shared/tablelog"
)

// logEntry is the JSON shape of one log entry.
type logEntry struct {
	ID       string            `json:"id"`
	Time     time.Time         `json:"time"`
	Type     string            `json:"type"`
	Message  string            `json:"message"`
	Detail   string            `json:"detail,omitempty"`
	Role     string            `json:"role,omitempty"`
	Instance string            `json:"instance,omitempty"`
	Attrs    map[string]string `json:"attrs,omitempty"`
}

// getLogs returns a hub's log entries, newest first, filtered by type,
// since, until, include, exclude and limit, with a next token for paging.
func (s *Server) getLogs(c *gin.Context) {
	q, err := parseLogQuery(c.Param("hub"), c.Request.URL.Query())
	if err != nil {
		_ = c.Error(err)
		return
	}
	page, err := s.deps.Log.Read(c.Request.Context(), q)
	if err != nil {
		_ = c.Error(err)
		return
	}
	out := make([]logEntry, len(page.Entries))
	for i, e := range page.Entries {
		out[i] = logEntry{ID: e.ID, Time: e.Time, Type: e.Type, Message: e.Message, Detail: e.Detail, Role: e.Role, Instance: e.Instance, Attrs: e.Attrs}
	}
	c.JSON(http.StatusOK, gin.H{"entries": out, "next": page.Next})
}

// parseLogQuery reads the log filters from query parameters: type (comma
// list), since and until (RFC 3339 or YYYY-MM-DD, UTC), include and exclude
// (repeatable or comma lists), limit, after.
func parseLogQuery(hubID string, v url.Values) (tablelog.Query, error) {
	q := tablelog.Query{Hub: hubID, Types: list(v["type"]), Include: list(v["include"]), Exclude: list(v["exclude"]), After: v.Get("after")}
	fields := map[string]string{}
	for _, p := range []struct {
		name string
		dst  *time.Time
	}{{"since", &q.Since}, {"until", &q.Until}} {
		if s := v.Get(p.name); s != "" {
			t, err := parseTime(s)
			if err != nil {
				fields[p.name] = "must be an RFC 3339 time or a YYYY-MM-DD date"
			}
			*p.dst = t
		}
	}
	if s := v.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > tablelog.MaxLimit {
			fields["limit"] = "must be a whole number from 1 to " + strconv.Itoa(tablelog.MaxLimit)
		}
		q.Limit = n
	}
	for _, t := range q.Types {
		if !tablelog.ValidID(t) {
			fields["type"] = "each type must be 1-64 letters, digits, '_' or '-'"
		}
	}
	if len(fields) > 0 {
		return q, &Error{Status: http.StatusBadRequest, Code: "invalid", Message: "invalid query parameters", Fields: fields}
	}
	return q, nil
}

func parseTime(s string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	return time.Parse(time.DateOnly, s)
}

// list splits repeated and comma-separated values, dropping empties.
func list(vals []string) []string {
	var out []string
	for _, v := range vals {
		for _, p := range strings.Split(v, ",") {
			if p = strings.TrimSpace(p); p != "" {
				out = append(out, p)
			}
		}
	}
	return out
}
