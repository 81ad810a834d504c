package worker

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"sort"
	"sync"
	"syscall"

	repb "github.com/bazelbuild/remote-apis/build/bazel/remote/execution/v2"
	"google.golang.org/protobuf/proto"

	"github.com/kilnbuild/kiln/cas"
	"github.com/kilnbuild/kiln/internal/digest"
)

const (
	// maxMessageBytes bounds the Action, Command and Directory messages
	// the worker is willing to hold in memory.
	maxMessageBytes = 64 << 20
	// maxInputEntries bounds the files, directories and symlinks of an
	// expanded input root: a Directory DAG that reuses subtrees can
	// describe more entries than any disk holds.
	maxInputEntries = 4_000_000
	// maxInputDepth bounds the nesting of input directories.
	maxInputDepth = 1024
)

// inputFetcher fetches an action's description from the CAS and lays out
// its input root on disk.
type inputFetcher struct {
	cas         cas.BlobStore
	files       *fileCache
	concurrency int
	// allowAbsoluteSymlinks mirrors the symlink_absolute_path_strategy the
	// server advertises; DISALLOWED unless configured otherwise.
	allowAbsoluteSymlinks bool
}

// fetchAction fetches and checks the Action and its Command.
func (f *inputFetcher) fetchAction(ctx context.Context, actionDigest digest.Digest) (*repb.Action, *repb.Command, digest.Digest, error) {
	fn := actionDigest.Function
	action := &repb.Action{}
	if err := f.getProto(ctx, actionDigest, action); err != nil {
		return nil, nil, digest.Digest{}, err
	}
	cmdDigest, err := digest.FromProto(fn, action.GetCommandDigest())
	if err != nil {
		return nil, nil, digest.Digest{}, invalidArgument("Action.command_digest: %v", err)
	}
	rootDigest, err := digest.FromProto(fn, action.GetInputRootDigest())
	if err != nil {
		return nil, nil, digest.Digest{}, invalidArgument("Action.input_root_digest: %v", err)
	}
	command := &repb.Command{}
	if err := f.getProto(ctx, cmdDigest, command); err != nil {
		return nil, nil, digest.Digest{}, err
	}
	if err := checkCommand(command); err != nil {
		return nil, nil, digest.Digest{}, err
	}
	return action, command, rootDigest, nil
}

// getProto fetches d and parses it into m. A missing blob is reported as a
// missing input.
func (f *inputFetcher) getProto(ctx context.Context, d digest.Digest, m proto.Message) error {
	name := string(m.ProtoReflect().Descriptor().Name())
	if d.Size > maxMessageBytes {
		return invalidArgument("%s %s is larger than the %d bytes the worker accepts", name, d, maxMessageBytes)
	}
	rc, err := f.cas.Get(ctx, d, 0, 0)
	if errors.Is(err, cas.ErrNotFound) {
		return missingBlobs([]digest.Digest{d})
	}
	if err != nil {
		return fmt.Errorf("fetching %s %s: %w", name, d, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, d.Size+1))
	if err != nil {
		return fmt.Errorf("fetching %s %s: %w", name, d, err)
	}
	if got := digest.OfBytes(d.Function, b); got != d {
		return fmt.Errorf("fetching %s %s: %w: got %s", name, d, digest.ErrMismatch, got)
	}
	if err := proto.Unmarshal(b, m); err != nil {
		return invalidArgument("%s %s does not parse: %v", name, d, err)
	}
	return nil
}

// checkCommand refuses commands that could never be run as written.
func checkCommand(c *repb.Command) error {
	if len(c.GetArguments()) == 0 {
		return invalidArgument("Command.arguments is empty")
	}
	for i, a := range c.GetArguments() {
		if containsNUL(a) {
			return invalidArgument("Command.arguments[%d] contains a NUL byte", i)
		}
	}
	for _, ev := range c.GetEnvironmentVariables() {
		if ev.GetName() == "" || containsNUL(ev.GetName()+ev.GetValue()) || containsRune(ev.GetName(), '=') {
			return invalidArgument("Command.environment_variables: %q is not a valid variable name, or its value contains a NUL byte", ev.GetName())
		}
	}
	if _, err := cleanRelative(c.GetWorkingDirectory(), true); err != nil {
		return invalidArgument("Command.working_directory: %v", err)
	}
	if _, err := outputsOf(c); err != nil {
		return err
	}
	return nil
}

func containsNUL(s string) bool { return containsRune(s, 0) }

func containsRune(s string, r rune) bool {
	for _, c := range s {
		if c == r {
			return true
		}
	}
	return false
}

// inputTree is a fetched input root: every distinct Directory by digest.
type inputTree struct {
	root digest.Digest
	dirs map[digest.Digest]*repb.Directory
}

