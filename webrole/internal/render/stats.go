package render

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"time"

	"github.com/elmcity/elmcity/shared/hubrun"
)

// statsData is what the stats template reads.
type statsData struct {
	Title     string
	HubHref   string
	Published string
	Recorded  bool // the calendar carries a run header
	Started   string
	Took      string
	Window    string
	Run       hubrun.Header
	Rows      []statsRow
	Attention []statsRow // failed or flagged feeds
	Zone      string
}

// statsRow is one feed, formatted.
type statsRow struct {
	hubrun.FeedStats
	Anchor      string
	Name        string
	Link        string // the feed URL when safe to link
	Failed      bool
	Flagged     bool
	Class       string // row class: failed, flagged
	Problem     string // the error class in words and the HTTP status, for failed feeds
	Size        string
	Took        string
	ZoneList    string // "floating 2, windows 1"
	LastSuccess string
	// LastSuccessShort is the same time for the table: 2026-12-05 09:00.
	LastSuccessShort string
}

// StatsPage writes the report of the hub's last run as HTML, for
// curators to share: the run's summary, then every feed with its status,
// error, size, time, counts, time-zone anomalies, PRODID, last success
// and flag. Failed and flagged feeds are listed first under "needs
// attention" and marked in the table.
func StatsPage(w io.Writer, cal *Calendar) error {
	loc := cmp.Or(cal.Loc, time.UTC)
	d := statsData{
		Title:   cmp.Or(cal.Hub.Title, cal.Hub.ID),
		HubHref: HubPath(cal.Hub.ID),
		Zone:    loc.String(),
	}
	if !cal.PublishedAt.IsZero() {
		d.Published = statsTime(cal.PublishedAt, loc)
	}
	if len(bytes.TrimSpace(cal.Run)) > 0 && !bytes.Equal(bytes.TrimSpace(cal.Run), []byte("null")) {
		if err := json.Unmarshal(cal.Run, &d.Run); err != nil {
			return fmt.Errorf("stats page of %s: decode run header: %w", cal.Hub.ID, err)
		}
		d.Recorded = true
	}
	r := &d.Run
	if !r.Started.IsZero() {
		d.Started = statsTime(r.Started, loc)
		if r.Finished.After(r.Started) {
			d.Took = statsDuration(r.Finished.Sub(r.Started).Milliseconds())
		}
	}
	if !r.From.IsZero() && r.To.After(r.From) {
		d.Window = r.From.In(loc).Format("Jan 2, 2006") + " to " + r.To.In(loc).Format("Jan 2, 2006")
	}
	for i, f := range r.Feeds {
		// The report is public: a feed shows as scheme, host and path
		// (PublicFeedURL), and a failure as its class and HTTP status.
		// The error text stays in the curator API: it names resolvers,
		// addresses and ports of the network the worker runs in.
		f.URL, f.Error = PublicFeedURL(f.URL), ""
		row := statsRow{
			FeedStats: f,
			Anchor:    "feed-" + strconv.Itoa(i+1),
			Name:      cmp.Or(f.Source, f.Feed, f.URL),
			Link:      f.URL,
			Failed:    f.Status == "failed",
			Flagged:   f.Flag != "",
			Took:      statsDuration(f.DurationMS),
		}
		switch {
		case row.Failed:
			row.Class = "failed"
		case row.Flagged:
			row.Class = "flagged"
		}
		if f.Bytes > 0 {
			row.Size = statsBytes(f.Bytes)
		}
		if row.Failed || f.ErrorClass != "" {
			row.Problem = statsProblem(f.ErrorClass, f.HTTPStatus)
		}
		for _, k := range slices.Sorted(maps.Keys(f.Zones)) {
			if row.ZoneList != "" {
				row.ZoneList += ", "
			}
			row.ZoneList += k + " " + strconv.Itoa(f.Zones[k])
		}
		if !f.LastSuccess.IsZero() {
			row.LastSuccess = statsTime(f.LastSuccess, loc)
			row.LastSuccessShort = f.LastSuccess.In(loc).Format("2006-01-02 15:04")
		}
		d.Rows = append(d.Rows, row)
		if row.Failed || row.Flagged {
			d.Attention = append(d.Attention, row)
		}
	}
	// Failed feeds first: they are what a curator acts on.
	slices.SortStableFunc(d.Attention, func(a, b statsRow) int {
		return -cmp.Compare(statsRank(a.Failed), statsRank(b.Failed))
	})
	if err := htmlTemplates.ExecuteTemplate(w, "stats", &d); err != nil {
		return fmt.Errorf("render stats page of %s: %w", cal.Hub.ID, err)
	}
	return nil
}

// statsProblems say each error class of a feed's run (fetch.Class, and
// parse) in words, for the public report.
var statsProblems = map[string]string{
	"dns":       "host name not found",
	"connect":   "could not connect",
	"tls":       "secure connection failed",
	"timeout":   "timed out",
	"http_4xx":  "refused by the server",
	"http_5xx":  "server error",
	"too_large": "feed too large",
	"redirects": "too many redirects",
	"blocked":   "address not allowed",
	"bad_url":   "not a valid feed address",
	"charset":   "unreadable character set",
	"parse":     "not a usable calendar",
}

// statsProblem is why a feed failed as the public report says it: the
// error class in words, and the HTTP status when there was one, such as
// "server error (HTTP 503)". An unknown class reads "fetch failed".
func statsProblem(class string, status int) string {
	p, ok := statsProblems[class]
	if !ok {
		p = "fetch failed"
	}
	if status != 0 {
		p += " (HTTP " + strconv.Itoa(status) + ")"
	}
	return p
}

// statsTime is an instant in the hub's zone.
func statsTime(t time.Time, loc *time.Location) string {
	return t.In(loc).Format("Jan 2, 2006 3:04:05 PM MST")
}

// statsDuration formats milliseconds: 340 ms, 1.2 s, 2m05s.
func statsDuration(ms int64) string {
	switch {
	case ms < 1000:
		return strconv.FormatInt(ms, 10) + " ms"
	case ms < 60_000:
		return strconv.FormatFloat(float64(ms)/1000, 'f', 1, 64) + " s"
	}
	return (time.Duration(ms) * time.Millisecond).Round(time.Second).String()
}

// statsBytes formats a size in bytes: 812 B, 12.3 kB, 4.5 MB.
func statsBytes(n int64) string {
	switch {
	case n < 1000:
		return strconv.FormatInt(n, 10) + " B"
	case n < 1_000_000:
		return strconv.FormatFloat(float64(n)/1e3, 'f', 1, 64) + " kB"
	}
	return strconv.FormatFloat(float64(n)/1e6, 'f', 1, 64) + " MB"
}

// statsRank orders failed feeds first.
func statsRank(b bool) int {
	if b {
		return 1
	}
	return 0
}
