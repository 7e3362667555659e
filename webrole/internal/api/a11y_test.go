package api_test

import (
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"github.com/elmcity/elmcity/webrole/internal/browsertest"
	"github.com/elmcity/elmcity/webrole/internal/outputs"
)

// axeViolation is one rule axe-core found broken on a page.
type axeViolation struct {
	ID     string `json:"id"`
	Impact string `json:"impact"`
	Help   string `json:"help"`
	Nodes  []struct {
		Target []any  `json:"target"`
		HTML   string `json:"html"`
	} `json:"nodes"`
}

// TestAccessibilityInChromium runs axe-core (WCAG 2.x A and AA rules and
// best practices) in headless Chromium on the hub page (full, with a
// hub's accent, and compact), an event's page, the frame variant, the
// home page and the stats report, in light and dark mode, at phone and
// desktop widths: no violation may remain, serious, critical or other;
// and the tag counts' contrast, which axe-core leaves to review, is
// measured.
func TestAccessibilityInChromium(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("-short: the browser test needs Chromium")
	}
	axe := browsertest.Axe(t)
	w := newWorld(t)
	clock := &testClock{now: time.Now()}
	h := newInstance(t, w.testBundle, clock, outputs.Config{PublicURL: "https://calendar.example.org"})
	publishUpcoming(t, w.cals, clock.Now())
	if code, body, _ := call(t, w.h, "PATCH", "/api/hubs/keene", adminToken, `{"title":"Keene, NH","render":{"accent":"#7a1f5c","header":"What is on in and around Keene"}}`); code != 200 {
		t.Fatalf("PATCH keene = %d %v", code, body)
	}
	if code, body, _ := call(t, w.h, "PUT", "/api/hubs/busy", adminToken, `{"title":"A busy town","tz":"America/New_York"}`); code != 201 {
		t.Fatalf("PUT busy = %d %v", code, body)
	}
	publishEvents(t, w.cals, "busy", busyHub(clock.Now(), 900))
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	ctx := newBrowser(t, 3*time.Minute)

	pages := []struct {
		name, path string
		phone      bool // also at a phone's width
	}{
		{"HubPage", "/keene", true},
		{"Compact", "/busy", true},
		{"Home", "/", true},
		{"Stats", "/services/keene/stats", true},
		{"Event", "/keene?uid=jazz%40elmcity", false},
		{"Frame", "/services/keene/html?frame=yes", false},
	}
	type mode struct {
		name          string
		dark, phone   bool
		width, height int64
	}
	var modes []mode
	for _, dark := range []bool{false, true} {
		for _, phone := range []bool{false, true} {
			m := mode{dark: dark, phone: phone, width: 1280, height: 900, name: "Light"}
			if dark {
				m.name = "Dark"
			}
			if phone {
				m.width, m.height, m.name = 390, 844, m.name+"Phone"
			} else {
				m.name += "Desktop"
			}
			modes = append(modes, m)
		}
	}
	tab, cancel := chromedp.NewContext(ctx)
	defer cancel()
	for _, m := range modes {
		scheme := "light"
		if m.dark {
			scheme = "dark"
		}
		if _, err := chromedp.Call(tab, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
			Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: scheme}},
		}); err != nil {
			t.Fatal(err)
		}
		opts := []chromedp.EmulateViewportOption{chromedp.EmulateScale(1)}
		if m.phone {
			opts = append(opts, chromedp.EmulateMobile, chromedp.EmulateTouch, chromedp.EmulatePortrait)
		}
		if err := chromedp.Do(tab, chromedp.EmulateViewport(m.width, m.height, opts...)); err != nil {
			t.Fatal(err)
		}
		for _, p := range pages {
			if m.phone && !p.phone {
				continue
			}
			name := p.name + "/" + m.name
			if err := chromedp.Do(tab, chromedp.Navigate(srv.URL+p.path), chromedp.WaitReady(chromedp.CSS("body"))); err != nil {
				t.Fatalf("%s: load %s: %v", name, p.path, err)
			}
			if _, err := chromedp.Run(tab, chromedp.Evaluate[int](string(axe)+";0")); err != nil {
				t.Fatalf("%s: inject axe-core: %v", name, err)
			}
			violations, err := chromedp.Run(tab, chromedp.Evaluate[[]axeViolation](
				`axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa', 'best-practice']}, resultTypes: ['violations']}).then(r => r.violations)`,
				chromedp.EvalAwaitPromise))
			if err != nil {
				t.Fatalf("%s: run axe-core: %v", name, err)
			}
			// None serious or critical, and, since there are none left,
			// none at all (a moderate one, such as content outside a
			// landmark, comes back as a failure too).
			for _, v := range violations {
				var nodes []string
				for i, n := range v.Nodes {
					if i == 3 {
						nodes = append(nodes, fmt.Sprintf("and %d more", len(v.Nodes)-3))
						break
					}
					nodes = append(nodes, fmt.Sprint(n.Target)+" "+n.HTML)
				}
				t.Errorf("%s: %s (%s): %s\n\t%s", name, v.ID, v.Impact, v.Help, strings.Join(nodes, "\n\t"))
			}
			// axe-core leaves a one-digit count to review ("too short to
			// tell"): the tag counts' contrast is measured here.
			if p.name == "HubPage" {
				worst, err := chromedp.Run(tab, chromedp.Evaluate[float64](tagCountContrast))
				if err != nil || worst < 4.5 {
					t.Errorf("%s: the tag counts' contrast is %.2f:1 (%v), want at least 4.5:1", name, worst, err)
				}
			}
		}
	}
}

// tagCountContrast is a script that measures the lowest contrast of the
// tag picker's counts against their chips (WCAG 2 relative luminance),
// opacity included.
const tagCountContrast = `(() => {
	const rgb = s => s.match(/[\d.]+/g).map(Number);
	const lum = ([r, g, b]) => [r, g, b].map(c => { c /= 255; return c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4; })
		.reduce((a, c, i) => a + c * [0.2126, 0.7152, 0.0722][i], 0);
	let worst = 21;
	for (const n of document.querySelectorAll('nav.picker ul.tags .n')) {
		const fg = rgb(getComputedStyle(n).color), bg = rgb(getComputedStyle(n.closest('a')).backgroundColor);
		let o = 1;
		for (let e = n; e && e !== document.body; e = e.parentElement) o *= Number(getComputedStyle(e).opacity);
		const mixed = fg.slice(0, 3).map((c, i) => c * o + bg[i] * (1 - o));
		const [a, b] = [lum(mixed), lum(bg)].sort((x, y) => y - x);
		worst = Math.min(worst, (a + 0.05) / (b + 0.05));
	}
	return worst;
})()`
