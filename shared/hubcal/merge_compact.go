package hubcal

import (
	"cmp"
	"encoding/binary"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/elmcity/elmcity/shared/calendar"
)

// Contribution is one feed's share of a merge in compact form: its event
// bodies, each made once (tags included) however many occurrences share
// it, and one row of times per occurrence. Build one per feed with
// NewContribution, possibly on many goroutines at once, and merge them
// with Merge. The feed's parsed calendar and expansion are not kept: only
// the bodies' strings are. A region's member contributes its published
// calendar's copies instead (Calendar.Contribute).
type Contribution struct {
	bodies []body
	rows   []row
	rids   []int64 // recurrence ids of rows whose id is not their start

	in, dups int
	enc      []byte // the bodies' payload lines, once prepared
	prepared bool
}

// bodyKey identifies the body of an occurrence within a feed.
type bodyKey struct {
	ev     *calendar.Event
	allDay bool
	kind   byte
}

// seenKey identifies an occurrence within a feed: UID and recurrence id.
type seenKey struct {
	uid  int32
	sec  int64
	nsec int32
}

// NewContribution turns one feed's occurrences into its contribution,
// normalizing and mapping tags once per event body and dropping repeats
// of a (UID, RECURRENCE-ID) within the feed: the first is kept, unless it
// is cancelled and a repeat is not, which then takes its place. Each body
// is cancelled when its VEVENT is (calendar.Occurrence.Cancelled).
func NewContribution(f Feed, opts Options) *Contribution {
	c := &Contribution{}
	c.addOccurrences(f, opts.vocabulary())
	return c
}

// Contribute returns the copies of c's events in [from, to) (by
// calendar.InWindow), of the earliest limit events (limit <= 0: all), as a
// contribution to another merge: a region's share of one of its members.
// The copies are taken as they were published, bodies and rows, never
// made into Events: each copy keeps its source, hub UID, tags and status,
// and a folded event contributes each of its copies, which the region's
// merge folds again by the same rules (with the other members' copies).
// n counts the events taken, and how many of them are cancelled.
func (c *Calendar) Contribute(from, to time.Time, limit int) (out *Contribution, n Count) {
	c.ready()
	out = &Contribution{}
	at := make(map[int32]int32, len(c.bodies)) // member body -> contributed body
	take := func(r row, ref int32, rid int64) {
		bi, ok := at[ref]
		if !ok {
			b := &c.bodies[ref]
			bi = int32(len(out.bodies))
			out.bodies = append(out.bodies, body{Title: b.Title, Description: b.Description, Location: b.Location, URL: b.URL,
				AllDay: b.AllDay, Tags: b.Tags, Cats: b.Cats, Cancelled: b.Cancelled, Src: b.Src, z: b.z})
			at[ref] = bi
		}
		r.ref, r.x = bi, 0
		if rid != r.start {
			out.rids = append(out.rids, rid)
			r.x = int32(len(out.rids))
		}
		out.rows = append(out.rows, r)
		out.in++
	}
	for i := range c.rows {
		r := &c.rows[i]
		if time.Unix(r.start, 0).Compare(to) >= 0 || limit > 0 && n.Events == limit {
			break // rows are in start order
		}
		if !calendar.InWindow(time.Unix(r.start, 0), time.Unix(r.end, 0), from, to) {
			continue
		}
		n.Events++
		if r.ref >= 0 {
			take(*r, r.ref, c.rid(r, 0))
		} else {
			for k, ci := range c.groups[^r.ref].comps {
				take(*r, ci, c.rid(r, k))
			}
		}
		if c.primary(r).Cancelled {
			n.Cancelled++
		}
	}
	return out, n
}

// Count counts events, and how many of them are cancelled.
type Count struct{ Events, Cancelled int }

// vocabulary returns the hub's tags as a set.
func (o Options) vocabulary() map[string]bool {
	vocab := make(map[string]bool, len(o.Vocabulary))
	for _, v := range o.Vocabulary {
		vocab[normTag(v)] = true
	}
	return vocab
}

