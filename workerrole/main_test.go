package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/elmcity/elmcity/shared/azstorage/storagetest"
	"github.com/elmcity/elmcity/shared/roletest"
)

func testEnv(t *testing.T) map[string]string {
	t.Helper()
	acct := storagetest.Account(t)
	return map[string]string{
		"AZURE_STORAGE_CONNECTION_STRING": storagetest.ConnectionString(),
		"ELMCITY_WORKER_METRICS_ADDR":     "127.0.0.1:0",
		"ELMCITY_LOG_TABLE":               storagetest.Table(t, acct, "workerlog"),
		"ELMCITY_JOB_QUEUE":               storagetest.Queue(t, acct, "jobs"),
		"ELMCITY_INSTANCE":                "test",
	}
}

func TestRunServesProbesAndStopsCleanly(t *testing.T) {
	t.Parallel()
	role := roletest.Start(t, run, testEnv(t))
	url := "http://" + role.Addr
	for _, path := range []string{"/healthz", "/readyz", "/queue"} {
		resp, err := http.Get(url + path)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		body, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("GET %s = %d %s, want 200", path, resp.StatusCode, body)
		}
		if !json.Valid(body) {
			t.Errorf("GET %s body %q is not JSON", path, body)
		}
	}
	if err := role.Stop(t); err != nil {
		t.Errorf("run() after cancel = %v, want nil", err)
	}
}

func TestRunRejectsBadConfig(t *testing.T) {
	t.Parallel()
	env := map[string]string{
		"ELMCITY_WORKER_METRICS_ADDR": "nope",
		"ELMCITY_JOB_MAX_DEQUEUE":     "0",
		"ELMCITY_JOB_QUEUE":           "Bad_Queue",
		"ELMCITY_SHUTDOWN_TIMEOUT":    "soon",
	}
	err := run(context.Background(), func(k string) string { return env[k] }, io.Discard)
	if err == nil {
		t.Fatal("run() = nil, want a configuration error")
	}
	for _, name := range []string{"ELMCITY_WORKER_METRICS_ADDR", "ELMCITY_JOB_MAX_DEQUEUE", "ELMCITY_JOB_QUEUE", "ELMCITY_SHUTDOWN_TIMEOUT"} {
		if !strings.Contains(err.Error(), name) {
			t.Errorf("run() error %q does not name %s", err, name)
		}
	}
}
