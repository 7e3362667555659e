package aggregate

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/elmcity/elmcity/shared/hub"
	"github.com/elmcity/elmcity/shared/hubcal"
	"github.com/elmcity/elmcity/shared/publish"
	"github.com/elmcity/elmcity/shared/tablestore"
)

// MemberFeed is the FeedStats.Feed of a region's member hub: a region's
// "feeds" are its members' published calendars.
func MemberFeed(hubID string) string { return "hub:" + hubID }

// runRegion merges the published calendars of a region's member hubs:
// each member contributes its events in the region's window as they were
// published (with their sources, tags and UIDs), and the same event
// published by several members becomes one. A member that does not exist
// or has never published contributes nothing and is reported failed; a
// storage error fails the run, which is retried with the region's last
// calendar still served.
func (j *Job) runRegion(ctx context.Context, h hub.Hub, prev *decoded, log *slog.Logger) (Header, *hubcal.Calendar, error) {
	started := j.cfg.Now()
	from, to := window(h, started)
	head := Header{V: PayloadVersion, Hub: h.ID, Started: started, From: from, To: to}
	members, dropped := RegionMembers(h, j.cfg.MaxRegionMembers)
	if dropped > 0 {
		log.WarnContext(ctx, msgMembersLeftOut, "max_members", j.cfg.MaxRegionMembers, "left_out", dropped)
	}
	// Members are read one at a time, and each keeps only its earliest
	// MaxHubEvents events in the window (no more can be published), so a
	// region holds no member's whole calendar beside another's.
	cs := make([]*hubcal.Contribution, 0, len(members))
	for _, m := range members {
		st, in, err := j.member(ctx, m, prev, from, to)
		if err != nil {
			return head, nil, err
		}
		var before FeedStats
		if prev != nil {
			before = prev.feeds[st.Feed]
		}
		markFailing(&st, before, started)
		if st.Status == "ok" {
			head.FeedsOK++
			flagDrop(&st)
		} else {
			head.FeedsBad++
			log.WarnContext(ctx, msgMemberFailed, "member", m, "error_class", st.ErrorClass, "error", st.Error)
		}
		if st.Flag != "" {
			before, now := listed(st)
			log.WarnContext(ctx, msgMemberDropped, "member", m, "flag", st.Flag, "listed_before", before, "listed", now)
		}
		head.Feeds = append(head.Feeds, st)
		if in != nil {
			cs = append(cs, in)
		}
	}
	cal, mst := hubcal.Merge(cs)
	head.Events, head.Cancelled = cal.Len(), cal.Cancelled()
	head.Merged = mst.Merged
	head.Finished = j.cfg.Now()
	return head, cal, nil
}

// RegionMembers returns the member hubs a region merges: each once, in
// the order listed, at most limit (limit <= 0: all), and how many more it
// lists. The API refuses such lists; this guards regions stored before.
func RegionMembers(h hub.Hub, limit int) (members []string, dropped int) {
	seen := make(map[string]bool, len(h.Members))
	for _, m := range h.Members {
		if seen[m] || m == h.ID {
			continue
		}
		seen[m] = true
		if limit > 0 && len(members) == limit {
			dropped++
			continue
		}
		members = append(members, m)
	}
	return members, dropped
}

// member loads one member hub and its published events in [from, to),
// at most MaxHubEvents of them, as they were published: its share of the
// region's merge, each copy with its source and hub UID.
func (j *Job) member(ctx context.Context, id string, prev *decoded, from, to time.Time) (FeedStats, *hubcal.Contribution, error) {
	st := FeedStats{Feed: MemberFeed(id), Source: id}
	if prev != nil {
		before := prev.feeds[st.Feed]
		st.Previous, st.PreviousCancelled, st.LastSuccess = before.Occurrences, before.Cancelled, before.LastSuccess
	}
	fail := func(class, msg string) (FeedStats, *hubcal.Contribution, error) {
		st.Status, st.ErrorClass, st.Error = "failed", class, msg
		return st, nil, nil
	}
	m, err := j.hubs.GetHub(ctx, id)
	if errors.Is(err, tablestore.ErrNotFound) {
		return fail("no_hub", "no such hub")
	}
	if err != nil {
		return st, nil, fmt.Errorf("load member hub %s: %w", id, err)
	}
	st.Source = m.Title
	g, err := j.pub.Load(ctx, id)
	if errors.Is(err, publish.ErrNotFound) {
		return fail("not_published", "never published")
	}
	if err != nil {
		return st, nil, fmt.Errorf("load calendar of member hub %s: %w", id, err)
	}
	var mh Header
	cal, err := hubcal.Read(g.Payload, &mh)
	if err != nil {
		return fail("parse", "published calendar unreadable: "+err.Error())
	}
	st.Status = "ok"
	st.Events = mh.Events
	st.Bytes = int64(len(g.Payload))
	st.LastSuccess = g.PublishedAt
	in, n := cal.Contribute(from, to, j.cfg.MaxHubEvents)
	st.Occurrences, st.Cancelled = n.Events-n.Cancelled, n.Cancelled
	return st, in, nil
}

// flagDrop flags a good feed (or member) whose occurrences dropped to
// zero or by more than half since the previous run. It counts what the
// feed lists, cancelled occurrences included: a feed that cancels its
// events still lists them and works; one whose events vanish may not.
func flagDrop(st *FeedStats) {
	before, now := listed(*st)
	switch {
	case before > 0 && now == 0:
		st.Flag = "dropped to zero"
	case before > 0 && now*2 < before:
		st.Flag = "dropped by more than half"
	}
}

// listed returns the occurrences a feed (or member) listed in the run
// before and in this one, cancelled ones included: what flagDrop compares.
func listed(st FeedStats) (before, now int) {
	return st.Previous + st.PreviousCancelled, st.Occurrences + st.Cancelled
}

// MemberPublishedSince returns a member of region h that has published
// since t, as current reports their pointers, or "" when none has (or h
// is no region): the rule that makes a region stale before its interval.
// A member never published does not count; one whose pointer cannot be
// read does, so that the run finds out what it is.
func MemberPublishedSince(h hub.Hub, t time.Time, current func(id string) (publish.Pointer, error)) string {
	if h.Type != hub.TypeRegion {
		return ""
	}
	members, _ := RegionMembers(h, 0)
	for _, m := range members {
		p, err := current(m)
		if errors.Is(err, publish.ErrNotFound) {
			continue
		}
		if err != nil || p.PublishedAt.After(t) {
			return m
		}
	}
	return ""
}
