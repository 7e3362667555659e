// Package browsertest starts headless Chromium for the web role's browser
// tests (the hub page, the embed widget, the console, accessibility).
package browsertest

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// ChromiumPath is Debian's chromium, which tools/test.sh installs when it
// is missing.
const ChromiumPath = "/usr/bin/chromium"

// Start starts headless Chromium for the test, bounded by timeout, and
// stops it at cleanup; the allocator gives it a fresh --user-data-dir and
// removes it afterwards. The flags keep it off this machine's closed
// network (background networking, updates, sync). It fails the test when
// Chromium is missing or does not start, so a missing library shows here
// and not in the middle of the test.
func Start(t testing.TB, timeout time.Duration) context.Context {
	t.Helper()
	if _, err := os.Stat(ChromiumPath); err != nil {
		t.Fatalf("%s: %v (tools/test.sh installs Debian's chromium; -short skips the browser tests)", ChromiumPath, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(ChromiumPath),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("disable-extensions", true),
	}
	alloc, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	browser, cancelBrowser := chromedp.NewContext(alloc)
	t.Cleanup(func() {
		cancelBrowser()
		cancelAlloc()
		cancel()
	})
	if err := chromedp.Do(browser); err != nil {
		t.Fatalf("start %s: %v", ChromiumPath, err)
	}
	return browser
}

// Axe returns axe-core's browser build, pinned in package.json and
// installed by npm ci, to inject into pages; it fails the test without
// it.
func Axe(t testing.TB) []byte {
	t.Helper()
	_, here, _, _ := runtime.Caller(0)
	path := filepath.Join(filepath.Dir(here), "..", "..", "..", "node_modules", "axe-core", "axe.min.js")
	b, err := os.ReadFile(path) // #nosec G304 -- the repository's own node_modules
	if err != nil {
		t.Fatalf("the accessibility checks need axe-core (npm ci): %v", err)
	}
	return b
}
