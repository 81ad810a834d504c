package agent

import (
	"archive/tar"
	"bufio"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
)

// entryState is what tells a changed entry from an untouched one: any
// write, create, chmod or rename moves ctime, and a replaced file has a new
// inode.
type entryState struct {
	mode         fs.FileMode
	ino          uint64
	size         int64
	mtime, ctime int64
}

// scanTree records the state of every entry below root, by slash-separated
// path relative to root.
func scanTree(root string) (map[string]entryState, error) {
	states := make(map[string]entryState)
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p == root {
			return nil
		}
		fi, err := os.Lstat(p)
		if err != nil {
			return err
		}
		st := fi.Sys().(*syscall.Stat_t)
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		states[filepath.ToSlash(rel)] = entryState{
			mode: fi.Mode(), ino: st.Ino, size: st.Size,
			mtime: st.Mtim.Nano(), ctime: st.Ctim.Nano(),
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("scanning the input root: %w", err)
	}
	return states, nil
}

// diffTrees returns the entries created or changed, sorted so that a
// directory comes before its content, and the topmost entries removed or
// replaced by another kind of file.
func diffTrees(before, after map[string]entryState) (changed, removed []string) {
	for p, a := range after {
		if b, ok := before[p]; !ok || b != a {
			changed = append(changed, p)
		}
	}
	for p, b := range before {
		if a, ok := after[p]; !ok || a.mode.Type() != b.mode.Type() {
			removed = append(removed, p)
		}
	}
	sort.Strings(changed)
	sort.Strings(removed)
	// A removed directory takes its content with it.
	top := removed[:0]
	for _, p := range removed {
		if len(top) > 0 && strings.HasPrefix(p, top[len(top)-1]+"/") {
			continue
		}
		top = append(top, p)
	}
	return changed, top
}

// writeOutputs writes the changed entries as a tar to the output device
// and returns its length. Sockets, devices and fifos are left out: no
// REAPI output can be one.
func writeOutputs(dev, root string, changed []string) (int64, error) {
	f, err := os.OpenFile(dev, os.O_WRONLY, 0)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	cw := &countingWriter{w: f}
	bw := bufio.NewWriterSize(cw, 1<<20)
	tw := tar.NewWriter(bw)
	for _, rel := range changed {
		if err := addEntry(tw, root, rel); err != nil {
			return 0, err
		}
	}
	if err := tw.Close(); err != nil {
		return 0, fmt.Errorf("writing the outputs (is the output device full?): %w", err)
	}
	if err := bw.Flush(); err != nil {
		return 0, fmt.Errorf("writing the outputs (is the output device full?): %w", err)
	}
	if err := f.Sync(); err != nil {
		return 0, fmt.Errorf("flushing the output device: %w", err)
	}
	return cw.n, nil
}

func addEntry(tw *tar.Writer, root, rel string) error {
	p := filepath.Join(root, filepath.FromSlash(rel))
	fi, err := os.Lstat(p)
	if err != nil {
		return err
	}
	var link string
	switch {
	case fi.Mode().IsRegular(), fi.IsDir():
	case fi.Mode()&fs.ModeSymlink != 0:
		if link, err = os.Readlink(p); err != nil {
			return err
		}
	default:
		return nil
	}
	h, err := tar.FileInfoHeader(fi, link)
	if err != nil {
		return err
	}
	h.Name = rel
	if fi.IsDir() {
		h.Name += "/"
	}
	h.Uid, h.Gid, h.Uname, h.Gname = 0, 0, "", ""
	h.Format = tar.FormatPAX
	if err := tw.WriteHeader(h); err != nil {
		return fmt.Errorf("writing the outputs (is the output device full?): %w", err)
	}
	if !fi.Mode().IsRegular() {
		return nil
	}
	src, err := os.Open(p)
	if err != nil {
		return err
	}
	defer src.Close()
	if _, err := io.Copy(tw, src); err != nil {
		return fmt.Errorf("writing %s to the outputs: %w", rel, err)
	}
	return nil
}

type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}
