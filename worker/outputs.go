package worker

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"syscall"

	repb "github.com/bazelbuild/remote-apis/build/bazel/remote/execution/v2"
	"google.golang.org/protobuf/proto"

	"github.com/kilnbuild/kiln/internal/digest"
)

// outputKind is what the Command says an output is.
type outputKind int

const (
	outputAny  outputKind = iota // output_paths (v2.1+): decided by what is found
	outputFile                   // output_files
	outputDir                    // output_directories
)

// outputRequest is one output the Command asks for.
type outputRequest struct {
	name string // as the client wrote it, relative to the working directory
	kind outputKind
}

// outputsOf lists and checks the outputs of c. output_paths wins over the
// deprecated fields when set (checklist item 34).
func outputsOf(c *repb.Command) ([]outputRequest, error) {
	wd, _ := cleanRelative(c.GetWorkingDirectory(), true)
	var reqs []outputRequest
	add := func(field, name string, kind outputKind) error {
		allowEmpty := kind == outputDir // "" captures the whole working directory
		if _, err := cleanRelative(name, allowEmpty); err != nil && !errors.Is(err, errEscapes) {
			return invalidArgument("Command.%s: %v", field, err)
		}
		if _, err := cleanRelative(path.Join(wd, name), true); err != nil {
			return invalidArgument("Command.%s: output %q %v", field, name, errEscapes)
		}
		reqs = append(reqs, outputRequest{name: name, kind: kind})
		return nil
	}
	if len(c.GetOutputPaths()) > 0 {
		for _, p := range c.GetOutputPaths() {
			if err := add("output_paths", p, outputAny); err != nil {
				return nil, err
			}
		}
		return reqs, nil
	}
	for _, p := range c.GetOutputFiles() { //nolint:staticcheck // pre-v2.1 clients
		if err := add("output_files", p, outputFile); err != nil {
			return nil, err
		}
	}
	for _, p := range c.GetOutputDirectories() { //nolint:staticcheck // pre-v2.1 clients
		if err := add("output_directories", p, outputDir); err != nil {
			return nil, err
		}
	}
	return reqs, nil
}

// createOutputParents creates the directories leading up to every output
// before the run (checklist item 34), never through a symlink that leaves
// the input root.
func createOutputParents(rootDir, workRel string, reqs []outputRequest) error {
	for _, r := range reqs {
		rel := joinRel(workRel, r.name)
		if r.name == "" || path.Dir(rel) == "." {
			continue
		}
		if err := mkdirAllInside(rootDir, path.Dir(rel)); err != nil {
			return invalidArgument("creating the parent directory of output %q: %v", r.name, err)
		}
	}
	return nil
}

// blobSource is one blob to upload: a file on disk or bytes in memory.
type blobSource struct {
	d    digest.Digest
	path string
	data []byte
}

// outputCollector turns what an action left in its input root into an
// ActionResult and the blobs to upload. It looks at the directory with
// Lstat and never follows a symlink out of the input root.
type outputCollector struct {
	rootDir               string
	workRel               string
	fn                    digest.Function
	allowAbsoluteSymlinks bool

	result  *repb.ActionResult
	uploads []blobSource
}

// collect gathers every requested output into c.result. A missing output
// is omitted; an output of the wrong type, or a symlink leading out of the
// input root, fails the action with FAILED_PRECONDITION.
func (c *outputCollector) collect(reqs []outputRequest) error {
	if c.result == nil {
		c.result = &repb.ActionResult{}
	}
	for _, r := range reqs {
		if err := c.collectOne(r); err != nil {
			return err
		}
	}
	return nil
}

