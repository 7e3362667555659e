package boot_test

import (
	"strings"
	"testing"

	"github.com/elmcity/elmcity/shared/boot"
	"github.com/elmcity/elmcity/shared/envconfig"
)

// TestUsage checks that a role's help names its commands and every
// variable it reads with its default, and never a secret's value.
func TestUsage(t *testing.T) {
	t.Parallel()
	var b strings.Builder
	boot.Usage(&b, boot.Program{
		Name: "workerrole", Summary: "the worker", AddrVar: "ELMCITY_WORKER_METRICS_ADDR",
		Commands: []boot.Command{{Usage: "check FILE|URL", What: "report a feed's problems"}},
		Vars: func() []envconfig.Var {
			return []envconfig.Var{
				{Name: "ELMCITY_FETCH_TIMEOUT", Default: "30s", Doc: "total time to fetch one feed"},
				{Name: "ELMCITY_ADMIN_TOKEN", Default: "hunter2hunter2hunter2", Doc: "the administrator's token", Secret: true},
			}
		},
	})
	out := b.String()
	for _, want := range []string{"workerrole: the worker", "workerrole check FILE|URL", "report a feed's problems",
		"workerrole healthcheck", "workerrole help", "ELMCITY_FETCH_TIMEOUT", "[30s]", "ELMCITY_ADMIN_TOKEN"} {
		if !strings.Contains(out, want) {
			t.Errorf("Usage() lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "hunter2") {
		t.Errorf("Usage() shows a secret's value:\n%s", out)
	}
}
