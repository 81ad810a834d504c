//go:build !race

package kilntest

// raceEnabled: see race_on.go.
const raceEnabled = false