func (c *outputCollector) collectOne(r outputRequest) error {
	rel := joinRel(c.workRel, r.name)
	// Resolve the parents (they may be symlinks inside the root); the
	// output itself is looked at, not followed.
	linkRel, err := resolveInside(c.rootDir, rel, false)
	if err != nil {
		return failedPrecondition("output %q: %v", r.name, err)
	}
	full := within(c.rootDir, linkRel)
	fi, err := os.Lstat(full)
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("output %q: %w", r.name, err)
	}

	switch mode := fi.Mode(); {
	case mode&fs.ModeSymlink != 0:
		return c.collectSymlink(r, linkRel)
	case mode.IsRegular():
		if r.kind == outputDir {
			return failedPrecondition("output directory %q is a regular file", r.name)
		}
		d, err := hashFile(c.fn, full)
		if err != nil {
			return fmt.Errorf("output %q: %w", r.name, err)
		}
		c.result.OutputFiles = append(c.result.OutputFiles, &repb.OutputFile{
			Path: r.name, Digest: d.Proto(), IsExecutable: mode.Perm()&0o111 != 0,
		})
		c.uploads = append(c.uploads, blobSource{d: d, path: full})
		return nil
	case mode.IsDir():
		if r.kind == outputFile {
			return failedPrecondition("output file %q is a directory", r.name)
		}
		return c.collectDirectory(r.name, linkRel)
	default:
		return failedPrecondition("output %q is neither a regular file, a directory nor a symlink (mode %s)", r.name, mode)
	}
}

// collectSymlink reports an output that is a symlink: in output_symlinks
// for output_paths, else by what it points to (checklist items 34, 37).
func (c *outputCollector) collectSymlink(r outputRequest, linkRel string) error {
	target, err := os.Readlink(within(c.rootDir, linkRel))
	if err != nil {
		return fmt.Errorf("output %q: %w", r.name, err)
	}
	if err := symlinkStaysInside(c.rootDir, linkRel, target, c.allowAbsoluteSymlinks); err != nil {
		return failedPrecondition("output %v", err)
	}
	sl := &repb.OutputSymlink{Path: r.name, Target: target}
	if r.kind == outputAny {
		c.result.OutputSymlinks = append(c.result.OutputSymlinks, sl)
		return nil
	}
	// A dangling symlink has no type to contradict the request.
	exists, isDir := c.targetType(linkRel, target)
	switch {
	case r.kind == outputFile && isDir:
		return failedPrecondition("output file %q is a symlink to a directory", r.name)
	case r.kind == outputFile:
		c.result.OutputFileSymlinks = append(c.result.OutputFileSymlinks, sl) //nolint:staticcheck // pre-v2.1 clients
	case exists && !isDir:
		return failedPrecondition("output directory %q is a symlink to a file", r.name)
	default:
		c.result.OutputDirectorySymlinks = append(c.result.OutputDirectorySymlinks, sl) //nolint:staticcheck // pre-v2.1 clients
	}
	return nil
}

// targetType says whether the symlink at linkRel, already checked to stay
// inside the root (or to be an allowed absolute one), points to something,
// and whether that is a directory.
func (c *outputCollector) targetType(linkRel, target string) (exists, isDir bool) {
	p := target
	if !path.IsAbs(target) {
		resolved, err := resolveInside(c.rootDir, linkRel, true)
		if err != nil {
			return false, false
		}
		p = within(c.rootDir, resolved)
	}
	fi, err := os.Stat(p)
	return err == nil, err == nil && fi.IsDir()
}

// collectDirectory stores the directory at rel as a Tree (checklist item
// 35), and each of its Directory messages too, so that both tree_digest and
// root_directory_digest can be set.
func (c *outputCollector) collectDirectory(name, rel string) error {
	tree := &repb.Tree{}
	seen := make(map[digest.Digest]bool)
	root, err := c.directory(rel, tree, seen)
	if err != nil {
		return err
	}
	tree.Root = root
	rootBytes, err := marshal(root)
	if err != nil {
		return err
	}
	rootDigest := digest.OfBytes(c.fn, rootBytes)
	treeBytes, err := marshal(tree)
	if err != nil {
		return err
	}
	treeDigest := digest.OfBytes(c.fn, treeBytes)
	c.uploads = append(c.uploads,
		blobSource{d: treeDigest, data: treeBytes},
		blobSource{d: rootDigest, data: rootBytes})
	c.result.OutputDirectories = append(c.result.OutputDirectories, &repb.OutputDirectory{
		Path:                name,
		TreeDigest:          treeDigest.Proto(),
		RootDirectoryDigest: rootDigest.Proto(),
	})
	return nil
}

