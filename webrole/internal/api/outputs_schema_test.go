package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/elmcity/elmcity/webrole/internal/outputs"
)

// openAPISchemas compiles the named schemas of the served OpenAPI
// document (OpenAPI 3.1 schemas are JSON Schema 2020-12) for validating
// answers, with formats asserted (date-time, date, uri). With strict,
// every object schema that lists its properties is closed
// (additionalProperties false) first: the document leaves them open so
// that fields can be added, and the test then finds any field an output
// writes that the document does not describe.
func openAPISchemas(t testing.TB, h http.Handler, strict bool, names ...string) map[string]*jsonschema.Schema {
	t.Helper()
	rec := do(t, h, http.MethodGet, "/api/openapi.json", nil)
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(rec.Body.Bytes()))
	if err != nil {
		t.Fatalf("openapi.json: %v", err)
	}
	if strict {
		closeObjects(doc.(map[string]any)["components"].(map[string]any)["schemas"])
	}
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	const base = "https://elmcity.invalid/api/openapi.json"
	if err := c.AddResource(base, doc); err != nil {
		t.Fatal(err)
	}
	out := map[string]*jsonschema.Schema{}
	for _, n := range names {
		s, err := c.Compile(base + "#/components/schemas/" + n)
		if err != nil {
			t.Fatalf("compile schema %s: %v", n, err)
		}
		out[n] = s
	}
	return out
}

// closeObjects sets additionalProperties false on every schema under v
// that has properties and says nothing of others.
func closeObjects(v any) {
	switch v := v.(type) {
	case map[string]any:
		if _, ok := v["properties"]; ok {
			if _, set := v["additionalProperties"]; !set {
				v["additionalProperties"] = false
			}
		}
		for _, x := range v {
			closeObjects(x)
		}
	case []any:
		for _, x := range v {
			closeObjects(x)
		}
	}
}

// TestJSONOutputsMatchTheirSchemas validates the JSON outputs and the
// public error answers against the schemas the OpenAPI document declares
// for them, closed to undocumented fields, with and without a public
// URL (which adds the hub's and each event's links).
func TestJSONOutputsMatchTheirSchemas(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, publicURL string
	}{
		{name: "NoPublicURL"},
		{name: "PublicURL", publicURL: "https://cal.example.org"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			w := newWorld(t)
			clock := &testClock{now: time.Now()}
			h := newInstance(t, w.testBundle, clock, outputs.Config{PublicURL: tt.publicURL})
			publishUpcoming(t, w.cals, clock.Now())
			schemas := openAPISchemas(t, h, true, "Calendar", "TagCounts", "Error")
			cases := []struct {
				path, schema string
				code         int
			}{
				{"/services/keene/json", "Calendar", 200},
				{"/services/keene/json?view=music&days=7", "Calendar", 200},
				{"/services/keene/json?uid=jazz%40elmcity", "Calendar", 200},
				{"/services/keene/json?view=nosuchtag", "Calendar", 200},
				{"/keene/json", "Calendar", 200},
				{"/services/keene/tags_json", "TagCounts", 200},
				{"/services/keene/tags_json?view=music", "TagCounts", 200},
				{"/services/keene/tags_json?view=nosuchtag", "TagCounts", 200},
				{"/services/keene/json?days=0", "Error", 400},
				{"/services/keene/json?uid=gone", "Error", 404},
				{"/services/nosuchhub/tags_json", "Error", 404},
				{"/nosuchhub", "Error", 404},
			}
			for _, c := range cases {
				rec := do(t, h, http.MethodGet, c.path, nil)
				if rec.Code != c.code {
					t.Errorf("GET %s = %d, want %d", c.path, rec.Code, c.code)
					continue
				}
				inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(rec.Body.Bytes()))
				if err != nil {
					t.Errorf("GET %s: not JSON: %v", c.path, err)
					continue
				}
				if err := schemas[c.schema].Validate(inst); err != nil {
					t.Errorf("GET %s does not match %s: %v\n%s", c.path, c.schema, err, rec.Body)
				}
			}
			if body := do(t, h, http.MethodGet, "/services/keene/json", nil).Body.String(); strings.Count(body, `"cancelled":true`) != 1 {
				t.Errorf("the JSON does not mark the cancelled recital (so its field is not checked):\n%s", body)
			}
			if tt.publicURL != "" { // the links are there to be checked
				body := do(t, h, http.MethodGet, "/services/keene/json", nil).Body.String()
				if !strings.Contains(body, `"url":"https://cal.example.org/keene"`) || !strings.Contains(body, `"ics":"https://cal.example.org/`) {
					t.Errorf("JSON with a public URL lacks hub.url or ics:\n%s", body)
				}
			}
		})
	}
}

