package render_test

import (
	"encoding/xml"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"

	"github.com/elmcity/elmcity/shared/hubcal"
	"github.com/elmcity/elmcity/webrole/internal/render"
)

// rssDoc is an RSS 2.0 document as checkRSS reads it, namespaces kept.
type rssDoc struct {
	XMLName xml.Name `xml:"rss"`
	Version string   `xml:"version,attr"`
	Channel struct {
		Title       string    `xml:"title"`
		Links       []rssLink `xml:"link"`
		Description string    `xml:"description"`
		Items       []struct {
			Title       string    `xml:"title"`
			Links       []rssLink `xml:"link"`
			Description string    `xml:"description"`
			Categories  []string  `xml:"category"`
			PubDate     string    `xml:"pubDate"`
			GUID        struct {
				ID        string `xml:",chardata"`
				Permalink string `xml:"isPermaLink,attr"`
			} `xml:"guid"`
		} `xml:"item"`
	} `xml:"channel"`
}

// rssLink is an RSS <link> (no namespace, the URL as text) or an Atom
// <atom:link href rel type>: encoding/xml matches both to "link".
type rssLink struct {
	XMLName xml.Name
	Text    string `xml:",chardata"`
	Href    string `xml:"href,attr"`
	Rel     string `xml:"rel,attr"`
	Type    string `xml:"type,attr"`
}

const atomNS = "http://www.w3.org/2005/Atom"

// checkRSS checks an RSS document against the rules feed validators and
// readers apply, and returns each broken rule as "rule: detail":
//
//   - rss: RSS 2.0 with a channel title, link and description, and items
//     with a title, an RFC 822 pubDate and a guid;
//   - uri: every URL (channel and item links, atom:link, a permalink
//     guid) is a URI: printable ASCII of RFC 3986's set, % only in an
//     escape (the W3C validator's UriNotIri);
//   - html: a description is HTML readers can render as it is meant: no
//     raw line break (HTML collapses it: line breaks are <br>), and no
//     element but p, br and a (text that looks like markup, such as a
//     <script> or </description> in an event's text, is escaped, so it
//     shows and never runs: the W3C validator's NotHtml);
//   - category: one category per tag, in order (tags[guid] are the
//     item's; a comma-joined list is one category for several tags);
//   - self: a channel with an absolute link names itself with exactly one
//     atom:link rel="self" type="application/rss+xml" of an absolute URL.
func checkRSS(doc string, tags map[string][]string) []string {
	var out []string
	bad := func(rule, format string, args ...any) { out = append(out, rule+": "+fmt.Sprintf(format, args...)) }
	var rss rssDoc
	if err := strictXML(doc, &rss); err != nil {
		return []string{"rss: not well-formed: " + err.Error()}
	}
	ch := &rss.Channel
	var link string
	var selfs []rssLink
	for _, l := range ch.Links {
		switch {
		case l.XMLName.Space == "":
			link = l.Text
		case l.XMLName.Space == atomNS && l.Rel == "self":
			selfs = append(selfs, l)
		}
	}
	if rss.Version != "2.0" || ch.Title == "" || link == "" || ch.Description == "" {
		bad("rss", "version %q, channel title %q, link %q, description %q", rss.Version, ch.Title, link, ch.Description)
	}
	uri := func(where, u string) {
		if msg := notURI(u); msg != "" {
			bad("uri", "%s %q: %s", where, u, msg)
		}
	}
	uri("channel link", link)
	absolute := strings.HasPrefix(link, "https://") || strings.HasPrefix(link, "http://")
	switch {
	case absolute && len(selfs) != 1:
		bad("self", "%d atom:link rel=self in a channel with an absolute link", len(selfs))
	case len(selfs) == 1:
		s := selfs[0]
		uri("atom:link", s.Href)
		if u, err := url.Parse(s.Href); err != nil || !u.IsAbs() || s.Type != "application/rss+xml" {
			bad("self", "atom:link href %q type %q, want an absolute URL of application/rss+xml", s.Href, s.Type)
		}
	}
	for i, it := range ch.Items {
		if _, err := time.Parse(time.RFC1123Z, it.PubDate); err != nil || it.Title == "" || it.GUID.ID == "" {
			bad("rss", "item %d: title %q, pubDate %q, guid %q", i, it.Title, it.PubDate, it.GUID.ID)
		}
		for _, l := range it.Links {
			uri(fmt.Sprintf("item %d link", i), l.Text)
		}
		if it.GUID.Permalink != "false" {
			uri(fmt.Sprintf("item %d permalink guid", i), it.GUID.ID)
		}
		if msg := notHTML(it.Description); msg != "" {
			bad("html", "item %d description %q: %s", i, it.Description, msg)
		}
		if want := tags[it.GUID.ID]; !slices.Equal(it.Categories, want) && (len(want) > 0 || len(it.Categories) > 0) {
			bad("category", "item %d categories %q, want one per tag %q", i, it.Categories, want)
		}
	}
	return out
}

