package main

import (
	"context"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"

	"github.com/elmcity/elmcity/shared/azstorage/storagetest"
	"github.com/elmcity/elmcity/shared/roletest"
)

func testEnv(t *testing.T) map[string]string {
	t.Helper()
	acct := storagetest.Account(t) // fails early and clearly when Azurite is down
	return map[string]string{
		"AZURE_STORAGE_CONNECTION_STRING": storagetest.ConnectionString(),
		"ELMCITY_HTTP_ADDR":               "127.0.0.1:0",
		"ELMCITY_LOG_TABLE":               storagetest.Table(t, acct, "weblog"),
		"ELMCITY_INSTANCE":                "test",
		"ELMCITY_SCRIPTS":                 "../scripts",
	}
}

func TestRunServesProbesAndStopsCleanly(t *testing.T) {
	t.Parallel()
	role := roletest.Start(t, run, testEnv(t))
	url := "http://" + role.Addr
	for _, path := range []string{"/healthz", "/readyz"} {
		resp, err := http.Get(url + path)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("GET %s = %d, want 200", path, resp.StatusCode)
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
	}
	err := run(context.Background(), func(k string) string { return env[k] }, io.Discard)
	if err == nil {
		t.Fatal("run() = nil, want a configuration error")
	}
	for _, name := range []string{"ELMCITY_HTTP_ADDR", "ELMCITY_SHUTDOWN_TIMEOUT", "ELMCITY_LOG_LEVEL", "ELMCITY_ADMIN_TOKEN"} {
		if !strings.Contains(err.Error(), name) {
			t.Errorf("run() error %q does not name %s", err, name)
		}
	}
	if strings.Contains(err.Error(), "short") {
		t.Errorf("run() error %q echoes the admin token", err)
	}
}

func TestMain(m *testing.M) {
	gin.SetMode(gin.TestMode)
	os.Exit(m.Run())
}
