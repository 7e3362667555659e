package api_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/elmcity/elmcity/shared/hubcal"
	"github.com/elmcity/elmcity/webrole/internal/outputs"
)

// BenchmarkOutputs serves the json and ics outputs of a hub with 5,000
// upcoming events through a real HTTP server on 127.0.0.1 with 8 parallel
// clients: from the cache (impl=cached), as 304s to clients that send the
// ETag (impl=notmodified), and rendered afresh for every request
// (impl=cold: each asks for another view), beside a bare Gin endpoint
// that returns a fixed byte slice of the same size (impl=fixed), the
// baseline. It reports requests/s and the p99 latency:
//
//	go test -run '^$' -bench Outputs -benchtime 2000x ./webrole/internal/api/
func BenchmarkOutputs(b *testing.B) {
	w := newWorld(b)
	clock := &testClock{now: time.Now()}
	h := newInstance(b, w.testBundle, clock, outputs.Config{CheckEvery: time.Hour, PublicURL: "https://cal.example.org"})
	publishEvents(b, w.cals, "keene", benchEvents(clock.Now(), 5000))
	for _, format := range []string{"json", "ics"} {
		path := "/services/keene/" + format
		first := do(b, h, http.MethodGet, path, nil)
		if first.Code != 200 {
			b.Fatalf("GET %s = %d", path, first.Code)
		}
		body, etag := first.Body.Bytes(), first.Header().Get("ETag")
		fixed := gin.New()
		fixed.GET("/fixed", func(c *gin.Context) { c.Data(http.StatusOK, first.Header().Get("Content-Type"), body) })
		for _, v := range []struct {
			name string
			h    http.Handler
			path any
			hdr  map[string]string
		}{
			{"impl=fixed", fixed, "/fixed", nil},
			{"impl=cached", h, path, nil},
			{"impl=notmodified", h, path, map[string]string{"If-None-Match": etag}},
			{"impl=cold", h, func(i int64) string { return fmt.Sprintf("%s?count=%d", path, 5000+i) }, nil},
		} {
			b.Run("format="+format+"/"+v.name, func(b *testing.B) {
				b.SetBytes(int64(len(body)))
				load(b, v.h, v.path, v.hdr)
			})
		}
	}
}

// benchEvents is n events over the next 90 days, a fifth of them merged
// from two feeds, with tags and a paragraph of description.
func benchEvents(now time.Time, n int) []hubcal.Event {
	lib := hubcal.Source{Feed: "f1", Name: "Library", URL: "https://library.example.org/events"}
	thr := hubcal.Source{Feed: "f2", Name: "Theatre", URL: "https://theatre.example.org/"}
	tags := [][]string{{"music"}, {"kids", "library"}, {"arts", "{film}"}, {"sports"}, {"music", "outdoors"}}
	desc := strings.Repeat("An evening of music and conversation, all welcome. ", 4)
	out := make([]hubcal.Event, n)
	start := now.Truncate(time.Hour).Add(time.Hour)
	for i := range out {
		at := start.Add(time.Duration(i) * 90 * 24 * time.Hour / time.Duration(n))
		e := hubcal.Event{
			UID: fmt.Sprintf("%08x@elmcity", i), Title: fmt.Sprintf("Event %d at the library", i),
			Start: at, End: at.Add(90 * time.Minute), Description: desc, Location: "Keene Public Library, 60 Winter St",
			Tags: tags[i%len(tags)], Sources: []hubcal.Source{lib},
		}
		if i%5 == 0 {
			e.Sources = append(e.Sources, thr)
		}
		out[i] = e
	}
	return out
}
