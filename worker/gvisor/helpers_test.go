package gvisor

import (
	"fmt"
	"os"
	"testing"

	"github.com/kilnbuild/kiln/worker/cgroup"
	"github.com/kilnbuild/kiln/worker/isolationpolicy/isolationtest"
)

// newTestRunner returns a Runner with its own state directory and cgroup
// parent, or skips the test where runsc is missing or does not work
// (unless KILN_REQUIRE_GVISOR=1).
func newTestRunner(t testing.TB, opts Options) *Runner {
	t.Helper()
	if opts.StateDir == "" {
		opts.StateDir = t.TempDir()
	}
	if opts.CgroupParent == "" {
		if _, err := cgroup.Available(); err == nil {
			opts.CgroupParent = fmt.Sprintf("kiln-gvisor-test-%d", os.Getpid())
		}
	}
	r, err := New(opts)
	if err != nil {
		if os.Getenv("KILN_REQUIRE_GVISOR") == "1" {
			t.Fatal(err)
		}
		t.Skipf("no gVisor here: %v (KILN_REQUIRE_GVISOR=1 makes this fail)", err)
	}
	if r.cgroups {
		t.Cleanup(func() {
			removeCgroupParent(t, r.cgroupParent())
			removeCgroupParent(t, opts.CgroupParent)
		})
	}
	return r
}

// removeCgroupParent removes the test's cgroup parent.
func removeCgroupParent(t testing.TB, parent string) {
	if err := cgroup.RemoveParent(parent); err != nil {
		t.Errorf("removing the test's cgroup parent: %v", err)
	}
}

// syncBuffer collects output written by the runner's copiers.
type syncBuffer = isolationtest.SyncBuffer

var newAction = isolationtest.NewAction
