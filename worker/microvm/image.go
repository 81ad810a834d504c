package microvm

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/kilnbuild/kiln/worker/microvm/guestproto"
)

// Files of a guest image directory, as `kiln microvm image` writes them.
const (
	manifestName  = "manifest.json"
	kernelName    = "vmlinuz"
	initramfsName = "initramfs.cpio"
)

// ErrNoImage is wrapped by LoadImage's error when the directory holds no
// complete guest image: the worker then does not offer microVMs.
var ErrNoImage = errors.New("no microVM guest image")

// Image is a built guest: kernel, initramfs with the agent as /init, and
// the read-only toolchain devices.
type Image struct {
	Dir      string
	Manifest Manifest
}

// Manifest describes an image directory. Paths in it are relative to the
// directory.
type Manifest struct {
	Kernel    string `json:"kernel"`
	Initramfs string `json:"initramfs"`
	// KernelRelease is the version of the kernel and its modules.
	KernelRelease string `json:"kernel_release"`
	// Toolchain lists the read-only devices, each mounted at the host
	// path it was built from.
	Toolchain []ToolchainDevice `json:"toolchain"`
	// Symlinks are toolchain entries that were symlinks on the host
	// (/bin -> usr/bin on a merged-/usr system).
	Symlinks []guestproto.Symlink `json:"symlinks,omitempty"`
	// Fingerprint changes whenever any file of the image does; snapshots
	// are only restored into the image they were taken with.
	Fingerprint string `json:"fingerprint"`
}

// ToolchainDevice is one ext4 image of a host directory.
type ToolchainDevice struct {
	Path  string `json:"path"`
	Image string `json:"image"`
	// Listing digests the host tree's names, modes, sizes and times.
	Listing string `json:"listing"`
}

// LoadImage reads the guest image in dir and checks that its files exist.
func LoadImage(dir string) (*Image, error) {
	b, err := os.ReadFile(filepath.Join(dir, manifestName))
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("%w in %s (build one with `kiln microvm image`)", ErrNoImage, dir)
		}
		return nil, err
	}
	img := &Image{Dir: dir}
	if err := json.Unmarshal(b, &img.Manifest); err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, manifestName), err)
	}
	files := []string{img.Manifest.Kernel, img.Manifest.Initramfs}
	for _, t := range img.Manifest.Toolchain {
		files = append(files, t.Image)
	}
	for _, f := range files {
		if f == "" || filepath.IsAbs(f) || !filepath.IsLocal(f) {
			return nil, fmt.Errorf("%w in %s: manifest names %q, not a file of the directory", ErrNoImage, dir, f)
		}
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			return nil, fmt.Errorf("%w in %s: %w", ErrNoImage, dir, err)
		}
	}
	return img, nil
}

func (img *Image) path(rel string) string { return filepath.Join(img.Dir, rel) }

// toolchainSerial names the n-th toolchain device for the agent.
func toolchainSerial(n int) string { return fmt.Sprintf("kiln-tc%d", n) }

// setup is what the agent prepares from this image before any action.
func (img *Image) setup() *guestproto.Setup {
	s := &guestproto.Setup{Symlinks: img.Manifest.Symlinks}
	for i, t := range img.Manifest.Toolchain {
		s.Mounts = append(s.Mounts, guestproto.Mount{Serial: toolchainSerial(i), Path: t.Path, FSType: "ext4"})
	}
	return s
}

// toolchainDrives are the image's read-only devices, in setup's order.
func (img *Image) toolchainDrives() []Drive {
	var ds []Drive
	for i, t := range img.Manifest.Toolchain {
		ds = append(ds, Drive{Serial: toolchainSerial(i), Path: img.path(t.Image), ReadOnly: true})
	}
	return ds
}
