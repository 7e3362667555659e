package calendar

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
)

// ExpandOptions bounds an expansion.
type ExpandOptions struct {
	// From and To bound the window [From, To). An occurrence is in the
	// window when it starts before To and starts at or after From or
	// ends after From. DATE values and floating times are compared as if
	// they were UTC.
	From, To time.Time
	// MaxPerSeries caps the in-window occurrences of one master, counted
	// in recurrence order; 0 means the Parser's Config.MaxPerSeries.
	MaxPerSeries int
	// MaxOccurrences caps the occurrences of the whole feed; 0 means the
	// Parser's Config.MaxOccurrences. Reaching it stops the expansion,
	// which is reported in Expansion.Problems.
	MaxOccurrences int
	// IncludeCancelled keeps STATUS:CANCELLED occurrences (a cancelled
	// series or a cancelled override) in Occurrences (Occurrence.Cancelled
	// tells them). The hub keeps them and publishes them marked cancelled;
	// Expansion.Cancelled counts them either way.
	IncludeCancelled bool
}

// Expand lists the occurrences of every event of c inside the window.
// Each series is bounded by the window, the caps and a work budget (the
// candidate periods, days and times its rules examine: Config.MaxSteps
// per series, Config.MaxFeedSteps for the feed), so a rule that runs for
// centuries, or one with millions of instants per period, costs what
// its in-window part costs and never more than the budget. A series cut
// short by a budget is listed in Expansion.Problems; the other series
// are expanded as usual. It returns an error only when ctx is done,
// which it notices within a few milliseconds.
func (c *Calendar) Expand(ctx context.Context, opts ExpandOptions) (*Expansion, error) {
	if opts.MaxPerSeries <= 0 {
		opts.MaxPerSeries = c.maxPerSeries
	}
	if opts.MaxPerSeries <= 0 {
		opts.MaxPerSeries = DefaultMaxPerSeries
	}
	if opts.MaxOccurrences <= 0 {
		opts.MaxOccurrences = cmp.Or(c.maxTotal, DefaultMaxOccurrences)
	}
	x := &Expansion{}
	if !opts.To.After(opts.From) {
		return x, nil
	}
	var out collector
	perSeries := cmp.Or(c.maxSteps, DefaultMaxSteps)
	w := newWork(ctx, perSeries, cmp.Or(c.maxFeedSteps, DefaultMaxFeedSteps))
	// A series with rules may spend no more than an equal share of
	// what is left of the feed's budget (but at least minShare), so
	// that hostile series early in a feed cannot starve the rest.
	minShare := int64(max(perSeries/50, 1))
	withRules := 0
	for _, s := range c.series {
		if s.hasRules() {
			withRules++
		}
	}
	feedCut := 0
	for i, s := range c.series {
		if i%32 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, fmt.Errorf("expand calendar: %w", err)
			}
		}
		share := int64(0)
		if s.hasRules() {
			share = max(minShare, w.feed/int64(withRules))
			withRules--
		}
		w.startSeries(share)
		problem := s.expand(opts, w, &out, x)
		if w.err != nil {
			return nil, fmt.Errorf("expand calendar: %w", w.err)
		}
		switch {
		case problem == "":
		case strings.HasPrefix(problem, feedExhausted):
			// Past the feed's budget every series with rules is cut:
			// list the first few.
			if feedCut++; feedCut <= maxFeedCutListed {
				x.Problems = append(x.Problems, Skipped{UID: s.uid, Reason: problem})
			}
		default:
			x.Problems = append(x.Problems, Skipped{UID: s.uid, Reason: problem})
		}
		if out.n >= opts.MaxOccurrences {
			x.Problems = append(x.Problems, Skipped{Reason: fmt.Sprintf("expansion stopped at the limit of %d occurrences per feed", opts.MaxOccurrences)})
			break
		}
	}
	if feedCut > maxFeedCutListed {
		x.Problems = append(x.Problems, Skipped{Reason: fmt.Sprintf("%d more series cut short by the work budget of the feed (Config.MaxFeedSteps)", feedCut-maxFeedCutListed)})
	}
	x.Steps = w.used
	occs, err := out.sorted(ctx, func(o *Occurrence) bool {
		if o.Status != StatusCancelled {
			return true
		}
		x.Cancelled++
		return opts.IncludeCancelled
	})
	if err != nil {
		return nil, fmt.Errorf("expand calendar: %w", err)
	}
	x.Occurrences = occs
	return x, nil
}

