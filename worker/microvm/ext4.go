package microvm

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// makeExt4 builds an ext4 filesystem of size bytes in the sparse file dst,
// holding a copy of the tree src (mkfs.ext4 -d: no mounts, no root
// needed). There is no journal: a guest's disk never outlives a crash.
func makeExt4(ctx context.Context, src, dst string, size int64, reproducible bool) error {
	if err := sparseFile(dst, size); err != nil {
		return fmt.Errorf("sizing %s: %w", dst, err)
	}
	// Inode tables are left for the kernel to zero lazily, and the guest
	// mounts with noinit_itable so that it never does: unwritten blocks
	// of the sparse file read as zeros anyway.
	extended := "lazy_itable_init=1,nodiscard"
	cmd := exec.CommandContext(ctx, "mkfs.ext4")
	if reproducible {
		// The same tree gives the same bytes: fixed UUID, hash seed and
		// times.
		sum := sha256.Sum256([]byte(src))
		uuid := fmt.Sprintf("%x-%x-%x-%x-%x", sum[0:4], sum[4:6], sum[6:8], sum[8:10], sum[10:16])
		extended += ",hash_seed=" + uuid
		cmd.Args = append(cmd.Args, "-U", uuid)
		cmd.Env = append(os.Environ(), "E2FSPROGS_FAKE_TIME=1", "SOURCE_DATE_EPOCH=1")
	}
	cmd.Args = append(cmd.Args, "-q", "-F", "-t", "ext4", "-m", "0", "-O", "^has_journal",
		"-E", extended, "-d", src, dst)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("mkfs.ext4 -d %s: %w: %s", src, err, strings.TrimSpace(out.String()))
	}
	return nil
}

// treeSummary says about how many bytes the files under dir take in ext4
// (each file and directory rounded up to 4 KiB blocks), and digests the
// listing: names, modes, sizes and modification times.
func treeSummary(dir string) (int64, string, error) {
	var n int64
	h := sha256.New()
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		n += 4096
		if d.Type().IsRegular() {
			n += (fi.Size() + 4095) &^ 4095
		}
		fmt.Fprintf(h, "%s\x00%o\x00%d\x00%d\x00", p, fi.Mode(), fi.Size(), fi.ModTime().UnixNano())
		return nil
	})
	return n, fmt.Sprintf("%x", h.Sum(nil)), err
}

// removeUnreadable deletes from the ext4 image img what under src anyone
// but its owner cannot read: a toolchain tree copied from the host (say
// /etc) must not carry its keys and password hashes into guests.
func removeUnreadable(ctx context.Context, src, img string) (int, error) {
	var cmds []string
	var quoteErr error
	quote := func(rel string) string {
		if strings.ContainsAny(rel, "\"\n") {
			quoteErr = fmt.Errorf("cannot leave out %q: its name has a quote or newline", rel)
		}
		return `"/` + filepath.ToSlash(rel) + `"`
	}
	// removeTree lists a directory's content before the directory itself:
	// debugfs only removes empty ones.
	var removeTree func(abs, rel string) error
	removeTree = func(abs, rel string) error {
		entries, err := os.ReadDir(abs)
		if err != nil {
			return err
		}
		for _, e := range entries {
			ca, cr := filepath.Join(abs, e.Name()), filepath.Join(rel, e.Name())
			if e.IsDir() {
				if err := removeTree(ca, cr); err != nil {
					return err
				}
				continue
			}
			cmds = append(cmds, "rm "+quote(cr))
		}
		cmds = append(cmds, "rmdir "+quote(rel))
		return nil
	}
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p == src || d.Type()&fs.ModeSymlink != 0 {
			return nil
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		perm := fi.Mode().Perm()
		switch {
		case d.IsDir() && perm&0o005 != 0o005:
			if err := removeTree(p, rel); err != nil {
				return err
			}
			return fs.SkipDir
		case !d.IsDir() && perm&0o004 == 0:
			cmds = append(cmds, "rm "+quote(rel))
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	if quoteErr != nil {
		return 0, quoteErr
	}
	if len(cmds) == 0 {
		return 0, nil
	}
	cmd := exec.CommandContext(ctx, "debugfs", "-w", "-f", "-", img)
	cmd.Stdin = strings.NewReader(strings.Join(cmds, "\n") + "\n")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return 0, fmt.Errorf("debugfs on %s: %w: %s", img, err, tail(out.String(), 500))
	}
	return len(cmds), nil
}
