package scripthost

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/elmcity/elmcity/shared/fetch"
	"github.com/elmcity/elmcity/shared/script"
)

// getter gets a URL with request headers (*fetch.Fetcher).
type getter interface {
	Get(ctx context.Context, rawURL string, opt fetch.GetOptions) (fetch.Result, error)
}

var _ getter = (*fetch.Fetcher)(nil)

// Fetcher is the feed fetcher as adapter scripts' elmcity.fetch uses it
// (script.Fetcher): every request goes through the feed rules (private
// addresses refused at dial time, the size cap, the timeout, the
// redirect limit), and the body comes back as UTF-8 text.
type Fetcher struct {
	f getter
}

// NewFetcher returns a Fetcher over f (a *fetch.Fetcher); it panics when
// f is nil.
func NewFetcher(f getter) *Fetcher {
	if f == nil {
		panic("scripthost.NewFetcher: nil fetcher")
	}
	return &Fetcher{f: f}
}

var _ script.Fetcher = (*Fetcher)(nil)

// Fetch gets req.URL with req.Header. A response with a status other
// than 2xx is returned as a response with that status and no body;
// other failures are the *fetch.Error, matching fetch.ErrBlocked,
// fetch.ErrTooLarge and the rest.
func (a *Fetcher) Fetch(ctx context.Context, req script.FetchRequest) (script.FetchResponse, error) {
	var h http.Header
	if len(req.Header) > 0 {
		h = make(http.Header, len(req.Header))
		for k, v := range req.Header {
			h.Set(k, v)
		}
	}
	res, err := a.f.Get(ctx, req.URL, fetch.GetOptions{Header: h, Hosts: req.Hosts})
	if err != nil {
		if fe, ok := errors.AsType[*fetch.Error](err); ok && fe.Status != 0 && errors.Is(err, fetch.ErrStatus) {
			return script.FetchResponse{URL: req.URL, Status: fe.Status, Header: map[string]string{}}, nil
		}
		return script.FetchResponse{}, err
	}
	return Response(res), nil
}

// Response is a fetched response as an adapter script reads it (its
// elmcity.source, or what elmcity.fetch returns): the final URL, the
// status, the body as text and the header, names lowercased and repeated
// fields joined with ", ".
func Response(res fetch.Result) script.FetchResponse {
	out := script.FetchResponse{URL: res.URL, Status: res.Status, Body: string(res.Body), Header: make(map[string]string, len(res.Header))}
	for k, vs := range res.Header {
		out.Header[strings.ToLower(k)] = strings.Join(vs, ", ")
	}
	return out
}
