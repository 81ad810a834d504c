package isolationpolicy

import (
	"fmt"
	"slices"

	"github.com/kilnbuild/kiln/worker"
	"github.com/kilnbuild/kiln/worker/cgroup"
)

// NetworkProperty is the platform property by which an action asks for
// the host's network: `network=on`. `network=off`, the default, leaves it
// only a loopback interface of its own.
const NetworkProperty = "network"

// Values of NetworkProperty.
const (
	NetworkOn  = "on"
	NetworkOff = "off"
)

// Request is what an action's platform asks of an isolating runner.
type Request struct {
	Network bool
	Limits  cgroup.Limits
}

// RequestPolicy is what a runner gives actions.
type RequestPolicy struct {
	// Actions is what refusals call the runner's actions: "actions",
	// "gVisor actions".
	Actions string
	// AllowNetwork lets actions have network=on.
	AllowNetwork bool
	// DefaultLimits and MaxLimits are as in cgroup.LimitsFromPlatform.
	DefaultLimits, MaxLimits cgroup.Limits
	// Cgroups says the runner gives each action a cgroup, which
	// enforces all limits. Without, only the limit properties in
	// HeldWithoutCgroups hold: an action that asks for another must not
	// believe it has it, and is refused.
	Cgroups            bool
	HeldWithoutCgroups []string
}

// limitProperties are the properties of cgroup.LimitsFromPlatform.
var limitProperties = []string{cgroup.MemoryProperty, cgroup.CPUProperty, cgroup.PidsProperty}

// ParseRequest reads p; what the runner cannot or will not give is an
// error wrapping worker.ErrBadPlatform.
func ParseRequest(p worker.Platform, pol RequestPolicy) (Request, error) {
	var req Request
	switch v := p[NetworkProperty]; {
	case len(v) == 0:
	case len(v) > 1:
		return Request{}, fmt.Errorf("%w: %s is given %d times (%v); give it once", worker.ErrBadPlatform, NetworkProperty, len(v), v)
	case v[0] == NetworkOff:
	case v[0] == NetworkOn:
		if !pol.AllowNetwork {
			return Request{}, fmt.Errorf("%w: %s=%s: this worker does not give %s network access (worker.sandbox.allow_network is off)", worker.ErrBadPlatform, NetworkProperty, NetworkOn, pol.Actions)
		}
		req.Network = true
	default:
		return Request{}, fmt.Errorf("%w: %s=%q: the value must be %s or %s", worker.ErrBadPlatform, NetworkProperty, v[0], NetworkOn, NetworkOff)
	}
	limits, err := cgroup.LimitsFromPlatform(p, pol.DefaultLimits, pol.MaxLimits)
	if err != nil {
		return Request{}, fmt.Errorf("%w: %w", worker.ErrBadPlatform, err)
	}
	for _, name := range limitProperties {
		if !pol.Cgroups && !slices.Contains(pol.HeldWithoutCgroups, name) && len(p[name]) > 0 {
			return Request{}, fmt.Errorf("%w: %s=%s: this worker cannot enforce this limit on %s (no usable cgroups)", worker.ErrBadPlatform, name, p[name][0], pol.Actions)
		}
	}
	req.Limits = limits
	return req, nil
}
