package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/elmcity/elmcity/shared/calendar"
	"github.com/elmcity/elmcity/shared/feedcheck"
	"github.com/elmcity/elmcity/shared/fetch"
)

// Check implements `workerrole check [--from RFC3339] [--to RFC3339]
// [--tz ZONE] FILE|URL`: it prints a human report of a feed's problems,
// what a curator runs before adding a feed to a hub: what was repaired,
// which events were skipped and why, how each time zone was resolved, and
// what an expansion of the window (by default the coming year) gives. It
// returns an error wrapping calendar.ErrInvalidFeed when the feed is
// unusable (not iCalendar, or no usable event), after printing what it
// found, and one wrapping ErrUsage for a bad command line. The report is
// shared/feedcheck's, which the web role also serves as JSON.
func Check(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	return check(ctx, args, stdin, stdout, stderr, time.Now)
}

// check is Check with an injected clock.
func check(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, now func() time.Time) error {
	today := now().UTC().Truncate(24 * time.Hour)
	o, err := parseArgs("check", args, stderr, false, today, today.AddDate(1, 0, 0))
	if err != nil {
		return err
	}
	w := bufio.NewWriter(stdout)
	defer func() { _ = w.Flush() }() // the report to stdout: a failed write has no one to tell
	cal, err := parse(ctx, o, stdin)
	if err != nil {
		msg := err.Error()
		if fe, ok := errors.AsType[*fetch.Error](err); ok {
			msg = fmt.Sprintf("could not fetch it (%s): %s", fe.Class, fe.Reason())
		}
		r := feedcheck.Unreadable(o.source, msg, "", 0)
		r.WriteText(w)
		return fmt.Errorf("%w: %w", ErrReported, err)
	}
	x, err := cal.Expand(ctx, calendar.ExpandOptions{From: o.from, To: o.to, IncludeCancelled: true})
	if err != nil {
		return fmt.Errorf("expand feed %s: %w", o.source, err)
	}
	r := feedcheck.Build(cal, x, feedcheck.Options{Source: o.source, From: o.from, To: o.to, Zone: o.zone, Next: -1})
	r.WriteText(w)
	if r.Verdict == feedcheck.VerdictUnusable {
		return fmt.Errorf("%w: check feed %s: no usable event: %w", ErrReported, o.source, calendar.ErrInvalidFeed)
	}
	return nil
}
