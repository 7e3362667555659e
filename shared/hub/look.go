package hub

import (
	"fmt"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// The render options a hub's public page reads (Hub.Render). Other
// names are kept as they are and ignored.
const (
	// RenderAccent is the colour of the page's header band, #rgb or
	// #rrggbb; the band's text is black or white, whichever reads
	// better on it.
	RenderAccent = "accent"
	// RenderLogo is the https URL of an image shown in the header.
	RenderLogo = "logo"
	// RenderHeader is a line of plain text under the title.
	RenderHeader = "header"
	// RenderDays is the page's default window: today and the next
	// days, in all that many days (1 to MaxPageDays).
	RenderDays = "days"
)

// Bounds of the look.
const (
	// DefaultPageDays is Look.Days when the hub sets none.
	DefaultPageDays = 7
	// MaxPageDays is the largest default window.
	MaxPageDays = 60
	// MaxHeaderRunes bounds the header line.
	MaxHeaderRunes = 200
)

// Look is how a hub's public page looks, read from its render options.
// A zero field is the service's default.
type Look struct {
	// Accent is a colour, "#rrggbb" (lowercase); "" for the default.
	Accent string
	// Logo is an https URL of an image; "" for none.
	Logo string
	// Header is a line of text under the title; "" for none.
	Header string
	// Days is the default window in days; 0 for DefaultPageDays.
	Days int
}

var accentPattern = regexp.MustCompile(`^#([0-9a-fA-F]{3}|[0-9a-fA-F]{6})$`)

// ParseLook reads the look from a hub's render options. bad names each
// option whose value is unusable, with why, keyed by option name; those
// are left at their default in the Look.
func ParseLook(opts map[string]string) (look Look, bad map[string]string) {
	bad = map[string]string{}
	if v, ok := opts[RenderAccent]; ok {
		v = strings.TrimSpace(v)
		if accentPattern.MatchString(v) {
			v = strings.ToLower(v)
			if len(v) == 4 {
				v = "#" + v[1:2] + v[1:2] + v[2:3] + v[2:3] + v[3:4] + v[3:4]
			}
			look.Accent = v
		} else {
			bad[RenderAccent] = "must be a colour written #rgb or #rrggbb, such as #0b57d0"
		}
	}
	if v, ok := opts[RenderLogo]; ok {
		if msg := checkLogo(strings.TrimSpace(v)); msg != "" {
			bad[RenderLogo] = msg
		} else {
			look.Logo = strings.TrimSpace(v)
		}
	}
	if v, ok := opts[RenderHeader]; ok {
		v = strings.TrimSpace(v)
		switch {
		case !utf8.ValidString(v) || strings.ContainsFunc(v, unicode.IsControl):
			bad[RenderHeader] = "must be one line of text"
		case utf8.RuneCountInString(v) > MaxHeaderRunes:
			bad[RenderHeader] = fmt.Sprintf("at most %d characters", MaxHeaderRunes)
		default:
			look.Header = v
		}
	}
	if v, ok := opts[RenderDays]; ok {
		n, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil || n < 1 || n > MaxPageDays {
			bad[RenderDays] = fmt.Sprintf("must be a whole number of days from 1 to %d", MaxPageDays)
		} else {
			look.Days = n
		}
	}
	return look, bad
}

// checkLogo says why u cannot be a logo's URL, or "": it must be an
// absolute https URL with a host and no user name, written as a URI
// (printable ASCII, nothing a Content-Security-Policy source or an HTML
// attribute would read otherwise: no space, quote, comma or semicolon).
func checkLogo(u string) string {
	const msg = "must be the https URL of an image, written as a URI (percent-encoded, no spaces, quotes, commas or semicolons)"
	for i := 0; i < len(u); i++ {
		if c := u[i]; c <= ' ' || c >= 0x7f || strings.IndexByte("\"'`<>\\^{|},;", c) >= 0 {
			return msg
		}
	}
	p, err := url.Parse(u)
	if err != nil || p.Scheme != "https" || p.Host == "" || p.User != nil || p.Opaque != "" {
		return msg
	}
	return ""
}
