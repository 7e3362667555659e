package hub_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/elmcity/elmcity/shared/hub"
)

func TestParseLook(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		opts    map[string]string
		want    hub.Look
		wantBad []string
	}{
		{name: "None", opts: nil},
		{name: "UnknownOptionsIgnored", opts: map[string]string{"theme": "dark", "view": "music"}},
		{name: "Everything", opts: map[string]string{"accent": " #0B57D0 ", "logo": "https://keene.example.org/logo.png?v=2", "header": " Events in and around Keene ", "days": "14"},
			want: hub.Look{Accent: "#0b57d0", Logo: "https://keene.example.org/logo.png?v=2", Header: "Events in and around Keene", Days: 14}},
		{name: "ShortAccent", opts: map[string]string{"accent": "#0a5"}, want: hub.Look{Accent: "#00aa55"}},
		{name: "AccentNotAColour", opts: map[string]string{"accent": "red; background:url(x)"}, wantBad: []string{"accent"}},
		{name: "LogoHTTP", opts: map[string]string{"logo": "http://keene.example.org/logo.png"}, wantBad: []string{"logo"}},
		{name: "LogoJavaScript", opts: map[string]string{"logo": "javascript:alert(1)"}, wantBad: []string{"logo"}},
		{name: "LogoWithSemicolon", opts: map[string]string{"logo": "https://x.example/a;script-src *"}, wantBad: []string{"logo"}},
		{name: "LogoWithSpace", opts: map[string]string{"logo": "https://x.example/a b.png"}, wantBad: []string{"logo"}},
		{name: "LogoWithQuote", opts: map[string]string{"logo": `https://x.example/a".png`}, wantBad: []string{"logo"}},
		{name: "LogoIRI", opts: map[string]string{"logo": "https://x.example/café.png"}, wantBad: []string{"logo"}},
		{name: "LogoUser", opts: map[string]string{"logo": "https://u:p@x.example/a.png"}, wantBad: []string{"logo"}},
		{name: "HeaderTwoLines", opts: map[string]string{"header": "one\ntwo"}, wantBad: []string{"header"}},
		{name: "HeaderTooLong", opts: map[string]string{"header": strings.Repeat("é", hub.MaxHeaderRunes+1)}, wantBad: []string{"header"}},
		{name: "DaysZero", opts: map[string]string{"days": "0"}, wantBad: []string{"days"}},
		{name: "DaysTooMany", opts: map[string]string{"days": "61"}, wantBad: []string{"days"}},
		{name: "DaysNotANumber", opts: map[string]string{"days": "week", "accent": "#fff"}, want: hub.Look{Accent: "#ffffff"}, wantBad: []string{"days"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, bad := hub.ParseLook(tt.opts)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ParseLook() look (-want +got):\n%s", diff)
			}
			var names []string
			for k := range bad {
				names = append(names, k)
			}
			if !cmp.Equal(names, tt.wantBad, cmp.Comparer(func(a, b []string) bool { return strings.Join(a, ",") == strings.Join(b, ",") })) {
				t.Errorf("ParseLook() bad = %v, want %v", bad, tt.wantBad)
			}
		})
	}
}

// TestValidateChecksTheLook: a hub whose render options would give its
// page a bad look is refused, naming the option.
func TestValidateChecksTheLook(t *testing.T) {
	t.Parallel()
	h := hub.Hub{ID: "keene", Title: "Keene", TZ: "America/New_York", Render: map[string]string{"accent": "#0b57d0", "days": "90"}}
	h.Normalize()
	err := h.Validate()
	var ve *hub.ValidationError
	if !errors.As(err, &ve) || !strings.HasPrefix(ve.Fields["render"], "days: ") {
		t.Fatalf("Validate() = %v, want render naming days", err)
	}
	h.Render["days"] = "14"
	if err := h.Validate(); err != nil {
		t.Errorf("Validate() = %v for a good look", err)
	}
}
