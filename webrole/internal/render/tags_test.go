package render_test

import (
	"net/url"
	"slices"
	"testing"

	"github.com/elmcity/elmcity/webrole/internal/render"
)

// TestViewOfATagWithAComma: a feed's category may hold a comma it
// escaped ("Meeting\, John"), which stays one tag; a view names such a
// tag with the comma escaped, and the tag picker's links do so.
func TestViewOfATagWithAComma(t *testing.T) {
	t.Parallel()
	cal := testCalendar(t)
	events := cal.Events.(render.Events)
	events[2].Tags = []string{"meeting, john", "music"} // jazz@elmcity
	tests := []struct {
		name, query string
		want        []string
	}{
		{"EscapedComma", `view=meeting\,+john`, []string{"jazz@elmcity"}},
		{"ExcludeEscapedComma", `view=-meeting\,+john,music`, []string{"xss@elmcity", "spring@elmcity"}},
		{"UnescapedCommaIsTwoTags", "view=meeting,john", nil},
	}
	for _, tt := range tests {
		q, err := url.ParseQuery(tt.query)
		if err != nil {
			t.Fatal(err)
		}
		f, err := render.ParseFilter(q, cal.Loc, fixtureNow)
		if err != nil {
			t.Fatalf("%s: ParseFilter(%q) = %v", tt.name, tt.query, err)
		}
		if got := uids(f.Apply(cal.Events, cal.Loc)); !slices.Equal(got, tt.want) {
			t.Errorf("%s: Apply(%q) = %v, want %v", tt.name, tt.query, got, tt.want)
		}
	}
	f, _ := render.ParseFilter(url.Values{}, cal.Loc, fixtureNow)
	link := f.WithView("meeting, john", `back\slash`).Encode()
	back, _ := url.ParseQuery(link)
	g, err := render.ParseFilter(back, cal.Loc, fixtureNow)
	if err != nil || !slices.Equal(g.Tags, []string{"meeting, john", `back\slash`}) {
		t.Errorf("WithView() = %s, read back as %q (%v)", link, g.Tags, err)
	}
}
