package aggregate

import (
	"cmp"

	"github.com/elmcity/elmcity/shared/tablelog"
)

// Messages of the job's records whose table entries curators read as
// sentences (see Sentences). The stdout log shows them as they are, with
// the figures as attributes.
const (
	msgFeedFailed        = "feed failed"
	msgFeedDropped       = "feed dropped"
	msgFeedItemsSkipped  = "feed items skipped"
	msgMembersLeftOut    = "region members left out"
	msgMemberFailed      = "member hub failed"
	msgMemberDropped     = "member hub dropped"
	msgCalendarCapped    = "calendar capped"
	msgCalendarPublished = "calendar published"
)

// Sentences renders the job's records in the hub's table log, as curators
// read them: "feed Library failed (http_4xx); serving its last 12 good
// events", "published 40 events (2 cancelled) from 3 of 4 feeds".
func Sentences() tablelog.Sentences {
	return tablelog.Sentences{
		msgFeedFailed:  feedFailedSentence,
		msgFeedDropped: tablelog.Template("feed {source} {flag} ({listed_before} to {listed} occurrences)"),
		msgFeedItemsSkipped: tablelog.Template(
			"feed {source} ({kind}): {skipped} of its {items} items left out; the first: {first}"),
		msgMembersLeftOut: tablelog.Template(
			"region lists {left_out} more member hubs than the {max_members} merged; the rest are left out"),
		msgMemberFailed:      tablelog.Template("member hub {member}: {error}"),
		msgMemberDropped:     tablelog.Template("member hub {member} {flag} ({listed_before} to {listed} events)"),
		msgCalendarCapped:    tablelog.Template("calendar capped at {max_events} events; the {cut} latest were left out"),
		msgCalendarPublished: publishedSentence,
	}
}

// feedFailedSentence says what failed, in words, and what the hub serves
// instead, from the attributes source, error_class and carried.
func feedFailedSentence(a map[string]string) string {
	what := "feed " + a["source"] + " failed (" + a["error_class"] + ")"
	switch a["error_class"] {
	case ClassParse:
		what = "feed " + a["source"] + " is not a usable calendar"
	case ClassConvert:
		what = "feed " + a["source"] + " could not be read as " + cmp.Or(a["kind"], "its kind")
	case ClassScript:
		what = "feed " + a["source"] + "'s adapter script failed"
	case ClassParseTimeout:
		what = "feed " + a["source"] + " took too long to parse"
	}
	if carried := cmp.Or(a["carried"], "0"); carried != "0" {
		return what + "; serving its last " + carried + " good events"
	}
	return what + "; it has no earlier events to serve"
}

// publishedSentence is "published N events (M cancelled) from X of Y
// feeds", the cancelled count only when there are some.
func publishedSentence(a map[string]string) string {
	cancelled := ""
	if c := cmp.Or(a["cancelled"], "0"); c != "0" {
		cancelled = " (" + c + " cancelled)"
	}
	return "published " + a["events"] + " events" + cancelled + " from " + a["feeds_ok"] + " of " + a["feeds_total"] + " feeds"
}
