package envconfigtest

import (
	"context"
	"testing"
	"time"

	"github.com/compose-spec/compose-go/v2/cli"

	"github.com/elmcity/elmcity/shared/envconfig"
)

// CheckCompose loads the compose file with the compose-spec loader (the
// one Docker Compose uses; these machines have no Docker engine) and checks
// the role's service: it builds from a Dockerfile, has a health check,
// publishes host ports only when hostPorts is set, and sets only
// environment variables the role reads (vars).
func CheckCompose(t *testing.T, file, service string, vars []envconfig.Var, hostPorts bool) {
	t.Helper()
	opts, err := cli.NewProjectOptions([]string{file}, cli.WithName("elmcity"), cli.WithInterpolation(true))
	if err != nil {
		t.Fatal(err)
	}
	project, err := opts.LoadProject(context.Background())
	if err != nil {
		t.Fatalf("load %s: %v", file, err)
	}
	svc, err := project.GetService(service)
	if err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	if svc.Build == nil || svc.Build.Dockerfile == "" {
		t.Errorf("service %s does not build from a Dockerfile", service)
	}
	if svc.HealthCheck == nil || len(svc.HealthCheck.Test) == 0 {
		t.Errorf("service %s has no health check", service)
	}
	if !hostPorts && len(svc.Ports) > 0 {
		t.Errorf("service %s publishes host ports %v; it must scale with --scale", service, svc.Ports)
	}
	// Docker's default grace (10s) would kill a role draining within its
	// ELMCITY_SHUTDOWN_TIMEOUT (20s by default).
	if svc.StopGracePeriod == nil || time.Duration(*svc.StopGracePeriod) <= 20*time.Second {
		t.Errorf("service %s has stop_grace_period %v; it must outlast ELMCITY_SHUTDOWN_TIMEOUT's 20s default", service, svc.StopGracePeriod)
	}
	known := make(map[string]bool, len(vars))
	for _, v := range vars {
		known[v.Name] = true
	}
	for k := range svc.Environment {
		if !known[k] {
			t.Errorf("service %s sets %s, which the role does not read", service, k)
		}
	}
	if _, err := project.GetService("azurite"); err != nil {
		t.Errorf("%s has no azurite service: %v", file, err)
	}
}