// maxFeedCutListed is how many series cut short by the feed's budget
// Expansion.Problems names; the rest are counted.
const maxFeedCutListed = 100

// hasRules reports whether a master of the series has an RRULE.
func (s *series) hasRules() bool {
	for _, m := range s.masters {
		if len(m.rules) > 0 {
			return true
		}
	}
	return false
}

// collector gathers occurrences in chunks, so that a large expansion is
// copied once, into its sorted result, rather than on every growth of a
// single slice.
type collector struct {
	chunks [][]Occurrence
	n      int
}

// add appends an occurrence.
func (c *collector) add(o Occurrence) {
	if k := len(c.chunks); k == 0 || len(c.chunks[k-1]) == cap(c.chunks[k-1]) {
		size := 64 << min(k, 6) // 64, 128, ... 4096
		c.chunks = append(c.chunks, make([]Occurrence, 0, size))
	}
	last := &c.chunks[len(c.chunks)-1]
	*last = append(*last, o)
	c.n++
}

// sorted returns the occurrences that keep accepts, ordered by
// compareOccurrences (occurrences equal by it keep their order). The
// start instants are sorted first, so that most comparisons touch no
// occurrence. The sort runs in steps (runs of sortRun, then merges),
// so that a cancelled ctx stops it within a millisecond or two: it
// returns ctx's error then.
func (c *collector) sorted(ctx context.Context, keep func(*Occurrence) bool) ([]Occurrence, error) {
	all := make([]occEntry, 0, c.n)
	for _, chunk := range c.chunks {
		for i := range chunk {
			if o := &chunk[i]; keep(o) {
				all = append(all, occEntry{o.Start.Unix(), o})
			}
		}
	}
	for lo := 0; lo < len(all); lo += sortRun {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		slices.SortStableFunc(all[lo:min(lo+sortRun, len(all))], compareEntries)
	}
	if len(all) > sortRun {
		buf := make([]occEntry, len(all))
		for width := sortRun; width < len(all); width *= 2 {
			for lo := 0; lo < len(all); lo += 2 * width {
				if err := ctx.Err(); err != nil {
					return nil, err
				}
				mid, hi := min(lo+width, len(all)), min(lo+2*width, len(all))
				mergeEntries(buf[lo:hi], all[lo:mid], all[mid:hi])
			}
			all, buf = buf, all
		}
	}
	out := make([]Occurrence, len(all))
	for i, e := range all {
		out[i] = *e.o
	}
	return out, nil
}

// sortRun is the length of the runs sorted between looks at the
// context.
const sortRun = 4096

// occEntry is an occurrence with its start instant, for sorting.
type occEntry struct {
	at int64 // start, in Unix seconds
	o  *Occurrence
}

// compareEntries orders entries by start instant, then by
// compareOccurrences.
func compareEntries(a, b occEntry) int {
	if a.at != b.at {
		return cmp.Compare(a.at, b.at)
	}
	return compareOccurrences(a.o, b.o)
}

// mergeEntries merges the sorted a and b into out, a's entries first
// among equal ones.
func mergeEntries(out, a, b []occEntry) {
	i, j := 0, 0
	for k := range out {
		if j == len(b) || i < len(a) && compareEntries(a[i], b[j]) <= 0 {
			out[k] = a[i]
			i++
		} else {
			out[k] = b[j]
			j++
		}
	}
}

