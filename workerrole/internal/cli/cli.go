// Package cli implements workerrole's subcommands for curators and for
// debugging the aggregation engine:
//
//	workerrole expand [--from RFC3339] [--to RFC3339] [--cap N] [--tz ZONE] FILE|URL
//	workerrole check [--from RFC3339] [--to RFC3339] [--tz ZONE] FILE|URL
//
// expand prints the occurrences of one feed as JSON in the format of the
// elmcity test corpus (shared/corpus/README.md), so its output can be
// compared with an expected file directly; check prints a human report of
// a feed's problems, what a curator runs before adding a feed to a hub.
//
// FILE may be "-" for standard input; a URL is fetched with a timeout and
// a size limit.
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/elmcity/elmcity/shared/calendar"
	"github.com/elmcity/elmcity/shared/fetch"
)

// Limits of feed fetching.
const (
	// fetchTimeout bounds one HTTP fetch.
	fetchTimeout = 30 * time.Second
	// maxFeedBytes is the largest feed read from a file, stdin or URL:
	// the worker's fetch cap, up to which the parser's bounds hold.
	maxFeedBytes = fetch.DefaultMaxBytes
)

// ErrUsage means the command line is wrong; the usage has been written to
// stderr.
var ErrUsage = errors.New("cli: usage")

// ErrReported marks an error the command has written in its report
// already: the caller need not print it again.
var ErrReported = errors.New("cli: reported")

// options are the flags both subcommands share.
type options struct {
	from, to time.Time
	cap      int
	zone     *time.Location
	source   string
}

// parseArgs parses the flags of a subcommand. defFrom and defTo are the
// window used when --from and --to are absent.
func parseArgs(name string, args []string, stderr io.Writer, withCap bool, defFrom, defTo time.Time) (options, error) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	from := fs.String("from", defFrom.Format(time.RFC3339), "start of the window (RFC 3339)")
	to := fs.String("to", defTo.Format(time.RFC3339), "end of the window, exclusive (RFC 3339)")
	tz := fs.String("tz", "", "IANA zone for floating times (the hub's zone); empty keeps them floating")
	capN := 0
	if withCap {
		fs.IntVar(&capN, "cap", 5000, "occurrences per series at most")
	}
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: workerrole %s [flags] FILE|URL|-\n", name)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return options{}, ErrUsage
		}
		return options{}, fmt.Errorf("%s: %w: %w", name, ErrUsage, err)
	}
	var o options
	var err error
	if o.from, err = time.Parse(time.RFC3339, *from); err != nil {
		return options{}, fmt.Errorf("%s: --from: %w: %w", name, ErrUsage, err)
	}
	if o.to, err = time.Parse(time.RFC3339, *to); err != nil {
		return options{}, fmt.Errorf("%s: --to: %w: %w", name, ErrUsage, err)
	}
	if !o.to.After(o.from) {
		return options{}, fmt.Errorf("%s: --to must be after --from: %w", name, ErrUsage)
	}
	if withCap && capN <= 0 {
		return options{}, fmt.Errorf("%s: --cap must be positive: %w", name, ErrUsage)
	}
	o.cap = capN
	if *tz != "" {
		if o.zone, err = time.LoadLocation(*tz); err != nil || *tz == "Local" {
			return options{}, fmt.Errorf("%s: --tz %q is not an IANA zone: %w", name, *tz, ErrUsage)
		}
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return options{}, fmt.Errorf("%s: want one FILE or URL, got %d: %w", name, fs.NArg(), ErrUsage)
	}
	o.source = fs.Arg(0)
	return o, nil
}

// load reads a feed from a file, stdin ("-") or an http(s) or webcal URL.
func load(ctx context.Context, source string, stdin io.Reader) ([]byte, error) {
	lower := strings.ToLower(source)
	switch {
	case source == "-":
		return readLimited(stdin, "stdin")
	case strings.HasPrefix(lower, "http://"), strings.HasPrefix(lower, "https://"),
		strings.HasPrefix(lower, "webcal://"), strings.HasPrefix(lower, "webcals://"):
		return fetchFeed(ctx, source)
	}
	f, err := os.Open(source) // #nosec G304 -- the file the user named on the command line
	if err != nil {
		return nil, fmt.Errorf("open feed: %w", err)
	}
	defer func() { _ = f.Close() }() // read only
	return readLimited(f, source)
}

// readLimited reads at most maxFeedBytes.
func readLimited(r io.Reader, name string) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxFeedBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read feed %s: %w", name, err)
	}
	if len(data) > maxFeedBytes {
		return nil, fmt.Errorf("read feed %s: larger than %d bytes: %w", name, maxFeedBytes, calendar.ErrInvalidFeed)
	}
	return data, nil
}

// fetchFeed GETs a feed the way the worker does (shared/fetch: timeouts,
// size cap, gzip, charset decoding, redirects), so `check` sees what the
// hub would. The curator runs it on their own machine, so private
// addresses are allowed.
func fetchFeed(ctx context.Context, url string) ([]byte, error) {
	f, err := fetch.New(fetch.Config{Timeout: fetchTimeout, MaxBytes: maxFeedBytes, AllowPrivate: true})
	if err != nil {
		return nil, err
	}
	defer f.CloseIdleConnections()
	res, err := f.Fetch(ctx, url, fetch.Validators{})
	if err != nil {
		return nil, err // a *fetch.Error names the feed and what failed
	}
	return res.Body, nil
}

// parse loads and parses a feed with the options' floating zone.
func parse(ctx context.Context, o options, stdin io.Reader) (*calendar.Calendar, error) {
	data, err := load(ctx, o.source, stdin)
	if err != nil {
		return nil, err
	}
	p := calendar.NewParser(calendar.Config{FloatingZone: o.zone, MaxPerSeries: o.cap, MaxFeedBytes: maxFeedBytes})
	cal, err := p.Parse(ctx, data)
	if err != nil {
		return nil, fmt.Errorf("parse feed %s: %w", o.source, err)
	}
	return cal, nil
}
