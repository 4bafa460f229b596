//go:build !race

package firewall

// raceEnabled shrinks the heaviest tests under the race detector, which
// slows them down some thirty times.
const raceEnabled = false