// notURI says why u is not a URI (RFC 3986), or "".
func notURI(u string) string {
	for i := 0; i < len(u); i++ {
		c := u[i]
		switch {
		case c >= 0x80:
			return "raw non-ASCII (an IRI)"
		case c <= ' ' || c == 0x7f || strings.IndexByte(`"<>\^`+"`{|}", c) >= 0:
			return fmt.Sprintf("raw %q", c)
		case c == '%' && (i+2 >= len(u) || !isHex(u[i+1]) || !isHex(u[i+2])):
			return "a % that starts no escape"
		}
	}
	if _, err := url.Parse(u); err != nil {
		return err.Error()
	}
	return ""
}

func isHex(c byte) bool { return strings.IndexByte("0123456789abcdefABCDEF", c) >= 0 }

// notHTML says why a description is not HTML to render as it is, or "".
func notHTML(desc string) string {
	if strings.ContainsAny(desc, "\r\n") {
		return "a raw line break, which HTML collapses (want <br>)"
	}
	body := &html.Node{Type: html.ElementNode, Data: "body", DataAtom: atom.Body}
	nodes, err := html.ParseFragment(strings.NewReader(desc), body)
	if err != nil {
		return err.Error()
	}
	for _, n := range nodes {
		for d := range n.Descendants() {
			if d.Type == html.ElementNode && !slices.Contains([]string{"p", "br", "a"}, d.Data) {
				return "element <" + d.Data + ">: event text became markup"
			}
		}
		if n.Type == html.ElementNode && !slices.Contains([]string{"p", "br", "a"}, n.Data) {
			return "element <" + n.Data + ">: event text became markup"
		}
	}
	return ""
}

// TestCheckRSSFindsEachRule gives checkRSS, for each rule, a document
// that breaks only that rule, and a good one.
func TestCheckRSSFindsEachRule(t *testing.T) {
	t.Parallel()
	doc := func(channelExtra, item string) string {
		return `<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:atom="http://www.w3.org/2005/Atom"><channel>
<title>Keene</title>` + channelExtra + `<link>https://cal.example.org/keene</link><description>Events</description>
<item>` + item + `<guid isPermaLink="false">a@elmcity</guid><pubDate>Sat, 05 Dec 2026 19:00:00 -0500</pubDate></item>
</channel></rss>`
	}
	const self = `<atom:link href="https://cal.example.org/services/keene/rss" rel="self" type="application/rss+xml"/>`
	const item = `<title>Jazz</title><link>https://theatre.example.org/jazz?q=caf%C3%A9</link><description>&lt;p&gt;Sat&lt;br&gt;Theatre&lt;/p&gt;</description><category>music</category><category>jazz</category>`
	tests := []struct {
		name, doc, rule string
	}{
		{"Good", doc(self, item), ""},
		{"NotRSS", strings.Replace(doc(self, item), `version="2.0"`, `version="0.91"`, 1), "rss"},
		{"BadPubDate", strings.Replace(doc(self, item), "Sat, 05 Dec 2026 19:00:00 -0500", "2026-12-05", 1), "rss"},
		{"IRI", doc(self, strings.Replace(item, "caf%C3%A9", "café", 1)), "uri"},
		{"AngleBracketsInLink", doc(self, strings.Replace(item, "caf%C3%A9", "&lt;b&gt;", 1)), "uri"},
		{"SpaceInSelf", doc(strings.Replace(self, "keene/rss", "keene/my rss", 1), item), "uri"},
		{"PlainTextDescription", doc(self, strings.Replace(item, "&lt;p&gt;Sat&lt;br&gt;Theatre&lt;/p&gt;", "Sat\nTheatre", 1)), "html"},
		{"MarkupInDescription", doc(self, strings.Replace(item, "Theatre", "&lt;script&gt;alert(1)&lt;/script&gt;", 1)), "html"},
		{"JoinedCategories", doc(self, strings.Replace(item, "<category>music</category><category>jazz</category>", "<category>music, jazz</category>", 1)), "category"},
		{"NoSelf", doc("", item), "self"},
		{"SelfNotAtom", doc(strings.Replace(self, "atom:link", "link", 1), item), "self"},
		{"RelativeSelf", doc(strings.Replace(self, "https://cal.example.org", "", 1), item), "self"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := checkRSS(tt.doc, map[string][]string{"a@elmcity": {"music", "jazz"}})
			var rules []string
			for _, g := range got {
				rule, _, _ := strings.Cut(g, ":")
				rules = append(rules, rule)
			}
			rules = slices.Compact(rules)
			if tt.rule == "" && len(got) > 0 || tt.rule != "" && !slices.Equal(rules, []string{tt.rule}) {
				t.Errorf("checkRSS() = %q, want only rule %q broken", got, tt.rule)
			}
		})
	}
}

