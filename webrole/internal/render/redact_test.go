package render_test

import (
	"testing"

	"github.com/elmcity/elmcity/webrole/internal/render"
)

func TestPublicFeedURL(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"https://library.example.org/events.ics", "https://library.example.org/events.ics"},
		{"https://ann:hunter2@cal.example.org/feed.ics", "https://cal.example.org/feed.ics"},
		{"https://example.org/cal.ics?format=ics&token=abc123", "https://example.org/cal.ics?format=ics&token=REDACTED"},
		{"https://example.org/cal?API_KEY=zz&x-auth=1", "https://example.org/cal?API_KEY=REDACTED&x-auth=REDACTED"},
		{"https://calendar.google.com/calendar/ical/abc%40group.calendar.google.com/private-0123abcd/basic.ics", ""},
		{"https://calendar.google.com/calendar/ical/abc%40group.calendar.google.com/public/basic.ics", "https://calendar.google.com/calendar/ical/abc%40group.calendar.google.com/public/basic.ics"},
		{"not a url", ""},
		{"", ""},
	}
	for _, tt := range tests {
		if got := render.PublicFeedURL(tt.in); got != tt.want {
			t.Errorf("PublicFeedURL(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
