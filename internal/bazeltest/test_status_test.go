package bazeltest

import "testing"

func TestParseTestStatus(t *testing.T) {
	output := `INFO: Found 1 test target...
FAIL: //tests:fail_test (see /tmp/out/testlogs/tests/fail_test/test.log)
INFO: 5 processes: 3 internal, 2 remote.
//tests:fail_test                                                        FAILED in 0.1s
  /tmp/out/testlogs/tests/fail_test/test.log
//tests:pass_test                                               (cached) PASSED in 0.0s
//tests:timeout_test                                                    TIMEOUT in 7.1s
//tests:broken_test                                                  NO STATUS

Executed 1 out of 1 test: 1 fails remotely.
`
	for _, tc := range []struct {
		label string
		want  TestStatus
	}{
		{"//tests:fail_test", TestStatus{Status: TestFailed}},
		{"//tests:pass_test", TestStatus{Status: TestPassed, Cached: true}},
		{"//tests:timeout_test", TestStatus{Status: TestTimeout}},
		{"//tests:broken_test", TestStatus{Status: "NO STATUS"}},
	} {
		got, ok := ParseTestStatus(output, tc.label)
		if !ok || got != tc.want {
			t.Errorf("ParseTestStatus(%s) = %+v, %v; want %+v", tc.label, got, ok, tc.want)
		}
	}
	if got, ok := ParseTestStatus(output, "//tests:fail"); ok {
		t.Errorf("a label that is only a prefix matched: %+v", got)
	}
	if got, ok := ParseTestStatus("FAIL: //tests:fail_test (see x)\n", "//tests:fail_test"); ok {
		t.Errorf("the FAIL: progress line was read as a summary: %+v", got)
	}
}
