//go:build !unix

package feedkind_test

import "time"

// processCPU is not measured off Unix: the CPU bound is not checked.
func processCPU() time.Duration { return 0 }
