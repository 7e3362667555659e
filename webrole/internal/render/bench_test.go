package render_test

import (
	"fmt"
	"io"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/elmcity/elmcity/shared/hubcal"
	"github.com/elmcity/elmcity/webrole/internal/render"
)

// BenchmarkRender renders every format of a 5,000-event view: the cost
// of a cache miss.
//
//	go test -run '^$' -bench Render ./webrole/internal/render/
func BenchmarkRender(b *testing.B) {
	cal := testCalendar(b)
	lib := hubcal.Source{Feed: "f1", Name: "Library", URL: "https://library.example.org/events"}
	desc := strings.Repeat("An evening of music and conversation, all welcome. ", 4)
	events := make(render.Events, 5000)
	for i := range events {
		at := fixtureNow.Add(time.Duration(i) * 26 * time.Minute)
		events[i] = hubcal.Event{UID: fmt.Sprintf("%08x@elmcity", i), Title: fmt.Sprintf("Event %d at the library", i),
			Start: at, End: at.Add(90 * time.Minute), Description: desc, Location: "Keene Public Library, 60 Winter St",
			Tags: []string{"music", "{film}"}, Sources: []hubcal.Source{lib}}
	}
	cal.Events = events
	f, err := render.ParseFilter(url.Values{}, cal.Loc, fixtureNow)
	if err != nil {
		b.Fatal(err)
	}
	v := &render.View{Cal: cal, Filter: f, Events: f.Apply(cal.Events, cal.Loc), Now: fixtureNow, Base: "https://cal.example.org"}
	all := map[string]func(io.Writer, *render.View) error{}
	for k, fn := range renderers {
		all[k] = fn
	}
	all["html"] = func(w io.Writer, v *render.View) error { return render.Page(w, v, render.PageOptions{}) }
	for _, name := range []string{"ics", "json", "html", "rss", "xml", "csv", "text", "tags_json"} {
		b.Run("format="+name, func(b *testing.B) {
			var n countWriter
			b.ReportAllocs()
			for b.Loop() {
				n = 0
				if err := all[name](&n, v); err != nil {
					b.Fatal(err)
				}
			}
			b.SetBytes(int64(n))
			b.ReportMetric(float64(len(v.Events))*float64(b.N)/b.Elapsed().Seconds(), "events/s")
		})
	}
}

type countWriter int

func (c *countWriter) Write(p []byte) (int, error) { *c += countWriter(len(p)); return len(p), nil }
