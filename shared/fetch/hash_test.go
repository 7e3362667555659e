package fetch_test

import (
	"strings"
	"testing"

	"github.com/elmcity/elmcity/shared/fetch"
)

func TestContentHash(t *testing.T) {
	t.Parallel()
	base := fetch.ContentHash([]byte(calendar))
	tests := []struct {
		name     string
		body     string
		wantSame bool
	}{
		{name: "Identical", body: calendar, wantSame: true},
		{name: "DTSTAMPChanged", body: strings.Replace(calendar, "20240101T000000Z", "20250607T080910Z", 1), wantSame: true},
		{name: "DTSTAMPFolded", body: strings.Replace(calendar, "DTSTAMP:20240101T000000Z", "DTSTAMP:2025\r\n 0607T\r\n\t080910Z", 1), wantSame: true},
		{name: "DTSTAMPParameter", body: strings.Replace(calendar, "DTSTAMP:", "DTSTAMP;VALUE=DATE-TIME:", 1), wantSame: true},
		{name: "DTSTAMPLowerCase", body: strings.Replace(calendar, "DTSTAMP:20240101T000000Z", "dtstamp:20250101T000000Z", 1), wantSame: true},
		{name: "DTSTAMPRemoved", body: strings.Replace(calendar, "DTSTAMP:20240101T000000Z\r\n", "", 1), wantSame: true},
		{name: "SummaryChanged", body: strings.Replace(calendar, "Concert", "Recital", 1)},
		{name: "SummaryFoldedChanged", body: strings.Replace(calendar, "SUMMARY:Concert", "SUMMARY:Conc\r\n ert hall", 1)},
		{name: "DTSTARTChanged", body: strings.Replace(calendar, "20240105T190000Z", "20240106T190000Z", 1)},
		{name: "LookalikeProperty", body: strings.Replace(calendar, "DTSTAMP:20240101T000000Z", "DTSTAMPX:20240101T000000Z", 1)},
		{name: "LineEndings", body: strings.ReplaceAll(calendar, "\r\n", "\n")},
		{name: "NoFinalNewline", body: strings.TrimSuffix(calendar, "\r\n")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := fetch.ContentHash([]byte(tt.body))
			if (got == base) != tt.wantSame {
				t.Errorf("ContentHash(%q) == ContentHash(calendar) is %v, want %v", tt.body, got == base, tt.wantSame)
			}
		})
	}
}
