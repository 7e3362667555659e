package api_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/elmcity/elmcity/shared/hub"
)

// TestOpenAPIDocumentsEveryRoute keeps the served document and routes.go
// in step: every registered route is documented, and nothing else is.
func TestOpenAPIDocumentsEveryRoute(t *testing.T) {
	t.Parallel()
	b := setup(t, func(context.Context) error { return nil })
	rec := do(t, b.srv.Handler(), http.MethodGet, "/api/openapi.json", nil)
	if rec.Code != 200 {
		t.Fatalf("GET /api/openapi.json = %d", rec.Code)
	}
	var doc struct {
		OpenAPI string                                `json:"openapi"`
		Paths   map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &doc); err != nil {
		t.Fatalf("document is not JSON: %v", err)
	}
	documented := map[string]bool{}
	for path, ops := range doc.Paths {
		for method := range ops {
			if method != "parameters" {
				documented[strings.ToUpper(method)+" "+path] = true
			}
		}
	}
	registered := map[string]bool{}
	for _, r := range b.srv.Routes() {
		p := r.Path
		for _, seg := range strings.Split(p, "/") {
			if strings.HasPrefix(seg, ":") || strings.HasPrefix(seg, "*") {
				p = strings.Replace(p, seg, "{"+seg[1:]+"}", 1)
			}
		}
		registered[r.Method+" "+p] = true
	}
	for k := range registered {
		if !documented[k] {
			t.Errorf("route %s is not in openapi.json", k)
		}
	}
	for k := range documented {
		if !registered[k] {
			t.Errorf("openapi.json documents %s, which is not a route", k)
		}
	}
}

func TestCORSOnPublicReadsOnly(t *testing.T) {
	t.Parallel()
	b := setup(t, func(context.Context) error { return nil })
	h := b.srv.Handler()
	origin := map[string]string{"Origin": "https://elsewhere.example"}
	if got := do(t, h, http.MethodGet, "/api/openapi.json", origin).Header().Get("Access-Control-Allow-Origin"); got != "*" {
		t.Errorf("openapi.json Access-Control-Allow-Origin = %q, want *", got)
	}
	for _, p := range []string{"/api/hubs", "/services/keene/log_info"} {
		if got := do(t, h, http.MethodGet, p, origin).Header().Get("Access-Control-Allow-Origin"); got != "" {
			t.Errorf("%s Access-Control-Allow-Origin = %q, want none on token routes", p, got)
		}
	}
}

// TestTopLevelPathsAreReservedHubIDs checks that no hub can take a
// top-level path the web role serves itself, where its page at /{hub}
// would be shadowed.
func TestTopLevelPathsAreReservedHubIDs(t *testing.T) {
	t.Parallel()
	b := setup(t, func(context.Context) error { return nil })
	for _, r := range b.srv.Routes() {
		seg, _, _ := strings.Cut(strings.TrimPrefix(r.Path, "/"), "/")
		if seg != "" && !strings.HasPrefix(seg, ":") && !hub.Reserved(seg) {
			t.Errorf("route %s %s: hub id %q is not reserved", r.Method, r.Path, seg)
		}
	}
}

// TestOpenAPIOperationIDs checks that every operation of the document has
// an operationId, used once: client generators name their functions
// after them.
func TestOpenAPIOperationIDs(t *testing.T) {
	t.Parallel()
	b := setup(t, func(context.Context) error { return nil })
	rec := do(t, b.srv.Handler(), http.MethodGet, "/api/openapi.json", nil)
	var doc struct {
		Paths map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	seen := map[string]string{}
	for path, ops := range doc.Paths {
		for method, raw := range ops {
			if method == "parameters" {
				continue
			}
			var op struct {
				OperationID string `json:"operationId"`
			}
			if err := json.Unmarshal(raw, &op); err != nil {
				t.Fatal(err)
			}
			where := strings.ToUpper(method) + " " + path
			switch prev, dup := seen[op.OperationID]; {
			case op.OperationID == "":
				t.Errorf("%s has no operationId", where)
			case dup:
				t.Errorf("%s and %s share the operationId %q", prev, where, op.OperationID)
			}
			seen[op.OperationID] = where
		}
	}
}
