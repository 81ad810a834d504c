package config

import (
	"fmt"
	"slices"
	"strings"
)

// Role is one set of services a Kiln process can serve.
type Role string

// The roles, as `kiln serve --roles` and the roles key name them.
const (
	// RoleCAS serves the ContentAddressableStorage and ByteStream
	// services on the disk CAS.
	RoleCAS Role = "cas"
	// RoleActionCache serves the ActionCache service on the disk action
	// cache.
	RoleActionCache Role = "actioncache"
	// RoleScheduler serves Execution, Operations and the worker gateway.
	RoleScheduler Role = "scheduler"
)

// AllRoles returns every role, in the order they are listed to users.
func AllRoles() []Role { return []Role{RoleCAS, RoleActionCache, RoleScheduler} }

// ParseRoles reads a comma-separated list such as "cas,actioncache".
func ParseRoles(s string) ([]Role, error) {
	var roles []Role
	for _, name := range strings.Split(s, ",") {
		r := Role(strings.TrimSpace(name))
		if err := r.check(); err != nil {
			return nil, err
		}
		roles = append(roles, r)
	}
	return roles, nil
}

func (r Role) check() error {
	if slices.Contains(AllRoles(), r) {
		return nil
	}
	return fmt.Errorf("unknown role %q (roles are %s)", r, joinRoles(AllRoles()))
}

// Serves reports whether the roles include r.
func (c Config) Serves(r Role) bool { return slices.Contains(c.Roles, r) }

func joinRoles(roles []Role) string {
	s := make([]string, len(roles))
	for i, r := range roles {
		s[i] = string(r)
	}
	return strings.Join(s, ", ")
}

// RolesString lists the roles of c for people, e.g. "cas, actioncache".
func (c Config) RolesString() string { return joinRoles(c.Roles) }
