package main

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"go.uber.org/goleak"

	"github.com/elmcity/elmcity/shared/azstorage/storagetest"
	"github.com/elmcity/elmcity/shared/roletest"
)

func testEnv(t *testing.T) map[string]string {
	t.Helper()
	acct := storagetest.Account(t) // fails early and clearly when Azurite is down
	return map[string]string{
		"AZURE_STORAGE_CONNECTION_STRING": storagetest.ConnectionString(),
		"ELMCITY_HTTP_ADDR":               "127.0.0.1:0",
		"ELMCITY_METRICS_ADDR":            "127.0.0.1:0",
		"ELMCITY_LOG_TABLE":               storagetest.Table(t, acct, "weblog"),
		"ELMCITY_INSTANCE":                "test",
		"ELMCITY_SCRIPTS":                 "../scripts",
	}
}

func TestRunServesProbesAndStopsCleanly(t *testing.T) {
	t.Parallel()
	role := roletest.Start(t, run, testEnv(t))
	public, metrics := "http://"+role.Addr, "http://"+metricsAddr(t, role)
	tests := []struct {
		name, url string
		want      int
		body      string
	}{
		{"Healthz", public + "/healthz", http.StatusOK, `"ok"`},
		{"Readyz", public + "/readyz", http.StatusOK, `"ready"`},
		{"NoPublicMetrics", public + "/metrics", http.StatusNotFound, ""},
		{"Metrics", metrics + "/metrics", http.StatusOK, `elmcity_http_requests_total{method="GET",route="/healthz",status="200"} 1`},
		{"MetricsOnly", metrics + "/healthz", http.StatusNotFound, ""},
	}
	for _, tt := range tests { // in order: the metrics count the probes
		resp, err := http.Get(tt.url)
		if err != nil {
			t.Fatalf("GET %s: %v", tt.url, err)
		}
		body, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		if resp.StatusCode != tt.want || !strings.Contains(string(body), tt.body) {
			t.Errorf("%s: GET %s = %d %.300s, want %d with %s", tt.name, tt.url, resp.StatusCode, body, tt.want, tt.body)
		}
		if tt.want == http.StatusNotFound && strings.Contains(string(body), "go_goroutines") {
			t.Errorf("%s: GET %s serves metrics", tt.name, tt.url)
		}
	}
	if err := role.Stop(t); err != nil {
		t.Errorf("run() after cancel = %v, want nil", err)
	}
}

func TestRunRejectsBadConfig(t *testing.T) {
	t.Parallel()
	env := map[string]string{
		"ELMCITY_HTTP_ADDR":        "not-an-address",
		"ELMCITY_SHUTDOWN_TIMEOUT": "forever",
		"ELMCITY_LOG_LEVEL":        "loud",
		"ELMCITY_ADMIN_TOKEN":      "short",
		"ELMCITY_METRICS_ADDR":     "nope",
	}
	err := run(context.Background(), func(k string) string { return env[k] }, io.Discard)
	if err == nil {
		t.Fatal("run() = nil, want a configuration error")
	}
	for _, name := range []string{"ELMCITY_HTTP_ADDR", "ELMCITY_SHUTDOWN_TIMEOUT", "ELMCITY_LOG_LEVEL", "ELMCITY_ADMIN_TOKEN", "ELMCITY_METRICS_ADDR"} {
		if !strings.Contains(err.Error(), name) {
			t.Errorf("run() error %q does not name %s", err, name)
		}
	}
	if strings.Contains(err.Error(), "short") {
		t.Errorf("run() error %q echoes the admin token", err)
	}
}

// metricsAddr reads the address of the metrics listener from the line
// the role logs after "listening".
func metricsAddr(t *testing.T, role *roletest.Role) string {
	t.Helper()
	timeout := time.After(30 * time.Second)
	for {
		select {
		case line := <-role.Lines:
			var rec struct{ Msg, Addr string }
			if json.Unmarshal([]byte(line), &rec) == nil && rec.Msg == "serving metrics" && rec.Addr != "" {
				return rec.Addr
			}
		case <-timeout:
			t.Fatal(`run() logged no "serving metrics" line within 30s`)
		}
	}
}

func TestMain(m *testing.M) {
	gin.SetMode(gin.TestMode)
	os.Exit(m.Run())
}

// TestRunStopsEverythingWhenAListenerFails makes one of run's listeners
// fail to bind (its port is taken) and checks that run returns the error
// and leaves no goroutine of its own behind. It is not parallel:
// goleak looks at the whole process.
func TestRunStopsEverythingWhenAListenerFails(t *testing.T) {
	tests := []struct {
		name, addrVar, want string
	}{
		{name: "MetricsAddrTaken", addrVar: "ELMCITY_METRICS_ADDR", want: "listen for metrics on"},
		{name: "HTTPAddrTaken", addrVar: "ELMCITY_HTTP_ADDR", want: "listen on"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			taken, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatalf("listen: %v", err)
			}
			t.Cleanup(func() { _ = taken.Close() })
			env := testEnv(t)
			env[tt.addrVar] = taken.Addr().String()
			before := goleak.IgnoreCurrent()

			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			err = run(ctx, func(k string) string { return env[k] }, io.Discard)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("run() = %v, want an error with %q", err, tt.want)
			}
			// Idle keep-alive connections of the storage clients' shared
			// transport are not run's: they close on their own.
			goleak.VerifyNone(t, before,
				goleak.IgnoreAnyFunction("net/http.(*persistConn).readLoop"),
				goleak.IgnoreAnyFunction("net/http.(*persistConn).writeLoop"))
		})
	}
}
