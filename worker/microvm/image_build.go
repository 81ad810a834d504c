package microvm

import (
	"bytes"
	"context"
	"crypto/sha256"
	"debug/elf"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/kilnbuild/kiln/worker/microvm/agent"
	"github.com/kilnbuild/kiln/worker/microvm/guestproto"
)

// DefaultToolchain is what guests see of the host, read-only, by default:
// the same tree an action sees in the sandbox. Entries that are symlinks
// on the host (merged /usr) stay symlinks.
var DefaultToolchain = []string{"/usr", "/bin", "/sbin", "/lib", "/lib64", "/etc"}

// BuildOptions say what goes into a guest image.
type BuildOptions struct {
	// Dir receives the image; what was there is replaced.
	Dir string
	// Kernel is a bzImage (Debian's vmlinuz); Modules its lib/modules/RELEASE
	// directory, needed unless the virtio drivers are built in.
	Kernel, Modules string
	// Agent is the statically linked guest agent (cmd/kiln-guest-agent).
	Agent string
	// Toolchain lists absolute host paths (directories or symlinks).
	Toolchain []string
	Logger    *slog.Logger
}

// BuildImage builds a guest image. The kernel and initramfs are the same
// bytes for the same inputs; toolchain devices are too as long as the host
// trees are unchanged.
func BuildImage(ctx context.Context, o BuildOptions) (*Image, error) {
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if err := checkStatic(o.Agent); err != nil {
		return nil, err
	}
	if err := checkToolchain(o.Toolchain); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Dir(filepath.Clean(o.Dir)), 0o755); err != nil {
		return nil, err
	}
	tmp, err := os.MkdirTemp(filepath.Dir(filepath.Clean(o.Dir)), ".microvm-image-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)

	m := Manifest{Kernel: kernelName, Initramfs: initramfsName, KernelRelease: filepath.Base(o.Modules)}
	if err := copyFile(o.Kernel, filepath.Join(tmp, kernelName)); err != nil {
		return nil, fmt.Errorf("copying the kernel: %w", err)
	}
	mods, err := resolveModules(o.Modules, guestModules)
	if err != nil {
		return nil, err
	}
	if err := buildInitramfs(o.Agent, mods, filepath.Join(tmp, initramfsName)); err != nil {
		return nil, err
	}
	log.Info("microvm image: kernel and initramfs", "kernel", o.Kernel, "modules", len(mods))

	if err := os.Mkdir(filepath.Join(tmp, "toolchain"), 0o755); err != nil {
		return nil, err
	}
	for _, p := range o.Toolchain {
		fi, err := os.Lstat(p)
		if err != nil {
			return nil, fmt.Errorf("toolchain: %w", err)
		}
		if fi.Mode()&os.ModeSymlink != 0 {
			target, err := os.Readlink(p)
			if err != nil {
				return nil, err
			}
			m.Symlinks = append(m.Symlinks, guestproto.Symlink{Path: p, Target: target})
			continue
		}
		if !fi.IsDir() {
			return nil, fmt.Errorf("toolchain: %s is neither a directory nor a symlink", p)
		}
		size, listing, err := treeSummary(p)
		if err != nil {
			return nil, fmt.Errorf("toolchain: %w", err)
		}
		rel := filepath.Join("toolchain", fmt.Sprintf("%d.ext4", len(m.Toolchain)))
		img := filepath.Join(tmp, rel)
		// Sparse: only what mkfs writes takes disk space, so room to
		// spare costs nothing.
		if err := makeExt4(ctx, p, img, 2*size+256<<20, true); err != nil {
			return nil, fmt.Errorf("toolchain: %w", err)
		}
		left, err := removeUnreadable(ctx, p, img)
		if err != nil {
			return nil, fmt.Errorf("toolchain: %w", err)
		}
		log.Info("microvm image: toolchain device", "path", p, "bytes", size, "left_out_unreadable", left)
		m.Toolchain = append(m.Toolchain, ToolchainDevice{Path: p, Image: rel, Listing: listing})
	}
	if m.Fingerprint, err = fingerprint(tmp, &m); err != nil {
		return nil, err
	}
	b, err := json.MarshalIndent(&m, "", "  ")
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(tmp, manifestName), append(b, '\n'), 0o644); err != nil {
		return nil, err
	}
	// Swap the directories, so that a worker never loads half an image.
	old := tmp + ".old"
	if err := os.Rename(o.Dir, old); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	if err := os.Rename(tmp, o.Dir); err != nil {
		return nil, err
	}
	if err := os.RemoveAll(old); err != nil {
		return nil, err
	}
	return LoadImage(o.Dir)
}

