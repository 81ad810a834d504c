package scheduler_test

import (
	"testing"

	"github.com/kilnbuild/kiln/scheduler"
	"github.com/kilnbuild/kiln/scheduler/statetest"
)

func TestMemoryStateConformance(t *testing.T) {
	const limit = 4096
	statetest.Run(t, statetest.Config{
		New:         func(*testing.T) scheduler.State { return scheduler.NewMemoryStateWithOutputLimit(limit) },
		OutputLimit: limit,
	})
}
