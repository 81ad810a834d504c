package bazeltest

// RemoteExecutionOnly are the flags that make Bazel 4.2.3 run every spawn
// it can remotely and nothing locally, so that a build proves the executor
// works rather than falling back. The test adds --remote_executor.
//
//   - --spawn_strategy=remote is the default strategy of every mnemonic
//     (genrules, compiles, links, tests and Starlark actions alike); no
//     --strategy or --genrule_strategy overrides it, since none is set.
//   - --remote_local_fallback=false: a failed remote spawn fails the build
//     instead of quietly running locally (the default, stated for clarity).
//   - --incompatible_strict_action_env: actions get a fixed PATH instead of
//     the test's own environment, so their digests do not depend on who
//     runs Bazel, and a clean rebuild hits the cache.
//
// Spawns that Bazel never sends anywhere (writing files, symlink trees)
// still show as "internal" in the summary.
func RemoteExecutionOnly() []string {
	return []string{
		"--spawn_strategy=remote",
		"--remote_local_fallback=false",
		"--incompatible_strict_action_env",
	}
}
