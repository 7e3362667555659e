package render_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"strings"
	"testing"

	"golang.org/x/net/html"

	"github.com/elmcity/elmcity/webrole/internal/render"
)

// TestContentSecurityPolicyFitsThePages renders every HTML output and
// checks it against its policy: each <style> element is allowed by its
// hash, no element carries a style attribute (which the policy blocks)
// or loads anything, and only the fragment may be framed.
func TestContentSecurityPolicyFitsThePages(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		embeddable bool
		render     func(*bytes.Buffer, *render.View) error
		wantStyle  bool
	}{
		{"Page", false, func(b *bytes.Buffer, v *render.View) error { return render.Page(b, v, render.PageOptions{}) }, true},
		{"Stats", false, func(b *bytes.Buffer, v *render.View) error { return render.StatsPage(b, v.Cal) }, true},
		{"Fragment", true, func(b *bytes.Buffer, v *render.View) error {
			return render.Page(b, v, render.PageOptions{EventsOnly: true})
		}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			policy := render.ContentSecurityPolicy(tt.embeddable)
			for _, want := range []string{"default-src 'none'", "base-uri 'none'", "form-action 'none'"} {
				if !strings.Contains(policy, want) {
					t.Errorf("ContentSecurityPolicy(%v) = %q, want %s", tt.embeddable, policy, want)
				}
			}
			if got := strings.Contains(policy, "frame-ancestors 'none'"); got == tt.embeddable {
				t.Errorf("ContentSecurityPolicy(%v) = %q: frame-ancestors 'none' is %v, want %v", tt.embeddable, policy, got, !tt.embeddable)
			}
			if strings.Contains(policy, "unsafe") || strings.Contains(policy, "script-src") {
				t.Errorf("ContentSecurityPolicy(%v) = %q, want no script and nothing unsafe", tt.embeddable, policy)
			}
			var buf bytes.Buffer
			if err := tt.render(&buf, pageView(t, "")); err != nil {
				t.Fatal(err)
			}
			doc := checkHTML(t, buf.Bytes(), tt.embeddable)
			styles := findAll(doc, func(n *html.Node) bool { return n.Type == html.ElementNode && n.Data == "style" })
			if got := len(styles) > 0; got != tt.wantStyle {
				t.Errorf("%s has %d <style> elements", tt.name, len(styles))
			}
			for _, s := range styles {
				sum := sha256.Sum256([]byte(s.FirstChild.Data))
				if hash := "'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"; !strings.Contains(policy, "style-src "+hash) {
					t.Errorf("ContentSecurityPolicy(%v) = %q, want style-src %s", tt.embeddable, policy, hash)
				}
			}
			for _, n := range findAll(doc, func(n *html.Node) bool { return n.Type == html.ElementNode }) {
				if attr(n, "style") != "" {
					t.Errorf("<%s style=%q>: the policy blocks style attributes", n.Data, attr(n, "style"))
				}
				if n.Data == "script" || n.Data == "iframe" || n.Data == "img" || n.Data == "form" || n.Data == "base" {
					t.Errorf("<%s> in %s", n.Data, tt.name)
				}
			}
		})
	}
}