// fetchTree fetches the Directory messages under root, level by level with
// bounded concurrency, checking each. All missing directories found are
// reported together.
func (f *inputFetcher) fetchTree(ctx context.Context, root digest.Digest) (*inputTree, error) {
	t := &inputTree{root: root, dirs: make(map[digest.Digest]*repb.Directory)}
	var (
		mu      sync.Mutex
		missing []digest.Digest
	)
	level := []digest.Digest{root}
	for depth := 0; len(level) > 0; depth++ {
		if depth > maxInputDepth {
			return nil, invalidArgument("the input root is nested deeper than %d directories", maxInputDepth)
		}
		fetched := make([]*repb.Directory, len(level))
		idx := make(map[digest.Digest]int, len(level))
		for i, d := range level {
			idx[d] = i
		}
		err := forEach(ctx, f.concurrency, level, func(ctx context.Context, d digest.Digest) error {
			dir := &repb.Directory{}
			err := f.getProto(ctx, d, dir)
			var ae *actionError
			if errors.As(err, &ae) && len(ae.missing) > 0 {
				mu.Lock()
				missing = append(missing, d)
				mu.Unlock()
				return nil
			}
			if err != nil {
				return err
			}
			if err := f.checkDirectory(d, dir); err != nil {
				return err
			}
			fetched[idx[d]] = dir
			return nil
		})
		if err != nil {
			return nil, err
		}
		for i, dir := range fetched {
			if dir != nil {
				t.dirs[level[i]] = dir
			}
		}
		var next []digest.Digest
		queued := make(map[digest.Digest]bool)
		for _, dir := range fetched {
			for _, child := range dir.GetDirectories() {
				cd, _ := digest.FromProto(root.Function, child.GetDigest()) // checked
				if _, seen := t.dirs[cd]; !seen && !queued[cd] && !contains(missing, cd) {
					queued[cd] = true
					next = append(next, cd)
				}
			}
		}
		level = next
	}
	if len(missing) > 0 {
		sortDigests(missing)
		return nil, missingBlobs(missing)
	}
	if n := t.entries(); n > maxInputEntries {
		return nil, invalidArgument("the input root expands to more than %d entries", maxInputEntries)
	}
	return t, nil
}

func contains(ds []digest.Digest, d digest.Digest) bool {
	for _, x := range ds {
		if x == d {
			return true
		}
	}
	return false
}

func sortDigests(ds []digest.Digest) {
	sort.Slice(ds, func(i, j int) bool { return ds[i].Hash < ds[j].Hash })
}

// checkDirectory validates one Directory: every name a single path segment
// and unique across files, directories and symlinks (so that nothing the
// worker writes can go through a symlink), every digest valid, and no
// absolute symlink unless allowed.
func (f *inputFetcher) checkDirectory(d digest.Digest, dir *repb.Directory) error {
	seen := make(map[string]bool)
	name := func(n string) error {
		if err := checkName(n); err != nil {
			return invalidArgument("input directory %s: %v", d, err)
		}
		if seen[n] {
			return invalidArgument("input directory %s: name %q appears more than once", d, n)
		}
		seen[n] = true
		return nil
	}
	for _, fn := range dir.GetFiles() {
		if err := name(fn.GetName()); err != nil {
			return err
		}
		if _, err := digest.FromProto(d.Function, fn.GetDigest()); err != nil {
			return invalidArgument("input directory %s: file %q: %v", d, fn.GetName(), err)
		}
	}
	for _, dn := range dir.GetDirectories() {
		if err := name(dn.GetName()); err != nil {
			return err
		}
		if _, err := digest.FromProto(d.Function, dn.GetDigest()); err != nil {
			return invalidArgument("input directory %s: directory %q: %v", d, dn.GetName(), err)
		}
	}
	for _, sn := range dir.GetSymlinks() {
		if err := name(sn.GetName()); err != nil {
			return err
		}
		target := sn.GetTarget()
		switch {
		case target == "" || containsNUL(target):
			return invalidArgument("input directory %s: symlink %q has an empty or malformed target", d, sn.GetName())
		case path.IsAbs(target) && !f.allowAbsoluteSymlinks:
			return invalidArgument("input directory %s: symlink %q points to the absolute path %q; the symlink absolute path strategy is DISALLOWED", d, sn.GetName(), target)
		}
	}
	return nil
}

