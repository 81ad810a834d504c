package sandbox

import (
	"fmt"

	"github.com/kilnbuild/kiln/internal/config"
	"github.com/kilnbuild/kiln/worker"
	"github.com/kilnbuild/kiln/worker/cgroup"
)

// NetworkProperty is the platform property by which an action asks for
// the host's network: `network=on`. `network=off`, the default, leaves it
// a loopback interface of its own.
const NetworkProperty = "network"

// Values of NetworkProperty.
const (
	NetworkOn  = "on"
	NetworkOff = "off"
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

// request is what an action's platform asks of the sandbox.
type request struct {
	network bool
	limits  cgroup.Limits
}

// requestOf reads p; what the sandbox cannot or will not give is an
// error wrapping worker.ErrBadPlatform.
func (r *Runner) requestOf(p worker.Platform) (request, error) {
	var req request
	switch v := p[NetworkProperty]; {
	case len(v) == 0:
	case len(v) > 1:
		return request{}, fmt.Errorf("%w: %s is given %d times (%v); give it once", worker.ErrBadPlatform, NetworkProperty, len(v), v)
	case v[0] == NetworkOff:
	case v[0] == NetworkOn:
		if !r.opts.AllowNetwork {
			return request{}, fmt.Errorf("%w: %s=%s: this worker does not give actions network access (worker.sandbox.allow_network is off)", worker.ErrBadPlatform, NetworkProperty, NetworkOn)
		}
		req.network = true
	default:
		return request{}, fmt.Errorf("%w: %s=%q: the value must be %s or %s", worker.ErrBadPlatform, NetworkProperty, v[0], NetworkOn, NetworkOff)
	}

	limits, err := cgroup.LimitsFromPlatform(p, r.opts.DefaultLimits, r.opts.MaxLimits)
	if err != nil {
		return request{}, fmt.Errorf("%w: %w", worker.ErrBadPlatform, err)
	}
	if !r.cgroups {
		// Only the process count holds without cgroups; an action that
		// asks for more must not believe it has it.
		for _, name := range []string{cgroup.MemoryProperty, cgroup.CPUProperty} {
			if len(p[name]) > 0 {
				return request{}, fmt.Errorf("%w: %s=%s: this worker cannot enforce memory or CPU limits (no usable cgroups)", worker.ErrBadPlatform, name, p[name][0])
			}
		}
	}
	req.limits = limits
	return req, nil
}
