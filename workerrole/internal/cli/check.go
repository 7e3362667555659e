package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/elmcity/elmcity/shared/calendar"
	"github.com/elmcity/elmcity/shared/feedcheck"
	"github.com/elmcity/elmcity/shared/feedkind"
	"github.com/elmcity/elmcity/shared/fetch"
	"github.com/elmcity/elmcity/shared/script"
)

// Check implements `workerrole check [--from RFC3339] [--to RFC3339]
// [--tz ZONE] [--kind KIND] [--mapping JSON | --mapping-file FILE]
// [--adapter NAME] [--hosts a,b] [--scripts DIR] FILE|URL`: it prints a human report of a feed's problems,
// what a curator runs before adding a feed to a hub: what was repaired,
// which events were skipped and why, how each time zone was resolved, and
// what an expansion of the window (by default the coming year) gives. It
// returns an error wrapping calendar.ErrInvalidFeed when the feed is
// unusable (not iCalendar, or no usable event), after printing what it
// found, and one wrapping ErrUsage for a bad command line. The report is
// shared/feedcheck's, which the web role also serves as JSON.
//
// With --kind jsonld, csv, json or rss the source is converted to
// iCalendar first (shared/feedkind, with --tz as the hub's zone and the
// mapping of --mapping or --mapping-file), and the conversion's report
// (items, events, items skipped and why) is printed before the rest; a
// source that is not of its kind is unusable (calendar.ErrInvalidFeed,
// wrapping the feedkind error).
//
// With --kind script --adapter NAME [--hosts a,b] [--scripts DIR] the
// feed's URL is fetched and the adapter script adapters/NAME.js under
// DIR (by default ./scripts, the worker's default ELMCITY_SCRIPTS) runs
// over it as the worker runs it: the source as elmcity.source,
// elmcity.fetch on the feed's host and --hosts only, under the fetch
// rules (private addresses allowed: it runs on the curator's machine).
// What the adapter returned (events, skipped and why, pages fetched) is
// printed before the rest, and an adapter that fails (its error names
// the file and line) is unusable (calendar.ErrInvalidFeed). An adapter
// that does not exist is an error wrapping script.ErrNotFound, before
// anything is fetched; what adapters log goes to stderr.
func Check(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	return check(ctx, args, stdin, stdout, stderr, time.Now)
}

// check is Check with an injected clock.
func check(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, now func() time.Time) error {
	today := now().UTC().Truncate(24 * time.Hour)
	o, err := parseArgs("check", args, stderr, flagSet{kind: true}, today, today.AddDate(1, 0, 0))
	if err != nil {
		return err
	}
	w := bufio.NewWriter(stdout)
	defer func() { _ = w.Flush() }() // the report to stdout: a failed write has no one to tell
	var data []byte
	var conv *feedcheck.Conversion
	if o.kind == feedkind.KindScript {
		var eng *script.Engine
		if eng, err = adapterEngine(o, stderr); err != nil {
			return err
		}
		defer func() { _ = eng.Close() }() // nothing to flush
		data, conv, err = adapt(ctx, eng, o)
	} else {
		data, err = load(ctx, o.source, stdin)
		if err == nil && o.kind != feedkind.KindICS {
			data, conv, err = convert(ctx, o, data)
		}
	}
	var cal *calendar.Calendar
	if err == nil {
		cal, err = parseData(ctx, o, data)
	}
	if err != nil {
		msg := err.Error()
		if fe, ok := errors.AsType[*fetch.Error](err); ok {
			msg = fmt.Sprintf("could not fetch it (%s): %s", fe.Class, fe.Reason())
		}
		if conv != nil && conv.Failure != "" {
			msg = conv.Failure
		}
		r := feedcheck.Unreadable(o.source, msg, "", 0)
		r.Conversion = conv
		r.WriteText(w)
		return fmt.Errorf("%w: %w", ErrReported, err)
	}
	x, err := cal.Expand(ctx, calendar.ExpandOptions{From: o.from, To: o.to, IncludeCancelled: true})
	if err != nil {
		return fmt.Errorf("expand feed %s: %w", o.source, err)
	}
	r := feedcheck.Build(cal, x, feedcheck.Options{Source: o.source, From: o.from, To: o.to, Zone: o.zone, Next: -1, Conversion: conv})
	r.WriteText(w)
	if r.Verdict == feedcheck.VerdictUnusable {
		return fmt.Errorf("%w: check feed %s: no usable event: %w", ErrReported, o.source, calendar.ErrInvalidFeed)
	}
	return nil
}

// convert converts a source of o.kind to iCalendar as the worker does,
// with o.zone as the hub's zone. A source that is not of its kind is an
// error wrapping calendar.ErrInvalidFeed and the feedkind error, with
// the conversion's Failure set.
func convert(ctx context.Context, o options, data []byte) ([]byte, *feedcheck.Conversion, error) {
	base := ""
	if l := strings.ToLower(o.source); strings.HasPrefix(l, "http://") || strings.HasPrefix(l, "https://") {
		base = o.source
	}
	ics, rep, err := feedkind.Convert(ctx, o.kind, data, base, o.mapping, feedkind.Options{Zone: o.zone, MaxBytes: maxFeedBytes})
	conv := feedcheck.ConversionOf(rep, len(data))
	if err != nil {
		conv.Failure = fmt.Sprintf("it is not a usable %s source: %v", o.kind, err)
		return nil, conv, fmt.Errorf("convert feed %s: %w: %w", o.source, calendar.ErrInvalidFeed, err)
	}
	return ics, conv, nil
}
