package fetch_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/elmcity/elmcity/shared/fetch"
)

const calendar = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:1@example.org\r\nDTSTAMP:20240101T000000Z\r\nDTSTART:20240105T190000Z\r\nSUMMARY:Concert\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"

func TestNew(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		cfg     fetch.Config
		wantErr bool
	}{
		{name: "Zero", cfg: fetch.Config{}},
		{name: "NegativeRedirectsAndForce", cfg: fetch.Config{MaxRedirects: -1, ForceEvery: -1}},
		{name: "NegativeTimeout", cfg: fetch.Config{Timeout: -time.Second}, wantErr: true},
		{name: "NegativeConnectTimeout", cfg: fetch.Config{ConnectTimeout: -time.Second}, wantErr: true},
		{name: "NegativeMaxBytes", cfg: fetch.Config{MaxBytes: -1}, wantErr: true},
		{name: "NegativePerHost", cfg: fetch.Config{PerHost: -1}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f, err := fetch.New(tt.cfg)
			if (err != nil) != tt.wantErr {
				t.Fatalf("New() = %v, wantErr %v", err, tt.wantErr)
			}
			if f != nil {
				f.CloseIdleConnections()
			}
		})
	}
}

func TestFetchConditional(t *testing.T) {
	t.Parallel()
	const lastModified = "Wed, 21 Oct 2015 07:28:00 GMT"
	tests := []struct {
		name         string
		etag         string
		lastModified string
	}{
		{name: "ETag", etag: `"v1"`},
		{name: "LastModified", lastModified: lastModified},
		{name: "Both", etag: `"v1"`, lastModified: lastModified},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var (
				mu  sync.Mutex
				got []http.Header
			)
			b := setup(t, func(w http.ResponseWriter, r *http.Request) {
				mu.Lock()
				got = append(got, r.Header.Clone())
				mu.Unlock()
				if tt.etag != "" {
					w.Header().Set("ETag", tt.etag)
				}
				if tt.lastModified != "" {
					w.Header().Set("Last-Modified", tt.lastModified)
				}
				if (tt.etag != "" && r.Header.Get("If-None-Match") == tt.etag) ||
					(tt.etag == "" && r.Header.Get("If-Modified-Since") == tt.lastModified) {
					w.WriteHeader(http.StatusNotModified)
					return
				}
				w.Header().Set("Content-Type", "text/calendar; charset=utf-8")
				_, _ = w.Write([]byte(calendar))
			}, fetch.Config{Now: (&stepClock{step: 250 * time.Millisecond}).Now})
			ctx := t.Context()

			first, err := b.f.Fetch(ctx, b.srv.URL, fetch.Validators{})
			if err != nil {
				t.Fatalf("Fetch() first = %v", err)
			}
			wantFirst := fetch.Result{
				URL:          b.srv.URL,
				Status:       http.StatusOK,
				Body:         []byte(calendar),
				Charset:      fetch.CharsetUTF8,
				WireBytes:    int64(len(calendar)),
				DecodedBytes: int64(len(calendar)),
				ContentHash:  fetch.ContentHash([]byte(calendar)),
				Validators: fetch.Validators{
					ETag:         tt.etag,
					LastModified: tt.lastModified,
					BodyHash:     fetch.ContentHash([]byte(calendar)),
				},
				Duration: 250 * time.Millisecond,
			}
			// The header is the server's, Date and all: checked apart.
			if diff := cmp.Diff(wantFirst, first, ignoreHeader); diff != "" {
				t.Errorf("Fetch() first mismatch (-want +got):\n%s", diff)
			}

			if got := first.Header.Get("Content-Type"); got != "text/calendar; charset=utf-8" {
				t.Errorf("Fetch() first Header Content-Type = %q", got)
			}
			second, err := b.f.Fetch(ctx, b.srv.URL, first.Validators)
			if err != nil {
				t.Fatalf("Fetch() second = %v", err)
			}
			wantSecond := fetch.Result{
				URL:         b.srv.URL,
				Status:      http.StatusNotModified,
				NotModified: true,
				Validators:  first.Validators,
				Duration:    250 * time.Millisecond,
			}
			wantSecond.Validators.Runs = 1
			if diff := cmp.Diff(wantSecond, second, ignoreHeader); diff != "" {
				t.Errorf("Fetch() second mismatch (-want +got):\n%s", diff)
			}

			if len(got) != 2 {
				t.Fatalf("server got %d requests, want 2", len(got))
			}
			for _, h := range []string{"If-None-Match", "If-Modified-Since"} {
				if v := got[0].Get(h); v != "" {
					t.Errorf("first request %s = %q, want none", h, v)
				}
			}
			if v := got[1].Get("If-None-Match"); v != tt.etag {
				t.Errorf("second request If-None-Match = %q, want %q", v, tt.etag)
			}
			if v := got[1].Get("If-Modified-Since"); v != tt.lastModified {
				t.Errorf("second request If-Modified-Since = %q, want %q", v, tt.lastModified)
			}
			if v := got[0].Get("User-Agent"); v != fetch.DefaultUserAgent {
				t.Errorf("User-Agent = %q, want %q", v, fetch.DefaultUserAgent)
			}
			if v := got[0].Get("Accept-Encoding"); v != "gzip" {
				t.Errorf("Accept-Encoding = %q, want gzip", v)
			}
		})
	}
}

