package sandbox

import (
	"sync"
)

// pool keeps sandboxes prepared before actions come, so that an action
// pays for binding its input root and starting its command, not for new
// namespaces, a new init and the toolchain mounts (see docs/bench.md).
// Only sandboxes without network are kept: network=on is rare.
type pool struct {
	r    *Runner
	size int

	mu       sync.Mutex
	idle     []*sandboxProc
	starting int
	closed   bool
}

// get returns a pooled sandbox (maybe still being prepared), or nil when
// none is left. Call fill once the action is done: preparing the next
// sandbox while the action starts would take CPU from it.
func (p *pool) get() *sandboxProc {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := len(p.idle)
	if n == 0 {
		return nil
	}
	sp := p.idle[n-1]
	p.idle = p.idle[:n-1]
	return sp
}

// fill starts sandboxes until size are idle or starting.
func (p *pool) fill() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for !p.closed && len(p.idle)+p.starting < p.size {
		p.starting++
		go p.add()
	}
}

func (p *pool) add() {
	sp, err := p.r.startSandbox(false)
	if err == nil && p.r.cgroups {
		p.prepareGroup(sp)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.starting--
	switch {
	case err != nil:
		// The next action starts its own and says why it fails.
		p.r.opts.Logger.Warn("sandbox: preparing a sandbox ahead", "err", err)
	case p.closed:
		go sp.discard()
	default:
		p.idle = append(p.idle, sp)
	}
}

// prepareGroup puts a ready sandbox in a cgroup with the default limits:
// creating a cgroup and moving a process into it take writes in every
// hierarchy, and with cgroup v1 a move waits for an RCU grace period,
// milliseconds better spent before an action comes. The init joins once
// ready, so that its own start is not charged to the action. A failure
// leaves the sandbox without, and the action then makes its own.
func (p *pool) prepareGroup(sp *sandboxProc) {
	if sp.awaitReady() != nil {
		return // the action that takes it will see
	}
	group, err := p.r.newGroup(p.r.defaultLimits)
	if err == nil {
		if err = group.Add(sp.cmd.Process.Pid); err != nil {
			_ = group.Destroy()
		}
	}
	if err != nil {
		p.r.opts.Logger.Warn("sandbox: preparing a cgroup ahead", "err", err)
		return
	}
	sp.group = group
}

// close ends the idle sandboxes; later gets return nil.
func (p *pool) close() {
	p.mu.Lock()
	idle := p.idle
	p.idle, p.closed = nil, true
	p.mu.Unlock()
	for _, sp := range idle {
		sp.discard()
	}
}