// checkStatic refuses an agent that needs a dynamic loader: the initramfs
// has no libc.
func checkStatic(path string) error {
	f, err := elf.Open(path)
	if err != nil {
		return fmt.Errorf("guest agent: %w", err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return fmt.Errorf("guest agent %s is dynamically linked; build it with CGO_ENABLED=0", path)
		}
	}
	return nil
}

func checkToolchain(paths []string) error {
	if len(paths) == 0 {
		return errors.New("toolchain: no paths given")
	}
	seen := map[string]bool{}
	for _, p := range paths {
		if !filepath.IsAbs(p) || filepath.Clean(p) != p || p == "/" {
			return fmt.Errorf("toolchain: %q must be an absolute, clean path below /", p)
		}
		if seen[p] {
			return fmt.Errorf("toolchain: %s is listed twice", p)
		}
		seen[p] = true
	}
	return nil
}

func buildInitramfs(agentPath string, mods []kernelModule, dst string) error {
	init, err := os.ReadFile(agentPath)
	if err != nil {
		return fmt.Errorf("guest agent: %w", err)
	}
	files := []initramfsFile{{Name: strings.TrimPrefix("/init", "/"), Mode: 0o755, Data: init}}
	var order strings.Builder
	modDir := strings.TrimPrefix(filepath.Dir(agent.ModuleList), "/")
	for _, mod := range mods {
		data, err := os.ReadFile(mod.Path)
		if err != nil {
			return err
		}
		files = append(files, initramfsFile{Name: modDir + "/" + mod.Name + ".ko", Mode: 0o644, Data: data})
		order.WriteString(mod.Name + ".ko\n")
	}
	if len(mods) > 0 {
		files = append(files, initramfsFile{Name: strings.TrimPrefix(agent.ModuleList, "/"), Mode: 0o644, Data: []byte(order.String())})
	}
	var buf bytes.Buffer
	if err := writeInitramfs(&buf, files); err != nil {
		return err
	}
	return os.WriteFile(dst, buf.Bytes(), 0o644)
}

// fingerprint hashes the kernel, the initramfs and the manifest; toolchain
// devices count by the listing of the tree they were built from and the
// first and last MiB of the image (hashing gigabytes of toolchain would
// make every build slow).
func fingerprint(dir string, m *Manifest) (string, error) {
	h := sha256.New()
	for _, f := range []string{m.Kernel, m.Initramfs} {
		if err := hashFileInto(h, filepath.Join(dir, f), -1); err != nil {
			return "", err
		}
	}
	for _, t := range m.Toolchain {
		fmt.Fprintf(h, "%s\x00%s\x00%s\x00", t.Path, t.Image, t.Listing)
		if err := hashFileInto(h, filepath.Join(dir, t.Image), 1<<20); err != nil {
			return "", err
		}
	}
	links := append([]guestproto.Symlink(nil), m.Symlinks...)
	sort.Slice(links, func(i, j int) bool { return links[i].Path < links[j].Path })
	for _, l := range links {
		fmt.Fprintf(h, "%s\x00%s\x00", l.Path, l.Target)
	}
	return hex.EncodeToString(h.Sum(nil))[:24], nil
}

// hashFileInto hashes a file's size and content, or with edge >= 0 only its
// first and last edge bytes.
func hashFileInto(h io.Writer, path string, edge int64) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	fmt.Fprintf(h, "%d\x00", fi.Size())
	if edge < 0 || fi.Size() <= 2*edge {
		_, err = io.Copy(h, f)
		return err
	}
	if _, err := io.Copy(h, io.NewSectionReader(f, 0, edge)); err != nil {
		return err
	}
	_, err = io.Copy(h, io.NewSectionReader(f, fi.Size()-edge, edge))
	return err
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