// TestFetchForced runs a feed against a server that answers 304 to every
// conditional request: every third run must be unconditional.
func TestFetchForced(t *testing.T) {
	t.Parallel()
	var (
		mu          sync.Mutex
		conditional []bool
	)
	b := setup(t, func(w http.ResponseWriter, r *http.Request) {
		cond := r.Header.Get("If-None-Match") != ""
		mu.Lock()
		conditional = append(conditional, cond)
		mu.Unlock()
		w.Header().Set("ETag", `"always"`)
		if cond {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		_, _ = w.Write([]byte(calendar))
	}, fetch.Config{ForceEvery: 3})

	runs := []struct {
		status int
		forced bool
		runs   int
	}{
		{status: 200, runs: 0},
		{status: 304, runs: 1},
		{status: 304, runs: 2},
		{status: 200, forced: true, runs: 0},
		{status: 304, runs: 1},
		{status: 304, runs: 2},
		{status: 200, forced: true, runs: 0},
	}
	var prev fetch.Validators
	for i, want := range runs {
		res, err := b.f.Fetch(t.Context(), b.srv.URL, prev)
		if err != nil {
			t.Fatalf("run %d: Fetch() = %v", i, err)
		}
		if res.Status != want.status || res.Forced != want.forced || res.Validators.Runs != want.runs ||
			res.NotModified != (want.status == 304) {
			t.Errorf("run %d: Fetch() = status %d forced %v runs %d notModified %v, want %d %v %d",
				i, res.Status, res.Forced, res.Validators.Runs, res.NotModified, want.status, want.forced, want.runs)
		}
		if cond := conditional[i]; cond != (want.status == 304) {
			t.Errorf("run %d: request conditional = %v, want %v", i, cond, want.status == 304)
		}
		prev = res.Validators
	}
}

func TestFetchUnchanged(t *testing.T) {
	t.Parallel()
	bodies := []string{
		calendar,
		// only DTSTAMP differs, once folded
		strings.Replace(calendar, "DTSTAMP:20240101T000000Z", "DTSTAMP:20240102\r\n T093000Z", 1),
		// a real change
		strings.Replace(calendar, "Concert", "Recital", 1),
	}
	var (
		mu sync.Mutex
		n  int
	)
	b := setup(t, func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		body := bodies[n]
		n++
		mu.Unlock()
		_, _ = w.Write([]byte(body))
	}, fetch.Config{})

	wantUnchanged := []bool{false, true, false}
	var prev fetch.Validators
	for i, want := range wantUnchanged {
		res, err := b.f.Fetch(t.Context(), b.srv.URL, prev)
		if err != nil {
			t.Fatalf("fetch %d: Fetch() = %v", i, err)
		}
		if res.Unchanged != want {
			t.Errorf("fetch %d: Unchanged = %v, want %v", i, res.Unchanged, want)
		}
		if string(res.Body) != bodies[i] {
			t.Errorf("fetch %d: Body = %q, want %q", i, res.Body, bodies[i])
		}
		prev = res.Validators
	}
}

