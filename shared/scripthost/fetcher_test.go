package scripthost_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/elmcity/elmcity/shared/fetch"
	"github.com/elmcity/elmcity/shared/script"
	"github.com/elmcity/elmcity/shared/scripthost"
)

// TestFetcherAndResponse checks what an adapter reads of a response, by
// elmcity.fetch and as elmcity.source: the body as text, the final URL,
// and the header with lowercased names and repeated fields joined; a
// status other than 2xx is a response, not an error.
func TestFetcherAndResponse(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/gone" {
			http.Error(w, "gone", http.StatusGone)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Add("X-Page", "1")
		w.Header().Add("X-Page", "2")
		w.Header().Set("X-Key-Seen", r.Header.Get("X-Key"))
		_, _ = w.Write([]byte(`[{"title":"Open mic"}]`))
	}))
	t.Cleanup(srv.Close)
	f, err := fetch.New(fetch.Config{AllowPrivate: true, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(f.CloseIdleConnections)
	ctx := context.Background()

	got, err := scripthost.NewFetcher(f).Fetch(ctx, script.FetchRequest{URL: srv.URL + "/events", Header: map[string]string{"X-Key": "k"}})
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != 200 || got.Body != `[{"title":"Open mic"}]` || got.URL != srv.URL+"/events" {
		t.Errorf("Fetch() = %+v", got)
	}
	for k, want := range map[string]string{"content-type": "application/json", "x-page": "1, 2", "x-key-seen": "k"} {
		if got.Header[k] != want {
			t.Errorf("header %s = %q, want %q (all: %v)", k, got.Header[k], want, got.Header)
		}
	}

	// elmcity.source: the worker's own fetch of the feed URL.
	res, err := f.Fetch(ctx, srv.URL+"/events", fetch.Validators{})
	if err != nil {
		t.Fatal(err)
	}
	if src := scripthost.Response(res); src.Header["x-page"] != "1, 2" || src.Body != got.Body {
		t.Errorf("Response(Fetch()) = %+v, want the same headers and body", src)
	}

	gone, err := scripthost.NewFetcher(f).Fetch(ctx, script.FetchRequest{URL: srv.URL + "/gone"})
	if err != nil || gone.Status != http.StatusGone || gone.Body != "" {
		t.Errorf("Fetch(410) = %+v, %v; want status 410, no body, no error", gone, err)
	}
}
