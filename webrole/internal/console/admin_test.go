package console_test

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

var tokenShown = regexp.MustCompile(`<p class="token" id="token">(ect_[^<]+)</p>`)

func TestAdministratorPages(t *testing.T) {
	t.Parallel()
	b := setup(t)
	admin := newBrowser(t, b.h)
	admin.signIn(adminToken)
	page, tok := admin.page("/console/admin/hubs")
	if !strings.Contains(page, "Keene") || !strings.Contains(page, "Other") {
		t.Errorf("all hubs page lacks a hub")
	}
	// Create a hub; the same id again is refused, and so is no zone.
	form := url.Values{"csrf": {tok}, "id": {"swanzey"}, "title": {"Swanzey"}, "tz": {"America/New_York"}}
	if rec := admin.post("/console/admin/hubs", form, nil); rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/console/hubs/swanzey?done=hub-created" {
		t.Fatalf("create hub = %d %s\n%s", rec.Code, rec.Header().Get("Location"), rec.Body)
	}
	if rec := admin.post("/console/admin/hubs", form, nil); rec.Code != http.StatusConflict || !strings.Contains(rec.Body.String(), "exists already") {
		t.Errorf("create the same hub = %d", rec.Code)
	}
	form.Set("id", "nozone")
	form.Set("tz", "")
	if rec := admin.post("/console/admin/hubs", form, nil); rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), "tz: required") {
		t.Errorf("create without a zone = %d\n%s", rec.Code, rec.Body)
	}

	// A curator, with the token shown once; it signs in.
	_, tok = admin.page("/console/admin/curators")
	rec := admin.post("/console/admin/curators", url.Values{"csrf": {tok}, "name": {"Bo"}, "hubs": {"swanzey, keene"}}, nil)
	m := tokenShown.FindStringSubmatch(rec.Body.String())
	if rec.Code != 200 || m == nil || rec.Header().Get("Cache-Control") != "no-store" {
		t.Fatalf("create curator = %d, token shown %v\n%s", rec.Code, m != nil, rec.Body)
	}
	bo := newBrowser(t, b.h)
	bo.signIn(m[1])
	if page, _ := bo.page("/console/hubs"); !strings.Contains(page, "Swanzey") || !strings.Contains(page, "Keene") {
		t.Errorf("Bo's hubs:\n%s", page)
	}
	if page, _ := admin.page("/console/admin/curators"); strings.Contains(page, m[1]) || !strings.Contains(page, "Bo") {
		t.Errorf("the curators list shows a token, or not Bo")
	}
	if rec := admin.post("/console/admin/curators", url.Values{"csrf": {tok}, "name": {"Cy"}, "hubs": {"nosuchhub"}}, nil); rec.Code != 400 || !strings.Contains(rec.Body.String(), "no hub") {
		t.Errorf("curator of a missing hub = %d", rec.Code)
	}
	// Curators cannot use these pages.
	for _, p := range []string{"/console/admin/hubs", "/console/admin/curators", "/console/admin/hubs/keene/delete"} {
		if rec := bo.get(p); rec.Code != http.StatusForbidden {
			t.Errorf("Bo GET %s = %d, want 403", p, rec.Code)
		}
	}
	_, botok := bo.page("/console/hubs")
	if rec := bo.post("/console/admin/hubs/keene/delete", url.Values{"csrf": {botok}}, nil); rec.Code != http.StatusForbidden {
		t.Errorf("Bo deletes a hub = %d, want 403", rec.Code)
	}

	// Rotate Bo's token: a new one is shown, and Bo's session ends.
	page, _ = admin.page("/console/admin/curators")
	ids := regexp.MustCompile(`<th scope="row" data-label="Name">Bo <span class="muted">([0-9a-f]{16})</span>`).FindStringSubmatch(page)
	if ids == nil {
		t.Fatalf("no Bo in the list:\n%s", page)
	}
	page, tok = admin.page("/console/admin/curators/" + ids[1] + "/rotate")
	if !strings.Contains(page, "Make a new token") {
		t.Errorf("rotate confirmation:\n%s", page)
	}
	rec = admin.post("/console/admin/curators/"+ids[1]+"/rotate", url.Values{"csrf": {tok}}, nil)
	if m2 := tokenShown.FindStringSubmatch(rec.Body.String()); rec.Code != 200 || m2 == nil || m2[1] == m[1] {
		t.Errorf("rotate = %d, want a new token shown", rec.Code)
	}
	if rec := bo.get("/console/hubs"); rec.Code != http.StatusSeeOther {
		t.Errorf("Bo after rotation = %d, want 303 to sign in", rec.Code)
	}
	// Revoke, confirmed.
	if rec := admin.post("/console/admin/curators/"+b.curID+"/revoke", url.Values{"csrf": {tok}}, nil); rec.Code != http.StatusSeeOther {
		t.Errorf("revoke = %d", rec.Code)
	}
	if code, _ := apiCall(t, b.h, "GET", "/api/hubs", b.curator, ""); code != 401 {
		t.Errorf("Ann's token after revocation = %d, want 401", code)
	}
	// Delete a hub, confirmed.
	page, tok = admin.page("/console/admin/hubs/swanzey/delete")
	if !strings.Contains(page, "cannot be undone") {
		t.Errorf("delete confirmation:\n%s", page)
	}
	if rec := admin.post("/console/admin/hubs/swanzey/delete", url.Values{"csrf": {tok}}, nil); rec.Code != http.StatusSeeOther {
		t.Fatalf("delete hub = %d\n%s", rec.Code, rec.Body)
	}
	if code, _ := apiCall(t, b.h, "GET", "/api/hubs/swanzey", adminToken, ""); code != 404 {
		t.Errorf("GET deleted hub = %d, want 404", code)
	}
}