func gzipped(t testing.TB, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(b); err != nil {
		t.Fatalf("gzip Write() = %v", err)
	}
	if err := zw.Close(); err != nil {
		t.Fatalf("gzip Close() = %v", err)
	}
	return buf.Bytes()
}

func TestFetchGzip(t *testing.T) {
	t.Parallel()
	body := []byte(strings.Repeat(strings.Replace(calendar, "Concert", "Café concert", 1), 20))
	zipped := gzipped(t, body)
	tests := []struct {
		name     string
		encoding string
		wire     []byte
		wantGzip bool
		wantErr  fetch.Class
	}{
		{name: "Gzip", encoding: "gzip", wire: zipped, wantGzip: true},
		{name: "XGzip", encoding: "x-gzip", wire: zipped, wantGzip: true},
		{name: "Identity", wire: body},
		{name: "Corrupt", encoding: "gzip", wire: body, wantErr: fetch.ClassOther},
		{name: "Unsupported", encoding: "br", wire: body, wantErr: fetch.ClassOther},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t, func(w http.ResponseWriter, r *http.Request) {
				if tt.encoding != "" {
					if !strings.Contains(r.Header.Get("Accept-Encoding"), "gzip") {
						t.Errorf("Accept-Encoding = %q, want gzip", r.Header.Get("Accept-Encoding"))
					}
					w.Header().Set("Content-Encoding", tt.encoding)
				}
				_, _ = w.Write(tt.wire)
			}, fetch.Config{})
			res, err := b.f.Fetch(t.Context(), b.srv.URL, fetch.Validators{})
			if tt.wantErr != "" {
				wantError(t, err, tt.wantErr, nil)
				return
			}
			if err != nil {
				t.Fatalf("Fetch() = %v", err)
			}
			if !bytes.Equal(res.Body, body) {
				t.Errorf("Body = %q, want %q", res.Body, body)
			}
			if res.Gzip != tt.wantGzip || res.WireBytes != int64(len(tt.wire)) || res.DecodedBytes != int64(len(body)) {
				t.Errorf("Fetch() = gzip %v wire %d decoded %d, want %v %d %d",
					res.Gzip, res.WireBytes, res.DecodedBytes, tt.wantGzip, len(tt.wire), len(body))
			}
		})
	}
}

func TestFetchTooLarge(t *testing.T) {
	t.Parallel()
	const limit = 64 << 10
	chunk := bytes.Repeat([]byte("x"), 4<<10)
	bomb := gzipped(t, make([]byte, 4<<20))
	tests := []struct {
		name    string
		handler http.HandlerFunc
		wantErr bool
	}{
		{name: "ExactlyMax", handler: func(w http.ResponseWriter, _ *http.Request) {
			_, _ = w.Write(bytes.Repeat([]byte("x"), limit))
		}},
		{name: "ContentLength", handler: func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Length", strconv.Itoa(limit+1))
			_, _ = w.Write(bytes.Repeat([]byte("x"), limit+1))
		}, wantErr: true},
		{name: "Chunked", handler: func(w http.ResponseWriter, _ *http.Request) {
			for range 2 * limit / len(chunk) {
				_, _ = w.Write(chunk)
				w.(http.Flusher).Flush()
			}
		}, wantErr: true},
		{name: "Endless", handler: func(w http.ResponseWriter, r *http.Request) {
			for range 1 << 18 { // 1 GiB at most: a bound, not a size
				if _, err := w.Write(chunk); err != nil || r.Context().Err() != nil {
					return
				}
				w.(http.Flusher).Flush()
			}
		}, wantErr: true},
		{name: "GzipBomb", handler: func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Encoding", "gzip")
			_, _ = w.Write(bomb)
		}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t, tt.handler, fetch.Config{MaxBytes: limit})
			res, err := b.f.Fetch(t.Context(), b.srv.URL, fetch.Validators{})
			if !tt.wantErr {
				if err != nil || len(res.Body) != limit {
					t.Fatalf("Fetch() = %d bytes, %v; want %d bytes", len(res.Body), err, limit)
				}
				return
			}
			fe := wantFetchError(t, err, fetch.ClassTooLarge, fetch.ErrTooLarge)
			if fe.Status != http.StatusOK {
				t.Errorf("Error.Status = %d, want 200", fe.Status)
			}
		})
	}
}

