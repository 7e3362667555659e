package main

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/emersion/go-ical"
)

// TestFeedsParseAndShift checks that every demo feed is valid iCalendar
// and that shifting moves dates by whole weeks.
func TestFeedsParseAndShift(t *testing.T) {
	t.Parallel()
	h := feedHandler(2)
	for _, name := range []string{"library.ics", "theatre.ics", "cityhall.ics"} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/"+name, nil))
		if rec.Code != http.StatusOK {
			t.Fatalf("GET /%s = %d", name, rec.Code)
		}
		body, _ := io.ReadAll(rec.Body)
		if _, err := ical.NewDecoder(strings.NewReader(string(body))).Decode(); err != nil {
			t.Errorf("%s does not parse: %v", name, err)
		}
		if name == "library.ics" && !strings.Contains(string(body), "DTSTART;TZID=America/New_York:20261117T103000") {
			t.Errorf("library.ics not shifted by two weeks:\n%s", body)
		}
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/../../go.mod", nil))
	if rec.Code != http.StatusNotFound {
		t.Errorf("GET outside the feeds = %d, want 404", rec.Code)
	}
}