// TestSchemasRefuseWhatTheyShould shows the validation is not vacuous:
// documents with an undocumented field, a wrong type, a bad time or a
// link that is no URI are refused.
func TestSchemasRefuseWhatTheyShould(t *testing.T) {
	t.Parallel()
	b := setup(t, func(context.Context) error { return nil })
	schemas := openAPISchemas(t, b.srv.Handler(), true, "Calendar", "TagCounts")
	tests := []struct {
		name, schema, doc string
		valid             bool
	}{
		{"Valid", "Calendar", validJSON, true},
		{"AllDayDates", "Calendar", strings.Replace(strings.Replace(validJSON, "2026-12-05T19:00:00-05:00", "2026-12-05", 1), "2026-12-05T21:00:00-05:00", "2026-12-06", 1), true},
		{"UndocumentedField", "Calendar", strings.Replace(validJSON, `"all_day":false`, `"all_day":false,"colour":"red"`, 1), false},
		{"Cancelled", "Calendar", strings.Replace(validJSON, `"all_day":false`, `"all_day":false,"cancelled":true`, 1), true},
		{"CancelledFalseIsLeftOut", "Calendar", strings.Replace(validJSON, `"all_day":false`, `"all_day":false,"cancelled":false`, 1), false},
		{"WrongType", "Calendar", strings.Replace(validJSON, `"count":1`, `"count":"1"`, 1), false},
		{"BadTime", "Calendar", strings.Replace(validJSON, "2026-12-05T19:00:00-05:00", "5 Dec 2026 7pm", 1), false},
		{"MissingSourceFeed", "Calendar", strings.Replace(validJSON, `,"feed":"f1"`, "", 1), false},
		{"LinkIsNoURI", "Calendar", strings.Replace(validJSON, "https://theatre.example.org/jazz", "not a uri", 1), false},
		{"CalendarIsNoTagList", "TagCounts", validJSON, false},
		{"TagList", "TagCounts", `[{"tag":"music","count":2},{"tag":"jazz","count":1,"contributed":true}]`, true},
		{"TagWithoutCount", "TagCounts", `[{"tag":"music"}]`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			inst, err := jsonschema.UnmarshalJSON(strings.NewReader(tt.doc))
			if err != nil {
				t.Fatal(err)
			}
			if err := schemas[tt.schema].Validate(inst); (err == nil) != tt.valid {
				t.Errorf("Validate() = %v, want valid %v", err, tt.valid)
			}
		})
	}
}

// validJSON is a calendar that matches the Calendar schema.
const validJSON = `{"hub":{"id":"keene","title":"Keene","tz":"America/New_York"},"generation":"g","published_at":"2026-12-01T12:00:00Z","count":1,
"events":[{"uid":"a@elmcity","title":"Jazz","start":"2026-12-05T19:00:00-05:00","end":"2026-12-05T21:00:00-05:00","all_day":false,"tags":["music"],
"sources":[{"name":"Theatre","feed":"f1","url":"https://theatre.example.org/jazz"}]}]}`

// TestPublicOperationsAreDocumented: every public operation (one that
// needs no token) has an operationId, no two operations share one, and
// each public output declares its 404 answer and, when it takes query
// parameters, its 400, each a JSON Error.
func TestPublicOperationsAreDocumented(t *testing.T) {
	t.Parallel()
	b := setup(t, func(context.Context) error { return nil })
	var doc struct {
		Paths map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(do(t, b.srv.Handler(), http.MethodGet, "/api/openapi.json", nil).Body.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	type response struct {
		Ref     string `json:"$ref"`
		Content map[string]struct {
			Schema struct {
				Ref string `json:"$ref"`
			} `json:"schema"`
		} `json:"content"`
	}
	ids := map[string]string{}
	for path, ops := range doc.Paths {
		for method, raw := range ops {
			if method == "parameters" {
				continue
			}
			var op struct {
				OperationID string              `json:"operationId"`
				Security    *[]any              `json:"security"`
				Parameters  []json.RawMessage   `json:"parameters"`
				Responses   map[string]response `json:"responses"`
			}
			if err := json.Unmarshal(raw, &op); err != nil {
				t.Fatalf("%s %s: %v", method, path, err)
			}
			name := strings.ToUpper(method) + " " + path
			if op.OperationID != "" {
				if other, dup := ids[op.OperationID]; dup {
					t.Errorf("%s and %s share the operationId %s", name, other, op.OperationID)
				}
				ids[op.OperationID] = name
			}
			public := op.Security != nil && len(*op.Security) == 0
			if !public {
				continue
			}
			if op.OperationID == "" {
				t.Errorf("public operation %s has no operationId", name)
			}
			output := method == "get" && (strings.HasPrefix(path, "/services/{hub}/") && path != "/services/{hub}/{what}" || strings.HasPrefix(path, "/{hub}"))
			if !output {
				continue
			}
			codes := []string{"404"}
			if len(op.Parameters) > 0 { // a bad one is a 400
				codes = append(codes, "400")
			}
			for _, code := range codes {
				r, ok := op.Responses[code]
				if !ok {
					t.Errorf("public output %s does not declare its %s", name, code)
					continue
				}
				if r.Ref != "#/components/responses/Error" && r.Content["application/json"].Schema.Ref != "#/components/schemas/Error" {
					t.Errorf("public output %s: its %s is not a JSON Error", name, code)
				}
			}
		}
	}
}
