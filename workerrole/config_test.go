package main

import (
	"flag"
	"testing"

	"github.com/elmcity/elmcity/shared/envconfig/envconfigtest"
)

var update = flag.Bool("update", false, "rewrite the README configuration table")

// TestREADMEDocumentsConfig keeps the README's configuration table equal to
// what loadConfig reads; run with -update after adding a variable.
func TestREADMEDocumentsConfig(t *testing.T) {
	_, vars, err := loadConfig(func(string) string { return "" })
	if err != nil {
		t.Fatalf("loadConfig(empty) = %v, want defaults to be valid", err)
	}
	envconfigtest.CheckREADME(t, "../README.md", "config-workerrole", vars, *update)
}

// TestComposeFile checks docker-compose.yml's workerrole service against the
// configuration the role reads.
func TestComposeFile(t *testing.T) {
	_, vars, _ := loadConfig(func(string) string { return "" })
	envconfigtest.CheckCompose(t, "../docker-compose.yml", "workerrole", vars, false)
}
