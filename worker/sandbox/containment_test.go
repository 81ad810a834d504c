package sandbox

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kilnbuild/kiln/worker"
)

// The hostile actions of these tests try to get out; each checks that the
// host is untouched and the runner keeps serving.

func TestOnlyTmpAndTheInputRootAreWritable(t *testing.T) {
	r := newTestRunner(t, Options{})
	a := newAction(t)
	// The worker's other files beside the input root (logs, the file
	// cache, other actions) and the host's /tmp.
	beside := filepath.Join(a.Dir, "stdout")
	if err := os.WriteFile(beside, []byte("worker's"), 0o644); err != nil {
		t.Fatal(err)
	}
	hostTmp := filepath.Join(os.TempDir(), fmt.Sprintf("kiln-sandbox-host-%d", os.Getpid()))
	defer os.Remove(hostTmp)
	var script strings.Builder
	for _, p := range []string{"/x", "/usr/x", "/etc/x", "/dev/x", "/proc/x", a.Root + "/../x", beside, a.Dir + "/x"} {
		// Each must fail; "ESCAPED" marks one that did not.
		fmt.Fprintf(&script, "(echo pwned > %s) 2>/dev/null && echo ESCAPED %s\n", p, p)
	}
	fmt.Fprintf(&script, "echo mine > %s && echo tmp-ok\n", hostTmp)
	script.WriteString("echo out > out.txt && mkdir -p sub/dir && echo root-ok\n")
	o := a.shell(t, r, script.String(), nil)
	if got := o.ok(t); got != "tmp-ok\nroot-ok" {
		t.Errorf("stdout:\n%s\nwant only tmp-ok and root-ok", got)
	}
	if b, err := os.ReadFile(beside); err != nil || string(b) != "worker's" {
		t.Errorf("the file beside the input root became %q, %v", b, err)
	}
	for _, p := range []string{"/x", "/usr/x", "/etc/x", a.Dir + "/x", hostTmp} {
		if _, err := os.Lstat(p); err == nil {
			t.Errorf("%s exists on the host", p)
		}
	}
	if b, err := os.ReadFile(filepath.Join(a.Root, "out.txt")); err != nil || string(b) != "out\n" {
		t.Errorf("the output in the input root is %q, %v", b, err)
	}
}

func TestTmpIsPrivateToEachAction(t *testing.T) {
	r := newTestRunner(t, Options{})
	a, b := newAction(t), newAction(t)
	a.shell(t, r, "echo secret > /tmp/left-behind", nil).ok(t)
	if got := b.shell(t, r, "ls -A /tmp | grep -v '^Test' ; cat /tmp/left-behind 2>&1 || true", nil).ok(t); strings.Contains(got, "secret") {
		t.Errorf("a later action read the /tmp of an earlier one: %q", got)
	}
	// The action's /tmp goes soon after it, in the background.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		entries, _ := os.ReadDir(a.Dir)
		if len(entries) == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the action directory holds %d entries after the run, want only the input root (the /tmp is removed)", len(entries))
		}
	}
}

func TestCachedInputFilesCannotBeChangedOrChmodded(t *testing.T) {
	inEachMode(t, Options{}, testCachedInputFilesCannotBeChangedOrChmodded)
}

func testCachedInputFilesCannotBeChangedOrChmodded(t *testing.T, r *Runner) {
	if os.Geteuid() != 0 {
		t.Skip("only a worker running as root can keep its cached files from an action (see the package doc)")
	}
	a := newAction(t)
	in := a.Write(t, "dir/input.txt", "pristine\n", 0o444)
	tool := a.Write(t, "dir/tool", "#!/bin/sh\necho tool\n", 0o555)
	o := a.shell(t, r, `
		for f in dir/input.txt dir/tool; do
			(echo evil > $f) 2>/dev/null && echo ESCAPED write $f
			(echo evil >> $f) 2>/dev/null && echo ESCAPED append $f
			chmod 666 $f 2>/dev/null && echo ESCAPED chmod $f
			chown 65534 $f 2>/dev/null && echo ESCAPED chown $f
			truncate -s 0 $f 2>/dev/null && echo ESCAPED truncate $f
			touch -d 2001-01-01 $f 2>/dev/null && echo ESCAPED touch $f
		done
		# Replacing the name is allowed (the directory is the action's),
		# and leaves the cached file alone.
		rm -f dir/input.txt && echo replaced > dir/input.txt && echo replaced-ok`, nil)
	if got := o.ok(t); got != "replaced-ok" {
		t.Errorf("stdout:\n%s", got)
	}
	// The worker's cache holds the original inode; here, the test's copy
	// of it is what the action got a link to.
	if b, err := os.ReadFile(tool); err != nil || string(b) != "#!/bin/sh\necho tool\n" {
		t.Errorf("the cached tool became %q, %v", b, err)
	}
	if fi, err := os.Stat(tool); err != nil || fi.Mode().Perm() != 0o555 {
		t.Errorf("the cached tool's mode became %v, %v", fi.Mode(), err)
	}
	_ = in
}

