package microvm

import (
	"os"
	"testing"
)

func TestResolveModulesOrdersDependenciesFirst(t *testing.T) {
	dir := os.Getenv("KILN_MICROVM_KERNEL_DIR")
	if dir == "" {
		dir = DefaultKernelDir
	}
	_, modules, err := FindKernel(dir)
	if err != nil || modules == "" {
		if os.Getenv("KILN_REQUIRE_MICROVM") == "1" {
			t.Fatalf("no kernel package with modules in %s: %v", dir, err)
		}
		t.Skipf("no kernel package with modules in %s (scripts/microvm-deps.sh): %v", dir, err)
	}
	mods, err := resolveModules(modules, guestModules)
	if err != nil {
		t.Fatal(err)
	}
	pos := map[string]int{}
	for i, m := range mods {
		if _, dup := pos[m.Name]; dup {
			t.Errorf("%s listed twice", m.Name)
		}
		pos[m.Name] = i
	}
	for _, m := range mods {
		deps, err := moduleDepends(m.Path)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range deps {
			if p, ok := pos[d]; ok && p > pos[m.Name] {
				t.Errorf("%s comes before its dependency %s: %v", m.Name, d, mods)
			}
		}
	}
	for _, want := range guestModules {
		if _, ok := pos[want]; !ok {
			t.Errorf("%s missing from %v", want, mods)
		}
	}
	if _, err := resolveModules(modules, []string{"no_such_module"}); err == nil {
		t.Error("a missing module resolved")
	}
}
