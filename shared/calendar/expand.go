package calendar

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/teambition/rrule-go"
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
	// series or a cancelled override) in Occurrences. The hub leaves
	// them out; Expansion.Cancelled counts them either way.
	IncludeCancelled bool
}

// Expand lists the occurrences of every event of c inside the window.
// Each series is bounded by the window, the cap and an iteration budget,
// so a rule that runs for centuries costs what its in-window part costs.
// It returns an error only when ctx is done.
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
	steps := c.maxSteps
	if steps <= 0 {
		steps = DefaultMaxSteps
	}
	for i, s := range c.series {
		if i%32 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, fmt.Errorf("expand calendar: %w", err)
			}
		}
		if err := s.expand(ctx, opts, steps, &out, x); err != nil {
			return nil, fmt.Errorf("expand calendar: %w", err)
		}
		if out.n >= opts.MaxOccurrences {
			x.Problems = append(x.Problems, Skipped{Reason: fmt.Sprintf("expansion stopped at the limit of %d occurrences per feed", opts.MaxOccurrences)})
			break
		}
	}
	x.Occurrences = out.sorted(func(o *Occurrence) bool {
		if o.Status != StatusCancelled {
			return true
		}
		x.Cancelled++
		return opts.IncludeCancelled
	})
	return x, nil
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
// compareOccurrences. The start instants are sorted in place first, so
// that most comparisons touch no occurrence.
func (c *collector) sorted(keep func(*Occurrence) bool) []Occurrence {
	type entry struct {
		at int64 // start, in Unix seconds
		o  *Occurrence
	}
	all := make([]entry, 0, c.n)
	for _, chunk := range c.chunks {
		for i := range chunk {
			if o := &chunk[i]; keep(o) {
				all = append(all, entry{o.Start.Unix(), o})
			}
		}
	}
	slices.SortFunc(all, func(a, b entry) int {
		if a.at != b.at {
			return cmp.Compare(a.at, b.at)
		}
		return compareOccurrences(a.o, b.o)
	})
	out := make([]Occurrence, len(all))
	for i, e := range all {
		out[i] = *e.o
	}
	return out
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
	keys      map[*Event]int64
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
// unless the master was skipped as broken.
func (s *series) expand(ctx context.Context, opts ExpandOptions, steps int, out *collector, x *Expansion) error {
	if len(s.masters) == 0 {
		if s.broken {
			if len(s.overrides) > 0 {
				x.Problems = append(x.Problems, Skipped{UID: s.uid, Reason: "overrides of a master that was skipped are left out"})
			}
			return nil
		}
		s.standalone(nil, nil, int64(1<<63-1), opts, out)
		return nil
	}
	truncated := false
	for _, m := range s.masters {
		var used map[*Event]bool
		if len(s.overrides) > 0 {
			used = make(map[*Event]bool)
		}
		last, trunc, problem, err := s.expandMaster(ctx, m, opts, steps, used, out)
		if err != nil {
			return err
		}
		if problem != "" {
			x.Problems = append(x.Problems, Skipped{UID: s.uid, Reason: problem})
		}
		stop := int64(1<<63 - 1)
		if trunc {
			truncated, stop = true, last
		}
		s.standalone(m, used, stop, opts, out)
	}
	if truncated {
		x.Truncated = append(x.Truncated, s.uid)
	}
	return nil
}

// standalone lists the overrides that m (nil: no master) did not use, up
// to the recurrence key stop, unless m's EXDATE removes their instant.
func (s *series) standalone(m *Event, used map[*Event]bool, stop int64, opts ExpandOptions, out *collector) {
	for _, o := range s.overrides {
		if used[o] || s.keys[o] > stop || (m != nil && excludes(m, o, s.keys[o])) {
			continue
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

// excludes reports whether an EXDATE of m removes the instance override
// o (with recurrence key k) replaces.
func excludes(m *Event, o *Event, k int64) bool {
	for _, ex := range m.exdates {
		if ex.date == o.recurID.date && ex.instant().Unix() == k {
			return true
		}
		if ex.date && !o.recurID.date && dateOf(o.recurID.wall).Equal(ex.wall) {
			return true
		}
	}
	return false
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
// used, and returns the recurrence key of the last instance looked at and
// whether the cap cut the series.
func (s *series) expandMaster(ctx context.Context, m *Event, opts ExpandOptions, steps int, used map[*Event]bool, out *collector) (last int64, truncated bool, problem string, err error) {
	// Instances are looked at over a range wide enough for their
	// duration and for THISANDFUTURE shifts to reach into the window.
	margin := 48 * time.Hour
	if d := m.End.Sub(m.Start); d > 0 {
		margin += d
	}
	for _, r := range s.ranges {
		shift := r.start.wall.Sub(r.recurID.wall)
		margin += max(shift, -shift) + max(r.End.Sub(r.Start), 0)
	}
	from, to := opts.From.Add(-margin), opts.To.Add(margin)

	src := newInstanceSource(m, from, to, steps)
	count := 0
	for n := 1; ; n++ {
		if n%4096 == 0 {
			if err := ctx.Err(); err != nil {
				return 0, false, "", err
			}
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
			return last, true, src.problem, nil
		}
		last = key
		out.add(occ)
		count++
	}
	return int64(1<<63 - 1), false, src.problem, nil
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
	var found *Event
	for _, r := range s.ranges {
		if s.keys[r] > key {
			break
		}
		found = r
	}
	return found
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
	budget  int
}

// newInstanceSource prepares the iteration of m's recurrence set over
// [from, to).
func newInstanceSource(m *Event, from, to time.Time, steps int) *instanceSource {
	src := &instanceSource{m: m, budget: steps}
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
	for _, rd := range m.rdates {
		val := rd.start
		if val.floating() && !val.date && !m.start.date && !m.start.utc && !m.start.floating() {
			val.zone = m.start.zone
		}
		at, policy := val.resolve()
		in := instance{val: val, at: at, end: rd.end, hasEnd: rd.hasEnd, policy: policy}
		src.rdates = append(src.rdates, in)
	}
	slices.SortStableFunc(src.rdates, func(a, b instance) int { return a.at.Compare(b.at) })
	for _, ex := range m.exdates {
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
	for _, r := range m.rules {
		it, err := newRuleIter(m, r, from, to)
		if err != nil {
			src.problem = err.Error()
			continue
		}
		src.rules = append(src.rules, it)
	}
	return src
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
		in, ok := r.peek(&src.budget)
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

// ruleIter walks one RRULE with rrule-go. rrule-go iterates wall clocks;
// they are shifted by a whole number of 400-year Gregorian cycles (which
// keeps every weekday and leap day in place) so that rrule-go's own limit,
// the year 9999, falls a few centuries after the range. A rule that can
// never produce another instance then costs that much, not millennia.
type ruleIter struct {
	m       *Event
	spec    ruleSpec
	next    rrule.Next
	shift   int // years
	to      time.Time
	cur     instance
	have    bool
	done    bool
	limit   int // instances left from the rule, when COUNT applies
	first   bool
	problem string
}

// newRuleIter prepares the iteration of one rule of m over [from, to).
func newRuleIter(m *Event, spec ruleSpec, from, to time.Time) (*ruleIter, error) {
	start := m.start.wall
	opt := spellOut(spec.opt, start)
	dt := start
	if spec.count == 0 {
		// No COUNT: the instances before the range need not be made.
		dt = fastForward(opt, start, from.UTC().Add(-24*time.Hour))
	}
	shift := 0
	if y := max(to.UTC().Year(), start.Year()) + 1; y < 9600 {
		shift = (9600 - y) / 400 * 400
	}
	opt.Dtstart = dt.AddDate(shift, 0, 0)
	opt.Until = rruleMaxUntil()
	opt.Count = spec.count
	r, err := rrule.NewRRule(opt)
	if err != nil {
		return nil, fmt.Errorf("invalid RRULE: %w", err)
	}
	return &ruleIter{m: m, spec: spec, next: r.Iterator(), shift: shift, to: to, limit: spec.count, first: true}, nil
}

// peek returns the rule's next instance without consuming it.
func (r *ruleIter) peek(budget *int) (*instance, bool) {
	if r.have {
		return &r.cur, true
	}
	if r.done {
		return nil, false
	}
	*budget--
	if *budget < 0 {
		r.done, r.problem = true, "iteration budget exhausted"
		return nil, false
	}
	w, ok := r.next()
	if !ok {
		r.done = true
		return nil, false
	}
	w = w.AddDate(-r.shift, 0, 0)
	if r.first {
		r.first = false
		// RFC 5545: DTSTART counts as the first instance even when the
		// rule does not produce it.
		if r.limit > 0 && !w.Equal(r.m.start.wall) {
			r.limit--
			if r.limit == 0 {
				r.done = true
				return nil, false
			}
		}
	}
	val := r.m.start.withWall(w)
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
