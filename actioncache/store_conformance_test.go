package actioncache

// The Store contract (store.go), checked on every backend of backends().
// Results here refer to no blobs, so a GRPCStore's remote service, which
// checks references, stores them as they are.

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	repb "github.com/bazelbuild/remote-apis/build/bazel/remote/execution/v2"
	"google.golang.org/protobuf/proto"

	"github.com/kilnbuild/kiln/cas"
)

// openStore returns an empty store of backend b, over an empty CAS.
func openStore(t *testing.T, b backend) Store {
	t.Helper()
	s, _ := b.open(t, cas.NewMemoryStore())
	return s
}

// plainResult is a distinguishable result without blob references; pad
// makes its encoding larger.
func plainResult(name string, pad int) *repb.ActionResult {
	return &repb.ActionResult{
		ExitCode:          int32(len(name)),
		ExecutionMetadata: &repb.ExecutedActionMetadata{Worker: name + strings.Repeat("w", pad)},
	}
}

func TestStoreContract_MissIsErrNotFound(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		s := openStore(t, b)
		if _, err := s.Get(context.Background(), actionKey("", "nothing")); !errors.Is(err, ErrNotFound) {
			t.Errorf("Get of an empty store = %v, want ErrNotFound", err)
		}
	})
}

func TestStoreContract_RoundTripsAndOverwrites(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		s := openStore(t, b)
		k := actionKey("team/a", "build")
		first, second := plainResult("first", 10), plainResult("second", 20)
		mustPut(t, s, k, first)
		if got := mustGet(t, s, k); !proto.Equal(got, first) {
			t.Errorf("Get = %v, want %v", got, first)
		}
		mustPut(t, s, k, second)
		if got := mustGet(t, s, k); !proto.Equal(got, second) {
			t.Errorf("Get after overwrite = %v, want %v", got, second)
		}
	})
}

func TestStoreContract_PartitionsByInstanceFunctionAndSize(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		s := openStore(t, b)
		k := actionKey("a", "x")
		mustPut(t, s, k, plainResult("a", 0))
		blake := k
		blake.Action.Function = repb.DigestFunction_BLAKE3
		bigger := k
		bigger.Action.Size++
		for _, other := range []Key{
			{Instance: "b", Action: k.Action},
			{Instance: "", Action: k.Action},
			{Instance: "a/..", Action: k.Action},
			{Instance: "a:sha256", Action: k.Action},
			blake,
			bigger,
		} {
			if _, err := s.Get(context.Background(), other); !errors.Is(err, ErrNotFound) {
				t.Errorf("Get(%+v) = %v, want ErrNotFound: entries leak across keys", other, err)
			}
		}
		mustGet(t, s, k)
	})
}

func TestStoreContract_CallerOwnsResults(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		s := openStore(t, b)
		k := actionKey("", "owned")
		r := plainResult("owned", 0)
		mustPut(t, s, k, r)
		r.ExitCode = 99
		got := mustGet(t, s, k)
		got.ExitCode = 98
		if again := mustGet(t, s, k); !proto.Equal(again, plainResult("owned", 0)) {
			t.Errorf("stored entry changed through a caller's pointer: %v", again)
		}
	})
}

func TestStoreContract_RefusesNilResult(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		s := openStore(t, b)
		k := actionKey("", "nil")
		if err := s.Put(context.Background(), k, nil); err == nil {
			t.Error("Put of a nil result succeeded")
		}
		if _, err := s.Get(context.Background(), k); !errors.Is(err, ErrNotFound) {
			t.Errorf("Get after a refused Put = %v, want ErrNotFound", err)
		}
	})
}

func TestStoreContract_ConcurrentPutsLeaveAWholeEntry(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		s := openStore(t, b)
		k := actionKey("", "contended")
		candidates := map[int32]*repb.ActionResult{}
		for i := range 8 {
			// Distinct exit codes and sizes, so that a torn or mixed
			// entry matches no candidate.
			r := plainResult(fmt.Sprintf("writer-%d%s", i, strings.Repeat("x", i)), 1000*i)
			candidates[r.ExitCode] = r
		}
		var wg sync.WaitGroup
		for _, r := range candidates {
			wg.Go(func() {
				for range 20 {
					if err := s.Put(context.Background(), k, r); err != nil {
						t.Error(err)
						return
					}
					got, err := s.Get(context.Background(), k)
					if err != nil {
						t.Error(err)
						return
					}
					if want, ok := candidates[got.ExitCode]; !ok || !proto.Equal(got, want) {
						t.Errorf("read a result no writer wrote: exit code %d", got.ExitCode)
						return
					}
				}
			})
		}
		wg.Wait()
	})
}
