package api_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/elmcity/elmcity/shared/tablestore"
)

// newLimitedWorld is newWorld over a store with the given limits: hubs
// keene and other, and a curator of keene.
func newLimitedWorld(t testing.TB, limits tablestore.Limits) world {
	t.Helper()
	return worldOf(t, setupWith(t, func(context.Context) error { return nil }, limits))
}

func TestFeedsPerHubCap(t *testing.T) {
	t.Parallel()
	w := newLimitedWorld(t, tablestore.Limits{MaxFeedsPerHub: 2})
	post := func(i int) (int, map[string]any) {
		code, body, _ := call(t, w.h, "POST", "/api/hubs/keene/feeds", w.curator, fmt.Sprintf(`{"feedurl":"https://e.org/%d.ics","source":"S"}`, i))
		return code, body
	}
	for i := range 2 {
		if code, body := post(i); code != 201 {
			t.Fatalf("POST feed %d = %d %v", i, code, body)
		}
	}
	code, body := post(2)
	e, _ := body["error"].(map[string]any)
	if msg, _ := e["message"].(string); code != 409 || e["code"] != "too_many_feeds" || !strings.Contains(msg, "2 feeds") {
		t.Errorf("POST a third feed = %d %v, want 409 too_many_feeds naming the limit", code, body)
	}
	if code, body, _ := call(t, w.h, "GET", "/api/hubs/keene/feeds", w.curator, ""); code != 200 || len(body["feeds"].([]any)) != 2 {
		t.Errorf("GET feeds = %d %v, want 2", code, body)
	}
	// Removing one makes room again.
	_, list, _ := call(t, w.h, "GET", "/api/hubs/keene/feeds?limit=1", w.curator, "")
	first := list["feeds"].([]any)[0].(map[string]any)["id"].(string)
	if list["next"] != first {
		t.Errorf("GET feeds?limit=1 next = %v, want %s", list["next"], first)
	}
	if code, _, _ := call(t, w.h, "DELETE", "/api/hubs/keene/feeds/"+first, w.curator, ""); code != 204 {
		t.Fatalf("DELETE feed = %d", code)
	}
	if code, body := post(2); code != 201 {
		t.Errorf("POST feed after a delete = %d %v, want 201", code, body)
	}
}

