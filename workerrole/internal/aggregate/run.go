package aggregate

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/elmcity/elmcity/shared/calendar"
	"github.com/elmcity/elmcity/shared/fetch"
	"github.com/elmcity/elmcity/shared/hub"
)

// window is the hub's expansion window: from local midnight today to
// horizon days later.
func window(h hub.Hub, now time.Time) (time.Time, time.Time) {
	loc := h.Location()
	t := now.In(loc)
	from := time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, loc)
	return from, from.AddDate(0, 0, h.HorizonDays)
}

// run fetches, parses, expands and merges every approved feed of h.
func (j *Job) run(ctx context.Context, h hub.Hub, prev *decoded, log *slog.Logger) (Header, []calendar.HubEvent, error) {
	started := j.cfg.Now()
	from, to := window(h, started)
	head := Header{V: 1, Hub: h.ID, Started: started, From: from, To: to}

	all, err := j.hubs.ListFeeds(ctx, h.ID)
	if err != nil {
		return head, nil, err
	}
	var feeds []hub.Feed
	for _, f := range all {
		if f.Approved {
			feeds = append(feeds, f)
		}
	}
	reqs := make([]fetch.Request, len(feeds))
	for i, f := range feeds {
		reqs[i] = fetch.Request{URL: f.FeedURL}
		if prev != nil {
			reqs[i].Prev = prev.feeds[f.ID].Validators
		}
	}
	outcomes := j.fetch.FetchAll(ctx, reqs, j.cfg.FeedConcurrency)
	if err := ctx.Err(); err != nil {
		return head, nil, err
	}

	parser := calendar.NewParser(calendar.Config{
		FloatingZone: h.Location(), DefaultDuration: j.cfg.DefaultDuration, MaxPerSeries: j.cfg.MaxPerSeries,
	})
	inputs := make([]calendar.FeedEvents, len(feeds))
	for i, f := range feeds {
		in := calendar.FeedEvents{Feed: f.ID, Source: f.Source, HomeURL: f.URL, Categories: f.Categories, CatMap: f.CatMap}
		var before FeedStats
		if prev != nil {
			before = prev.feeds[f.ID]
		}
		st := FeedStats{Feed: f.ID, URL: f.FeedURL, Source: f.Source, Previous: before.Occurrences, LastSuccess: before.LastSuccess}
		out := outcomes[i]
		res := out.Result
		st.DurationMS = res.Duration.Milliseconds()
		st.HTTPStatus = res.Status
		st.Bytes = res.WireBytes
		carry := func() {
			if prev != nil {
				in.Previous = calendar.Carry(prev.events, f.ID, from, to)
			}
			st.Occurrences = len(in.Previous)
			st.Events, st.Recurring, st.Skipped, st.ProdID = before.Events, before.Recurring, before.Skipped, before.ProdID
		}
		switch {
		case out.Err != nil:
			st.Status = "failed"
			st.ErrorClass = string(fetch.ClassOf(out.Err))
			st.Error = out.Err.Error()
			st.Validators = reqs[i].Prev
			carry()
			head.FeedsBad++
			log.WarnContext(ctx, fmt.Sprintf("feed %s failed (%s); serving its last good events", f.Source, st.ErrorClass),
				"feed_url", f.FeedURL, "error_class", st.ErrorClass, "error", st.Error, "carried", st.Occurrences)
		case res.NotModified || res.Unchanged:
			st.Status = "not_modified"
			if res.Unchanged {
				st.Status = "unchanged"
			}
			st.Validators = res.Validators
			st.LastSuccess = started
			carry()
			head.FeedsOK++
		default:
			st.Validators = res.Validators
			if err := j.parseFeed(ctx, parser, res.Body, from, to, &in, &st); err != nil {
				if ctx.Err() != nil {
					return head, nil, ctx.Err()
				}
				st.Status = "failed"
				st.ErrorClass = "parse"
				st.Error = err.Error()
				st.Validators = fetch.Validators{} // refetch in full next time
				carry()
				head.FeedsBad++
				log.WarnContext(ctx, fmt.Sprintf("feed %s is not a usable calendar; serving its last good events", f.Source),
					"feed_url", f.FeedURL, "error", st.Error)
				break
			}
			st.Status = "ok"
			st.LastSuccess = started
			head.FeedsOK++
		}
		switch {
		case before.Occurrences > 0 && st.Occurrences == 0 && st.Status == "ok":
			st.Flag = "dropped to zero"
		case before.Occurrences > 0 && st.Occurrences*2 < before.Occurrences && st.Status == "ok":
			st.Flag = "dropped by more than half"
		}
		if st.Flag != "" {
			log.WarnContext(ctx, fmt.Sprintf("feed %s %s (%d to %d occurrences)", f.Source, st.Flag, before.Occurrences, st.Occurrences),
				"feed_url", f.FeedURL)
		}
		inputs[i] = in
		head.Feeds = append(head.Feeds, st)
	}

	events, mst := calendar.Merge(inputs, calendar.MergeOptions{Vocabulary: h.Vocabulary})
	head.Events = len(events)
	head.Merged = mst.Merged
	head.Finished = j.cfg.Now()
	return head, events, nil
}

// parseFeed parses and expands one feed body into in.Occurrences,
// filling st.
func (j *Job) parseFeed(ctx context.Context, p *calendar.Parser, body []byte, from, to time.Time, in *calendar.FeedEvents, st *FeedStats) error {
	cal, err := p.Parse(ctx, body)
	if err != nil {
		return err
	}
	x, err := cal.Expand(ctx, calendar.ExpandOptions{From: from, To: to})
	if err != nil {
		return err
	}
	in.Occurrences = x.Occurrences
	s := cal.Stats
	st.Events, st.Recurring, st.Skipped, st.ProdID = s.Events, s.Recurring, len(s.Skipped), s.ProdID
	st.Occurrences = len(x.Occurrences)
	st.Truncated = len(x.Truncated)
	zones := map[string]int{}
	if s.Floating > 0 {
		zones["floating"] = s.Floating
	}
	for _, z := range s.Zones {
		if z.Kind != calendar.ZoneIANA {
			zones[string(z.Kind)]++
		}
	}
	if len(zones) > 0 {
		st.Zones = zones
	}
	return nil
}
