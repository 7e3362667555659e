package api_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
)

// TestMetricsAreNotPublic: the public handler has no /metrics (it is a
// hub id nobody may take, so a 404), and MetricsHandler serves the
// series and nothing else.
func TestMetricsAreNotPublic(t *testing.T) {
	t.Parallel()
	b := setup(t, func(context.Context) error { return nil })
	do(t, b.srv.Handler(), http.MethodGet, "/healthz", nil)
	tests := []struct {
		name    string
		handler http.Handler
		path    string
		code    int
		series  bool
	}{
		{"PublicHasNone", b.srv.Handler(), "/metrics", http.StatusNotFound, false},
		{"MetricsHandler", b.srv.MetricsHandler(), "/metrics", http.StatusOK, true},
		{"MetricsHandlerServesNothingElse", b.srv.MetricsHandler(), "/healthz", http.StatusNotFound, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rec := do(t, tt.handler, http.MethodGet, tt.path, nil)
			if rec.Code != tt.code {
				t.Errorf("GET %s = %d, want %d", tt.path, rec.Code, tt.code)
			}
			body := rec.Body.String()
			if got := strings.Contains(body, "go_goroutines") && strings.Contains(body, `elmcity_http_requests_total{method="GET",route="/healthz",status="200"}`); got != tt.series {
				t.Errorf("GET %s serves the series: %v, want %v", tt.path, got, tt.series)
			}
		})
	}
}
