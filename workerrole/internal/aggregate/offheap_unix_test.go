//go:build unix

package aggregate_test

import (
	"sort"
	"syscall"
	"testing"
)

// offHeap copies the feeds into anonymous memory outside the Go heap and
// returns them by name: the benchmark's test server serves them, and the
// heap it measures is the aggregation's alone (with the feeds on the heap
// the collector's goal would count them too, letting garbage grow by their
// size).
func offHeap(b *testing.B, feeds map[string][]byte) map[string][]byte {
	b.Helper()
	names := make([]string, 0, len(feeds))
	total := 0
	for n, body := range feeds {
		names = append(names, n)
		total += len(body)
	}
	sort.Strings(names)
	mem, err := syscall.Mmap(-1, 0, max(total, 1), syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
	if err != nil {
		b.Fatalf("mmap %d bytes: %v", total, err)
	}
	b.Cleanup(func() { _ = syscall.Munmap(mem) })
	out := make(map[string][]byte, len(feeds))
	off := 0
	for _, n := range names {
		end := off + copy(mem[off:], feeds[n])
		out[n] = mem[off:end:end]
		off = end
	}
	return out
}
