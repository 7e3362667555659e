package render_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"slices"
	"strings"
	"testing"

	"golang.org/x/net/html"

	"github.com/elmcity/elmcity/shared/hub"
	"github.com/elmcity/elmcity/webrole/internal/render"
)

// TestContentSecurityPolicyFitsThePages renders every HTML output and
// checks it against its policy: each <style> element is allowed by its
// hash, no element carries a style attribute (which the policy blocks),
// nothing loads but a hub's logo, which its policy names, the only
// script is the page's JSON-LD data (which runs nothing), the only form
// is the page's date form (to the site itself), and only the fragment
// may be framed.
func TestContentSecurityPolicyFitsThePages(t *testing.T) {
	t.Parallel()
	withLook := func(v *render.View) {
		v.Cal.Hub.Render = map[string]string{"accent": "#7a1f5c", "logo": "https://keene.example.org/img/logo.png?v=3", "header": "Keene's calendar"}
	}
	pagePolicy := func(v *render.View) string { return render.PagePolicy(render.LookOf(v.Cal.Hub)) }
	tests := []struct {
		name       string
		embeddable bool
		document   bool // an embeddable document, not a fragment
		change     func(*render.View)
		policy     func(*render.View) string
		render     func(*bytes.Buffer, *render.View) error
		wantStyles int
		wantForm   bool
		wantImg    string
	}{
		{name: "Page", policy: pagePolicy, render: func(b *bytes.Buffer, v *render.View) error { return render.Page(b, v, render.PageOptions{}) },
			wantStyles: 1, wantForm: true},
		{name: "PageWithLook", change: withLook, policy: pagePolicy,
			render:     func(b *bytes.Buffer, v *render.View) error { return render.Page(b, v, render.PageOptions{}) },
			wantStyles: 2, wantForm: true, wantImg: "https://keene.example.org/img/logo.png"},
		{name: "Stats", render: func(b *bytes.Buffer, v *render.View) error { return render.StatsPage(b, v.Cal) }, wantStyles: 1},
		{name: "Fragment", embeddable: true, change: withLook, render: func(b *bytes.Buffer, v *render.View) error {
			return render.Page(b, v, render.PageOptions{EventsOnly: true})
		}},
		{name: "Frame", embeddable: true, document: true, policy: func(*render.View) string { return render.FramePolicy() },
			render: func(b *bytes.Buffer, v *render.View) error { return render.Page(b, v, render.PageOptions{Frame: true}) }, wantStyles: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			v := pageView(t, "")
			if tt.change != nil {
				tt.change(v)
			}
			policy := render.ContentSecurityPolicy(tt.embeddable)
			if tt.policy != nil {
				policy = tt.policy(v)
			}
			formAction := "form-action 'none'"
			if tt.wantForm {
				formAction = "form-action 'self'"
			}
			for _, want := range []string{"default-src 'none'", "base-uri 'none'", formAction} {
				if !strings.Contains(policy, want) {
					t.Errorf("policy %q, want %s", policy, want)
				}
			}
			if got := strings.Contains(policy, "frame-ancestors 'none'"); got == tt.embeddable {
				t.Errorf("policy %q: frame-ancestors 'none' is %v, want %v", policy, got, !tt.embeddable)
			}
			if strings.Contains(policy, "unsafe") || strings.Contains(policy, "script-src") {
				t.Errorf("policy %q, want no script and nothing unsafe", policy)
			}
			if got := strings.Contains(policy, "img-src"); got != (tt.wantImg != "") {
				t.Errorf("policy %q: img-src is %v, want %v", policy, got, tt.wantImg != "")
			}
			if tt.wantImg != "" && !strings.Contains(policy, "; img-src "+tt.wantImg+";") {
				t.Errorf("policy %q, want img-src %s only", policy, tt.wantImg)
			}
			var buf bytes.Buffer
			if err := tt.render(&buf, v); err != nil {
				t.Fatal(err)
			}
			doc := checkHTML(t, buf.Bytes(), tt.embeddable && !tt.document)
			styles := findAll(doc, func(n *html.Node) bool { return n.Type == html.ElementNode && n.Data == "style" })
			if len(styles) != tt.wantStyles {
				t.Errorf("%s has %d <style> elements, want %d", tt.name, len(styles), tt.wantStyles)
			}
			styleSrc, _, _ := strings.Cut(strings.SplitN(policy, "style-src ", 2)[len(strings.SplitN(policy, "style-src ", 2))-1], ";")
			for _, s := range styles {
				sum := sha256.Sum256([]byte(s.FirstChild.Data))
				if hash := "'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"; !strings.Contains(policy, "style-src ") || !slices.Contains(strings.Fields(styleSrc), hash) {
					t.Errorf("policy %q, want style-src %s", policy, hash)
				}
			}
			for _, n := range findAll(doc, func(n *html.Node) bool { return n.Type == html.ElementNode }) {
				if attr(n, "style") != "" {
					t.Errorf("<%s style=%q>: the policy blocks style attributes", n.Data, attr(n, "style"))
				}
				switch n.Data {
				case "script":
					if attr(n, "type") != "application/ld+json" || tt.embeddable {
						t.Errorf("<script type=%q> in %s", attr(n, "type"), tt.name)
					}
				case "img":
					if src := attr(n, "src"); tt.wantImg == "" || !strings.HasPrefix(src, tt.wantImg) {
						t.Errorf("<img src=%q> in %s", src, tt.name)
					}
				case "form":
					if !tt.wantForm || !strings.HasPrefix(attr(n, "action"), "/") || attr(n, "method") != "get" {
						t.Errorf("<form action=%q method=%q> in %s", attr(n, "action"), attr(n, "method"), tt.name)
					}
				case "base": // the frame's links open a new window
					if !tt.document || attr(n, "href") != "" || attr(n, "target") != "_blank" {
						t.Errorf("<base href=%q target=%q> in %s", attr(n, "href"), attr(n, "target"), tt.name)
					}
				case "iframe", "object", "embed":
					t.Errorf("<%s> in %s", n.Data, tt.name)
				}
			}
		})
	}
}

// TestPagePolicyOfALook: the accent is allowed by the hash of its own
// stylesheet, which gives the header band a text colour that reads on
// it, and the logo is the only image source, without its query.
func TestPagePolicyOfALook(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		look hub.Look
		want []string
		not  []string
	}{
		{name: "None", want: []string{"form-action 'self'", "frame-ancestors 'none'"}, not: []string{"img-src"}},
		{name: "DarkAccent", look: hub.Look{Accent: "#1a237e"}, want: []string{"' '" + render.StyleHashOf(":root{--brand:#1a237e;--on-brand:#fff}") + "';"}},
		{name: "LightAccent", look: hub.Look{Accent: "#ffeb3b"}, want: []string{render.StyleHashOf(":root{--brand:#ffeb3b;--on-brand:#000}")}},
		{name: "Logo", look: hub.Look{Logo: "https://cdn.example.org:8443/a/logo.svg?x=1"}, want: []string{"; img-src https://cdn.example.org:8443/a/logo.svg;"}},
	}
	for _, tt := range tests {
		got := render.PagePolicy(tt.look)
		for _, w := range tt.want {
			if !strings.Contains(got, w) {
				t.Errorf("%s: PagePolicy() = %q, want %q", tt.name, got, w)
			}
		}
		for _, w := range tt.not {
			if strings.Contains(got, w) {
				t.Errorf("%s: PagePolicy() = %q, want no %q", tt.name, got, w)
			}
		}
	}
}
