//go:build race

package sessionctltest

// raceEnabled is true when the race detector is on: the large tests then
// default to a smaller count, since instrumented code runs several times
// slower; scripts/test.sh runs them at full size without it.
const raceEnabled = true
