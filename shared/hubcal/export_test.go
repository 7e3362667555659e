package hubcal

// MergeEvents turns the feeds' occurrences into the hub's events: tags
// normalized and mapped, repeats within a feed dropped, and the same event
// from several feeds (same start, same or nearly the same title, both
// cancelled or neither) folded into one that keeps every source. The
// result is sorted by start, title and UID. It is Merge with
// every event made a Event.
func MergeEvents(feeds []Feed, opts Options) ([]Event, Stats) {
	cs := make([]*Contribution, len(feeds))
	for i, f := range feeds {
		cs[i] = NewContribution(f, opts)
	}
	c, st := Merge(cs)
	return c.Events(), st
}
