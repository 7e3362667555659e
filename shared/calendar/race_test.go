//go:build race

package calendar_test

// raceEnabled reports a build with the race detector, which makes the
// code several times slower: CPU and wall-clock bounds are not checked.
const raceEnabled = true
