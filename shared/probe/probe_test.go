package probe_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/elmcity/elmcity/shared/probe"
)

func TestCheck(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		status  int
		wantErr bool
	}{
		{name: "Healthy", status: http.StatusOK},
		{name: "Unhealthy", status: http.StatusServiceUnavailable, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path != "/healthz" {
					http.NotFound(w, r)
					return
				}
				w.WriteHeader(tt.status)
			}))
			t.Cleanup(srv.Close)
			addr := strings.TrimPrefix(srv.URL, "http://")
			_, port, _ := strings.Cut(addr, ":")
			for _, a := range []string{addr, "0.0.0.0:" + port, ":" + port} {
				if err := probe.Check(context.Background(), a); (err != nil) != tt.wantErr {
					t.Errorf("Check(%s) = %v, wantErr %v", a, err, tt.wantErr)
				}
			}
		})
	}
}
