package envconfig_test

import (
	"bytes"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/elmcity/elmcity/shared/envconfig"
)

func TestReaderCollectsEveryBadVariable(t *testing.T) {
	t.Parallel()
	env := map[string]string{
		"A_INT":  "seven",
		"A_DUR":  "5 minutes",
		"A_BOOL": "maybe",
		"A_ADDR": "8080",
		"A_OK":   "42",
	}
	r := envconfig.New(func(k string) string { return env[k] })
	r.Int("A_INT", 1, 0, 10, "")
	r.Duration("A_DUR", time.Second, 0, time.Hour, "")
	r.Bool("A_BOOL", false, "")
	r.Addr("A_ADDR", "127.0.0.1:0", "")
	if got := r.Int("A_OK", 1, 0, 100, ""); got != 42 {
		t.Errorf("Int(A_OK) = %d, want 42", got)
	}
	err := r.Err()
	if err == nil {
		t.Fatal("Err() = nil, want every bad variable")
	}
	for _, name := range []string{"A_INT", "A_DUR", "A_BOOL", "A_ADDR"} {
		if !strings.Contains(err.Error(), name) {
			t.Errorf("Err() = %q, does not name %s", err, name)
		}
	}
	if strings.Contains(err.Error(), "A_OK") {
		t.Errorf("Err() = %q, names a good variable", err)
	}
}

func TestReaderDefaultsAndRanges(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		value   string
		want    int
		wantErr bool
	}{
		{name: "Unset", value: "", want: 5},
		{name: "Set", value: "9", want: 9},
		{name: "TooHigh", value: "11", want: 5, wantErr: true},
		{name: "TooLow", value: "-1", want: 5, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := envconfig.New(func(string) string { return tt.value })
			if got := r.Int("N", 5, 0, 10, ""); got != tt.want {
				t.Errorf("Int() = %d, want %d", got, tt.want)
			}
			if (r.Err() != nil) != tt.wantErr {
				t.Errorf("Err() = %v, wantErr %v", r.Err(), tt.wantErr)
			}
		})
	}
}

func TestSecretNeverLogged(t *testing.T) {
	t.Parallel()
	r := envconfig.New(func(string) string { return "hunter2" })
	s := r.Secret("TOKEN", "")
	var buf bytes.Buffer
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("config", "token", s)
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("config", "config", struct{ Token envconfig.Secret }{s})
	slog.New(slog.NewTextHandler(&buf, nil)).Info("config", "config", struct{ Token envconfig.Secret }{s})
	fmt.Fprintf(&buf, "%v %s %+v", s, s, struct{ C envconfig.Common }{envconfig.Common{Storage: s}})
	if strings.Contains(buf.String(), "hunter2") {
		t.Errorf("secret reached output: %s", buf.String())
	}
	if s.Reveal() != "hunter2" {
		t.Errorf("Reveal() = %q", s.Reveal())
	}
	if v := r.Vars(); len(v) != 1 || !v[0].Secret || v[0].Default != "" {
		t.Errorf("Vars() = %+v", v)
	}
}

func ExampleReader() {
	env := map[string]string{"ELMCITY_HTTP_ADDR": "127.0.0.1:9000"}
	r := envconfig.New(func(k string) string { return env[k] })
	addr := r.Addr("ELMCITY_HTTP_ADDR", "127.0.0.1:8080", "web role listen address")
	grace := r.Duration("ELMCITY_SHUTDOWN_TIMEOUT", 20*time.Second, time.Second, time.Hour, "drain time")
	fmt.Println(addr, grace, r.Err())
	// Output: 127.0.0.1:9000 20s <nil>
}
