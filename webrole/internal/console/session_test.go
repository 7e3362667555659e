package console_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/elmcity/elmcity/webrole/internal/console"
)

func TestSignInAndOut(t *testing.T) {
	t.Parallel()
	b := setup(t)
	br := newBrowser(t, b.h)
	if rec := br.get("/console/hubs"); rec.Code != http.StatusSeeOther || !strings.HasPrefix(rec.Header().Get("Location"), "/console/login?next=") {
		t.Fatalf("GET /console/hubs signed out = %d %s, want 303 to the sign-in page", rec.Code, rec.Header().Get("Location"))
	}
	br.signIn(b.curator)
	ck := br.cookies["elmcity_console"]
	if ck == nil || !ck.HttpOnly || ck.SameSite != http.SameSiteStrictMode || ck.Path != "/" || ck.Secure || ck.MaxAge != int((12*time.Hour).Seconds()) {
		t.Fatalf("session cookie = %+v, want HttpOnly, SameSite=Strict, Path=/, 12h", ck)
	}
	if strings.Contains(ck.Value, b.curator) || strings.Contains(b.logs.String(), ck.Value) || strings.Contains(b.logs.String(), b.curator) {
		t.Errorf("the cookie holds the token, or a secret reached the log")
	}
	page, tok := br.page("/console/hubs")
	if !strings.Contains(page, "Keene") || strings.Contains(page, "Other") || !strings.Contains(page, "Signed in as Ann") {
		t.Errorf("hubs page of Ann lists the wrong hubs:\n%s", page)
	}
	// The cookie opens the script-backed services in a tab, scoped like
	// the token.
	if rec := br.get("/services/keene/log_info"); rec.Code != 200 {
		t.Errorf("GET /services/keene/log_info with the session = %d %s", rec.Code, rec.Body)
	}
	if rec := br.get("/services/other/log_info"); rec.Code != 403 {
		t.Errorf("GET /services/other/log_info with Ann's session = %d, want 403", rec.Code)
	}

	old := *ck
	if rec := br.post("/console/logout", url.Values{"csrf": {tok}}, nil); rec.Code != http.StatusSeeOther {
		t.Fatalf("POST /console/logout = %d %s", rec.Code, rec.Body)
	}
	if br.cookies["elmcity_console"] != nil {
		t.Errorf("sign-out left the session cookie")
	}
	// A copy of the old cookie is worthless: the session is gone.
	br.cookies[old.Name] = &old
	if rec := br.get("/console/hubs"); rec.Code != http.StatusSeeOther {
		t.Errorf("GET /console/hubs with a signed-out cookie = %d, want 303 to sign in", rec.Code)
	}
	if rec := br.get("/services/keene/log_info"); rec.Code != 401 {
		t.Errorf("GET /services/keene/log_info with a signed-out cookie = %d, want 401", rec.Code)
	}
}

func TestSignInRefusesBadTokens(t *testing.T) {
	t.Parallel()
	b := setup(t)
	for _, tok := range []string{"", "nonsense", adminToken + "x", b.curator + "x", "ect_0000000000000000_" + strings.Repeat("a", 43)} {
		br := newBrowser(t, b.h)
		page := br.get("/console/login")
		rec := br.post("/console/login", url.Values{"csrf": {csrf(t, page.Body.String())}, "token": {tok}}, nil)
		if rec.Code != http.StatusUnauthorized || !strings.Contains(rec.Body.String(), "not accepted") {
			t.Errorf("sign in with %q = %d, want 401 saying it was not accepted", tok, rec.Code)
		}
		if len(br.cookies) != 1 || br.cookies["elmcity_console_login"] == nil {
			t.Errorf("sign in with %q set cookies %v", tok, br.cookies)
		}
	}
}

func TestCrossSiteFormsRefused(t *testing.T) {
	t.Parallel()
	b := setup(t)
	br := newBrowser(t, b.h)
	br.signIn(b.curator)
	_, tok := br.page("/console/hubs")
	tests := []struct {
		name string
		path string
		form url.Values
		hdr  map[string]string
	}{
		{name: "CrossSiteFetchMetadata", path: "/console/logout", form: url.Values{"csrf": {tok}}, hdr: map[string]string{"Sec-Fetch-Site": "cross-site"}},
		{name: "OtherOrigin", path: "/console/logout", form: url.Values{"csrf": {tok}}, hdr: map[string]string{"Sec-Fetch-Site": "", "Origin": "https://evil.example"}},
		{name: "NoCSRFToken", path: "/console/logout", form: url.Values{}},
		{name: "WrongCSRFToken", path: "/console/logout", form: url.Values{"csrf": {tok + "x"}}},
		{name: "CrossSiteApproval", path: "/console/hubs/keene/feeds/0123456789abcdef0123456789abcdef/approval", form: url.Values{"csrf": {tok}, "approved": {"yes"}}, hdr: map[string]string{"Sec-Fetch-Site": "cross-site"}},
		{name: "CrossSiteSignIn", path: "/console/login", form: url.Values{"token": {b.curator}}, hdr: map[string]string{"Sec-Fetch-Site": "cross-site"}},
		{name: "SignInWithoutItsCookie", path: "/console/login", form: url.Values{"token": {b.curator}, "csrf": {"forged"}}},
	}
	for _, tt := range tests {
		rec := br.post(tt.path, tt.form, tt.hdr)
		if rec.Code != http.StatusForbidden {
			t.Errorf("%s: POST %s = %d, want 403", tt.name, tt.path, rec.Code)
		}
	}
	// Still signed in: none of them signed out.
	if rec := br.get("/console/hubs"); rec.Code != 200 {
		t.Errorf("GET /console/hubs after refused forms = %d, want 200", rec.Code)
	}
}

