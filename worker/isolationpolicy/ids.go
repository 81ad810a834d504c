package isolationpolicy

import "fmt"

// DefaultID is the uid and gid actions run as when the worker's
// configuration names none: nobody and nogroup.
const DefaultID = 65534

// DefaultPids bounds the processes and threads of an action when the
// worker's configuration does not.
const DefaultPids = 4096

// IDs returns the uid and gid actions run as: 0 means DefaultID (root is
// never used); a negative id is an error.
func IDs(uid, gid int) (int, int, error) {
	if uid == 0 {
		uid = DefaultID
	}
	if gid == 0 {
		gid = DefaultID
	}
	if uid < 0 || gid < 0 {
		return 0, 0, fmt.Errorf("uid %d / gid %d: ids must be positive", uid, gid)
	}
	return uid, gid, nil
}
