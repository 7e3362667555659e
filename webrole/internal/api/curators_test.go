package api_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

// TestGrantEndsWithItsHub is the review's finding: after DELETE
// /api/hubs/delta and a new delta for someone else, the old curator's
// token must neither read nor write it.
func TestGrantEndsWithItsHub(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	h := w.h
	if code, body, _ := call(t, h, "PUT", "/api/hubs/delta", adminToken, `{"title":"Delta","tz":"America/New_York"}`); code != 201 {
		t.Fatalf("PUT delta = %d %v", code, body)
	}
	_, old, _ := call(t, h, "POST", "/api/curators", adminToken, `{"name":"Old","hubs":["delta","keene"]}`)
	oldToken, _ := old["token"].(string)
	if code, _, _ := call(t, h, "GET", "/api/hubs/delta", oldToken, ""); code != 200 {
		t.Fatalf("GET delta as its curator = %d", code)
	}
	if code, body, _ := call(t, h, "DELETE", "/api/hubs/delta", adminToken, ""); code != 204 {
		t.Fatalf("DELETE delta = %d %v", code, body)
	}
	if code, body, _ := call(t, h, "PUT", "/api/hubs/delta", adminToken, `{"title":"New Delta","tz":"America/New_York"}`); code != 201 {
		t.Fatalf("PUT delta again = %d %v", code, body)
	}
	_, fresh, _ := call(t, h, "POST", "/api/curators", adminToken, `{"name":"New","hubs":["delta"]}`)
	tests := []struct{ method, path, body string }{
		{"GET", "/api/hubs/delta", ""},
		{"PUT", "/api/hubs/delta", `{"title":"Mine now"}`},
		{"POST", "/api/hubs/delta/feeds", `{"feedurl":"https://e.org/c.ics","source":"S"}`},
		{"POST", "/api/hubs/delta/aggregate", ""},
		{"GET", "/services/delta/log_info", ""},
	}
	for _, tt := range tests {
		if code, body, _ := call(t, h, tt.method, tt.path, oldToken, tt.body); code != 403 {
			t.Errorf("%s %s with the old curator's token = %d %v, want 403", tt.method, tt.path, code, body)
		}
	}
	if code, _, _ := call(t, h, "GET", "/api/hubs/keene", oldToken, ""); code != 200 {
		t.Errorf("GET keene with the old curator's token = %d, want 200 (that grant stays)", code)
	}
	if code, _, _ := call(t, h, "GET", "/api/hubs/delta", fresh["token"].(string), ""); code != 200 {
		t.Errorf("GET delta as its new curator = %d, want 200", code)
	}
}

func TestPostCuratorRefusesUnknownHubs(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	many := make([]string, 201)
	for i := range many {
		many[i] = fmt.Sprintf(`"%s%d"`, strings.Repeat("h", 60), i)
	}
	tests := []struct {
		name, body string
		wantField  string // a substring of fields.hubs
	}{
		{name: "Unknown", body: `{"name":"Eve","hubs":["keene","nosuch"]}`, wantField: `no hub "nosuch"`},
		{name: "TooMany", body: `{"name":"Eve","hubs":[` + strings.Join(many, ",") + `]}`, wantField: "1-200"},
		{name: "NotAnID", body: `{"name":"Eve","hubs":["k\u00e9"]}`, wantField: "not a valid hub id"},
		{name: "NotAList", body: `{"name":"Eve","hubs":"keene"}`, wantField: "array"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			code, body, _ := call(t, w.h, "POST", "/api/curators", adminToken, tt.body)
			e, _ := body["error"].(map[string]any)
			fields, _ := e["fields"].(map[string]any)
			if hubs, _ := fields["hubs"].(string); code != 400 || !strings.Contains(hubs, tt.wantField) {
				t.Errorf("POST /api/curators = %d %v, want 400 with hubs: ...%s...", code, body, tt.wantField)
			}
		})
	}
}

