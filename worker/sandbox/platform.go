package sandbox

import (
	"github.com/kilnbuild/kiln/worker/isolationpolicy"

	"github.com/kilnbuild/kiln/internal/config"
	"github.com/kilnbuild/kiln/worker"
	"github.com/kilnbuild/kiln/worker/cgroup"
)

// NetworkProperty (isolationpolicy.NetworkProperty) is the platform
// property by which an action asks for the host's network: `network=on`.
// `network=off`, the default, leaves it a loopback interface of its own.
const (
	NetworkProperty = isolationpolicy.NetworkProperty
	NetworkOn       = isolationpolicy.NetworkOn
	NetworkOff      = isolationpolicy.NetworkOff
)

// AnyValue offered as a property's value tells the scheduler that the
// worker takes the property with any value and judges it itself
// (scheduler.AnyValue): limits are offered this way.
const AnyValue = "*"

// Platform is what this runner offers besides isolation=sandbox:
// network=on when allowed, and the limits it enforces, with any value.
func (r *Runner) Platform() config.Platform {
	p := config.Platform{{Name: cgroup.PidsProperty, Value: AnyValue}}
	if r.cgroups {
		p = append(p, config.PlatformProperty{Name: cgroup.MemoryProperty, Value: AnyValue},
			config.PlatformProperty{Name: cgroup.CPUProperty, Value: AnyValue})
	}
	if r.opts.AllowNetwork {
		p = append(p, config.PlatformProperty{Name: NetworkProperty, Value: NetworkOn})
	}
	return p
}

// requestOf reads p; what the sandbox cannot or will not give is an
// error wrapping worker.ErrBadPlatform.
func (r *Runner) requestOf(p worker.Platform) (isolationpolicy.Request, error) {
	return isolationpolicy.ParseRequest(p, isolationpolicy.RequestPolicy{
		Actions:       "actions",
		AllowNetwork:  r.opts.AllowNetwork,
		DefaultLimits: r.opts.DefaultLimits,
		MaxLimits:     r.opts.MaxLimits,
		Cgroups:       r.cgroups,
		// RLIMIT_NPROC bounds the process count without cgroups.
		HeldWithoutCgroups: []string{cgroup.PidsProperty},
	})
}
