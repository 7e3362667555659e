package api_test

import (
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestCuratorInputIsNever5xx sends what a careless or hostile curator
// might: malformed If-Match headers, fields too large to store, wrong
// JSON types, odd ids. Each is a 4xx naming the problem, and nothing
// reaches the administrator's log as a failed request.
func TestCuratorInputIsNever5xx(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	code, f, hdr := call(t, w.h, "POST", "/api/hubs/keene/feeds", w.curator, `{"feedurl":"https://e.org/c.ics","source":"S"}`)
	if code != 201 {
		t.Fatalf("POST feed = %d %v", code, f)
	}
	feed := "/api/hubs/keene/feeds/" + f["id"].(string)
	feedETag := hdr.Get("ETag")
	_, _, hdr = call(t, w.h, "GET", "/api/hubs/keene", w.curator, "")
	hubETag := hdr.Get("ETag")

	big := strings.Repeat("x", 40_000)
	hub := `{"title":"Keene","tz":"America/New_York"}`
	manyTags := make([]string, 3000)
	for i := range manyTags {
		manyTags[i] = fmt.Sprintf(`"tag%d"`, i)
	}
	catmap := make([]string, 500)
	for i := range catmap {
		catmap[i] = fmt.Sprintf(`"%03d%s":"%s"`, i, strings.Repeat("k", 90), strings.Repeat("v", 90))
	}
	tests := []struct {
		name, method, path, ifMatch, body string
		admin                             bool // as the administrator, not the curator
		wantCode                          int
		wantField                         string // named in error.fields, when set
	}{
		{name: "IfMatchGarbage", method: "PUT", path: "/api/hubs/keene", ifMatch: "garbage", body: hub, wantCode: 400, wantField: "If-Match"},
		{name: "IfMatchList", method: "PUT", path: "/api/hubs/keene", ifMatch: `"a", "b"`, body: hub, wantCode: 400, wantField: "If-Match"},
		{name: "IfMatchHuge", method: "PUT", path: "/api/hubs/keene", ifMatch: `"` + strings.Repeat("a", 4000) + `"`, body: hub, wantCode: 400, wantField: "If-Match"},
		{name: "IfMatchWeakUnknown", method: "PUT", path: "/api/hubs/keene", ifMatch: `W/"x"`, body: hub, wantCode: 412},
		{name: "IfMatchStrongUnknown", method: "PUT", path: "/api/hubs/keene", ifMatch: `"x"`, body: hub, wantCode: 412},
		{name: "IfMatchStrongFormOfCurrent", method: "PUT", path: "/api/hubs/keene", ifMatch: strings.TrimPrefix(hubETag, "W/"), body: hub, wantCode: 412},
		{name: "FeedIfMatchGarbage", method: "PUT", path: feed, ifMatch: "garbage", body: `{"source":"S"}`, wantCode: 400, wantField: "If-Match"},
		{name: "FeedIfMatchTrailing", method: "PUT", path: feed, ifMatch: feedETag + "x", body: `{"source":"S"}`, wantCode: 400, wantField: "If-Match"},
		{name: "FeedIfMatchStale", method: "PUT", path: feed, ifMatch: `W/"datetime'2020-01-01T00%3A00%3A00Z'"`, body: `{"source":"S"}`, wantCode: 412},
		{name: "RenderValueTooLong", method: "PUT", path: "/api/hubs/keene", ifMatch: hubETag, body: `{"title":"K","tz":"UTC","render":{"view":"` + big + `"}}`, wantCode: 400, wantField: "render"},
		{name: "VocabularyTooLong", method: "PATCH", path: "/api/hubs/keene", body: `{"vocabulary":[` + strings.Join(manyTags, ",") + `]}`, wantCode: 400, wantField: "vocabulary"},
		{name: "PutWithoutIfMatch", method: "PUT", path: "/api/hubs/keene", body: hub, wantCode: 428},
		{name: "FeedPutWithoutIfMatch", method: "PUT", path: feed, body: `{"source":"S"}`, wantCode: 428},
		{name: "PatchNotAnObject", method: "PATCH", path: "/api/hubs/keene", body: `["title"]`, wantCode: 400},
		{name: "PatchRemovesTZ", method: "PATCH", path: "/api/hubs/keene", body: `{"tz":null}`, wantCode: 400, wantField: "tz"},
		{name: "PatchStale", method: "PATCH", path: feed, ifMatch: `W/"datetime'2020-01-01T00%3A00%3A00Z'"`, body: `{"source":"S"}`, wantCode: 412},
		{name: "CreateWithoutTZ", method: "PUT", path: "/api/hubs/newhub", body: `{"title":"New"}`, admin: true, wantCode: 400, wantField: "tz"},
		{name: "TitleNotAString", method: "PUT", path: "/api/hubs/keene", body: `{"title":["K"]}`, wantCode: 400, wantField: "title"},
		{name: "HorizonOverflows", method: "PUT", path: "/api/hubs/keene", body: `{"title":"K","horizon_days":1e40}`, wantCode: 400, wantField: "horizon_days"},
		{name: "MembersNotStrings", method: "PUT", path: "/api/hubs/keene", body: `{"title":"K","type":"region","members":[1,2]}`, wantCode: 400, wantField: "members"},
		{name: "UnicodeHubID", method: "PUT", path: "/api/hubs/k%C3%A9%F0%9F%8E%89", body: hub, admin: true, wantCode: 400, wantField: "id"},
		{name: "UnicodeHubIDAsCurator", method: "PUT", path: "/api/hubs/k%C3%A9%F0%9F%8E%89", body: hub, wantCode: 403},
		{name: "CategoryTooLong", method: "POST", path: "/api/hubs/keene/feeds", body: `{"feedurl":"https://e.org/d.ics","source":"S","categories":["` + big + `"]}`, wantCode: 400, wantField: "categories"},
		{name: "CatMapTooLarge", method: "POST", path: "/api/hubs/keene/feeds", body: `{"feedurl":"https://e.org/e.ics","source":"S","catmap":{` + strings.Join(catmap, ",") + `}}`, wantCode: 400, wantField: "catmap"},
		{name: "CatMapNotStrings", method: "POST", path: "/api/hubs/keene/feeds", body: `{"feedurl":"https://e.org/e.ics","source":"S","catmap":{"a":1}}`, wantCode: 400, wantField: "catmap"},
		{name: "FeedBodyNotAnObject", method: "POST", path: "/api/hubs/keene/feeds", body: `"https://e.org/e.ics"`, wantCode: 400, wantField: "body"},
		{name: "DeepJSON", method: "POST", path: "/api/hubs/keene/feeds", body: strings.Repeat("[", 20_000) + strings.Repeat("]", 20_000), wantCode: 400},
		{name: "UnicodeFeedID", method: "GET", path: "/api/hubs/keene/feeds/%F0%9F%8E%89", wantCode: 404},
		{name: "FeedsPageBad", method: "GET", path: "/api/hubs/keene/feeds?after=%27%20or%20true", wantCode: 400, wantField: "after"},
		{name: "HubsPageBad", method: "GET", path: "/api/hubs?limit=-1", wantCode: 400, wantField: "limit"},
		{name: "LogPageTokenBad", method: "GET", path: "/api/hubs/keene/logs?after=garbage", wantCode: 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			req := httptest.NewRequest(tt.method, tt.path, strings.NewReader(tt.body))
			token := w.curator
			if tt.admin {
				token = adminToken
			}
			req.Header.Set("Authorization", "Bearer "+token)
			if tt.ifMatch != "" {
				req.Header.Set("If-Match", tt.ifMatch)
			}
			rec := httptest.NewRecorder()
			w.h.ServeHTTP(rec, req)
			body := rec.Body.String()
			if rec.Code != tt.wantCode {
				t.Errorf("%s %s = %d %.300s, want %d", tt.method, tt.path, rec.Code, body, tt.wantCode)
			}
			if tt.wantField != "" && !strings.Contains(body, `"fields":{"`+tt.wantField+`"`) {
				t.Errorf("%s %s = %.300s, want fields naming %s", tt.method, tt.path, body, tt.wantField)
			}
		})
	}
	t.Cleanup(func() {
		if strings.Contains(w.logs.String(), `"status":5`) || strings.Contains(w.logs.String(), `"level":"ERROR"`) {
			t.Errorf("curator input was logged as a server failure:\n%s", w.logs.String())
		}
	})
}
