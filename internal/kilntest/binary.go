// Package kilntest runs the real kiln binary as separate processes for
// end-to-end tests: it builds the binary once per test binary, starts
// `kiln up`, `kiln serve --roles=...` and `kiln worker` on 127.0.0.1 with
// free ports and temporary data directories, reads the addresses they print,
// and stops or kills them. It also speaks REAPI as a client would (uploads,
// Execute) and reads /metrics and what a worker leaves in /proc. It owns
// nothing of Kiln's behaviour; tests talk to the processes like any client.
package kilntest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
)

// binaryPackage is the import path of the kiln command.
const binaryPackage = "github.com/kilnbuild/kiln/cmd/kiln"

var (
	buildOnce sync.Once
	builtPath string
	buildErr  error
)

// BinaryEnv names the environment variable that points the tests at a
// prebuilt kiln (a release candidate, say) instead of building one.
const BinaryEnv = "KILN_BINARY"

// Binary returns the path of a kiln binary built from the module's current
// source (with -race if this test binary has it), building it on the first
// call in this process; or $KILN_BINARY if set. A failed build fails every
// test that asks.
func Binary(t testing.TB) string {
	t.Helper()
	if p := os.Getenv(BinaryEnv); p != "" {
		return p
	}
	buildOnce.Do(func() { builtPath, buildErr = build() })
	if buildErr != nil {
		t.Fatalf("building kiln: %v", buildErr)
	}
	return builtPath
}

// build compiles the kiln command to one fixed path per user. It is fixed,
// not temporary, so that repeated test runs do not leave a binary each;
// building to a unique name and renaming over the fixed one keeps parallel
// test binaries (and processes still running an older build) safe.
func build() (string, error) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		return "", fmt.Errorf("the go tool is needed to build kiln: %w", err)
	}
	dir := filepath.Join(os.TempDir(), fmt.Sprintf("kilntest-%d", os.Getuid()))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	final := filepath.Join(dir, "kiln")
	if raceEnabled {
		final += "-race"
	}
	tmp, err := os.CreateTemp(dir, "kiln-build-*")
	if err != nil {
		return "", err
	}
	tmp.Close()
	defer os.Remove(tmp.Name()) // a no-op after a successful rename

	args := []string{"build", "-o", tmp.Name()}
	if raceEnabled {
		args = append(args, "-race")
	}
	args = append(args, binaryPackage)
	cmd := exec.Command(goTool, args...)
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go %v: %w\n%s", args, err, out)
	}
	if err := os.Rename(tmp.Name(), final); err != nil {
		return "", err
	}
	return final, nil
}
