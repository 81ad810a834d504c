package redisstate

import (
	"embed"
	"fmt"

	repb "github.com/bazelbuild/remote-apis/build/bazel/remote/execution/v2"
	"github.com/redis/go-redis/v9"
)

//go:embed lua/*.lua
var luaFiles embed.FS

// scripts are the Lua scripts of a State, one per atomic change.
type scripts struct {
	create, commit, claim, renewLease, expiredLeases, deleteCompleted *redis.Script
	appendOutput, readOutput                                          *redis.Script
	touchWorker, liveWorkers, forgetWorkers, stats                    *redis.Script
}

func loadScripts() scripts {
	return scripts{
		create:          script("create.lua", true),
		commit:          script("commit.lua", true),
		claim:           script("claim.lua", true),
		renewLease:      script("renew_lease.lua", false),
		expiredLeases:   script("expired_leases.lua", false),
		deleteCompleted: script("delete_completed.lua", false),
		appendOutput:    script("append_output.lua", false),
		readOutput:      script("read_output.lua", false),
		touchWorker:     script("touch_worker.lua", false),
		liveWorkers:     script("live_workers.lua", false),
		forgetWorkers:   script("forget_workers.lua", false),
		stats:           script("stats.lua", false),
	}
}

// script builds a script from its file, after the stage constants every
// script compares with and, for scripts that change operations, the index
// helpers. Stages are stored as their enum numbers in decimal.
func script(name string, withIndex bool) *redis.Script {
	src := fmt.Sprintf("local CACHE_CHECK, QUEUED, EXECUTING, COMPLETED = '%d', '%d', '%d', '%d'\n",
		repb.ExecutionStage_CACHE_CHECK, repb.ExecutionStage_QUEUED,
		repb.ExecutionStage_EXECUTING, repb.ExecutionStage_COMPLETED)
	if withIndex {
		src += mustRead("index.lua")
	}
	return redis.NewScript(src + mustRead(name))
}

func mustRead(name string) string {
	b, err := luaFiles.ReadFile("lua/" + name)
	if err != nil {
		panic(fmt.Sprintf("redisstate: embedded script %s: %v", name, err)) // a build mistake
	}
	return string(b)
}