func (c *Contribution) addOccurrences(f Feed, vocab map[string]bool) {
	occs := f.Occurrences
	if len(occs) == 0 {
		return
	}
	byKey := make(map[bodyKey]int32)
	uids := make(map[string]int32)
	seen := make(map[seenKey]int, len(occs)) // the row kept for each
	c.rows = slices.Grow(c.rows, len(occs))
	for i := range occs {
		o := &occs[i]
		c.in++
		replace := -1
		if o.UID != "" {
			u, ok := uids[o.UID]
			if !ok {
				u = int32(len(uids))
				uids[o.UID] = u
			}
			k := seenKey{u, o.RecurrenceID.Unix(), int32(o.RecurrenceID.Nanosecond())}
			if at, dup := seen[k]; dup {
				c.dups++
				// A repeat that takes place wins over a cancelled one,
				// as when the cancelled copy was left out altogether.
				if o.Cancelled() || !c.bodies[c.rows[at].ref].Cancelled {
					continue
				}
				replace = at
			} else {
				seen[k] = len(c.rows)
			}
		}
		kind := byte(idSingle)
		switch {
		case o.UID == "":
			kind = idTitle
		case o.Event != nil && (o.Recurring || o.Override):
			kind = idInstance
		}
		key := bodyKey{o.Event, o.AllDay, kind}
		bi, ok := byKey[key]
		if !ok {
			bi = int32(len(c.bodies))
			byKey[key] = bi
			title := strings.TrimSpace(o.Summary)
			b := body{
				Title: title, Description: o.Description, Location: o.Location, URL: o.URL, AllDay: o.AllDay,
				Tags: eventTags(o, f.CatMap, f.Categories, vocab), Cats: o.Categories, Cancelled: o.Cancelled(),
				Src: bodySource{Feed: f.Feed, Name: f.Source, URL: cmp.Or(o.URL, f.HomeURL), UID: o.UID, Kind: kind},
			}
			if kind == idTitle {
				b.Src.Summary = o.Summary
			}
			b.Tags = b.Tags[:len(b.Tags):len(b.Tags)]
			c.bodies = append(c.bodies, b)
		}
		r := rowAt(o.Start, o.End, bi)
		if !ok {
			c.bodies[bi].z = r.off
		}
		if kind == idInstance {
			if rid := o.RecurrenceID.Unix(); rid != r.start {
				c.rids = append(c.rids, rid)
				r.x = int32(len(c.rids))
			}
		}
		if replace >= 0 {
			c.rows[replace] = r
			continue
		}
		c.rows = append(c.rows, r)
	}
}

// AddCarried adds a feed's events from an earlier run (Calendar.Carry),
// used when the feed was unchanged or could not be fetched.
func (c *Contribution) AddCarried(k *Carried) {
	if c.prepared {
		panic("hubcal: AddCarried on a prepared Contribution")
	}
	if k.Len() == 0 {
		return
	}
	base := int32(len(c.bodies))
	c.bodies = append(c.bodies, k.bodies...)
	for i, r := range k.rows {
		c.in++
		r.ref += base
		r.x = 0
		if k.rids[i] != r.start {
			c.rids = append(c.rids, k.rids[i])
			r.x = int32(len(c.rids))
		}
		c.rows = append(c.rows, r)
	}
}

// Len returns the number of occurrences c holds, cancelled ones
// included.
func (c *Contribution) Len() int { return len(c.rows) }

// Cancelled returns how many of the occurrences c holds are cancelled.
func (c *Contribution) Cancelled() int {
	n := 0
	for i := range c.rows {
		if c.bodies[c.rows[i].ref].Cancelled {
			n++
		}
	}
	return n
}

