// Package envconfigtest keeps a README's configuration table equal to what
// a role's loadConfig reads.
package envconfigtest

import (
	"os"
	"testing"

	"github.com/elmcity/elmcity/shared/envconfig"
)

// CheckREADME compares the block named block of the file at readme with
// the table of vars, and rewrites it when update is set (go test -update).
func CheckREADME(t *testing.T, readme, block string, vars []envconfig.Var, update bool) {
	t.Helper()
	doc, err := os.ReadFile(readme) // #nosec G304 -- the test names its README
	if err != nil {
		t.Fatal(err)
	}
	got, err := envconfig.ReplaceBlock(string(doc), block, envconfig.MarkdownTable(vars))
	if err != nil {
		t.Fatal(err)
	}
	if got == string(doc) {
		return
	}
	if update {
		if err := os.WriteFile(readme, []byte(got), 0o644); err != nil { // #nosec G306 G703 -- the test names its README, a public checked-in file
			t.Fatal(err)
		}
		return
	}
	t.Errorf("%s: the %s table is out of date; run this test with -update", readme, block)
}
