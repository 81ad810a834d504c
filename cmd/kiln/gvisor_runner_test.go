package main

import (
	"fmt"
	"os"
	"os/exec"
	"testing"
	"time"

	repb "github.com/bazelbuild/remote-apis/build/bazel/remote/execution/v2"
	"google.golang.org/grpc/codes"
)

// An action that asks for isolation=gvisor runs in gVisor where runsc is
// installed, and is contained there as in the sandbox.
func TestGVisorIsolationThroughExecute(t *testing.T) {
	if testing.Short() {
		t.Skip("starts kiln up")
	}
	if _, err := exec.LookPath("runsc"); err != nil {
		if os.Getenv("KILN_REQUIRE_GVISOR") == "1" {
			t.Fatal("runsc is not installed (scripts/install-deps.sh installs it)")
		}
		t.Skip("runsc is not installed")
	}
	if os.Geteuid() != 0 {
		t.Skip("runsc needs a root worker")
	}
	c := startHostileCluster(t)
	tag := fmt.Sprintf("kiln-gvisor-%d", time.Now().UnixNano())
	inGVisor := func(_ *repb.Command, a *repb.Action) {
		a.Platform = &repb.Platform{Properties: []*repb.Platform_Property{{Name: "isolation", Value: gVisorIsolation}}}
	}
	// gVisor's own kernel answers uname: proof the action did not run on
	// the host's.
	resp := c.run(fmt.Sprintf("(echo pwned > /etc/%s) 2>/dev/null && echo ESCAPED; uname -v", tag), nil, inGVisor)
	wantStatus(t, resp, codes.OK, "")
	out := c.stdout(resp)
	hostKernel, err := exec.Command("uname", "-v").Output()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("uname -v in gVisor: %q", out)
	if resp.GetResult().GetExitCode() != 0 || out == string(hostKernel) || out == "" {
		t.Errorf("exit code %d, uname -v %q (host: %q): not run in gVisor", resp.GetResult().GetExitCode(), out, hostKernel)
	}
	if _, err := os.Lstat("/etc/" + tag); err == nil {
		os.Remove("/etc/" + tag)
		t.Errorf("the gVisor action wrote /etc/%s on the host", tag)
	}
	c.stillServes()
}