// Merge merges the feeds' contributions into the hub's calendar: the same
// event from several feeds (same start and all-day-ness, same or nearly
// the same title) is folded into one that keeps every source, its primary
// being the copy with the smallest hub UID; the result is sorted by
// start, title and UID. A region's members' events, folded already, fold
// as their primaries' copies would, and the event they make keeps every
// member's sources.
//
// A cancelled copy is folded only with other cancelled copies, never with
// one that takes place: when one feed cancels an event that another still
// lists, the hub shows both, so that neither feed's word is lost. A
// folded event's status is therefore that of every copy in it.
//
// Titles are compared per distinct title, not per pair of occurrences:
// only titles that match some other title at all are compared by words,
// and hub UIDs are derived only for the occurrences that might fold or tie.
// The contributions are consumed.
func Merge(cs []*Contribution) (*Calendar, Stats) {
	return mergeContributions(cs, 4096)
}

// mergeContributions is Merge folding in parts of at least
// minPart rows.
func mergeContributions(cs []*Contribution, minPart int) (*Calendar, Stats) {
	var st Stats
	nb, nr, nx := 0, 0, 0
	for _, c := range cs {
		nb += len(c.bodies)
		nr += len(c.rows)
		nx += len(c.rids)
		st.In += c.in
		st.SameFeedDups += c.dups
	}
	// What each feed's part needs on its own runs on every core: titles
	// normalized, rows sorted by start and title, bodies' JSON written.
	parallel(len(cs), func(i int) { cs[i].Prepare() })
	h := &Calendar{bodies: make([]body, 0, nb), rids: make([]int64, 0, nx), encChunks: make([][]byte, 0, len(cs))}
	bodyBase := make([]int32, len(cs))
	ridBase := make([]int32, len(cs))
	// A body's feed, for folding, is its source feed within its
	// contribution: one per contribution, except a region member's,
	// which holds its hub's feeds' copies.
	type feedKey struct {
		c    int
		feed string
	}
	feeds := make(map[feedKey]int32, len(cs))
	for fi, c := range cs {
		bodyBase[fi], ridBase[fi] = int32(len(h.bodies)), int32(len(h.rids))
		for _, b := range c.bodies {
			k := feedKey{fi, b.Src.Feed}
			id, ok := feeds[k]
			if !ok {
				id = int32(len(feeds))
				feeds[k] = id
			}
			b.feed = id
			h.bodies = append(h.bodies, b)
		}
		h.rids = append(h.rids, c.rids...)
		h.encChunks = append(h.encChunks, c.enc)
		// Copied: let the collector have them while the rest is copied.
		c.bodies, c.rids, c.enc = nil, nil, nil
	}
	t := indexTitles(h.bodies)
	h.rows = mergeSorted(cs, h.bodies, bodyBase, ridBase, nr, minPart)
	for _, c := range cs {
		*c = Contribution{}
	}
	foldAll(h, t, minPart, &st)
	h.tieBreak()
	st.Out = len(h.rows)
	return h, st
}

// parallel calls f(0) ... f(n-1) on up to GOMAXPROCS goroutines.
func parallel(n int, f func(i int)) {
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), max(n, 1)) {
		wg.Go(func() {
			for i := range next {
				f(i)
			}
		})
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
}

// encScratch holds buffers for Prepare's payload lines.
var encScratch = sync.Pool{New: func() any { return new([]byte) }}

// Prepare does the merge's work that concerns c alone, once: its bodies'
// normalized titles and payload lines, and its rows sorted by start and
// title (stably). Merge prepares the contributions not yet
// prepared, on every core; a caller building contributions in parallel
// calls Prepare where each is built. A prepared contribution takes no
// more occurrences.
func (c *Contribution) Prepare() {
	if c.prepared {
		return
	}
	c.prepared = true
	for i := range c.bodies {
		c.bodies[i].norm = normTitle(c.bodies[i].Title)
	}
	slices.SortStableFunc(c.rows, func(a, b row) int {
		if a.start != b.start {
			return cmp.Compare(a.start, b.start)
		}
		return strings.Compare(c.bodies[a.ref].Title, c.bodies[b.ref].Title)
	})
	// Written into a reused buffer and copied out at its size: the lines
	// stay on the heap until the payload is written, without the slack
	// of a grown buffer.
	scratch := encScratch.Get().(*[]byte)
	*scratch = appendBodies((*scratch)[:0], c.bodies)
	c.enc = slices.Clone(*scratch)
	encScratch.Put(scratch)
	// Once written, a body's text is needed only to make Events, and
	// Calendar.ready reads it back then: drop it from the heap now.
	for i := range c.bodies {
		b := &c.bodies[i]
		*b = body{Title: b.Title, AllDay: b.AllDay, Cancelled: b.Cancelled, norm: b.norm, z: b.z,
			Src: bodySource{Feed: b.Src.Feed, UID: b.Src.UID, Kind: b.Src.Kind, Summary: b.Src.Summary, ID: b.Src.ID}}
	}
}