func TestFetchRedirects(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name         string
		path         string
		maxRedirects int
		wantPath     string
		wantErr      fetch.Class
		wantIs       error
	}{
		{name: "None", path: "/r/0", maxRedirects: 3, wantPath: "/r/0"},
		{name: "AtLimit", path: "/r/3", maxRedirects: 3, wantPath: "/r/0"},
		{name: "OverLimit", path: "/r/4", maxRedirects: 3, wantErr: fetch.ClassRedirects, wantIs: fetch.ErrTooManyRedirects},
		{name: "Loop", path: "/loop", maxRedirects: 3, wantErr: fetch.ClassRedirects, wantIs: fetch.ErrTooManyRedirects},
		{name: "NoneAllowed", path: "/r/1", maxRedirects: -1, wantErr: fetch.ClassRedirects, wantIs: fetch.ErrTooManyRedirects},
		{name: "ToFTP", path: "/ftp", maxRedirects: 3, wantErr: fetch.ClassBadURL, wantIs: fetch.ErrBadURL},
		{name: "ToCredentials", path: "/creds", maxRedirects: 3, wantErr: fetch.ClassBadURL, wantIs: fetch.ErrBadURL},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t, func(w http.ResponseWriter, r *http.Request) {
				switch {
				case r.URL.Path == "/loop":
					http.Redirect(w, r, "/loop", http.StatusFound)
				case r.URL.Path == "/ftp":
					http.Redirect(w, r, "ftp://example.org/cal.ics", http.StatusFound)
				case r.URL.Path == "/creds":
					http.Redirect(w, r, "http://user:secret@"+r.Host+"/r/0", http.StatusFound)
				case r.URL.Path == "/r/0":
					_, _ = w.Write([]byte(calendar))
				default:
					n, _ := strconv.Atoi(strings.TrimPrefix(r.URL.Path, "/r/"))
					http.Redirect(w, r, fmt.Sprintf("/r/%d", n-1), http.StatusMovedPermanently)
				}
			}, fetch.Config{MaxRedirects: tt.maxRedirects})
			res, err := b.f.Fetch(t.Context(), b.srv.URL+tt.path, fetch.Validators{})
			if tt.wantErr != "" {
				wantError(t, err, tt.wantErr, tt.wantIs)
				if err != nil && strings.Contains(err.Error(), "secret") {
					t.Errorf("Fetch() error %q reveals the password", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Fetch() = %v", err)
			}
			if want := b.srv.URL + tt.wantPath; res.URL != want {
				t.Errorf("Result.URL = %s, want %s", res.URL, want)
			}
		})
	}
}

func TestFetchTimeout(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		handler http.HandlerFunc
	}{
		{name: "BeforeHeaders", handler: func(_ http.ResponseWriter, r *http.Request) {
			<-r.Context().Done()
		}},
		{name: "DuringBody", handler: func(w http.ResponseWriter, r *http.Request) {
			_, _ = w.Write([]byte("BEGIN:VCALENDAR\r\n"))
			w.(http.Flusher).Flush()
			<-r.Context().Done()
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t, tt.handler, fetch.Config{Timeout: 100 * time.Millisecond})
			_, err := b.f.Fetch(t.Context(), b.srv.URL, fetch.Validators{})
			wantError(t, err, fetch.ClassTimeout, context.DeadlineExceeded)
		})
	}
}

func TestFetchCanceled(t *testing.T) {
	t.Parallel()
	arrived := make(chan struct{})
	b := setup(t, func(_ http.ResponseWriter, r *http.Request) {
		close(arrived)
		<-r.Context().Done()
	}, fetch.Config{})
	ctx, cancel := context.WithCancel(t.Context())
	errc := make(chan error, 1)
	go func() {
		_, err := b.f.Fetch(ctx, b.srv.URL, fetch.Validators{})
		errc <- err
	}()
	waitOrTimeout(t, arrived)
	cancel()
	select {
	case err := <-errc:
		wantError(t, err, fetch.ClassOther, context.Canceled)
	case <-time.After(10 * time.Second):
		t.Fatal("Fetch() did not return after cancel")
	}
}

