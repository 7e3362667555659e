// Package usagetest measures what a function costs, for the tests that
// bound hostile inputs: its CPU time, its peak heap and the bytes it
// allocated.
package usagetest

import (
	"runtime"
	"runtime/metrics"
	"time"
)

// Usage is what one call cost.
type Usage struct {
	// CPU is the process's CPU time (user and system) during the call:
	// the call's own when the test runs alone. It is 0 where the system
	// does not report it (CPUMeasured).
	CPU time.Duration
	// PeakHeap is the highest heap of live and unswept objects during the
	// call, sampled every millisecond, above the live heap before it.
	PeakHeap uint64
	// Allocated is the bytes the call allocated.
	Allocated uint64
}

// heapObjects is the runtime metric sampled for the peak heap.
const heapObjects = "/memory/classes/heap/objects:bytes"

// Measure runs f and returns what it cost.
func Measure(f func()) Usage {
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	sample := []metrics.Sample{{Name: heapObjects}}
	metrics.Read(sample)
	base := sample[0].Value.Uint64()
	stop := make(chan struct{})
	peakc := make(chan uint64)
	go func() {
		s := []metrics.Sample{{Name: heapObjects}}
		peak := base
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		for {
			metrics.Read(s)
			peak = max(peak, s[0].Value.Uint64())
			select {
			case <-stop:
				peakc <- peak
				return
			case <-tick.C:
			}
		}
	}()
	cpu0 := processCPU()
	f()
	cpu := processCPU() - cpu0
	close(stop)
	peak := <-peakc
	runtime.ReadMemStats(&after)
	return Usage{CPU: cpu, PeakHeap: peak - base, Allocated: after.TotalAlloc - before.TotalAlloc}
}