func TestCachedInputLinkKeepsTheCacheIntact(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("only a worker running as root can keep its cached files from an action")
	}
	r := newTestRunner(t, Options{})
	a := newAction(t)
	// As the worker's file cache does: one read-only inode outside the
	// input root, hardlinked into it.
	cache := filepath.Join(filepath.Dir(a.Dir), "cache-file")
	if err := os.WriteFile(cache, []byte("cached\n"), 0o444); err != nil {
		t.Fatal(err)
	}
	if err := os.Link(cache, filepath.Join(a.Root, "in.txt")); err != nil {
		t.Fatal(err)
	}
	a.shell(t, r, "chmod u+w in.txt; echo evil > in.txt; cat in.txt", nil)
	if b, err := os.ReadFile(cache); err != nil || string(b) != "cached\n" {
		t.Errorf("the cached file became %q, %v", b, err)
	}
	if fi, _ := os.Stat(cache); fi.Mode().Perm() != 0o444 {
		t.Errorf("the cached file's mode became %v", fi.Mode())
	}
}

func TestNoPrivilegesToRegain(t *testing.T) {
	inEachMode(t, Options{}, testNoPrivilegesToRegain)
}

func testNoPrivilegesToRegain(t *testing.T, r *Runner) {
	a := newAction(t)
	got := a.shell(t, r, `grep -E '^(CapPrm|CapEff|CapAmb|NoNewPrivs)' /proc/self/status`, nil).ok(t)
	for _, want := range []string{"CapPrm:\t0000000000000000", "CapEff:\t0000000000000000", "CapAmb:\t0000000000000000", "NoNewPrivs:\t1"} {
		if !strings.Contains(got, want) {
			t.Errorf("/proc/self/status lacks %q:\n%s", want, got)
		}
	}
	// Root of a user namespace of its own, the action still cannot make
	// a read-only mount writable: it was locked when its namespace was made.
	o := a.shell(t, r, `unshare -r -m sh -c 'mount -o remount,rw,bind /usr && touch /usr/kiln-pwned && echo ESCAPED'; echo done`, nil)
	if got := o.ok(t); got != "done" {
		t.Errorf("stdout %q", got)
	}
	if _, err := os.Stat("/usr/kiln-pwned"); err == nil {
		os.Remove("/usr/kiln-pwned")
		t.Error("the action wrote /usr on the host")
	}
}

func TestOnlyTheSandboxProcessesAreVisible(t *testing.T) {
	r := newTestRunner(t, Options{})
	a := newAction(t)
	got := a.shell(t, r, `ls /proc | grep -E '^[0-9]+$' | wc -l; cat /proc/1/cmdline | tr '\0' ' '`, nil).ok(t)
	lines := strings.Split(got, "\n")
	// init, sh, ls, grep, wc (some may have exited): a handful, not the host's.
	var n int
	fmt.Sscan(lines[0], &n)
	if n > 8 || !strings.Contains(got, "kiln-sandbox-init") {
		t.Errorf("the sandbox sees %d processes and pid 1 is %q", n, lines[len(lines)-1])
	}
}

// hostListener accepts on 127.0.0.1 of the host; accepted(n) waits (a
// little) for the n-th connection and returns how many came.
func hostListener(t *testing.T) (port int, accepted func(want int) int) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	count := make(chan int, 1)
	count <- 0
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			n := <-count
			count <- n + 1
			c.Close()
		}
	}()
	return l.Addr().(*net.TCPAddr).Port, func(want int) int {
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(5 * time.Millisecond) {
			n := <-count
			count <- n
			if n >= want || time.Now().After(deadline) {
				return n
			}
		}
	}
}

func TestNetworkIsALoopbackOfItsOwn(t *testing.T) {
	r := newTestRunner(t, Options{})
	a := newAction(t)
	port, accepted := hostListener(t)
	// Its own lo is up (a refused connection, not an unreachable network),
	// and the host's listener is not on it.
	script := fmt.Sprintf(`bash -c 'echo > /dev/tcp/127.0.0.1/%d' 2>&1; bash -c 'echo > /dev/tcp/10.0.0.1/80' 2>&1; true`, port)
	got := a.shell(t, r, script, nil).ok(t)
	if !strings.Contains(got, "Connection refused") || !strings.Contains(got, "Network is unreachable") {
		t.Errorf("output %q: want the loopback up but empty, and no other network", got)
	}
	if n := accepted(0); n != 0 {
		t.Errorf("the host's listener accepted %d connections from the sandbox", n)
	}
}

func TestNetworkOnWhenAllowed(t *testing.T) {
	r := newTestRunner(t, Options{AllowNetwork: true})
	a := newAction(t)
	port, accepted := hostListener(t)
	a.shell(t, r, fmt.Sprintf(`bash -c 'echo > /dev/tcp/127.0.0.1/%d'`, port), worker.Platform{"network": {"on"}}).ok(t)
	if n := accepted(1); n != 1 {
		t.Errorf("the host's listener accepted %d connections, want 1", n)
	}
	// Without asking, still none.
	a.shell(t, r, fmt.Sprintf(`bash -c 'echo > /dev/tcp/127.0.0.1/%d' 2>/dev/null; true`, port), nil).ok(t)
	if n := accepted(1); n != 1 {
		t.Errorf("an action that did not ask for the network reached the host: %d connections", n)
	}
}