func TestDeadSessionsRefused(t *testing.T) {
	t.Parallel()
	b := setup(t)
	tests := []struct {
		name string
		kill func(t *testing.T, br *browser)
	}{
		{name: "Expired", kill: func(t *testing.T, br *browser) { b.clk.Add(console.DefaultLifetime + time.Minute) }},
		{name: "Revoked", kill: func(t *testing.T, br *browser) {
			if err := b.store.DeleteCurator(context.Background(), b.curID); err != nil {
				t.Fatal(err)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			br := newBrowser(t, b.h)
			br.signIn(b.curator)
			_, tok := br.page("/console/hubs")
			tt.kill(t, br)
			if rec := br.get("/console/hubs/keene"); rec.Code != http.StatusSeeOther {
				t.Errorf("GET a page after the session died = %d, want 303 to sign in", rec.Code)
			}
			if rec := br.post("/console/logout", url.Values{"csrf": {tok}}, nil); rec.Code != http.StatusForbidden || !strings.Contains(rec.Body.String(), "session has ended") {
				t.Errorf("POST a form after the session died = %d, want 403 saying the session ended", rec.Code)
			}
			if rec := br.get("/services/keene/log_info"); rec.Code != http.StatusUnauthorized {
				t.Errorf("GET /services/keene/log_info after the session died = %d, want 401", rec.Code)
			}
		})
	}
}

func TestRotatedTokenEndsSessions(t *testing.T) {
	t.Parallel()
	b := setup(t)
	br := newBrowser(t, b.h)
	br.signIn(b.curator)
	if code, body := apiCall(t, b.h, "POST", "/api/curators/"+b.curID+"/token", adminToken, ""); code != 200 {
		t.Fatalf("rotate = %d %s", code, body)
	}
	if rec := br.get("/console/hubs"); rec.Code != http.StatusSeeOther {
		t.Errorf("GET after rotation = %d, want 303 to sign in", rec.Code)
	}

	// The administrator's sessions end when ELMCITY_ADMIN_TOKEN changes.
	admin := newBrowser(t, b.h)
	admin.signIn(adminToken)
	admin.page("/console/hubs")
	admin.h = b.newUI("another-admin-token-0123456789")
	if rec := admin.get("/console/hubs"); rec.Code != http.StatusSeeOther {
		t.Errorf("admin GET after the admin token changed = %d, want 303 to sign in", rec.Code)
	}
}

func TestSecureCookies(t *testing.T) {
	t.Parallel()
	b := setup(t)
	d := b.deps
	d.Console = console.New(console.Deps{Store: b.store, Logger: d.Logger, AdminToken: adminToken, Secure: true})
	h := apiNew(d)
	br := newBrowser(t, h)
	br.signIn(b.curator)
	ck := br.cookies["__Host-elmcity_console"]
	if ck == nil || !ck.Secure || !ck.HttpOnly || ck.Path != "/" || ck.Domain != "" {
		t.Fatalf("cookies behind https = %v, want a Secure __Host- session cookie", br.cookies)
	}
	if rec := br.get("/console/hubs"); rec.Code != 200 {
		t.Errorf("GET /console/hubs with the secure cookie = %d", rec.Code)
	}
}

func TestConsolePagesHaveTheirOwnPolicy(t *testing.T) {
	t.Parallel()
	b := setup(t)
	br := newBrowser(t, b.h)
	rec := br.get("/console/login")
	csp := rec.Header().Get("Content-Security-Policy")
	for _, want := range []string{"default-src 'none'", "script-src 'sha256-", "style-src 'sha256-", "form-action 'self'", "frame-ancestors 'none'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("console CSP %q lacks %q", csp, want)
		}
	}
	if strings.Contains(csp, "http") || strings.Contains(csp, "unsafe") || rec.Header().Get("Cache-Control") != "no-store" {
		t.Errorf("console CSP %q or Cache-Control %q allows too much", csp, rec.Header().Get("Cache-Control"))
	}
	// The public pages keep theirs.
	pub := httptest.NewRecorder()
	b.h.ServeHTTP(pub, httptest.NewRequest("GET", "/keene", nil))
	if got := pub.Header().Get("Content-Security-Policy"); got == csp || strings.Contains(got, "script-src") {
		t.Errorf("public page CSP = %q, want the public one", got)
	}
}
