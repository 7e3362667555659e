package main

import (
	"flag"
	"os"
	"testing"

	"github.com/elmcity/elmcity/shared/envconfig"
)

var update = flag.Bool("update", false, "rewrite golden files and the README configuration table")

// TestREADMEDocumentsConfig keeps the README's configuration table equal to
// what loadConfig reads; run with -update after adding a variable.
func TestREADMEDocumentsConfig(t *testing.T) {
	_, vars, err := loadConfig(func(string) string { return "" })
	if err != nil {
		t.Fatalf("loadConfig(empty) = %v, want defaults to be valid", err)
	}
	const readme = "../README.md"
	doc, err := os.ReadFile(readme)
	if err != nil {
		t.Fatal(err)
	}
	got, err := envconfig.ReplaceBlock(string(doc), "config-webrole", envconfig.MarkdownTable(vars))
	if err != nil {
		t.Fatal(err)
	}
	if got == string(doc) {
		return
	}
	if *update {
		if err := os.WriteFile(readme, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Errorf("README.md configuration table for webrole is out of date; run: go test ./webrole -run TestREADMEDocumentsConfig -update")
}
