package microvm

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
)

// DefaultKernelDir is where scripts/microvm-deps.sh unpacks Debian's cloud
// kernel package.
const DefaultKernelDir = "/var/cache/kiln/microvm-kernel"

// FindKernel finds the kernel and its modules in an unpacked kernel
// package (boot/vmlinuz-RELEASE, lib/modules/RELEASE); the newest release
// when there are several.
func FindKernel(dir string) (kernel, modules string, err error) {
	kernels, _ := filepath.Glob(filepath.Join(dir, "boot", "vmlinuz-*"))
	if len(kernels) == 0 {
		return "", "", fmt.Errorf("no boot/vmlinuz-* in %s (run scripts/microvm-deps.sh, or name a kernel)", dir)
	}
	sort.Strings(kernels)
	kernel = kernels[len(kernels)-1]
	release := filepath.Base(kernel)[len("vmlinuz-"):]
	modules = filepath.Join(dir, "lib", "modules", release)
	if _, err := os.Stat(modules); err != nil {
		// A kernel with everything built in has no modules.
		modules = ""
	}
	return kernel, modules, nil
}