// TestRSSKeepsTheRules renders the RSS of several views, with events
// whose text looks like markup or ends the description, whose links are
// IRIs and which have several tags, and checks every rule of checkRSS.
func TestRSSKeepsTheRules(t *testing.T) {
	t.Parallel()
	hostile := func(t *testing.T, q string) string {
		v := testView(t, q)
		for i := range v.Events {
			ev := &v.Events[i]
			ev.Description += "\n</description><script>alert(1)</script>\nline <b>3</b> & more"
			ev.Location = "Hall <A>\r\nFloor 2"
			ev.URL = "https://bücher.example/événements?id=<" + ev.UID + ">"
			ev.Sources = append([]hubcal.Source{{Feed: "f-x", Name: "Théâtre <i>", URL: "https://example.org/a b"}}, ev.Sources...)
			if ev.UID == "jazz@elmcity" { // a category with an escaped comma
				ev.Tags = append(ev.Tags, "meeting, john")
			}
		}
		return renderString(t, "rss", v)
	}
	tags := map[string][]string{}
	for _, e := range testView(t, "").Events {
		tags[e.UID] = render.PlainTags(e.Tags)
	}
	tags["jazz@elmcity"] = append(tags["jazz@elmcity"], "meeting, john") // see HostileText
	tests := []struct {
		name string
		doc  string
	}{
		{"Hub", renderString(t, "rss", testView(t, ""))},
		{"View", renderString(t, "rss", testView(t, "view=music,-kids&days=30"))},
		{"OneEvent", renderString(t, "rss", testView(t, "uid=jazz%40elmcity"))},
		{"HostileText", hostile(t, "")},
	}
	for _, tt := range tests {
		want := tags
		if tt.name != "HostileText" {
			want = map[string][]string{}
			for k, v := range tags {
				want[k] = v
			}
			want["jazz@elmcity"] = want["jazz@elmcity"][:2]
		}
		if broken := checkRSS(tt.doc, want); len(broken) > 0 {
			t.Errorf("%s: the RSS breaks %q:\n%s", tt.name, broken, tt.doc)
		}
	}
	var rss rssDoc
	if err := strictXML(tests[3].doc, &rss); err != nil {
		t.Fatal(err)
	}
	// The hostile text is shown, not run: the description's HTML holds
	// it escaped, with its line breaks.
	d := rss.Channel.Items[0].Description
	if !strings.Contains(d, "&lt;/description&gt;&lt;script&gt;alert(1)&lt;/script&gt;<br>line &lt;b&gt;3&lt;/b&gt; &amp; more") ||
		!strings.Contains(d, "Hall &lt;A&gt;<br>Floor 2") {
		t.Errorf("the description's HTML = %q", d)
	}
	if got := rss.Channel.Items[1].Categories; !slices.Equal(got, []string{"music", "jazz", "meeting, john"}) {
		t.Errorf("jazz categories = %q, want one per tag", got)
	}
}