// mergeSorted merges the contributions' sorted rows into one slice
// ordered by start and title rank, rebasing their body and recurrence-id
// indices; rows alike in both keep the feeds' order. The merge runs in as
// many parts as there are cores (of at least minPart rows), split at
// start instants sampled from the contributions, each part a heap merge
// of every contribution's rows in its range into its own stretch of the
// output.
func mergeSorted(cs []*Contribution, bodies []body, bodyBase, ridBase []int32, n, minPart int) []row {
	ranks := make([]int32, len(bodies))
	for i := range bodies {
		ranks[i] = bodies[i].rank
	}
	parts := min(runtime.GOMAXPROCS(0), max(n/max(minPart, 1), 1))
	// Split instants: quantiles of a sample of every contribution's starts.
	var sample []int64
	for _, c := range cs {
		for k := range 64 {
			if len(c.rows) > 0 {
				sample = append(sample, c.rows[len(c.rows)*k/64].start)
			}
		}
	}
	slices.Sort(sample)
	pivots := make([]int64, 0, parts-1)
	for p := 1; p < parts && len(sample) > 0; p++ {
		if v := sample[len(sample)*p/parts]; len(pivots) == 0 || v > pivots[len(pivots)-1] {
			pivots = append(pivots, v)
		}
	}
	parts = len(pivots) + 1
	// bounds[p][fi] is where part p starts in contribution fi's rows.
	bounds := make([][]int, parts+1)
	offsets := make([]int, parts+1)
	for p := range bounds {
		bounds[p] = make([]int, len(cs))
		for fi, c := range cs {
			switch p {
			case 0:
			case parts:
				bounds[p][fi] = len(c.rows)
			default:
				bounds[p][fi], _ = slices.BinarySearchFunc(c.rows, pivots[p-1], func(r row, t int64) int { return cmp.Compare(r.start, t) })
			}
			if p > 0 {
				offsets[p] += bounds[p][fi]
			}
		}
	}
	out := make([]row, n)
	parallel(parts, func(p int) {
		mergeRange(cs, ranks, bodyBase, ridBase, bounds[p], bounds[p+1], out[offsets[p]:offsets[p+1]])
	})
	return out
}

// mergeRange heap-merges rows [lo[fi], hi[fi]) of every contribution fi
// into out, which has room for exactly them.
func mergeRange(cs []*Contribution, ranks, bodyBase, ridBase []int32, lo, hi []int, out []row) {
	type cursor struct {
		start int64
		rank  int32
		feed  int32
		pos   int
	}
	less := func(a, b *cursor) bool {
		if a.start != b.start {
			return a.start < b.start
		}
		if a.rank != b.rank {
			return a.rank < b.rank
		}
		return a.feed < b.feed
	}
	load := func(fi int32, pos int) (cursor, bool) {
		if pos >= hi[fi] {
			return cursor{}, false
		}
		r := &cs[fi].rows[pos]
		return cursor{r.start, ranks[bodyBase[fi]+r.ref], fi, pos}, true
	}
	heap := make([]cursor, 0, len(cs))
	for fi := range cs {
		if cur, ok := load(int32(fi), lo[fi]); ok {
			heap = append(heap, cur)
		}
	}
	down := func(i int) {
		for {
			l := 2*i + 1
			if l >= len(heap) {
				return
			}
			m := l
			if r := l + 1; r < len(heap) && less(&heap[r], &heap[l]) {
				m = r
			}
			if !less(&heap[m], &heap[i]) {
				return
			}
			heap[i], heap[m] = heap[m], heap[i]
			i = m
		}
	}
	for i := len(heap)/2 - 1; i >= 0; i-- {
		down(i)
	}
	k := 0
	for len(heap) > 0 {
		top := &heap[0]
		r := cs[top.feed].rows[top.pos]
		r.ref += bodyBase[top.feed]
		if r.x != 0 {
			r.x += ridBase[top.feed]
		}
		out[k] = r
		k++
		if next, ok := load(top.feed, top.pos+1); ok {
			heap[0] = next
		} else {
			heap[0] = heap[len(heap)-1]
			heap = heap[:len(heap)-1]
		}
		down(0)
	}
}

