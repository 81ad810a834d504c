package gvisor

import (
	"github.com/kilnbuild/kiln/worker/isolationpolicy"

	"github.com/kilnbuild/kiln/worker"
)

// NetworkProperty (isolationpolicy.NetworkProperty) is the platform
// property by which an action asks for the host's network: `network=on`.
// `network=off`, the default, gives it none (only gVisor's own loopback).
const (
	NetworkProperty = isolationpolicy.NetworkProperty
	NetworkOn       = isolationpolicy.NetworkOn
	NetworkOff      = isolationpolicy.NetworkOff
)

// requestOf reads p; what the runner cannot or will not give is an error
// wrapping worker.ErrBadPlatform.
func (r *Runner) requestOf(p worker.Platform) (isolationpolicy.Request, error) {
	return isolationpolicy.ParseRequest(p, isolationpolicy.RequestPolicy{
		Actions:       "gVisor actions",
		AllowNetwork:  r.opts.AllowNetwork,
		DefaultLimits: r.opts.DefaultLimits,
		MaxLimits:     r.opts.MaxLimits,
		// Without cgroups no limit holds, not even the process count.
		Cgroups: r.cgroups,
	})
}
