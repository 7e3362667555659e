// Package cli implements workerrole's subcommands for curators and for
// debugging the aggregation engine:
//
//	workerrole expand [--from RFC3339] [--to RFC3339] [--cap N] [--tz ZONE] FILE|URL
//	workerrole check [--from RFC3339] [--to RFC3339] [--tz ZONE] [--kind KIND] [--mapping JSON | --mapping-file FILE] FILE|URL
//	workerrole check [--from RFC3339] [--to RFC3339] [--tz ZONE] --kind script --adapter NAME [--hosts a,b] [--scripts DIR] URL
//
// expand prints the occurrences of one feed as JSON in the format of the
// elmcity test corpus (shared/corpus/README.md), so its output can be
// compared with an expected file directly; check prints a human report of
// a feed's problems, what a curator runs before adding a feed to a hub.
// check reads feeds that are not iCalendar too (--kind jsonld, csv, json
// or rss, with the feed record's mapping as JSON), converting them first
// as the worker does (shared/feedkind) and printing what the conversion
// found before the report; a script feed's adapter script (--kind script
// --adapter NAME) runs from a local scripts directory as the worker runs
// it.
//
// FILE may be "-" for standard input; a URL is fetched with a timeout and
// a size limit.
package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/elmcity/elmcity/shared/calendar"
	"github.com/elmcity/elmcity/shared/feedkind"
	"github.com/elmcity/elmcity/shared/fetch"
	"github.com/elmcity/elmcity/shared/hub"
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

// options are the flags both subcommands share, and check's kind and
// mapping.
type options struct {
	from, to time.Time
	cap      int
	zone     *time.Location
	source   string
	kind     feedkind.Kind
	mapping  feedkind.Mapping
	// adapter, hosts and scripts are a script feed's: its adapter's name,
	// the other hosts it may fetch from, and the script source holding
	// adapters/{adapter}.js.
	adapter string
	hosts   []string
	scripts string
}

// flagSet says which flags a subcommand has besides the window and zone.
type flagSet struct {
	cap  bool // --cap
	kind bool // --kind, --mapping, --mapping-file, --adapter, --hosts, --scripts
}

// defaultScripts is --scripts' default: the worker's default script
// source (ELMCITY_SCRIPTS), run from the repository's root.
const defaultScripts = "scripts"

// maxMappingBytes bounds --mapping-file: a mapping is a few hundred
// bytes.
const maxMappingBytes = 64 << 10