// foldAll folds the sorted rows of h, in as many parts as there are
// cores, each part a whole number of starts; the parts' groups and
// recurrence ids are then joined.
func foldAll(h *Calendar, t *titles, minPart int, st *Stats) {
	parts := min(runtime.GOMAXPROCS(0), max(len(h.rows)/minPart, 1))
	bounds := []int{0}
	for p := 1; p < parts; p++ {
		i := max(len(h.rows)*p/parts, bounds[len(bounds)-1])
		for i < len(h.rows) && i > 0 && h.rows[i].start == h.rows[i-1].start {
			i++
		}
		bounds = append(bounds, i)
	}
	bounds = append(bounds, len(h.rows))
	keys := foldKeys(h, t)
	ms := make([]*merger, parts)
	parallel(parts, func(p int) {
		m := &merger{h: h, t: t, keys: keys, groupIDs: make(map[string]int32)}
		m.fold(bounds[p], bounds[p+1])
		ms[p] = m
	})
	base := make([]int32, parts)
	ridBase := make([]int32, parts)
	for p, m := range ms {
		base[p], ridBase[p] = int32(len(h.groups)), int32(len(h.rids))
		h.groups = append(h.groups, m.groups...)
		h.rids = append(h.rids, m.rids...)
		st.Merged += m.merged
	}
	out := h.rows[:0]
	p := 0
	for i, r := range h.rows {
		for i >= bounds[p+1] {
			p++
		}
		if r.ref == deleted {
			continue
		}
		if r.ref < 0 {
			r.ref = ^(^r.ref + base[p])
			if r.x != 0 {
				r.x += ridBase[p]
			}
		}
		out = append(out, r)
	}
	h.rows = out
}

// titles is the merge's index of distinct normalized titles.
type titles struct {
	norms []string
	words [][]string
	// fuzzy[t] reports that title t matches some other distinct title by
	// titleMatch.
	fuzzy []bool
	// partners[t] lists the other titles that t matches, by index, with
	// how; unchecked[t] reports that t's candidates were too many to check
	// pair by pair, so its matches are found by titleMatch itself.
	partners  [][]partner
	unchecked []bool
}

// partner is a title that another one matches.
type partner struct {
	tid int32
	how string
}

// indexTitles sets each body's norm, words, tid and rank, and finds the
// titles that can match another one.
func indexTitles(bodies []body) *titles {
	t := &titles{}
	ids := make(map[string]int32)
	ranks := make(map[string]int32)
	for i := range bodies {
		b := &bodies[i]
		if _, ok := ranks[b.Title]; !ok {
			ranks[b.Title] = 0
		}
		if b.norm == "" {
			b.norm = normTitle(b.Title)
		}
		id, ok := ids[b.norm]
		if !ok {
			id = int32(len(t.norms))
			ids[b.norm] = id
			t.norms = append(t.norms, b.norm)
			t.words = append(t.words, sortedWords(b.norm))
		}
		b.tid = id
		b.words = t.words[id]
	}
	sorted := make([]string, 0, len(ranks))
	for s := range ranks {
		sorted = append(sorted, s)
	}
	slices.Sort(sorted)
	for i, s := range sorted {
		ranks[s] = int32(i)
	}
	for i := range bodies {
		bodies[i].rank = ranks[bodies[i].Title]
	}
	t.fuzzy, t.partners, t.unchecked = fuzzyTitles(t.norms, t.words)
	return t
}

