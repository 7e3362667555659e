package cli

import (
	"context"
	"fmt"
	"io"
	"log/slog"

	"github.com/elmcity/elmcity/shared/calendar"
	"github.com/elmcity/elmcity/shared/feedcheck"
	"github.com/elmcity/elmcity/shared/feedkind"
	"github.com/elmcity/elmcity/shared/fetch"
	"github.com/elmcity/elmcity/shared/script"
	"github.com/elmcity/elmcity/shared/scripthost"
)

// adapterEngine is the script engine over o.scripts, with what scripts
// log going to stderr. It returns an error wrapping script.ErrNotFound
// when there is no adapters/{o.adapter}.js.
func adapterEngine(o options, stderr io.Writer) (*script.Engine, error) {
	eng, err := script.New(script.Config{Source: o.scripts, Logger: slog.New(slog.NewTextHandler(stderr, nil))})
	if err != nil {
		return nil, fmt.Errorf("check: --scripts %s: %w", o.scripts, err)
	}
	name := "adapters/" + o.adapter + ".js"
	if ok, err := eng.Exists(name); err != nil || !ok {
		_ = eng.Close() // unused
		if err == nil {
			err = script.ErrNotFound
		}
		return nil, fmt.Errorf("check: --adapter %s: no %s under %s: %w", o.adapter, name, o.scripts, err)
	}
	return eng, nil
}

// adapt fetches a script feed's source and runs its adapter over it as
// the worker does, with o.zone as the hub's zone. It returns the
// iCalendar the adapter made and the conversion's report. An adapter
// that fails is an error wrapping calendar.ErrInvalidFeed and the
// script's error, with the conversion's Failure set; a source that
// cannot be fetched is the *fetch.Error.
func adapt(ctx context.Context, eng *script.Engine, o options) ([]byte, *feedcheck.Conversion, error) {
	f, err := newFetcher()
	if err != nil {
		return nil, nil, err
	}
	defer f.CloseIdleConnections()
	res, err := f.Fetch(ctx, o.source, fetch.Validators{})
	if err != nil {
		return nil, nil, err // a *fetch.Error names the feed and what failed
	}
	ar, err := eng.RunAdapter(ctx, script.AdapterRequest{
		Adapter: o.adapter, FeedURL: o.source, Hosts: o.hosts, Fetcher: scripthost.NewFetcher(f),
		Source:  &script.FetchResponse{URL: res.URL, Status: res.Status, Body: string(res.Body), Header: map[string]string{}},
		Options: feedkind.Options{Zone: o.zone, MaxBytes: maxFeedBytes},
	})
	conv := feedcheck.AdapterConversion(o.adapter, ar.Report, len(res.Body), ar.Fetches)
	if err != nil {
		conv.Failure = feedcheck.AdapterFailure(o.adapter, err)
		return nil, conv, fmt.Errorf("run adapter %s on %s: %w: %w", o.adapter, o.source, calendar.ErrInvalidFeed, err)
	}
	return ar.ICS, conv, nil
}
