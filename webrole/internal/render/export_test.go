package render

import (
	"time"

	"github.com/elmcity/elmcity/shared/hubcal"
)

// StyleHashOf is the CSP source of a <style> element holding css.
func StyleHashOf(css string) string { return styleSourceOf(css) }

// Events is an EventList held as a slice, already in calendar order.
type Events []hubcal.Event

// Len implements EventList.
func (e Events) Len() int { return len(e) }

// Span implements EventList.
func (e Events) Span(i int) (start, end time.Time) { return e[i].Start, e[i].End }

// UID implements EventList.
func (e Events) UID(i int) string { return e[i].UID }

// Event implements EventList.
func (e Events) Event(i int) hubcal.Event { return e[i] }
