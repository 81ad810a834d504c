package config

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// ParseGRPCAddress turns an endpoint as users write it, grpc://HOST:PORT
// (or a bare HOST:PORT), into the HOST:PORT to dial. TLS endpoints
// (grpcs://) are refused until Kiln speaks TLS, rather than dialled in
// plain text.
func ParseGRPCAddress(s string) (string, error) {
	rest := s
	if scheme, after, ok := strings.Cut(s, "://"); ok {
		switch scheme {
		case "grpc":
			rest = after
		case "grpcs":
			return "", fmt.Errorf("%q: TLS endpoints (grpcs://) are not supported yet; use grpc://", s)
		default:
			return "", fmt.Errorf("%q: unknown scheme %q; use grpc://HOST:PORT", s, scheme)
		}
	}
	rest = strings.TrimSuffix(rest, "/")
	if strings.Contains(rest, "/") {
		return "", fmt.Errorf("%q has a path; give only grpc://HOST:PORT", s)
	}
	if err := checkHostPort(rest); err != nil {
		return "", fmt.Errorf("%q is not grpc://HOST:PORT: %w", s, err)
	}
	if strings.HasPrefix(rest, ":") {
		return "", errors.New(strconv.Quote(s) + " has no host to dial")
	}
	return rest, nil
}