func TestListCurators(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	want := []string{w.curID}
	for i := range 4 {
		code, body, _ := call(t, w.h, "POST", "/api/curators", adminToken, fmt.Sprintf(`{"name":"C%d","hubs":["keene","other"]}`, i))
		if code != 201 {
			t.Fatalf("POST /api/curators = %d %v", code, body)
		}
		want = append(want, body["id"].(string))
	}
	slices.Sort(want)
	var got []string
	next := ""
	for pages := 0; pages == 0 || next != ""; pages++ {
		if pages > 3 {
			t.Fatalf("GET /api/curators?limit=2 did not end after 3 pages")
		}
		code, body, _ := call(t, w.h, "GET", "/api/curators?limit=2&after="+next, adminToken, "")
		list, _ := body["curators"].([]any)
		if code != 200 || len(list) == 0 || len(list) > 2 {
			t.Fatalf("GET /api/curators = %d %v, want 1-2 curators", code, body)
		}
		for _, c := range list {
			c := c.(map[string]any)
			for _, k := range []string{"id", "name", "hubs", "created"} {
				if _, ok := c[k]; !ok {
					t.Errorf("curator %v lacks %q", c, k)
				}
			}
			if _, ok := c["token"]; ok {
				t.Errorf("curator %v lists a token", c)
			}
			got = append(got, c["id"].(string))
		}
		next, _ = body["next"].(string)
	}
	if !slices.Equal(want, got) {
		t.Errorf("GET /api/curators pages = %v, want %v", got, want)
	}
	for _, q := range []string{"?limit=0", "?limit=1001", "?limit=x", "?after=zzz", "?after=" + strings.Repeat("a", 200)} {
		if code, body, _ := call(t, w.h, "GET", "/api/curators"+q, adminToken, ""); code != 400 {
			t.Errorf("GET /api/curators%s = %d %v, want 400", q, code, body)
		}
	}
	if code, _, _ := call(t, w.h, "GET", "/api/curators", w.curator, ""); code != 403 {
		t.Errorf("GET /api/curators as a curator = %d, want 403", code)
	}
}

func TestRotateCuratorToken(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	code, body, hdr := call(t, w.h, "POST", "/api/curators/"+w.curID+"/token", adminToken, "")
	fresh, _ := body["token"].(string)
	if code != 200 || fresh == "" || fresh == w.curator || body["id"] != w.curID || hdr.Get("Cache-Control") != "no-store" {
		t.Fatalf("POST .../token = %d %v (Cache-Control %q), want a new token, not cached", code, body, hdr.Get("Cache-Control"))
	}
	if code, _, _ := call(t, w.h, "GET", "/api/hubs/keene", w.curator, ""); code != 401 {
		t.Errorf("GET with the old token = %d, want 401", code)
	}
	if code, _, _ := call(t, w.h, "GET", "/api/hubs/keene", fresh, ""); code != 200 {
		t.Errorf("GET with the new token = %d, want 200", code)
	}
	tests := []struct {
		name, id, token string
		want            int
	}{
		{name: "Unknown", id: "0000000000000000", token: adminToken, want: 404},
		{name: "Malformed", id: "x%27%20or", token: adminToken, want: 404},
		{name: "ByTheCurator", id: w.curID, token: fresh, want: 403},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if code, body, _ := call(t, w.h, "POST", "/api/curators/"+tt.id+"/token", tt.token, ""); code != tt.want {
				t.Errorf("POST /api/curators/%s/token = %d %v, want %d", tt.id, code, body, tt.want)
			}
		})
	}
}

func TestDeleteCurator(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	tests := []struct {
		name, id, token string
		want            int
	}{
		{name: "ByTheCurator", id: w.curID, token: w.curator, want: 403},
		{name: "Unknown", id: "0000000000000000", token: adminToken, want: 404},
		{name: "Malformed", id: "x%27%20or%20true", token: adminToken, want: 404},
	}
	for _, tt := range tests {
		if code, body, _ := call(t, w.h, "DELETE", "/api/curators/"+tt.id, tt.token, ""); code != tt.want {
			t.Errorf("%s: DELETE /api/curators/%s = %d %v, want %d", tt.name, tt.id, code, body, tt.want)
		}
	}
	if code, _, _ := call(t, w.h, "DELETE", "/api/curators/"+w.curID, adminToken, ""); code != 204 {
		t.Fatalf("DELETE curator = %d, want 204", code)
	}
	if code, _, _ := call(t, w.h, "DELETE", "/api/curators/"+w.curID, adminToken, ""); code != 404 {
		t.Errorf("DELETE curator again = %d, want 404", code)
	}
	if code, body, _ := call(t, w.h, "GET", "/api/curators", adminToken, ""); code != 200 || len(body["curators"].([]any)) != 0 {
		t.Errorf("GET /api/curators after revoking the only one = %d %v, want none", code, body)
	}
}