func TestFetchStatus(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		status int
		class  fetch.Class
	}{
		{name: "NotFound", status: http.StatusNotFound, class: fetch.ClassHTTP4xx},
		{name: "Gone", status: http.StatusGone, class: fetch.ClassHTTP4xx},
		{name: "Forbidden", status: http.StatusForbidden, class: fetch.ClassHTTP4xx},
		{name: "InternalServerError", status: http.StatusInternalServerError, class: fetch.ClassHTTP5xx},
		{name: "ServiceUnavailable", status: http.StatusServiceUnavailable, class: fetch.ClassHTTP5xx},
		{name: "NotModifiedUnasked", status: http.StatusNotModified, class: fetch.ClassOther},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t, func(w http.ResponseWriter, _ *http.Request) {
				w.WriteHeader(tt.status)
			}, fetch.Config{})
			_, err := b.f.Fetch(t.Context(), b.srv.URL, fetch.Validators{})
			fe := wantFetchError(t, err, tt.class, fetch.ErrStatus)
			if fe.Status != tt.status {
				t.Errorf("Error.Status = %d, want %d", fe.Status, tt.status)
			}
			if fe.URL != b.srv.URL {
				t.Errorf("Error.URL = %s, want %s", fe.URL, b.srv.URL)
			}
		})
	}
}

func TestFetchBadURL(t *testing.T) {
	t.Parallel()
	f := newFetcher(t, fetch.Config{})
	tests := []struct {
		name string
		url  string
	}{
		{name: "Empty", url: ""},
		{name: "Relative", url: "/calendar.ics"},
		{name: "FTP", url: "ftp://example.org/calendar.ics"},
		{name: "File", url: "file:///etc/passwd"},
		{name: "Mailto", url: "mailto:events@example.org"},
		{name: "NoHost", url: "http:///calendar.ics"},
		{name: "Unparsable", url: "http://[::1/calendar.ics"},
		{name: "Credentials", url: "https://user:secret@example.org/calendar.ics"},
		{name: "WebcalCredentials", url: "webcal://user:secret@example.org/calendar.ics"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := f.Fetch(t.Context(), tt.url, fetch.Validators{})
			wantError(t, err, fetch.ClassBadURL, fetch.ErrBadURL)
			if err != nil && strings.Contains(err.Error(), "secret") {
				t.Errorf("Fetch() error %q reveals the password", err)
			}
		})
	}
}

func TestNormalizeURL(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		url  string
		want string
	}{
		{name: "Webcal", url: "webcal://example.org/cal.ics", want: "https://example.org/cal.ics"},
		{name: "Webcals", url: "webcals://example.org/cal.ics", want: "https://example.org/cal.ics"},
		{name: "UpperCase", url: "WEBCAL://example.org/cal.ics", want: "https://example.org/cal.ics"},
		{name: "HTTP", url: "http://example.org:8080/cal.ics?x=1", want: "http://example.org:8080/cal.ics?x=1"},
		{name: "Fragment", url: " https://example.org/cal.ics#top ", want: "https://example.org/cal.ics"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			u, err := fetch.NormalizeURL(tt.url)
			if err != nil {
				t.Fatalf("NormalizeURL(%q) = %v", tt.url, err)
			}
			if got := u.String(); got != tt.want {
				t.Errorf("NormalizeURL(%q) = %s, want %s", tt.url, got, tt.want)
			}
		})
	}
}

