package fetch_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/elmcity/elmcity/shared/fetch"
)

func ExampleNormalizeURL() {
	u, err := fetch.NormalizeURL("webcal://calendar.example.org/events.ics#today")
	fmt.Println(u, err)
	// Output: https://calendar.example.org/events.ics <nil>
}

func ExampleContentHash() {
	monday := []byte("BEGIN:VEVENT\r\nDTSTAMP:20240101T000000Z\r\nSUMMARY:Concert\r\nEND:VEVENT\r\n")
	tuesday := []byte("BEGIN:VEVENT\r\nDTSTAMP:20240102T093000Z\r\nSUMMARY:Concert\r\nEND:VEVENT\r\n")
	changed := []byte("BEGIN:VEVENT\r\nDTSTAMP:20240102T093000Z\r\nSUMMARY:Recital\r\nEND:VEVENT\r\n")
	fmt.Println(fetch.ContentHash(monday) == fetch.ContentHash(tuesday))
	fmt.Println(fetch.ContentHash(monday) == fetch.ContentHash(changed))
	// Output:
	// true
	// false
}

func ExampleFetcher_Fetch() {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("ETag", `"v1"`)
		if r.Header.Get("If-None-Match") == `"v1"` {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		w.Header().Set("Content-Type", "text/calendar; charset=windows-1252")
		_, _ = w.Write([]byte("BEGIN:VCALENDAR\r\nX-WR-CALNAME:Caf\xe9\r\nEND:VCALENDAR\r\n"))
	}))
	defer srv.Close()
	// AllowPrivate only because the example server is on loopback.
	f, err := fetch.New(fetch.Config{AllowPrivate: true})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer f.CloseIdleConnections()

	ctx := context.Background()
	var prev fetch.Validators // stored with the feed between runs
	for range 2 {
		res, err := f.Fetch(ctx, srv.URL, prev)
		if err != nil {
			fmt.Println(fetch.ClassOf(err), err)
			return
		}
		fmt.Printf("status=%d not_modified=%t charset=%q utf8_bytes=%d\n",
			res.Status, res.NotModified, res.Charset, len(res.Body))
		prev = res.Validators
	}
	// Output:
	// status=200 not_modified=false charset="windows-1252" utf8_bytes=52
	// status=304 not_modified=true charset="" utf8_bytes=0
}