// parseArgs parses the flags of a subcommand. defFrom and defTo are the
// window used when --from and --to are absent.
func parseArgs(name string, args []string, stderr io.Writer, with flagSet, defFrom, defTo time.Time) (options, error) {
	withCap := with.cap
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	from := fs.String("from", defFrom.Format(time.RFC3339), "start of the window (RFC 3339)")
	to := fs.String("to", defTo.Format(time.RFC3339), "end of the window, exclusive (RFC 3339)")
	tz := fs.String("tz", "", "IANA zone for floating times (the hub's zone); empty keeps them floating")
	capN := 0
	if withCap {
		fs.IntVar(&capN, "cap", 5000, "occurrences per series at most")
	}
	var kind, mapping, mappingFile, adapter, hosts, scripts string
	if with.kind {
		fs.StringVar(&kind, "kind", "ics", "what the source is: ics, jsonld, csv, json, rss or script")
		fs.StringVar(&adapter, "adapter", "", "--kind script: the adapter script's name, adapters/NAME.js under --scripts")
		fs.StringVar(&hosts, "hosts", "", "--kind script: the other hosts the adapter may fetch from, comma separated (the feed record's hosts)")
		fs.StringVar(&scripts, "scripts", defaultScripts, "--kind script: the script source holding adapters/NAME.js, a directory (the worker's ELMCITY_SCRIPTS)")
		fs.StringVar(&mapping, "mapping", "", `the feed's mapping as JSON, as the feed record holds it: {"title":"Event","start_date":"Date","header":true}`)
		fs.StringVar(&mappingFile, "mapping-file", "", "a file holding the mapping as JSON (instead of --mapping)")
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
	if with.kind {
		if o.kind, o.mapping, err = kindOf(name, kind, mapping, mappingFile); err != nil {
			return options{}, err
		}
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return options{}, fmt.Errorf("%s: want one FILE or URL, got %d: %w", name, fs.NArg(), ErrUsage)
	}
	o.source = fs.Arg(0)
	if with.kind {
		if err := o.adapterOf(name, adapter, hosts, scripts); err != nil {
			return options{}, err
		}
	}
	return o, nil
}

// adapterOf reads --adapter, --hosts and --scripts into o, checked as
// the feed record's adapter and hosts are: a script feed needs an
// adapter and a URL, and the other kinds take neither adapter nor
// hosts.
func (o *options) adapterOf(name, adapter, hosts, scripts string) error {
	if o.kind != feedkind.KindScript {
		if adapter != "" || hosts != "" {
			return fmt.Errorf("%s: --adapter and --hosts need --kind script: %w", name, ErrUsage)
		}
		return nil
	}
	if !isURL(o.source) {
		return fmt.Errorf("%s: --kind script needs the feed's URL, which the adapter starts from, not %q: %w", name, o.source, ErrUsage)
	}
	f := hub.Feed{FeedURL: o.source, Source: name, Kind: string(feedkind.KindScript), Adapter: adapter}
	for _, h := range strings.Split(hosts, ",") {
		if h = strings.TrimSpace(h); h != "" {
			f.Hosts = append(f.Hosts, h)
		}
	}
	f.Normalize()
	if err := f.Validate(); err != nil {
		return fmt.Errorf("%s: %w: %w", name, ErrUsage, err)
	}
	if scripts == "" {
		return fmt.Errorf("%s: --scripts is empty: %w", name, ErrUsage)
	}
	o.source, o.adapter, o.hosts, o.scripts = f.FeedURL, f.Adapter, f.Hosts, scripts
	return nil
}

// isURL reports whether source is an http(s) or webcal URL rather than
// a file.
func isURL(source string) bool {
	lower := strings.ToLower(source)
	for _, p := range []string{"http://", "https://", "webcal://", "webcals://"} {
		if strings.HasPrefix(lower, p) {
			return true
		}
	}
	return false
}

// kindOf reads --kind and the mapping of --mapping or --mapping-file,
// checked for the kind as the feed record's is.
func kindOf(name, kind, mapping, mappingFile string) (feedkind.Kind, feedkind.Mapping, error) {
	var m feedkind.Mapping
	k, err := feedkind.ParseKind(kind)
	if err != nil {
		return "", m, fmt.Errorf("%s: --kind: %w: %w", name, ErrUsage, err)
	}
	if mapping != "" && mappingFile != "" {
		return "", m, fmt.Errorf("%s: give --mapping or --mapping-file, not both: %w", name, ErrUsage)
	}
	text := []byte(mapping)
	if mappingFile != "" {
		f, err := os.Open(mappingFile) // #nosec G304 -- the file the user named on the command line
		if err != nil {
			return "", m, fmt.Errorf("%s: --mapping-file: %w: %w", name, ErrUsage, err)
		}
		defer func() { _ = f.Close() }() // read only
		if text, err = io.ReadAll(io.LimitReader(f, maxMappingBytes)); err != nil {
			return "", m, fmt.Errorf("%s: --mapping-file: %w: %w", name, ErrUsage, err)
		}
	}
	if len(bytes.TrimSpace(text)) > 0 {
		dec := json.NewDecoder(bytes.NewReader(text))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&m); err != nil {
			return "", m, fmt.Errorf("%s: the mapping is not a mapping's JSON: %w: %w", name, ErrUsage, err)
		}
	}
	if k == feedkind.KindICS && !m.IsZero() {
		return "", m, fmt.Errorf("%s: a mapping needs --kind (jsonld, csv, json or rss): %w", name, ErrUsage)
	}
	if err := m.Validate(k); err != nil {
		return "", m, fmt.Errorf("%s: the mapping does not fit kind %s: %w: %w", name, k, ErrUsage, err)
	}
	return k, m, nil
}

// load reads a feed from a file, stdin ("-") or an http(s) or webcal URL.
func load(ctx context.Context, source string, stdin io.Reader) ([]byte, error) {
	switch {
	case source == "-":
		return readLimited(stdin, "stdin")
	case isURL(source):
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
	f, err := newFetcher()
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

// newFetcher is the fetcher of feeds and of the pages adapters fetch:
// the worker's rules, but private addresses allowed, since the curator
// runs the command on their own machine.
func newFetcher() (*fetch.Fetcher, error) {
	return fetch.New(fetch.Config{Timeout: fetchTimeout, MaxBytes: maxFeedBytes, AllowPrivate: true})
}

// parse loads and parses a feed with the options' floating zone.
func parse(ctx context.Context, o options, stdin io.Reader) (*calendar.Calendar, error) {
	data, err := load(ctx, o.source, stdin)
	if err != nil {
		return nil, err
	}
	return parseData(ctx, o, data)
}

// parseData parses a feed's iCalendar with the options' floating zone.
func parseData(ctx context.Context, o options, data []byte) (*calendar.Calendar, error) {
	p := calendar.NewParser(calendar.Config{FloatingZone: o.zone, MaxPerSeries: o.cap, MaxFeedBytes: maxFeedBytes})
	cal, err := p.Parse(ctx, data)
	if err != nil {
		return nil, fmt.Errorf("parse feed %s: %w", o.source, err)
	}
	return cal, nil
}
