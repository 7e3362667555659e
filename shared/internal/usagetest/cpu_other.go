//go:build !unix

package usagetest

import "time"

// CPUMeasured reports whether Usage.CPU is measured here: not where
// getrusage is missing.
const CPUMeasured = false

// processCPU returns 0: CPU time is not measured here.
func processCPU() time.Duration { return 0 }
