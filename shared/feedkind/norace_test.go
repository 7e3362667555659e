//go:build !race

package feedkind_test

// raceEnabled reports a build with the race detector.
const raceEnabled = false
