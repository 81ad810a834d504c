package bazeltest

import (
	"regexp"
	"strings"
)

// Test statuses as Bazel 4.2.3 prints them in its test summary, e.g.
// "//tests:fail_test    FAILED in 0.1s".
const (
	TestPassed  = "PASSED"
	TestFailed  = "FAILED"
	TestTimeout = "TIMEOUT"
)

// TestStatus is what one summary line says about a test target.
type TestStatus struct {
	// Status is e.g. TestPassed, TestFailed, TestTimeout, "NO STATUS".
	Status string
	// Cached is true for "(cached)": Bazel did not run the test.
	Cached bool
}

var testStatusLine = regexp.MustCompile(`^(\S+)\s+(\(cached\) )?([A-Z][A-Z ]*?)(?: in [\d.]+s)?\s*$`)

// ParseTestStatus finds the summary line of the test target label (e.g.
// "//tests:pass_test") in output. ok is false if there is none.
func ParseTestStatus(output, label string) (TestStatus, bool) {
	var st TestStatus
	found := false
	for _, line := range strings.Split(output, "\n") {
		m := testStatusLine.FindStringSubmatch(line)
		if m == nil || m[1] != label {
			continue
		}
		// The last one wins, as with the process summary.
		st, found = TestStatus{Status: m[3], Cached: m[2] != ""}, true
	}
	return st, found
}
