package scheduler

import (
	"context"
	"errors"
	"fmt"
	"time"

	repb "github.com/bazelbuild/remote-apis/build/bazel/remote/execution/v2"

	"github.com/kilnbuild/kiln/internal/digest"
)

// preparedAction is an ExecuteRequest checked against the CAS: everything
// the scheduler needs to queue it.
type preparedAction struct {
	instance        string
	action          digest.Digest
	platform        Platform
	timeout         time.Duration
	priority        int32
	doNotCache      bool
	skipCacheLookup bool
}

// prepare resolves and validates an ExecuteRequest: the digest function,
// the Action and Command (canonical, timeout within bounds) and the input
// tree. Every missing blob is collected into one missingBlobsError, so
// that the client uploads them all before it retries.
func (s *Scheduler) prepare(ctx context.Context, req *repb.ExecuteRequest) (*preparedAction, error) {
	fn, err := digest.Resolve(req.GetDigestFunction(), req.GetActionDigest().GetHash())
	if err != nil {
		return nil, invalidf("action_digest: %v", err)
	}
	ad, err := digest.FromProto(fn, req.GetActionDigest())
	if err != nil {
		return nil, invalidf("action_digest: %v", err)
	}
	action := &repb.Action{}
	if err := readProto(ctx, s.opts.CAS, ad, action, "action"); err != nil {
		if errors.Is(err, errBlobMissing) {
			return nil, &missingBlobsError{digests: []digest.Digest{ad}}
		}
		return nil, err
	}
	timeout, err := actionTimeout(action, s.opts.DefaultTimeout, s.opts.MaxTimeout)
	if err != nil {
		return nil, err
	}
	actionPlatform, err := platformFromProto(action.GetPlatform(), "action platform")
	if err != nil {
		return nil, err
	}
	cd, err := digest.FromProto(fn, action.GetCommandDigest())
	if err != nil {
		return nil, invalidf("action %s command_digest: %v", ad, err)
	}
	rd, err := digest.FromProto(fn, action.GetInputRootDigest())
	if err != nil {
		return nil, invalidf("action %s input_root_digest: %v", ad, err)
	}

	var missing []digest.Digest
	command := &repb.Command{}
	switch err := readProto(ctx, s.opts.CAS, cd, command, "command"); {
	case errors.Is(err, errBlobMissing):
		missing = append(missing, cd)
		command = nil
	case err != nil:
		return nil, err
	default:
		if err := validateCommand(command); err != nil {
			return nil, fmt.Errorf("command %s: %w", cd, err)
		}
	}
	inputs, err := missingInputs(ctx, s.opts.CAS, rd)
	if err != nil {
		return nil, err
	}
	missing = append(missing, inputs...)
	if len(missing) > 0 {
		return nil, &missingBlobsError{digests: missing}
	}

	// REAPI v2.2 moved the platform to the Action, where it is part of
	// the cache key; the Command's is only for older clients.
	platform := actionPlatform
	if len(platform) == 0 {
		platform, _ = platformFromProto(command.GetPlatform(), "command platform") // validated above
	}
	return &preparedAction{
		instance:        req.GetInstanceName(),
		action:          ad,
		platform:        platform,
		timeout:         timeout,
		priority:        req.GetExecutionPolicy().GetPriority(),
		doNotCache:      action.GetDoNotCache(),
		skipCacheLookup: req.GetSkipCacheLookup(),
	}, nil
}

// dedupKey identifies identical actions: same instance, function and
// action digest (the digest covers command, inputs, platform and timeout).
func dedupKey(instance string, d digest.Digest) string {
	return fmt.Sprintf("%s\x00%s\x00%s", instance, digest.FunctionName(d.Function), d)
}

// newOperation builds the operation for p, and says how it may merge with
// in-flight work (checklist items 30–32).
func (s *Scheduler) newOperation(p *preparedAction, now time.Time) (Operation, JoinPolicy) {
	id := newID()
	op := Operation{
		ID:         id,
		Name:       operationName(p.instance, id),
		Instance:   p.instance,
		Action:     p.action,
		DedupKey:   dedupKey(p.instance, p.action),
		Platform:   p.platform,
		QueueKey:   PlatformKey(p.platform),
		Priority:   p.priority,
		Timeout:    p.timeout,
		DoNotCache: p.doNotCache,
		CreatedAt:  now,
		Stage:      repb.ExecutionStage_CACHE_CHECK,
	}
	join := JoinAny
	if p.skipCacheLookup {
		join = JoinStarted
	}
	if p.doNotCache {
		// Never merged, in either direction: the client wants its own
		// run, and a result that may not be cached is not looked up.
		join = JoinNone
	}
	if join != JoinAny || s.opts.ActionCache == nil {
		op.Stage = repb.ExecutionStage_QUEUED
		op.QueuedAt, op.EnqueuedAt = now, now
	}
	return op, join
}
