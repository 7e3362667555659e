package calendar

import (
	"context"

	"github.com/emersion/go-ical"
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

// tree builds the component tree of lines, one VCALENDAR, as go-ical's
// decoder does from render(lines): property and parameter names as they
// are (the repair pass upper-cases them), parameter values without
// double quotes, component names upper-cased; a property without
// parameters has nil Params, and properties with the same single
// parameter (TZID=Europe/Paris on every DTSTART) share one Params map:
// the tree is read-only. It reports false when the lines are not one
// VCALENDAR whose BEGIN and END lines pair.
func tree(lines []contentLine) (*ical.Component, bool) {
	tb := &treeBuilder{ctx: context.Background(), lines: lines}
	root, spans, ok := tb.outline()
	if !ok {
		return nil, false
	}
	for _, sp := range spans {
		root.Children = append(root.Children, tb.component(sp.begin, sp.end))
	}
	return root, true
}

// repairFeed normalises raw feed bytes into text go-ical decodes without
// error: one VCALENDAR, CRLF line ends, folded lines joined, clean
// parameters, balanced BEGIN/END. It reports whether anything resembling
// iCalendar was found.
func repairFeed(data []byte, log *repairLog) (lines []contentLine, ok bool) {
	return repairFeedLimited(data, log, repairLimits{ctx: context.Background()})
}
