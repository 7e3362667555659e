//go:build race

package feedkind_test

// raceEnabled reports a build with the race detector, which slows the
// code down too much for CPU bounds to hold.
const raceEnabled = true