func TestRegionMembers(t *testing.T) {
	t.Parallel()
	w := newLimitedWorld(t, tablestore.Limits{MaxRegionMembers: 3})
	for _, id := range []string{"swanzey", "troy"} {
		if code, body, _ := call(t, w.h, "PUT", "/api/hubs/"+id, adminToken, `{"title":"`+id+`","tz":"America/New_York"}`); code != 201 {
			t.Fatalf("PUT hub %s = %d %v", id, code, body)
		}
	}
	// Ann curates keene and the region nh, which the administrator made
	// with other (not hers) as a member.
	if code, body, _ := call(t, w.h, "PUT", "/api/hubs/nh", adminToken, `{"title":"NH","tz":"America/New_York","type":"region","members":["other"]}`); code != 201 {
		t.Fatalf("PUT region as admin = %d %v", code, body)
	}
	code, body, _ := call(t, w.h, "POST", "/api/curators", adminToken, `{"name":"Ann","hubs":["keene","nh","swanzey"]}`)
	if code != 201 {
		t.Fatalf("POST curator = %d %v", code, body)
	}
	ann := body["token"].(string)
	region := func(members string) string { return `{"title":"NH","type":"region","members":` + members + `}` }
	tests := []struct {
		name, hub, token, members string
		wantCode                  int
		wantIn                    string // in the error's fields.members, or the region's members
	}{
		{name: "KeepsAdminsMembers", hub: "nh", token: ann, members: `["other","keene"]`, wantCode: 200, wantIn: "other,keene"},
		{name: "OwnHubs", hub: "nh", token: ann, members: `["keene","swanzey"]`, wantCode: 200, wantIn: "keene,swanzey"},
		{name: "RepeatsCountOnce", hub: "nh", token: ann, members: `["keene","keene","keene","keene","swanzey","swanzey"]`, wantCode: 200, wantIn: "keene,swanzey"},
		{name: "AnothersHub", hub: "nh", token: ann, members: `["keene","troy"]`, wantCode: 403, wantIn: `"troy"`},
		{name: "UnknownHubIsAnothers", hub: "nh", token: ann, members: `["nosuch"]`, wantCode: 403, wantIn: `"nosuch"`},
		{name: "AdminNamesAny", hub: "nh", token: adminToken, members: `["troy","other"]`, wantCode: 200, wantIn: "troy,other"},
		{name: "AdminUnknownHub", hub: "nh", token: adminToken, members: `["troy","nosuch"]`, wantCode: 400, wantIn: `no hub "nosuch"`},
		{name: "OverTheCap", hub: "nh", token: adminToken, members: `["keene","swanzey","troy","other"]`, wantCode: 400, wantIn: "at most 3"},
		{name: "Itself", hub: "nh", token: ann, members: `["keene","nh"]`, wantCode: 400, wantIn: "itself"},
		{name: "OwnHubAsRegion", hub: "keene", token: w.curator, members: `["other"]`, wantCode: 403, wantIn: `"other"`},
	}
	for _, tt := range tests {
		// In order: every case rewrites nh, and the first keeps the
		// member the administrator chose.
		code, body, _ := call(t, w.h, "PATCH", "/api/hubs/"+tt.hub, tt.token, region(tt.members))
		var got string
		if code < 300 {
			ms, _ := body["members"].([]any)
			for i, m := range ms {
				got += map[bool]string{true: ",", false: ""}[i > 0] + m.(string)
			}
		} else {
			e, _ := body["error"].(map[string]any)
			fields, _ := e["fields"].(map[string]any)
			got, _ = fields["members"].(string)
		}
		if code != tt.wantCode || !strings.Contains(got, tt.wantIn) {
			t.Errorf("%s: PATCH %s members %s = %d %v, want %d with %s", tt.name, tt.hub, tt.members, code, body, tt.wantCode, tt.wantIn)
		}
	}
}

// TestHubListsArePaged checks GET /api/hubs: limit and after page the
// administrator's list of every hub and a curator's list of their own.
func TestHubListsArePaged(t *testing.T) {
	t.Parallel()
	w := newWorld(t) // keene and other; Ann curates keene
	for _, id := range []string{"alpha", "zulu", "mid"} {
		if code, body, _ := call(t, w.h, "PUT", "/api/hubs/"+id, adminToken, `{"title":"`+id+`","tz":"America/New_York"}`); code != 201 {
			t.Fatalf("PUT %s = %d %v", id, code, body)
		}
	}
	_, cur, _ := call(t, w.h, "POST", "/api/curators", adminToken, `{"name":"Bo","hubs":["zulu","alpha","mid"]}`)
	tests := []struct {
		name, token string
		want        string
	}{
		{name: "Admin", token: adminToken, want: "alpha,keene,mid,other,zulu"},
		{name: "Curator", token: cur["token"].(string), want: "alpha,mid,zulu"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var ids []string
			next := ""
			for pages := 0; pages == 0 || next != ""; pages++ {
				if pages > 3 {
					t.Fatal("GET /api/hubs?limit=2 did not end after 3 pages")
				}
				code, body, _ := call(t, w.h, "GET", "/api/hubs?limit=2&after="+next, tt.token, "")
				hubs, _ := body["hubs"].([]any)
				if code != 200 || len(hubs) > 2 {
					t.Fatalf("GET /api/hubs = %d %v", code, body)
				}
				for _, h := range hubs {
					ids = append(ids, h.(map[string]any)["id"].(string))
				}
				next, _ = body["next"].(string)
			}
			if got := strings.Join(ids, ","); got != tt.want {
				t.Errorf("GET /api/hubs pages = %s, want %s", got, tt.want)
			}
		})
	}
}
