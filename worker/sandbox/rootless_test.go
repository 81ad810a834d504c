package sandbox

import (
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// A worker that is not root builds its sandboxes in a user namespace of
// its own. When the tests run as root, this one runs the main ones again
// as an ordinary user.
func TestWorkerThatIsNotRoot(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("running as an ordinary user already")
	}
	setpriv, err := exec.LookPath("setpriv")
	if err != nil {
		t.Skip("needs setpriv to become an ordinary user")
	}
	// The test binary's own directory is private to root.
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "sandbox.test")
	if err := copyFile(os.Args[0], bin); err != nil {
		t.Fatal(err)
	}
	tests := "^(TestRunsACommandInTheInputRoot|TestOnlyTmpAndTheInputRootAreWritable|TestNoPrivilegesToRegain|" +
		"TestNetworkIsALoopbackOfItsOwn|TestTimeoutKillsEverything|TestBackgroundProcessesDieWithTheCommand|" +
		"TestForkBombIsBoundedAndEnded|TestReadySandboxesServeActionsAndClose)$"
	cmd := exec.Command(setpriv, "--reuid=65533", "--regid=65533", "--clear-groups", bin, "-test.run="+tests, "-test.v")
	// An ordinary user cannot make cgroups: those subtests must skip, even
	// when the suite as a whole requires cgroups (make test does).
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "KILN_REQUIRE_CGROUP=") {
			env = append(env, kv)
		}
	}
	cmd.Env = append(env, "KILN_REQUIRE_SANDBOX=1", "HOME=/", "TMPDIR=/tmp")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("as uid 65533: %v\n%s", err, out)
	}
	if n := strings.Count(string(out), "--- PASS"); n < 8 {
		t.Errorf("as uid 65533, %d tests passed, want 8:\n%s", n, out)
	}
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_EXCL, 0o755)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
