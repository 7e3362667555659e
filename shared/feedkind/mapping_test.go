package feedkind_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/elmcity/elmcity/shared/feedkind"
)

func TestParseKind(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		in      string
		want    feedkind.Kind
		wantErr bool
	}{
		{name: "EmptyIsICS", in: "", want: feedkind.KindICS},
		{name: "JSONLD", in: "jsonld", want: feedkind.KindJSONLD},
		{name: "CaseAndSpace", in: " CSV ", want: feedkind.KindCSV},
		{name: "Script", in: "script", want: feedkind.KindScript},
		{name: "Unknown", in: "xlsx", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := feedkind.ParseKind(tt.in)
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Fatalf("ParseKind(%q) = %q, %v, want %q (error %v)", tt.in, got, err, tt.want, tt.wantErr)
			}
			if err != nil && !errors.Is(err, feedkind.ErrUnknownKind) {
				t.Errorf("ParseKind(%q) = %v, want ErrUnknownKind", tt.in, err)
			}
		})
	}
}

func TestMappingValidate(t *testing.T) {
	t.Parallel()
	csv := feedkind.Mapping{Title: "Title", StartDate: "Date", Header: true}
	tests := []struct {
		name string
		kind feedkind.Kind
		m    feedkind.Mapping
		want []string // substrings of the error, "" for none
	}{
		{name: "ICSEmpty", kind: feedkind.KindICS},
		{name: "ICSWithMapping", kind: feedkind.KindICS, m: feedkind.Mapping{Title: "x"}, want: []string{"takes no mapping"}},
		{name: "JSONLDZone", kind: feedkind.KindJSONLD, m: feedkind.Mapping{TZ: "Europe/Paris"}},
		{name: "JSONLDFields", kind: feedkind.KindJSONLD, m: feedkind.Mapping{Title: "name"}, want: []string{"takes only tz"}},
		{name: "CSVGood", kind: feedkind.KindCSV, m: csv},
		{name: "CSVNumbered", kind: feedkind.KindCSV, m: feedkind.Mapping{Title: "1", StartDate: "2", DateFormat: "DD/MM/YYYY HH:mm"}},
		{name: "CSVMissingRequired", kind: feedkind.KindCSV, m: feedkind.Mapping{Location: "3"},
			want: []string{"mapping field title: required", "mapping field start_date: required"}},
		{name: "CSVNameWithoutHeader", kind: feedkind.KindCSV, m: feedkind.Mapping{Title: "Title", StartDate: "2"},
			want: []string{`mapping field title: column "Title" is a name but header is false`}},
		{name: "CSVColumnZero", kind: feedkind.KindCSV, m: feedkind.Mapping{Title: "0", StartDate: "2"},
			want: []string{"mapping field title: column number 0"}},
		{name: "BadZone", kind: feedkind.KindCSV, m: feedkind.Mapping{Title: "1", StartDate: "2", TZ: "Eastern"},
			want: []string{`mapping field tz: "Eastern" is not an IANA time zone`}},
		{name: "BadDateFormat", kind: feedkind.KindCSV, m: feedkind.Mapping{Title: "1", StartDate: "2", DateFormat: "%m/%d/%Y"},
			want: []string{"mapping field date_format", "letter 'm' is not a token"}},
		{name: "DateFormatWithoutYear", kind: feedkind.KindCSV, m: feedkind.Mapping{Title: "1", StartDate: "2", DateFormat: "MM/DD"},
			want: []string{"needs a year, a month and a day"}},
		{name: "BadDelimiter", kind: feedkind.KindCSV, m: feedkind.Mapping{Title: "1", StartDate: "2", Delimiter: "::"},
			want: []string{"mapping field delimiter"}},
		{name: "EndTimeAndDuration", kind: feedkind.KindCSV, m: feedkind.Mapping{Title: "1", StartDate: "2", EndTime: "3", Duration: "4"},
			want: []string{"give end_time or duration"}},
		{name: "JSONPath", kind: feedkind.KindJSON, m: feedkind.Mapping{Title: "title", StartDate: "start", Path: "data.events"}},
		{name: "JSONBadPath", kind: feedkind.KindJSON, m: feedkind.Mapping{Title: "title", StartDate: "start", Path: "data..events"},
			want: []string{"mapping field path"}},
		{name: "JSONHeader", kind: feedkind.KindJSON, m: feedkind.Mapping{Title: "title", StartDate: "start", Header: true},
			want: []string{"not used by kind json"}},
		{name: "RSSElements", kind: feedkind.KindRSS, m: feedkind.Mapping{StartDate: "ev:startdate", Location: "{urn:x}where", URL: "link"}},
		{name: "RSSUnknownPrefix", kind: feedkind.KindRSS, m: feedkind.Mapping{StartDate: "foo:date"},
			want: []string{`mapping field start_date: "foo:date" is not an element name`}},
		{name: "UnknownKind", kind: "xlsx", want: []string{"unknown kind"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := tt.m.Validate(tt.kind)
			if len(tt.want) == 0 {
				if err != nil {
					t.Fatalf("Validate(%s) = %v, want nil", tt.kind, err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Validate(%s) = nil, want %q", tt.kind, tt.want)
			}
			if tt.kind != "xlsx" && !errors.Is(err, feedkind.ErrInvalidMapping) {
				t.Errorf("Validate(%s) = %v, want ErrInvalidMapping", tt.kind, err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Validate(%s) = %q, want it to say %q", tt.kind, err, w)
				}
			}
		})
	}
}

func TestKindMapped(t *testing.T) {
	t.Parallel()
	var mapped []feedkind.Kind
	for _, k := range feedkind.Kinds() {
		if k.Mapped() {
			mapped = append(mapped, k)
		}
	}
	if diff := cmp.Diff([]feedkind.Kind{feedkind.KindCSV, feedkind.KindJSON}, mapped); diff != "" {
		t.Errorf("Mapped() kinds (-want +got):\n%s", diff)
	}
}

// TestMappingJSON holds the JSON names the feed record stores.
func TestMappingJSON(t *testing.T) {
	t.Parallel()
	m := feedkind.Mapping{Title: "Subject", StartDate: "Start Date", DateFormat: "M/D/YYYY", TZ: "America/New_York", Header: true, Path: "x"}
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatalf("Marshal() = %v", err)
	}
	want := `{"title":"Subject","start_date":"Start Date","date_format":"M/D/YYYY","tz":"America/New_York","header":true,"path":"x"}`
	if string(b) != want {
		t.Errorf("Marshal() = %s, want %s", b, want)
	}
	var back feedkind.Mapping
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatalf("Unmarshal() = %v", err)
	}
	if diff := cmp.Diff(m, back); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
}
