package tablelog_test

import (
	"fmt"

	"github.com/elmcity/elmcity/shared/tablelog"
)

// Hub ids and entry types are checked with ValidID before they can reach a
// query filter; the System partition is deliberately not a valid id.
func ExampleValidID() {
	for _, id := range []string{"elmcity", "Ann_Arbor-MI", "request", tablelog.System, "x' or PartitionKey ne 'y", ""} {
		fmt.Printf("%-26q %v\n", id, tablelog.ValidID(id))
	}
	// Output:
	// "elmcity"                  true
	// "Ann_Arbor-MI"             true
	// "request"                  true
	// "~system"                  false
	// "x' or PartitionKey ne 'y" false
	// ""                         false
}

// A Sentence writes what curators read in the table log from a record's
// attributes; the stdout log keeps the constant message.
func ExampleTemplate() {
	s := tablelog.Template("member hub {member}: {error}")
	fmt.Println(s(map[string]string{"member": "keene", "error": "never published"}))
	fmt.Println(s(map[string]string{"member": "keene"}))
	// Output:
	// member hub keene: never published
	// member hub keene: {error}
}