// directory builds the Directory message of rel, adding its descendants to
// tree.Children once each.
func (c *outputCollector) directory(rel string, tree *repb.Tree, seen map[digest.Digest]bool) (*repb.Directory, error) {
	full := within(c.rootDir, rel)
	entries, err := os.ReadDir(full) // sorted by name, as REAPI wants
	if err != nil {
		return nil, fmt.Errorf("reading output directory %q: %w", rel, err)
	}
	dir := &repb.Directory{}
	for _, e := range entries {
		childRel := path.Join(rel, e.Name())
		switch t := e.Type(); {
		case t&fs.ModeSymlink != 0:
			target, err := os.Readlink(within(c.rootDir, childRel))
			if err != nil {
				return nil, fmt.Errorf("output %q: %w", childRel, err)
			}
			if err := symlinkStaysInside(c.rootDir, childRel, target, c.allowAbsoluteSymlinks); err != nil {
				return nil, failedPrecondition("output %v", err)
			}
			dir.Symlinks = append(dir.Symlinks, &repb.SymlinkNode{Name: e.Name(), Target: target})
		case t.IsRegular():
			fi, err := e.Info()
			if err != nil {
				return nil, fmt.Errorf("output %q: %w", childRel, err)
			}
			p := within(c.rootDir, childRel)
			d, err := hashFile(c.fn, p)
			if err != nil {
				return nil, fmt.Errorf("output %q: %w", childRel, err)
			}
			dir.Files = append(dir.Files, &repb.FileNode{Name: e.Name(), Digest: d.Proto(), IsExecutable: fi.Mode().Perm()&0o111 != 0})
			c.uploads = append(c.uploads, blobSource{d: d, path: p})
		case t.IsDir():
			child, err := c.directory(childRel, tree, seen)
			if err != nil {
				return nil, err
			}
			b, err := marshal(child)
			if err != nil {
				return nil, err
			}
			d := digest.OfBytes(c.fn, b)
			dir.Directories = append(dir.Directories, &repb.DirectoryNode{Name: e.Name(), Digest: d.Proto()})
			if !seen[d] {
				seen[d] = true
				tree.Children = append(tree.Children, child)
				c.uploads = append(c.uploads, blobSource{d: d, data: b})
			}
		default:
			return nil, failedPrecondition("output %q is neither a regular file, a directory nor a symlink (mode %s)", childRel, t)
		}
	}
	return dir, nil
}

func marshal(m proto.Message) ([]byte, error) {
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("encoding %T: %w", m, err)
	}
	return b, nil
}

// hashFile digests the regular file at p without following a symlink
// there, and without blocking should it have become a FIFO.
func hashFile(fn digest.Function, p string) (digest.Digest, error) {
	f, err := openRegular(p)
	if err != nil {
		return digest.Digest{}, err
	}
	defer f.Close()
	h := digest.NewHasher(fn)
	n, err := io.Copy(h, f)
	if err != nil {
		return digest.Digest{}, err
	}
	return digest.Digest{Function: fn, Hash: fmt.Sprintf("%x", h.Sum(nil)), Size: n}, nil
}

// openRegular opens p for reading if it is a regular file, refusing to
// follow a symlink in its last component.
func openRegular(p string) (*os.File, error) {
	f, err := os.OpenFile(p, os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		f.Close()
		return nil, fmt.Errorf("%s is not a regular file", p)
	}
	return f, nil
}
