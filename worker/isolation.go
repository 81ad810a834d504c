package worker

import (
	"context"
	"fmt"
	"sort"
)

// IsolationProperty is the platform property by which an action chooses how
// it is isolated, e.g. `isolation=microvm`. Workers advertise every value
// they offer under this name, so the scheduler only sends an action to a
// worker that can isolate it as asked.
const IsolationProperty = "isolation"

// Isolations is a Runner that hands each command to the runner registered
// for the isolation its platform asks for, or to the default one when it
// asks for none.
type Isolations struct {
	runners map[string]Runner
	def     string
}

// NewIsolations returns a Runner choosing among runners by isolation name;
// def must be one of them.
func NewIsolations(runners map[string]Runner, def string) (*Isolations, error) {
	if _, ok := runners[def]; !ok {
		return nil, fmt.Errorf("default isolation %q has no runner", def)
	}
	return &Isolations{runners: runners, def: def}, nil
}

// Names lists the isolations offered, sorted: the values a worker
// advertises for IsolationProperty.
func (s *Isolations) Names() []string {
	names := make([]string, 0, len(s.runners))
	for n := range s.runners {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Default is the isolation of actions that ask for none.
func (s *Isolations) Default() string { return s.def }

// Run implements Runner.
func (s *Isolations) Run(ctx context.Context, cmd *Command) (*Result, error) {
	want := cmd.Platform[IsolationProperty]
	if len(want) > 1 {
		return nil, fmt.Errorf("%w: %s is given %d times (%v); name one isolation", ErrBadPlatform, IsolationProperty, len(want), want)
	}
	name := s.def
	if len(want) == 1 {
		name = want[0]
	}
	r, ok := s.runners[name]
	if !ok {
		return nil, fmt.Errorf("%w: %s=%s is not offered here (offered: %v)", ErrBadPlatform, IsolationProperty, name, s.Names())
	}
	return r.Run(ctx, cmd)
}