// fuzzyTitles reports, for each distinct normalized title, whether some
// other one matches it by titleMatch, and which. Candidates are found without
// comparing every pair: a prefix match shares the first three words, and
// titles sharing 80% of the longer one's words share one of each title's
// rarest words (prefix filtering: with n words and at least
// ceil(0.8n) shared, the n-ceil(0.8n)+1 rarest words of each title must
// meet). Candidates are then checked with titleMatch itself; a bucket too
// big to check pair by pair marks all its titles unchecked, which costs
// time later, never correctness.
func fuzzyTitles(norms []string, words [][]string) (fuzzy []bool, partners [][]partner, unchecked []bool) {
	const maxBucket = 256
	fuzzy = make([]bool, len(norms))
	partners = make([][]partner, len(norms))
	unchecked = make([]bool, len(norms))
	// Tokens are words with their repeat count, so that a title's words
	// form a set; each is ranked by how many titles use it.
	tokens := make([][]string, len(norms))
	df := make(map[string]int)
	for i, ws := range words {
		var tok []string
		for j, w := range ws {
			k := 0
			for j-k-1 >= 0 && ws[j-k-1] == w {
				k++
			}
			if k > 0 {
				w += "\x00" + string(rune('0'+min(k, 40)))
			}
			tok = append(tok, w)
			df[w]++
		}
		tokens[i] = tok
	}
	buckets := make(map[string][]int32)
	for i, tok := range tokens {
		n := len(tok)
		if n >= 2 {
			slices.SortFunc(tok, func(a, b string) int { return cmp.Or(cmp.Compare(df[a], df[b]), strings.Compare(a, b)) })
			p := n - (4*n+4)/5 + 1
			for _, w := range tok[:p] {
				buckets[w] = append(buckets[w], int32(i))
			}
		}
		if n >= 3 {
			f := strings.SplitN(norms[i], " ", 4)
			key := "\x01" + f[0] + " " + f[1] + " " + f[2]
			buckets[key] = append(buckets[key], int32(i))
		}
	}
	for _, ids := range buckets {
		if len(ids) < 2 {
			continue
		}
		if len(ids) > maxBucket {
			for _, id := range ids {
				fuzzy[id], unchecked[id] = true, true
			}
			continue
		}
		for x, a := range ids {
			for _, b := range ids[x+1:] {
				if how := titleMatch(norms[a], norms[b], words[a], words[b]); how != "" {
					fuzzy[a], fuzzy[b] = true, true
					partners[a] = append(partners[a], partner{b, how})
					partners[b] = append(partners[b], partner{a, how})
				}
			}
		}
	}
	for i, ps := range partners {
		// A pair may share several buckets.
		slices.SortFunc(ps, func(a, b partner) int { return cmp.Compare(a.tid, b.tid) })
		partners[i] = slices.CompactFunc(ps, func(a, b partner) bool { return a.tid == b.tid })
	}
	return fuzzy, partners, unchecked
}

// merger folds the rows of a sorted Calendar.
type merger struct {
	h        *Calendar
	t        *titles
	keys     []foldKey // by body index
	groupIDs map[string]int32
	groups   []group // this part's groups
	rids     []int64 // this part's recurrence ids of group rows
	merged   int
	buf      []byte
	// scratch
	members []int32
	inv     []int32
}

// foldKey is what folding reads of every body, kept apart from the
// bodies so that a run's checks stay in cache.
type foldKey struct {
	tid    int32
	feed   int32
	allDay bool
	titled bool // a non-empty normalized title
	fuzzy  bool // t.fuzzy[tid]
}

