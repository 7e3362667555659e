//go:build unix

package usagetest

import (
	"syscall"
	"time"
)

// CPUMeasured reports whether Usage.CPU is measured here.
const CPUMeasured = true

// processCPU returns the CPU time (user and system) the process has used.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
