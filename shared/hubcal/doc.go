// Package hubcal is a hub's merged calendar: how the worker merges its
// feeds' occurrences (package calendar makes them from each feed), the
// compact form in which the calendar is merged, published, carried into
// the next run and read by every reader, and the payload that stores it.
//
// # Merge
//
// Each feed's occurrences become a Contribution (NewContribution): its
// event bodies (title, description, location, URL, tags, source), each
// made once however many occurrences share it, and one row of times per
// occurrence. Tags are the event's CATEGORIES mapped through the feed's
// catmap, the feed's own categories and "category=" lines of the
// description, lowercased, and written "{tag}" when the hub's vocabulary
// does not list them. Repeats of a (UID, RECURRENCE-ID) within a feed are
// dropped.
//
// Merge joins the contributions into one Calendar, sorted by start, title
// and UID, and folds the same event from several feeds into one that keeps
// every source: the same start and all-day-ness, the same or nearly the
// same title (titleMatch: the same words, or 80% of the longer title's
// words, or a prefix of three words or more), and both cancelled or
// neither. The primary of a folded event is the copy with the smallest
// hub UID, so the result does not depend on feed order, and each other
// copy is explained by a MergeNote. Titles are compared per distinct
// title, not per pair of occurrences, and the work runs on every core.
//
// A hub UID is stable across runs: it is derived from the feed and the
// source UID (plus the recurrence id of an instance of a series, or the
// summary and start of an event without a UID), never from positions.
//
// # The compact Calendar
//
// A Calendar holds each body once and each occurrence as a row of times
// that refers to a body, or to a group of bodies when copies were
// folded. It is what readers read, without making an Event per
// occurrence: Len, Span, UID and Event give ranged access by index,
// EventsIn by time window, Cancelled and Size count without making
// events, and ReadHeader reads a payload's run summary alone.
//
// A feed that is unchanged or down contributes its events of the run
// before: Calendar.Carry takes its copies (with their own UIDs) out of
// the previous calendar and Carried.Reapply derives their source names
// and tags again from the feed's and hub's records as they are now.
//
// # Payload
//
// Calendar.Encode (or EncodeParts) writes the payload a hub publishes and
// Read reads it back; payload.go describes the format.
package hubcal