// foldKeys returns the fold keys of h's bodies.
func foldKeys(h *Calendar, t *titles) []foldKey {
	keys := make([]foldKey, len(h.bodies))
	for i := range h.bodies {
		b := &h.bodies[i]
		keys[i] = foldKey{tid: b.tid, feed: b.feed, allDay: b.AllDay, titled: b.norm != "", fuzzy: t.fuzzy[b.tid]}
	}
	return keys
}

// deleted marks a row folded into another.
const deleted = -1 << 31

// match says how the titles of bodies a and b match, as titleMatch does.
func (m *merger) match(a, b *body) string {
	if a.tid == b.tid {
		if a.norm == "" {
			return ""
		}
		return "same"
	}
	if !m.t.fuzzy[a.tid] || !m.t.fuzzy[b.tid] {
		return ""
	}
	if m.t.unchecked[a.tid] || m.t.unchecked[b.tid] {
		return titleMatch(a.norm, b.norm, a.words, b.words)
	}
	ps := m.t.partners[a.tid]
	if i, ok := slices.BinarySearchFunc(ps, b.tid, func(p partner, t int32) int { return cmp.Compare(p.tid, t) }); ok {
		return ps[i].how
	}
	return ""
}

// fold merges each run of rows in [lo, hi) with the same start and
// all-day-ness. A folded row is marked deleted; a primary refers to one
// of m.groups, and its recurrence ids (x) to m.rids.
func (m *merger) fold(lo, hi int) {
	rows := m.h.rows
	for i := lo; i < hi; {
		j := i + 1
		for j < hi && rows[j].start == rows[i].start {
			j++
		}
		if j-i > 1 {
			m.foldRun(i, j, false)
			m.foldRun(i, j, true)
		}
		i = j
	}
}

// foldRun folds the rows [i, j) of one start whose all-day-ness is allDay.
func (m *merger) foldRun(i, j int, allDay bool) {
	h := m.h
	m.members = m.members[:0]
	for k := i; k < j; k++ {
		// Rows folded by the other pass are of the other all-day-ness.
		if ref := h.rows[k].ref; ref >= 0 && m.keys[ref].allDay == allDay {
			m.members = append(m.members, int32(k))
		}
	}
	if len(m.members) < 2 {
		return
	}
	bodyOf := func(k int32) *body { return &h.bodies[h.rows[k].ref] }
	keyOf := func(k int32) *foldKey { return &m.keys[h.rows[k].ref] }
	// Involved rows: those that match a row of another feed.
	slices.SortFunc(m.members, func(a, b int32) int { return cmp.Compare(keyOf(a).tid, keyOf(b).tid) })
	m.inv = m.inv[:0]
	var fuzzy []int32
	for x := 0; x < len(m.members); {
		y := x + 1
		b := keyOf(m.members[x])
		for y < len(m.members) && keyOf(m.members[y]).tid == b.tid {
			y++
		}
		if b.titled && y-x > 1 {
			for z := x + 1; z < y; z++ {
				if keyOf(m.members[z]).feed != b.feed {
					m.inv = append(m.inv, m.members[x:y]...)
					break
				}
			}
		}
		if b.fuzzy {
			fuzzy = append(fuzzy, m.members[x:y]...)
		}
		x = y
	}
	for x, a := range fuzzy {
		ka := keyOf(a)
		for _, b := range fuzzy[x+1:] {
			if kb := keyOf(b); ka.tid != kb.tid && ka.feed != kb.feed && m.match(bodyOf(a), bodyOf(b)) != "" {
				m.inv = append(m.inv, a, b)
			}
		}
	}
	if len(m.inv) < 2 {
		return
	}
	slices.Sort(m.inv)
	m.inv = slices.Compact(m.inv)
	// Primary first: the smallest UID, so the choice does not depend on
	// feed order.
	type cand struct {
		k   int32
		uid string
	}
	cands := make([]cand, len(m.inv))
	for x, k := range m.inv {
		r := &h.rows[k]
		cands[x] = cand{k, bodyOf(k).uid(&m.buf, r.start, h.rid(r, 0))}
	}
	// Stable: copies without a UID, alike in feed, summary and start,
	// share a hub UID; they keep the calendar's order.
	slices.SortStableFunc(cands, func(a, b cand) int { return strings.Compare(a.uid, b.uid) })
	gone := make([]bool, len(cands))
	var feeds []int32
	var comps []int32
	var hows []string
	var rids []int64
	for x, a := range cands {
		if gone[x] {
			continue
		}
		pa := bodyOf(a.k)
		feeds = append(feeds[:0], pa.feed)
		comps = append(comps[:0], h.rows[a.k].ref)
		hows = hows[:0]
		for y := x + 1; y < len(cands); y++ {
			if gone[y] {
				continue
			}
			b := cands[y]
			pb := bodyOf(b.k)
			if slices.Contains(feeds, pb.feed) || pb.Cancelled != pa.Cancelled {
				continue
			}
			how := m.match(pa, pb)
			if how == "" {
				continue
			}
			gone[y] = true
			feeds = append(feeds, pb.feed)
			comps = append(comps, h.rows[b.k].ref)
			hows = append(hows, how)
		}
		if len(hows) == 0 {
			continue
		}
		m.merged += len(hows)
		ra := &h.rows[a.k]
		rids = append(rids[:0], h.rid(ra, 0))
		same := rids[0] == ra.start
		for y := x + 1; y < len(cands); y++ {
			if gone[y] && h.rows[cands[y].k].ref != deleted {
				rb := &h.rows[cands[y].k]
				rid := h.rid(rb, 0)
				rids = append(rids, rid)
				same = same && rid == rb.start
				rb.ref = deleted
			}
		}
		ra.ref = ^m.groupID(comps, hows)
		ra.x = 0
		if !same {
			ra.x = int32(len(m.rids) + 1)
			m.rids = append(m.rids, rids...)
		}
	}
}