// compareOccurrences orders by start instant, then UID, recurrence id,
// start, end, summary and status.
func compareOccurrences(a, b *Occurrence) int {
	if c := a.Start.Compare(b.Start); c != 0 {
		return c
	}
	if c := strings.Compare(a.UID, b.UID); c != 0 {
		return c
	}
	if c := a.RecurrenceID.Compare(b.RecurrenceID); c != 0 {
		return c
	}
	if c := a.End.Compare(b.End); c != 0 {
		return c
	}
	if c := strings.Compare(a.Summary, b.Summary); c != 0 {
		return c
	}
	return strings.Compare(string(a.Status), string(b.Status))
}

// series is the masters and overrides that share a UID.
type series struct {
	uid       string
	broken    bool // a master of this UID was skipped
	masters   []*Event
	overrides []*Event // one per recurrence id: the highest SEQUENCE
	byKey     map[int64]*Event
	byDate    map[time.Time]*Event // overrides whose RECURRENCE-ID type differs from DTSTART's
	ranges    []*Event             // RANGE=THISANDFUTURE, by recurrence id
	rangeKeys []int64              // the recurrence keys of ranges
	keys      map[*Event]int64
	// reach is how far a THISANDFUTURE override can move an instance
	// plus its length: instances that far outside the window are looked
	// at.
	reach time.Duration
}

// groupSeries groups events by UID, in order of first appearance, and
// picks the winning override for each recurrence id.
func groupSeries(events []*Event, broken map[string]bool) []*series {
	index := make(map[string]*series)
	var out []*series
	for _, e := range events {
		s := index[e.UID]
		if s == nil {
			s = &series{uid: e.UID, broken: broken[e.UID]}
			index[e.UID] = s
			out = append(out, s)
		}
		if e.hasRecur {
			s.overrides = append(s.overrides, e)
		} else {
			s.masters = append(s.masters, e)
		}
	}
	for _, s := range out {
		s.index()
	}
	return out
}

// overrideKey is the instant an override replaces, read in the master's
// zone when the RECURRENCE-ID is floating and the master is not.
func (s *series) overrideKey(o *Event) int64 {
	rid := o.recurID
	if len(s.masters) > 0 && rid.floating() && !rid.date {
		if m := s.masters[0].start; !m.date && !m.utc && !m.floating() {
			rid.zone = m.zone
		}
	}
	return rid.instant().Unix()
}

// index builds the override lookups. Of several overrides for one
// recurrence id, the highest SEQUENCE wins, then the last in the file.
func (s *series) index() {
	if len(s.overrides) == 0 {
		return
	}
	s.byKey = make(map[int64]*Event, len(s.overrides))
	s.keys = make(map[*Event]int64, len(s.overrides))
	for _, o := range s.overrides {
		k := s.overrideKey(o)
		if prev, ok := s.byKey[k]; ok && prev.Sequence > o.Sequence {
			prev.seqWin = true
			continue
		}
		s.byKey[k] = o
	}
	kept := s.overrides[:0]
	for _, o := range s.overrides {
		k := s.overrideKey(o)
		if s.byKey[k] != o {
			continue
		}
		s.keys[o] = k
		kept = append(kept, o)
		if len(s.masters) > 0 && o.recurID.date != s.masters[0].start.date {
			if s.byDate == nil {
				s.byDate = make(map[time.Time]*Event)
			}
			s.byDate[dateOf(o.recurID.wall)] = o
		}
		if o.ThisAndFuture {
			s.ranges = append(s.ranges, o)
		}
	}
	s.overrides = kept
	slices.SortFunc(s.ranges, func(a, b *Event) int { return cmp.Compare(s.keys[a], s.keys[b]) })
	for _, r := range s.ranges {
		s.rangeKeys = append(s.rangeKeys, s.keys[r])
		shift := r.start.wall.Sub(r.recurID.wall)
		s.reach = max(s.reach, addDurations(max(shift, -shift), max(r.End.Sub(r.Start), 0)))
	}
}

