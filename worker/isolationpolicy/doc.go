// Package isolationpolicy owns the policy the isolating runners
// (worker/sandbox, and worker/gvisor as an alternative) share: which
// host paths an action sees read-only, the ids and process count it gets
// by default, where its input root may be, how its platform asks for the
// network and for limits, and how its input root is given to its user.
package isolationpolicy
