package microvm

import (
	"bytes"
	"debug/elf"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// guestModules are the drivers the agent needs: the virtio-mmio transport
// of QEMU's microvm machine and virtio block devices. Distribution kernels
// build them as modules.
var guestModules = []string{"virtio_mmio", "virtio_blk"}

// kernelModule is one module file to put into the initramfs.
type kernelModule struct {
	Name string
	Path string
}

// resolveModules finds names and their dependencies under modulesDir
// (lib/modules/RELEASE), in load order. Modules the kernel has built in
// (modules.builtin) are skipped; modulesDir may be "" when all are.
func resolveModules(modulesDir string, names []string) ([]kernelModule, error) {
	builtin := map[string]bool{}
	files := map[string]string{}
	if modulesDir != "" {
		if b, err := os.ReadFile(filepath.Join(modulesDir, "modules.builtin")); err == nil {
			for _, line := range strings.Fields(string(b)) {
				builtin[moduleName(line)] = true
			}
		}
		err := filepath.WalkDir(modulesDir, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if !d.IsDir() && strings.HasSuffix(p, ".ko") {
				files[moduleName(p)] = p
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("listing kernel modules: %w", err)
		}
	}
	var order []kernelModule
	state := map[string]int{} // 1: visiting, 2: done
	var visit func(name string) error
	visit = func(name string) error {
		name = strings.ReplaceAll(name, "-", "_")
		switch {
		case state[name] == 2 || builtin[name]:
			return nil
		case state[name] == 1:
			return fmt.Errorf("kernel module %s depends on itself", name)
		}
		state[name] = 1
		p, ok := files[name]
		if !ok {
			return fmt.Errorf("kernel module %s is neither built in nor under %q", name, modulesDir)
		}
		deps, err := moduleDepends(p)
		if err != nil {
			return err
		}
		for _, d := range deps {
			if err := visit(d); err != nil {
				return err
			}
		}
		state[name] = 2
		order = append(order, kernelModule{Name: name, Path: p})
		return nil
	}
	for _, n := range names {
		if err := visit(n); err != nil {
			return nil, err
		}
	}
	return order, nil
}

// moduleName is the name of a module file: kernel/drivers/virtio/virtio-mmio.ko → virtio_mmio.
func moduleName(p string) string {
	base := filepath.Base(p)
	if i := strings.Index(base, ".ko"); i >= 0 {
		base = base[:i]
	}
	return strings.ReplaceAll(base, "-", "_")
}

// moduleDepends reads the "depends=" entry of a module's .modinfo section.
func moduleDepends(path string) ([]string, error) {
	f, err := elf.Open(path)
	if err != nil {
		return nil, fmt.Errorf("kernel module %s: %w", path, err)
	}
	defer f.Close()
	sec := f.Section(".modinfo")
	if sec == nil {
		return nil, nil
	}
	data, err := sec.Data()
	if err != nil {
		return nil, fmt.Errorf("kernel module %s: %w", path, err)
	}
	for _, kv := range bytes.Split(data, []byte{0}) {
		if v, ok := bytes.CutPrefix(kv, []byte("depends=")); ok {
			if len(v) == 0 {
				return nil, nil
			}
			return strings.Split(string(v), ","), nil
		}
	}
	return nil, nil
}
