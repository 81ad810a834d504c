package worker

import "errors"

// ErrLimitExceeded is wrapped by the error a Runner returns together with
// a Result when the command was killed for going past a resource limit
// (its memory limit): the message says which. The action then fails with
// RESOURCE_EXHAUSTED and its logs, as a timed-out one fails with
// DEADLINE_EXCEEDED.
var ErrLimitExceeded = errors.New("the action exceeded a resource limit")
