package render_test

import (
	"strings"
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

// TestStatsPageHidesFeedSecrets: the public report never shows a feed's
// credentials, in its link or in an error that quotes the URL.
func TestStatsPageHidesFeedSecrets(t *testing.T) {
	t.Parallel()
	cal := testCalendar(t)
	secret := "https://ann:hunter2@cal.example.org/feed.ics?token=s3cr3t"
	cal.Run = []byte(`{"feeds":[{"feed":"f1","source":"Club","url":"` + secret + `","status":"failed","error_class":"http_4xx","error":"GET ` + secret + `: 403"}]}`)
	var b strings.Builder
	if err := render.StatsPage(&b, cal); err != nil {
		t.Fatal(err)
	}
	for _, leak := range []string{"hunter2", "s3cr3t"} {
		if strings.Contains(b.String(), leak) {
			t.Errorf("the stats page shows %q", leak)
		}
	}
	if !strings.Contains(b.String(), "token=REDACTED") {
		t.Error("the stats page lost the redacted feed URL")
	}
}