// entries counts the entries of the expanded tree.
func (t *inputTree) entries() int64 {
	memo := make(map[digest.Digest]int64)
	var count func(d digest.Digest) int64
	count = func(d digest.Digest) int64 {
		if n, ok := memo[d]; ok {
			return n
		}
		dir := t.dirs[d]
		n := int64(len(dir.GetFiles()) + len(dir.GetSymlinks()) + len(dir.GetDirectories()))
		for _, c := range dir.GetDirectories() {
			cd, _ := digest.FromProto(d.Function, c.GetDigest())
			n += count(cd)
			if n > maxInputEntries {
				break
			}
		}
		memo[d] = n
		return n
	}
	return count(t.root)
}

type fileJob struct {
	d          digest.Digest
	executable bool
	dst        string
}

type symlinkJob struct {
	rel, target string
}

// materialize lays out t under rootDir (which exists and is empty):
// directories 0755, files linked from the file cache, then symlinks, each
// of which must resolve inside rootDir.
func (f *inputFetcher) materialize(ctx context.Context, t *inputTree, rootDir string) error {
	var files []fileJob
	var links []symlinkJob
	var walk func(d digest.Digest, rel string) error
	walk = func(d digest.Digest, rel string) error {
		dir := t.dirs[d]
		for _, fn := range dir.GetFiles() {
			fd, _ := digest.FromProto(d.Function, fn.GetDigest())
			files = append(files, fileJob{fd, fn.GetIsExecutable(), within(rootDir, path.Join(rel, fn.GetName()))})
		}
		for _, sn := range dir.GetSymlinks() {
			links = append(links, symlinkJob{path.Join(rel, sn.GetName()), sn.GetTarget()})
		}
		for _, dn := range dir.GetDirectories() {
			childRel := path.Join(rel, dn.GetName())
			if err := os.Mkdir(within(rootDir, childRel), 0o755); err != nil {
				return inputFSError("creating input directory "+childRel, err)
			}
			cd, _ := digest.FromProto(d.Function, dn.GetDigest())
			if err := walk(cd, childRel); err != nil {
				return err
			}
		}
		return nil
	}
	if err := walk(t.root, ""); err != nil {
		return err
	}

	if err := f.checkFilesPresent(ctx, files); err != nil {
		return err
	}
	err := forEach(ctx, f.concurrency, files, func(ctx context.Context, j fileJob) error {
		err := f.files.link(ctx, j.d, j.executable, j.dst)
		if errors.Is(err, cas.ErrNotFound) {
			return missingBlobs([]digest.Digest{j.d})
		}
		if err != nil {
			return inputFSError("materializing "+j.dst, err)
		}
		return nil
	})
	if err != nil {
		return err
	}

	// Symlinks come last: every other entry exists, so none of them can
	// have been written through a symlink.
	for _, l := range links {
		if err := os.Symlink(l.target, within(rootDir, l.rel)); err != nil {
			return inputFSError("creating input symlink "+l.rel, err)
		}
	}
	for _, l := range links {
		if err := symlinkStaysInside(rootDir, l.rel, l.target, f.allowAbsoluteSymlinks); err != nil {
			return invalidArgument("input %v", err)
		}
	}
	return nil
}

// checkFilesPresent asks the CAS, in one call, for the input files the
// local cache lacks, so that every missing one is reported at once.
func (f *inputFetcher) checkFilesPresent(ctx context.Context, files []fileJob) error {
	seen := make(map[digest.Digest]bool)
	var want []digest.Digest
	for _, j := range files {
		if !seen[j.d] && !f.files.contains(j.d, j.executable) {
			seen[j.d] = true
			want = append(want, j.d)
		}
	}
	if len(want) == 0 {
		return nil
	}
	missing, err := f.cas.FindMissing(ctx, want)
	if err != nil {
		return fmt.Errorf("checking input files in the CAS: %w", err)
	}
	if len(missing) > 0 {
		return missingBlobs(missing)
	}
	return nil
}

// inputFSError turns a failure to lay out inputs into the client's fault
// when the layout itself is impossible (names too long), else the worker's.
func inputFSError(what string, err error) error {
	if errors.Is(err, syscall.ENAMETOOLONG) {
		return invalidArgument("%s: the path is too long", what)
	}
	return fmt.Errorf("%s: %w", what, err)
}

// prepareWorkingDir checks that the working directory exists in the input
// root (checklist item 36) and returns its resolved path relative to it.
func prepareWorkingDir(rootDir string, c *repb.Command) (string, error) {
	rel, _ := cleanRelative(c.GetWorkingDirectory(), true) // checked
	resolved, err := resolveInside(rootDir, rel, true)
	if err != nil {
		return "", invalidArgument("Command.working_directory %q: %v", c.GetWorkingDirectory(), err)
	}
	fi, err := os.Stat(within(rootDir, resolved))
	if err != nil || !fi.IsDir() {
		return "", invalidArgument("Command.working_directory %q is not a directory of the input root", c.GetWorkingDirectory())
	}
	return resolved, nil
}