// addDurations adds durations, saturating instead of overflowing.
func addDurations(a, b time.Duration) time.Duration {
	if b > 0 && a > math.MaxInt64-b {
		return math.MaxInt64
	}
	return a + b
}

// dateOf returns midnight UTC of t's date.
func dateOf(t time.Time) time.Time {
	y, m, d := t.Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// expand adds the series' occurrences to x. Each master is expanded with
// the overrides applied; overrides that replace none of its instances
// are listed on their own, once per master (duplicate masters are left
// for the merger). Without a master the overrides are listed once,
// unless the master was skipped as broken. The series' rules spend w;
// so does looking at the overrides again for every master after the
// first.
func (s *series) expand(opts ExpandOptions, w *work, out *collector, x *Expansion) (problem string) {
	if len(s.masters) == 0 {
		if s.broken && len(s.overrides) > 0 {
			return "overrides of a master that was skipped are left out"
		}
		if !s.broken {
			s.standalone(nil, nil, int64(1<<63-1), opts, w, out)
		}
		return ""
	}
	truncated := false
	for i, m := range s.masters {
		if i > 0 && len(s.overrides) > 0 && !w.spend(int64(len(s.overrides))) {
			if w.err == nil && problem == "" {
				problem = w.exhausted() + fmt.Sprintf("; %d of %d masters with this UID expanded", i, len(s.masters))
			}
			break
		}
		var used map[*Event]bool
		if len(s.overrides) > 0 {
			used = make(map[*Event]bool)
		}
		last, trunc, p := s.expandMaster(m, opts, w, used, out)
		if w.err != nil {
			return ""
		}
		if p != "" && problem == "" {
			problem = p
		}
		stop := int64(1<<63 - 1)
		if trunc {
			truncated, stop = true, last
		}
		s.standalone(m, used, stop, opts, w, out)
	}
	if truncated {
		x.Truncated = append(x.Truncated, s.uid)
	}
	return problem
}

// standalone lists the overrides that m (nil: no master) did not use, up
// to the recurrence key stop, unless m's EXDATE removes their instant.
func (s *series) standalone(m *Event, used map[*Event]bool, stop int64, opts ExpandOptions, w *work, out *collector) {
	var ex exclusions
	if m != nil && len(m.exdates) > 0 && len(s.overrides) > 0 {
		ex = newExclusions(m)
	}
	for i, o := range s.overrides {
		if i%4096 == 4095 && !w.alive() {
			return
		}
		if used[o] || s.keys[o] > stop || ex.excludes(o, s.keys[o]) {
			continue
		}
		if out.n >= opts.MaxOccurrences {
			return
		}
		occ := occurrence(o, o.start, o.Start, o.End, o.Policy)
		occ.Override = true
		occ.RecurrenceID = o.RecurrenceID
		occ.ridDate = o.recurID.date
		if inWindow(occ, opts) {
			out.add(occ)
		}
	}
}

// exclusions are a master's EXDATEs as the overrides are checked
// against them: by instant for an EXDATE of the RECURRENCE-ID's type,
// by date for a DATE EXDATE and a timed RECURRENCE-ID.
type exclusions struct {
	dateAt map[int64]bool     // DATE EXDATEs, by instant
	timeAt map[int64]bool     // DATE-TIME EXDATEs, by instant
	dates  map[time.Time]bool // DATE EXDATEs, by date
}

// newExclusions indexes m's EXDATEs.
func newExclusions(m *Event) exclusions {
	ex := exclusions{dateAt: make(map[int64]bool), timeAt: make(map[int64]bool), dates: make(map[time.Time]bool)}
	for _, e := range m.exdates {
		if e.date {
			ex.dateAt[e.instant().Unix()] = true
			ex.dates[e.wall] = true
		} else {
			ex.timeAt[e.instant().Unix()] = true
		}
	}
	return ex
}

// excludes reports whether an EXDATE removes the instance override o
// (with recurrence key k) replaces.
func (ex exclusions) excludes(o *Event, k int64) bool {
	if ex.dates == nil {
		return false
	}
	if o.recurID.date {
		return ex.dateAt[k]
	}
	return ex.timeAt[k] || ex.dates[dateOf(o.recurID.wall)]
}

// inWindow reports whether an occurrence overlaps the window.
func inWindow(o Occurrence, opts ExpandOptions) bool {
	return InWindow(o.Start, o.End, opts.From, opts.To)
}

// InWindow is the window rule of expansion, merging and carrying: an
// event from start to end belongs to [from, to) when it starts before to
// and starts at or after from or is still going on at from.
func InWindow(start, end, from, to time.Time) bool {
	return start.Before(to) && (!start.Before(from) || end.After(from))
}

// occurrence builds an occurrence from the component that supplies its
// data.
func occurrence(src *Event, start dateValue, at, end time.Time, policy Policy) Occurrence {
	if src.charset {
		policy = policy.join(PolicyCharset)
	}
	if src.seqWin {
		policy = policy.join(PolicySequence)
	}
	return Occurrence{
		Event:        src,
		RecurrenceID: at,
		Start:        at,
		End:          end,
		AllDay:       start.date,
		Floating:     start.floating(),
		Policy:       policy,
		ridDate:      start.date,
	}
}

// instance is one member of a master's recurrence set.
type instance struct {
	val    dateValue // the start as written (wall clock and zone)
	at     time.Time // the start instant
	end    time.Time // set for RDATE PERIODs
	hasEnd bool
	policy Policy // a policy that made the instance part of the set
}

// expandMaster adds one master's occurrences, recording the overrides it
// used, and returns the recurrence key of the last instance looked at,
// whether the cap cut the series, and a problem to report.
func (s *series) expandMaster(m *Event, opts ExpandOptions, w *work, used map[*Event]bool, out *collector) (last int64, truncated bool, problem string) {
	// Instances are looked at from the first that can reach into the
	// window, by its length or a THISANDFUTURE shift, up to one a shift
	// can bring back into it (with two days to spare).
	reach := addDurations(s.reach, max(m.End.Sub(m.Start), 0))
	first, to := opts.From.Add(-reach), opts.To.Add(addDurations(48*time.Hour, reach))

	if len(m.rules) == 0 && len(m.rdates) == 0 {
		// A single event: DTSTART is its one instance.
		in := instance{val: m.start, at: m.Start, policy: m.startPolicy}
		if !in.at.Before(to) || len(m.exdates) > 0 && newInstanceSource(m, first, to, w).isExcluded(in) {
			return int64(1<<63 - 1), false, ""
		}
		if occ := s.resolve(m, in, used); inWindow(occ, opts) {
			if out.n >= opts.MaxOccurrences {
				return 0, true, ""
			}
			out.add(occ)
		}
		return int64(1<<63 - 1), false, ""
	}

	src := newInstanceSource(m, first, to, w)
	defer src.release(w)
	count := 0
	for n := 1; ; n++ {
		if n%4096 == 0 && !w.alive() {
			return last, false, ""
		}
		in, ok := src.next()
		if !ok || !in.at.Before(to) {
			break
		}
		key := in.at.Unix()
		occ := s.resolve(m, in, used)
		if !inWindow(occ, opts) {
			continue
		}
		if count == opts.MaxPerSeries || out.n >= opts.MaxOccurrences {
			// One more in-window instance: a cap cut the series. (An
			// override it used has a key after last, so standalone
			// leaves it out too.)
			return last, true, src.problem
		}
		last = key
		out.add(occ)
		count++
	}
	return int64(1<<63 - 1), false, src.problem
}

// resolve turns an instance into its occurrence: an override's data when
// one replaces it, a THISANDFUTURE override's shifted data when one
// reaches it, the master's otherwise.
func (s *series) resolve(m *Event, in instance, used map[*Event]bool) Occurrence {
	if o := s.match(in); o != nil {
		used[o] = true
		occ := occurrence(o, o.start, o.Start, o.End, o.Policy)
		occ.Override = true
		occ.RecurrenceID = in.at
		occ.ridDate = in.val.date
		return occ
	}
	if r := s.rangeFor(in.at.Unix()); r != nil {
		shift := r.start.wall.Sub(r.recurID.wall)
		val := r.start.withWall(in.val.wall.Add(shift))
		at, startPolicy := val.resolve()
		end, policy := r.endOf(val, at, r.End.Sub(r.Start))
		occ := occurrence(r, val, at, end, startPolicy.join(policy))
		occ.Override = true
		occ.RecurrenceID = in.at
		occ.ridDate = in.val.date
		return occ
	}
	end, policy := in.end, Policy("")
	if !in.hasEnd {
		// m.End - m.Start is Config.DefaultDuration when the master
		// has neither DTEND nor DURATION.
		end, policy = m.endOf(in.val, in.at, m.End.Sub(m.Start))
	}
	return occurrence(m, in.val, in.at, end, in.policy.join(policy))
}

// match returns the override that replaces an instance, if any: by
// instant, or by calendar date when the RECURRENCE-ID's value type
// differs from DTSTART's.
func (s *series) match(in instance) *Event {
	if s.byKey == nil {
		return nil
	}
	if o, ok := s.byKey[in.at.Unix()]; ok && o.recurID.date == in.val.date {
		return o
	}
	if s.byDate != nil {
		if o, ok := s.byDate[dateOf(in.val.wall)]; ok {
			return o
		}
	}
	if o, ok := s.byKey[in.at.Unix()]; ok {
		return o
	}
	return nil
}

// rangeFor returns the latest THISANDFUTURE override at or before key.
func (s *series) rangeFor(key int64) *Event {
	if len(s.ranges) == 0 {
		return nil
	}
	i, found := slices.BinarySearch(s.rangeKeys, key)
	if found {
		// The last of equal keys, as a scan would find.
		for i+1 < len(s.rangeKeys) && s.rangeKeys[i+1] == key {
			i++
		}
		return s.ranges[i]
	}
	if i == 0 {
		return nil
	}
	return s.ranges[i-1]
}

// instanceSource merges a master's DTSTART, rule instances and RDATEs in
// order, drops duplicates and EXDATEs, and stops at the range's end.
type instanceSource struct {
	m       *Event
	rules   []*ruleIter
	rdates  []instance
	dtstart *instance
	lastAt  time.Time
	started bool
	exAt    map[int64]bool
	exDate  map[time.Time]bool
	problem string
}

// newInstanceSource prepares the iteration of m's recurrence set up to
// to; its rules need not yield instances that start before earliest.
func newInstanceSource(m *Event, earliest, to time.Time, w *work) *instanceSource {
	src := &instanceSource{m: m}
	first := instance{val: m.start, at: m.Start, policy: m.startPolicy}
	if len(m.rules) == 0 && len(m.rdates) > 0 {
		first.policy = first.policy.join(PolicyDTStart)
		for _, rd := range m.rdates {
			if rd.start.instant().Equal(m.Start) {
				first.policy = m.startPolicy
			}
		}
	}
	src.dtstart = &first
	if len(m.rules) > 0 && allUntilBefore(m) {
		// Every rule ends before DTSTART: the series was cut off
		// before it began (Google writes this when all instances are
		// deleted), so DTSTART is no instance either.
		src.dtstart = nil
	}
	for i, rd := range m.rdates {
		if i%4096 == 4095 && !w.alive() {
			break // Expand returns ctx's error
		}
		val := rd.start
		if val.floating() && !val.date && !m.start.date && !m.start.utc && !m.start.floating() {
			val.zone = m.start.zone
		}
		at, policy := val.resolve()
		in := instance{val: val, at: at, end: rd.end, hasEnd: rd.hasEnd, policy: policy}
		src.rdates = append(src.rdates, in)
	}
	byStart := func(a, b instance) int { return a.at.Compare(b.at) }
	if !slices.IsSortedFunc(src.rdates, byStart) {
		slices.SortStableFunc(src.rdates, byStart)
	}
	for i, ex := range m.exdates {
		if i%4096 == 4095 && !w.alive() {
			break // Expand returns ctx's error
		}
		if ex.date {
			if src.exDate == nil {
				src.exDate = make(map[time.Time]bool)
			}
			src.exDate[ex.wall] = true
			continue
		}
		if ex.floating() && !m.start.date && !m.start.utc && !m.start.floating() {
			ex.zone = m.start.zone
		}
		if src.exAt == nil {
			src.exAt = make(map[int64]bool)
		}
		src.exAt[ex.instant().Unix()] = true
	}
	if len(m.rules) > 0 && (w.refused || w.feedOut) {
		// The budget has run out: the rules are not evaluated.
		src.problem = w.exhausted()
		return src
	}
	for i := range m.rules {
		src.rules = append(src.rules, newRuleIter(m, &m.rules[i], earliest, to, w))
	}
	return src
}

// release hands the rules' evaluations back to w for reuse.
func (src *instanceSource) release(w *work) {
	for _, r := range src.rules {
		w.release(r.eval)
		r.eval = nil
	}
}

// allUntilBefore reports whether every RRULE of m has an UNTIL before
// DTSTART.
func allUntilBefore(m *Event) bool {
	for _, r := range m.rules {
		if !r.hasUntil {
			return false
		}
		in := instance{val: m.start, at: m.Start}
		if past, _ := untilPassed(r.until, in); !past {
			return false
		}
	}
	return true
}

// next returns the next instance of the recurrence set.
func (src *instanceSource) next() (instance, bool) {
	for {
		in, ok := src.pop()
		if !ok {
			return instance{}, false
		}
		if src.started && !in.at.After(src.lastAt) {
			continue // duplicate (or out of order): listed once
		}
		src.started, src.lastAt = true, in.at
		if src.isExcluded(in) {
			continue
		}
		return in, true
	}
}

// isExcluded applies EXDATE: by instant, or by date for DATE values and
// for DATE EXDATEs of a timed series.
func (src *instanceSource) isExcluded(in instance) bool {
	if src.exAt != nil && src.exAt[in.at.Unix()] {
		return true
	}
	if src.exDate != nil && src.exDate[dateOf(in.val.wall)] {
		return true
	}
	return false
}

// pop takes the earliest pending instance from DTSTART, the RDATEs and
// the rules.
func (src *instanceSource) pop() (instance, bool) {
	var best *instance
	bestRule := -1
	if src.dtstart != nil {
		best = src.dtstart
	}
	// On a tie an RDATE PERIOD wins over DTSTART: it carries its end.
	if len(src.rdates) > 0 && (best == nil || src.rdates[0].at.Before(best.at) ||
		src.rdates[0].at.Equal(best.at) && src.rdates[0].hasEnd) {
		best = &src.rdates[0]
	}
	for i, r := range src.rules {
		in, ok := r.peek()
		if !ok {
			if r.problem != "" && src.problem == "" {
				src.problem = r.problem
			}
			continue
		}
		if best == nil || in.at.Before(best.at) {
			best, bestRule = in, i
		}
	}
	if best == nil {
		return instance{}, false
	}
	out := *best
	switch {
	case bestRule >= 0:
		src.rules[bestRule].advance()
	case src.dtstart != nil && best == src.dtstart:
		src.dtstart = nil
	default:
		src.rdates = src.rdates[1:]
	}
	return out, true
}

// ruleIter walks one RRULE with a ruleEval, which yields wall clocks;
// it places them in DTSTART's zone and applies UNTIL.
type ruleIter struct {
	m       *Event
	spec    *ruleSpec
	eval    *ruleEval
	w       *work
	cur     instance
	have    bool
	done    bool
	problem string
}

// newRuleIter prepares the iteration of one rule of m up to to: without
// COUNT (or with one too large to end the rule before to) it begins near
// the wall clock of first in m's zone, a few hours earlier for a
// daylight-saving change, and it never looks at a period beginning more
// than two days (more than any UTC offset) after to or after UNTIL.
func newRuleIter(m *Event, spec *ruleSpec, first, to time.Time, w *work) *ruleIter {
	start := m.start.wall
	limit := to.UTC().Add(48 * time.Hour)
	if spec.hasUntil {
		if u := spec.until.wall.Add(48 * time.Hour); u.Before(limit) {
			limit = u
		}
	}
	eval := newRuleEval(spellOut(*spec.opt, start), ruleEvalOptions{
		start: start,
		skip:  wallBefore(m.start, first),
		limit: limit,
		count: spec.count,
	}, w)
	return &ruleIter{m: m, spec: spec, eval: eval, w: w}
}

// wallBefore returns a wall clock before which no instance of a series
// starting at v (its type and zone) can start at or after the instant
// t. That is t's wall clock in v's zone, less the hour (or whatever) the
// clocks skipped if they went forward shortly before t: a wall clock in
// that gap is placed with the offset before it (RFC 5545 section 3.3.5),
// after wall clocks that follow the gap. (When clocks go back, a wall
// clock that occurs twice is placed at its first occurrence, so a later
// instance never has an earlier wall clock.)
func wallBefore(v dateValue, t time.Time) time.Time {
	z := v.zone
	if v.date || v.utc || z == nil || z.loc == nil {
		return t.UTC()
	}
	local := t.In(z.loc)
	y, mo, d := local.Date()
	h, mi, sec := local.Clock()
	wall := time.Date(y, mo, d, h, mi, sec, 0, time.UTC)
	_, now := local.Zone()
	if start, _ := local.ZoneBounds(); !start.IsZero() && t.Sub(start) < 48*time.Hour {
		if _, before := start.Add(-time.Second).In(z.loc).Zone(); now > before {
			wall = wall.Add(-time.Duration(now-before) * time.Second)
		}
	}
	return wall
}

// resolveSteps is what placing an instance in its zone and building its
// occurrence costs, in steps (a step being a candidate the evaluator
// examines): it takes a few times as long.
const resolveSteps = 3

// peek returns the rule's next instance without consuming it.
func (r *ruleIter) peek() (*instance, bool) {
	if r.have {
		return &r.cur, true
	}
	if r.done {
		return nil, false
	}
	s, ok := r.eval.next()
	if ok && !r.w.spend(resolveSteps) {
		ok, r.eval.failed = false, true
	}
	if !ok {
		r.done = true
		if r.eval.failed {
			r.problem = r.w.exhausted()
		}
		return nil, false
	}
	val := r.m.start.withWall(wallTime(s))
	at, policy := val.resolve()
	in := instance{val: val, at: at, policy: policy}
	if r.spec.hasUntil {
		past, policy := untilPassed(r.spec.until, in)
		if past {
			r.done = true
			return nil, false
		}
		in.policy = in.policy.join(policy)
	}
	r.cur, r.have = in, true
	return &r.cur, true
}

// advance consumes the peeked instance.
func (r *ruleIter) advance() { r.have = false }

// untilPassed reports an instance after a rule's UNTIL: compared as
// instants when UNTIL is UTC, by date when it is a DATE (a DATE UNTIL of
// a timed series includes its whole day), on the wall clock otherwise.
// The policy is PolicyLocalUntil when the instance is kept only because
// a DATE or zone-less UNTIL was read in the instance's zone rather than
// as UTC.
func untilPassed(u dateValue, in instance) (bool, Policy) {
	var past bool
	switch {
	case u.date:
		past = dateOf(in.val.wall).After(u.wall)
	case u.utc:
		return in.at.After(u.wall), ""
	default:
		past = in.val.wall.After(u.wall)
	}
	if !past && !in.val.date && in.at.After(u.wall) {
		return false, PolicyLocalUntil
	}
	return past, ""
}
