package calendar

import (
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// TreeDiff repairs data and compares the component tree Parse builds from
// the repaired lines with go-ical's decoding of their text. It returns ""
// when they are equal, or when go-ical cannot decode the text (fallback
// reports that: Parse then goes through go-ical's decoder itself).
func TreeDiff(data []byte) (diff string, fallback bool) {
	var log repairLog
	lines, ok := repairFeed(data, &log)
	if !ok {
		return "", false
	}
	want, err := decodeICS(render(lines))
	got, ok := tree(lines)
	if err != nil {
		if ok {
			return "go-ical cannot decode the repaired text (" + err.Error() + ") but tree() builds one", false
		}
		return "", true
	}
	if !ok {
		return "tree() refuses lines that go-ical decodes", false
	}
	// go-ical gives a property without parameters an empty map; tree
	// leaves it nil.
	return cmp.Diff(want.Component, got, cmpopts.EquateEmpty()), false
}