func TestFetchNetworkErrors(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("Listen() = %v", err)
	}
	refused := "http://" + l.Addr().String() + "/"
	_ = l.Close()

	tests := []struct {
		name     string
		url      string
		resolver fetch.Resolver
		class    fetch.Class
	}{
		{name: "ConnectionRefused", url: refused, class: fetch.ClassConnect},
		{name: "NoSuchHost", url: "http://no-such-host.test/", resolver: mapResolver{}, class: fetch.ClassDNS},
		{name: "NoAddresses", url: "http://empty.test/", resolver: mapResolver{"empty.test": nil}, class: fetch.ClassDNS},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFetcher(t, fetch.Config{AllowPrivate: true, Resolver: tt.resolver})
			_, err := f.Fetch(t.Context(), tt.url, fetch.Validators{})
			wantError(t, err, tt.class, nil)
		})
	}
}

func TestFetchLogs(t *testing.T) {
	t.Parallel()
	var (
		mu  sync.Mutex
		buf bytes.Buffer
	)
	logger := slog.New(slog.NewJSONHandler(&lockedWriter{mu: &mu, w: &buf}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	b := setup(t, func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte(calendar))
	}, fetch.Config{Logger: logger})
	if _, err := b.f.Fetch(t.Context(), b.srv.URL, fetch.Validators{}); err != nil {
		t.Fatalf("Fetch() = %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	var rec map[string]any
	if err := json.Unmarshal(buf.Bytes(), &rec); err != nil {
		t.Fatalf("log record %q: %v", buf.String(), err)
	}
	if rec["msg"] != "feed fetched" || rec["feed_url"] != b.srv.URL || rec["status"] != float64(200) {
		t.Errorf("log record = %v, want msg \"feed fetched\", feed_url %s, status 200", rec, b.srv.URL)
	}
}

// lockedWriter serialises writes to w.
type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func TestLogURL(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in, want string
	}{
		{"Plain", "https://example.org/events.ics", "https://example.org/events.ics"},
		{"TokenRedacted", "https://example.org/cal.ics?token=SECRET&view=week", "https://example.org/cal.ics?token=REDACTED&view=week"},
		{"AnyNameRedacted", "https://example.org/cal.ics?authtoken=SECRET&X-Amz-Signature=SECRET&k=SECRET", "https://example.org/cal.ics?authtoken=REDACTED&X-Amz-Signature=REDACTED&k=REDACTED"},
		{"SemicolonSeparator", "https://example.org/cal.ics?a=1;token=SECRET", "https://example.org/cal.ics?a=REDACTED;token=REDACTED"},
		{"SemicolonAfterHarmless", "https://example.org/cal.ics?format=ics;key=SECRET", "https://example.org/cal.ics?format=ics;key=REDACTED"},
		{"HarmlessKept", "https://example.org/cal?Format=ics&tz=America%2FNew_York&category=music+hall", "https://example.org/cal?Format=ics&tz=America%2FNew_York&category=music+hall"},
		{"EscapedHarmlessName", "https://example.org/cal?form%61t=ics", "https://example.org/cal?form%61t=ics"},
		{"EscapedSecretName", "https://example.org/cal?to%6Ben=SECRET", "https://example.org/cal?to%6Ben=REDACTED"},
		{"BadEscapeInValue", "https://example.org/cal?token=SECRET%zz", "https://example.org/cal?token=REDACTED"},
		{"BadEscapeInHarmlessValue", "https://example.org/cal?view=SECRET%zz", "https://example.org/cal?view=REDACTED"},
		{"BadEscapeInName", "https://example.org/cal?SECRET%zz=1&format=ics", "https://example.org/cal?REDACTED&format=ics"},
		{"BareToken", "https://example.org/cal.ics?SECRET", "https://example.org/cal.ics?REDACTED"},
		{"BareHarmlessFlag", "https://example.org/cal.ics?format", "https://example.org/cal.ics?format"},
		{"EncodedSeparatorInValue", "https://example.org/cal?q=a%26token%3DSECRET", "https://example.org/cal?q=REDACTED"},
		{"EmptyPairsKept", "https://example.org/cal?&&token=SECRET;", "https://example.org/cal?&&token=REDACTED;"},
		{"FragmentDropped", "https://example.org/cal.ics#access_token=SECRET", "https://example.org/cal.ics"},
		{"PrivatePath", "https://calendar.google.com/calendar/ical/a%40b.org/private-SECRET/basic.ics", "https://calendar.google.com/calendar/ical/a@b.org/private-REDACTED/basic.ics"},
		{"UserInfo", "https://SECRET:SECRET@example.org/cal.ics", "https://REDACTED@example.org/cal.ics"},
		{"UserOnly", "https://SECRET@example.org/cal.ics", "https://REDACTED@example.org/cal.ics"},
		{"Unparsable", "http://[::1/calendar.ics?token=SECRET", "(unparsable url)"},
		{"ControlCharacter", "https://example.org/cal\x01.ics?token=SECRET", "(unparsable url)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := fetch.LogURL(tt.in)
			if got != tt.want {
				t.Errorf("LogURL(%q) = %q, want %q", tt.in, got, tt.want)
			}
			if strings.Contains(got, "SECRET") {
				t.Errorf("LogURL(%q) = %q, want no SECRET in it", tt.in, got)
			}
		})
	}
}

