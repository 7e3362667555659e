package hubcal

// The merge and carry as they were before the compact engine (one Event
// per occurrence), kept as the oracle the engine's output is compared with.

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/elmcity/elmcity/shared/calendar"
)

// referenceMerge is the merge as it was before the compact engine: it turns the feeds' occurrences into the hub's events: tags
// normalized and mapped, repeats within a feed dropped, and the same event
// from several feeds (same start, same or nearly the same title) folded
// into one that keeps every source. The result is sorted by start, title
// and UID.
func referenceMerge(feeds []Feed, opts Options) ([]Event, Stats) {
	return referenceMergeCarried(feeds, nil, opts)
}

// referenceMergeCarried is referenceMerge with carried[i], the events of
// the run before, standing for feeds[i]'s occurrences.
func referenceMergeCarried(feeds []Feed, carried map[int][]Event, opts Options) ([]Event, Stats) {
	vocab := make(map[string]bool, len(opts.Vocabulary))
	for _, v := range opts.Vocabulary {
		vocab[normTag(v)] = true
	}
	var st Stats
	type cand struct {
		ev    Event
		feed  int
		title string   // normalized
		words []string // title's words, sorted, for the fuzzy match
	}
	var cands []cand
	for fi, f := range feeds {
		seen := make(map[string]int, len(f.Occurrences)) // the candidate kept for each
		feedTags := f.Categories
		for i := range f.Occurrences {
			o := &f.Occurrences[i]
			st.In++
			key := o.UID + "\x00" + strconv.FormatInt(o.RecurrenceID.UnixNano(), 10)
			replace := -1
			if at, dup := seen[key]; o.UID != "" && dup {
				st.SameFeedDups++
				// A repeat that takes place wins over a cancelled one.
				if o.Cancelled() || !cands[at].ev.Cancelled {
					continue
				}
				replace = at
			} else {
				seen[key] = len(cands)
			}
			uid := referenceUID(f.Feed, o)
			ev := Event{
				UID:         uid,
				Title:       strings.TrimSpace(o.Summary),
				Start:       o.Start,
				End:         o.End,
				AllDay:      o.AllDay,
				Description: o.Description,
				Location:    o.Location,
				URL:         o.URL,
				Tags:        eventTags(o, f.CatMap, feedTags, vocab),
				Cancelled:   o.Cancelled(),
				Sources:     []Source{{Feed: f.Feed, Name: f.Source, URL: cmp.Or(o.URL, f.HomeURL), UID: o.UID, ID: uid}},
			}
			t := normTitle(ev.Title)
			if replace >= 0 {
				cands[replace] = cand{ev: ev, feed: fi, title: t, words: sortedWords(t)}
				continue
			}
			cands = append(cands, cand{ev: ev, feed: fi, title: t, words: sortedWords(t)})
		}
		for _, ev := range carried[fi] {
			st.In++
			t := normTitle(ev.Title)
			cands = append(cands, cand{ev: ev, feed: fi, title: t, words: sortedWords(t)})
		}
	}

	// Group by start instant (and all-day-ness), then fold within groups.
	groups := make(map[int64][]int)
	var order []int64
	for i, c := range cands {
		k := c.ev.Start.UnixNano()
		if c.ev.AllDay {
			k = ^k
		}
		if _, ok := groups[k]; !ok {
			order = append(order, k)
		}
		groups[k] = append(groups[k], i)
	}
	out := make([]Event, 0, len(cands))
	for _, k := range order {
		idx := groups[k]
		absorbed := make([]bool, len(idx))
		// Primary first: the smallest UID, so the choice does not depend
		// on feed order.
		slices.SortFunc(idx, func(a, b int) int { return strings.Compare(cands[a].ev.UID, cands[b].ev.UID) })
		for i, a := range idx {
			if absorbed[i] {
				continue
			}
			ev := cands[a].ev
			feedsIn := map[int]bool{cands[a].feed: true}
			for j := i + 1; j < len(idx); j++ {
				b := idx[j]
				// A cancelled copy folds only with cancelled ones.
				if absorbed[j] || feedsIn[cands[b].feed] || cands[b].ev.Cancelled != ev.Cancelled {
					continue
				}
				how := titleMatch(cands[a].title, cands[b].title, cands[a].words, cands[b].words)
				if how == "" {
					continue
				}
				absorbed[j] = true
				feedsIn[cands[b].feed] = true
				st.Merged++
				other := cands[b].ev
				ev.Sources = append(ev.Sources, other.Sources...)
				ev.Tags = unionTags(ev.Tags, other.Tags)
				if ev.URL == "" {
					ev.URL = other.URL
				}
				if ev.Location == "" {
					ev.Location = other.Location
				}
				if len(other.Description) > len(ev.Description) {
					ev.Description = other.Description
				}
				ev.Merged = append(ev.Merged, MergeNote{
					Feed: other.Sources[0].Feed, UID: other.Sources[0].UID,
					Reason: fmt.Sprintf("same start %s and %s title (%q ~ %q)", ev.Start.UTC().Format(time.RFC3339), how, ev.Title, other.Title),
				})
			}
			out = append(out, ev)
		}
	}
	slices.SortFunc(out, func(a, b Event) int {
		return cmp.Or(a.Start.Compare(b.Start), strings.Compare(a.Title, b.Title), strings.Compare(a.UID, b.UID))
	})
	st.Out = len(out)
	return out, st
}

// referenceUID derives the hub UID of an occurrence from its feed and source
// identity: feed + UID for a single event (so a rescheduled event keeps
// its UID), plus the recurrence id for an instance of a series. Without a
// source UID, the title and start stand in.
func referenceUID(feed string, o *calendar.Occurrence) string {
	h := sha256.New()
	h.Write([]byte(feed))
	h.Write([]byte{0})
	if o.UID == "" {
		h.Write([]byte(o.Summary))
		h.Write([]byte{0})
		h.Write([]byte(o.Start.UTC().Format(time.RFC3339)))
	} else {
		h.Write([]byte(o.UID))
		if o.Event != nil && (o.Recurring || o.Override) {
			h.Write([]byte{0})
			h.Write([]byte(o.RecurrenceID.UTC().Format(time.RFC3339)))
		}
	}
	return hex.EncodeToString(h.Sum(nil)[:16]) + "@elmcity"
}

// referenceCarry is Carry as it was: it returns feed's copies of the events of an earlier run: for every
// event that lists feed among its sources, that source's copy with its own
// UID. Events outside [from, to) are left out, so a carried feed follows
// the window as it moves.
func referenceCarry(events []Event, feed string, from, to time.Time) []Event {
	var out []Event
	for _, e := range events {
		if !calendar.InWindow(e.Start, e.End, from, to) {
			continue
		}
		for _, src := range e.Sources {
			if src.Feed != feed {
				continue
			}
			c := e
			c.UID = cmp.Or(src.ID, e.UID)
			c.Sources = []Source{src}
			c.Merged = nil
			out = append(out, c)
			break
		}
	}
	return out
}