// groupID returns the index of the group of comps and hows, adding it the
// first time: every instance of two folded series shares one group.
func (m *merger) groupID(comps []int32, hows []string) int32 {
	b := m.buf[:0]
	for _, c := range comps {
		b = binary.LittleEndian.AppendUint32(b, uint32(c))
	}
	for _, how := range hows {
		b = append(b, how[0])
	}
	m.buf = b
	if id, ok := m.groupIDs[string(b)]; ok {
		return id
	}
	id := int32(len(m.groups))
	m.groupIDs[string(b)] = id
	m.groups = append(m.groups, group{comps: slices.Clone(comps), hows: slices.Clone(hows)})
	return id
}

// title returns the rank of a row's title.
func (c *Calendar) title(r *row) int32 {
	if r.ref >= 0 {
		return c.bodies[r.ref].rank
	}
	return c.bodies[c.groups[^r.ref].comps[0]].rank
}

// tieBreak orders rows of the same start and title by UID.
func (c *Calendar) tieBreak() {
	var buf []byte
	type tied struct {
		r   row
		uid string
	}
	var run []tied
	for i := 0; i < len(c.rows); {
		j := i + 1
		ti := c.title(&c.rows[i])
		for j < len(c.rows) && c.rows[j].start == c.rows[i].start && c.title(&c.rows[j]) == ti {
			j++
		}
		if j-i > 1 {
			run = run[:0]
			for k := i; k < j; k++ {
				r := &c.rows[k]
				run = append(run, tied{*r, c.uidOf(&buf, r)})
			}
			slices.SortStableFunc(run, func(a, b tied) int { return strings.Compare(a.uid, b.uid) })
			for k := range run {
				c.rows[i+k] = run[k].r
			}
		}
		i = j
	}
}

// uidOf returns the hub UID of a row's event.
func (c *Calendar) uidOf(buf *[]byte, r *row) string {
	ref := r.ref
	if ref < 0 {
		ref = c.groups[^ref].comps[0]
	}
	return c.bodies[ref].uid(buf, r.start, c.rid(r, 0))
}