// TestErrorsAndLogsHideCredentials checks that a feed URL's token or
// private address reaches neither the error of a failed fetch nor the
// debug log of a good one.
func TestErrorsAndLogsHideCredentials(t *testing.T) {
	t.Parallel()
	var logs bytes.Buffer
	var mu sync.Mutex
	b := setup(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("fail") != "" {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		_, _ = w.Write([]byte(calendar))
	}, fetch.Config{Logger: slog.New(slog.NewJSONHandler(&lockedWriter{&mu, &logs}, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	for _, u := range []string{"/private-0123abcd/basic.ics?fail=1", "/cal.ics?token=s3cret&fail=1", "/private-0123abcd/basic.ics", "/cal.ics?token=s3cret"} {
		_, err := b.f.Fetch(t.Context(), b.srv.URL+u, fetch.Validators{})
		if err != nil && (strings.Contains(err.Error(), "s3cret") || strings.Contains(err.Error(), "0123abcd")) {
			t.Errorf("Fetch(%s) error %q reveals the credential", u, err)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if s := logs.String(); strings.Contains(s, "s3cret") || strings.Contains(s, "0123abcd") || !strings.Contains(s, "REDACTED") {
		t.Errorf("fetch logs reveal a credential or log no fetch:\n%s", s)
	}
}

// ignoreHeader leaves Result.Header out of a comparison.
var ignoreHeader = cmpopts.IgnoreFields(fetch.Result{}, "Header")

// TestGetHosts checks GetOptions.Hosts: a URL or a redirect on another
// host is refused as blocked, and a redirect within the hosts is
// followed. The server answers as 127.0.0.1 and as localhost.
func TestGetHosts(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, port, _ := net.SplitHostPort(r.Host)
		switch r.URL.Path {
		case "/here":
			http.Redirect(w, r, "/page", http.StatusFound)
		case "/away":
			http.Redirect(w, r, "http://localhost:"+port+"/page", http.StatusFound)
		default:
			_, _ = w.Write([]byte("page"))
		}
	}))
	t.Cleanup(srv.Close)
	f, err := fetch.New(fetch.Config{AllowPrivate: true, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(f.CloseIdleConnections)
	ctx := context.Background()
	only := fetch.GetOptions{Hosts: []string{"127.0.0.1"}}
	if res, err := f.Get(ctx, srv.URL+"/here", only); err != nil || string(res.Body) != "page" {
		t.Errorf("Get(redirect within the hosts) = %q, %v", res.Body, err)
	}
	if _, err := f.Get(ctx, srv.URL+"/away", only); !errors.Is(err, fetch.ErrBlocked) || fetch.ClassOf(err) != fetch.ClassBlocked {
		t.Errorf("Get(redirect to another host) = %v, want blocked", err)
	}
	if _, err := f.Get(ctx, strings.Replace(srv.URL, "127.0.0.1", "localhost", 1)+"/page", only); !errors.Is(err, fetch.ErrBlocked) {
		t.Errorf("Get(another host) = %v, want blocked", err)
	}
	if res, err := f.Get(ctx, srv.URL+"/away", fetch.GetOptions{}); err != nil || string(res.Body) != "page" {
		t.Errorf("Get(redirect, no hosts given) = %q, %v; want followed", res.Body, err)
	}
}
