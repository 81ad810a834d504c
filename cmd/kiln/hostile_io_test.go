package main

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	repb "github.com/bazelbuild/remote-apis/build/bazel/remote/execution/v2"
	"google.golang.org/grpc/codes"
)

func TestHostileConnectsToTheHostsLoopback(t *testing.T) {
	c := startHostileCluster(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	accepted := make(chan struct{}, 100)
	go func() {
		for {
			conn, err := l.Accept()
			if err != nil {
				return
			}
			conn.Close()
			accepted <- struct{}{}
		}
	}()
	port := l.Addr().(*net.TCPAddr).Port
	resp := c.run(fmt.Sprintf(`bash -c 'echo hi > /dev/tcp/127.0.0.1/%d' 2>&1 && echo CONNECTED; true`, port), nil, nil)
	wantStatus(t, resp, codes.OK, "")
	if got := c.stdout(resp); got == "" || strings.Contains(got, "CONNECTED") || !strings.Contains(got, "Connection refused") {
		t.Errorf("stdout %q: want the connection refused by the sandbox's own loopback", got)
	}
	select {
	case <-accepted:
		t.Error("the test's loopback server accepted a connection from the sandbox")
	case <-time.After(100 * time.Millisecond):
	}

	// network=on is not offered by this worker: no worker can run it.
	resp = c.run("echo should not run", nil, func(_ *repb.Command, a *repb.Action) {
		a.Platform = &repb.Platform{Properties: []*repb.Platform_Property{{Name: "network", Value: "on"}}}
	})
	wantStatus(t, resp, codes.FailedPrecondition, "network")
	c.stillServes()
}

// Names and symlinks in inputs and outputs that would lead outside the
// input root are refused before anything runs, or not followed.
func TestHostileInputAndOutputTricks(t *testing.T) {
	c := startHostileCluster(t)
	secret := fmt.Sprintf("host secret %d\n", time.Now().UnixNano())
	secretPath := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(secretPath, []byte(secret), 0o644); err != nil {
		t.Fatal(err)
	}
	empty := uploadProto(t, c.conn, &repb.Directory{})
	file := upload(t, c.conn, []byte("x"))
	for _, tc := range []struct {
		name string
		root *repb.Directory
		want string
	}{
		{"a directory named ..", &repb.Directory{Directories: []*repb.DirectoryNode{{Name: "..", Digest: empty.Proto()}}}, `".."`},
		{"a file name with a slash", &repb.Directory{Files: []*repb.FileNode{{Name: "a/b", Digest: file.Proto()}}}, `"a/b"`},
		{"a name twice", &repb.Directory{
			Directories: []*repb.DirectoryNode{{Name: "x", Digest: empty.Proto()}},
			Files:       []*repb.FileNode{{Name: "x", Digest: file.Proto()}}}, "more than once"},
		{"a symlink out of the root", &repb.Directory{Symlinks: []*repb.SymlinkNode{{Name: "up", Target: "../../../../../../etc"}}}, "up"},
	} {
		resp := c.run("echo should not run", tc.root, nil)
		if codes.Code(resp.GetStatus().GetCode()) != codes.InvalidArgument || !strings.Contains(resp.GetStatus().GetMessage(), tc.want) {
			t.Errorf("%s: status %v, want INVALID_ARGUMENT naming %s", tc.name, resp.GetStatus(), tc.want)
		}
	}
	resp := c.run("echo should not run", nil, func(cmd *repb.Command, _ *repb.Action) { cmd.OutputPaths = []string{"../escape"} })
	wantStatus(t, resp, codes.InvalidArgument, "../escape")

	// Symlinks the action makes to host files come back as symlinks:
	// the worker does not follow them to the host's content.
	resp = c.run(fmt.Sprintf(`ln -s %[1]s out.txt && mkdir -p dir && ln -s %[1]s dir/leak && ln -s / dir/root && cat out.txt 2>&1; true`, secretPath), nil,
		func(cmd *repb.Command, _ *repb.Action) { cmd.OutputPaths = []string{"dir", "out.txt"} })
	wantStatus(t, resp, codes.OK, "")
	if got := c.stdout(resp); strings.Contains(got, secret) {
		t.Errorf("the action read the host's file through a symlink: %q", got)
	}
	r := resp.GetResult()
	for _, f := range r.GetOutputFiles() {
		if f.GetDigest().GetHash() == digestOf(secret).Hash {
			t.Errorf("output %s holds the host's secret", f.GetPath())
		}
	}
	if links := r.GetOutputSymlinks(); len(links) != 1 || links[0].GetPath() != "out.txt" || links[0].GetTarget() != secretPath {
		t.Errorf("output symlinks %v, want out.txt -> %s", links, secretPath)
	}
	if len(r.GetOutputDirectories()) == 1 {
		tree := readBlob(t, c.conn, r.GetOutputDirectories()[0].GetTreeDigest())
		if strings.Contains(tree, digestOf(secret).Hash) {
			t.Error("the output directory's tree holds the host's secret")
		}
	} else {
		t.Errorf("output directories %v, want dir", r.GetOutputDirectories())
	}
	c.stillServes()
}
