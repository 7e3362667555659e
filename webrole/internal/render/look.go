package render

import (
	"crypto/sha256"
	"encoding/base64"
	"math"
	"net/url"
	"strconv"
	"strings"

	"github.com/elmcity/elmcity/shared/hub"
)

// LookOf is the look of a hub's page from its render options, with the
// defaults filled in; an option whose value is unusable (stored before
// it was validated) is left at its default.
func LookOf(h hub.Hub) hub.Look {
	look, _ := hub.ParseLook(h.Render)
	if look.Days == 0 {
		look.Days = hub.DefaultPageDays
	}
	return look
}

// brandCSS is the stylesheet of a hub's accent colour: the header band in
// that colour and its text in black or white, whichever contrasts more
// with it (at least 4.58:1 for any colour, above WCAG's 4.5:1). It is ""
// without an accent.
func brandCSS(look hub.Look) string {
	if look.Accent == "" {
		return ""
	}
	on := "#fff"
	if l := luminance(look.Accent); (l+0.05)/0.05 > 1.05/(l+0.05) {
		on = "#000"
	}
	return ":root{--brand:" + look.Accent + ";--on-brand:" + on + "}"
}

// luminance is the relative luminance (WCAG 2) of a "#rrggbb" colour.
func luminance(hex string) float64 {
	ch := func(i int) float64 {
		v, _ := strconv.ParseUint(hex[i:i+2], 16, 8)
		c := float64(v) / 255
		if c <= 0.04045 {
			return c / 12.92
		}
		return math.Pow((c+0.055)/1.055, 2.4)
	}
	return 0.2126*ch(1) + 0.7152*ch(3) + 0.0722*ch(5)
}

// PagePolicy is the Content-Security-Policy of a hub's page with look:
// ContentSecurityPolicy's, with the hub's own stylesheet (its accent)
// allowed by its hash, its logo as the one image it may load, and its
// date form allowed to submit to the site itself.
func PagePolicy(look hub.Look) string {
	p := "default-src 'none'; style-src '" + styleHash() + "'"
	if css := brandCSS(look); css != "" {
		p += " '" + styleSourceOf(css) + "'"
	}
	if src := cspSource(look.Logo); src != "" {
		p += "; img-src " + src
	}
	return p + "; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
}

// styleSourceOf is the CSP hash source of a <style> element holding
// css: sha256-<base64 of the SHA-256 of its text>.
func styleSourceOf(css string) string {
	sum := sha256.Sum256([]byte(css))
	return "sha256-" + base64.StdEncoding.EncodeToString(sum[:])
}

// cspSource is a logo's URL as a CSP source expression: scheme, host,
// port and path (a source has no query), or "".
func cspSource(logo string) string {
	if logo == "" {
		return ""
	}
	u, err := url.Parse(logo)
	if err != nil || u.Scheme != "https" || u.Host == "" {
		return ""
	}
	src := "https://" + u.Host + u.EscapedPath()
	if strings.ContainsAny(src, " ;,'\"") {
		return ""
	}
	return src
}
