package render

import (
	"crypto/sha256"
	"encoding/base64"
	"strings"
	"sync"
)

// ContentSecurityPolicy is the Content-Security-Policy header value for
// the HTML this package writes. The hub page and the stats report run no
// script and load nothing from anywhere; their only style is their own
// <style> element, allowed by its hash, so an injected element or
// attribute can neither run nor restyle the page. Nothing may frame them,
// submit a form from them or change their base URL.
//
// With embeddable, it is the policy of the events fragment
// (PageOptions.EventsOnly), which has no style and is meant for other
// sites: the same, but any page may frame it.
func ContentSecurityPolicy(embeddable bool) string {
	if embeddable {
		return "default-src 'none'; base-uri 'none'; form-action 'none'"
	}
	return "default-src 'none'; style-src '" + styleHash() + "'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
}

// styleHash is the CSP source of the pages' <style> element:
// sha256-<base64 of the SHA-256 of its text>. The template has no
// actions, so its text is the same on every page.
var styleHash = sync.OnceValue(func() string {
	var b strings.Builder
	if err := htmlTemplates.ExecuteTemplate(&b, "css", nil); err != nil {
		panic("render: the css template does not execute: " + err.Error())
	}
	css, ok := strings.CutPrefix(b.String(), "<style>")
	css, ok2 := strings.CutSuffix(css, "</style>")
	if !ok || !ok2 {
		panic("render: the css template is not one <style> element")
	}
	sum := sha256.Sum256([]byte(css))
	return "sha256-" + base64.StdEncoding.EncodeToString(sum[:])
})
