package scheduler

import (
	"fmt"
	"net/url"
	"strings"

	repb "github.com/bazelbuild/remote-apis/build/bazel/remote/execution/v2"
)

// Property is one platform property.
type Property struct {
	Name  string
	Value string
}

func (p Property) String() string { return p.Name + "=" + p.Value }

// Platform is what an action asks of a worker: properties sorted by name,
// then value, without duplicates.
type Platform []Property

// platformFromProto checks that p is canonical (REAPI wants properties
// sorted by name, then value) and converts it. what names the field for
// error messages.
func platformFromProto(p *repb.Platform, what string) (Platform, error) {
	props := p.GetProperties()
	out := make(Platform, 0, len(props))
	for i, prop := range props {
		if prop.GetName() == "" {
			return nil, invalidf("%s: property %d has an empty name", what, i)
		}
		cur := Property{Name: prop.GetName(), Value: prop.GetValue()}
		if i > 0 {
			prev := out[i-1]
			if cur.Name < prev.Name || cur.Name == prev.Name && cur.Value < prev.Value {
				return nil, invalidf("%s: properties must be sorted by name, then value: %s comes after %s", what, cur, prev)
			}
			if cur == prev {
				return nil, invalidf("%s: property %s appears twice", what, cur)
			}
		}
		out = append(out, cur)
	}
	return out, nil
}

// PlatformKey names the queue of actions that ask for p. It is readable
// (it labels metrics) and ParsePlatformKey reverses it.
func PlatformKey(p Platform) string {
	var b strings.Builder
	for i, prop := range p {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(url.QueryEscape(prop.Name))
		b.WriteByte('=')
		b.WriteString(url.QueryEscape(prop.Value))
	}
	return b.String()
}

// ParsePlatformKey returns the platform a PlatformKey was made of.
func ParsePlatformKey(key string) (Platform, error) {
	if key == "" {
		return Platform{}, nil
	}
	parts := strings.Split(key, "&")
	p := make(Platform, 0, len(parts))
	for _, part := range parts {
		n, v, ok := strings.Cut(part, "=")
		if !ok {
			return nil, fmt.Errorf("platform key %q: %q has no '='", key, part)
		}
		name, err := url.QueryUnescape(n)
		if err != nil {
			return nil, fmt.Errorf("platform key %q: %w", key, err)
		}
		value, err := url.QueryUnescape(v)
		if err != nil {
			return nil, fmt.Errorf("platform key %q: %w", key, err)
		}
		p = append(p, Property{Name: name, Value: value})
	}
	return p, nil
}

func (p Platform) String() string {
	if len(p) == 0 {
		return "(empty platform)"
	}
	s := make([]string, len(p))
	for i, prop := range p {
		s[i] = prop.String()
	}
	return strings.Join(s, ", ")
}

// offerSet is what one worker offers, for quick lookups.
type offerSet map[Property]struct{}

func newOfferSet(offers []Property) offerSet {
	s := make(offerSet, len(offers))
	for _, p := range offers {
		s[p] = struct{}{}
	}
	return s
}

// AnyValue, offered as a property's value, means the worker takes that
// property with any value and judges it itself. Workers offer resource
// requests this way (memory=*, cpu=*): an action asking for 512MiB must
// not need a worker that advertises exactly "512MiB". A worker that cannot
// give what was asked fails the action with a message saying so.
const AnyValue = "*"

// offers reports whether s offers prop, by value or by AnyValue.
func (s offerSet) offers(prop Property) bool {
	if _, ok := s[prop]; ok {
		return true
	}
	_, ok := s[Property{Name: prop.Name, Value: AnyValue}]
	return ok
}

// satisfies reports whether a worker offering s can run an action asking
// for p: every property p names must be offered with that value (or with
// AnyValue).
func (s offerSet) satisfies(p Platform) bool {
	for _, prop := range p {
		if !s.offers(prop) {
			return false
		}
	}
	return true
}

// anyWorkerSatisfies reports whether one of workers can run p.
func anyWorkerSatisfies(workers []Worker, p Platform) bool {
	for _, w := range workers {
		if newOfferSet(w.Offers).satisfies(p) {
			return true
		}
	}
	return false
}

// explainUnmatched says, for people, why none of workers can run p: which
// properties nobody offers (or, if each is offered by someone, that no
// single worker offers them all).
func explainUnmatched(workers []Worker, p Platform) string {
	if len(workers) == 0 {
		return fmt.Sprintf("no worker is available for platform [%s]: no worker has polled the scheduler recently", p)
	}
	offered := make(offerSet)
	names := make(map[string]bool)
	for _, w := range workers {
		for _, prop := range w.Offers {
			offered[prop] = struct{}{}
			names[prop.Name] = true
		}
	}
	var unknown, unoffered []string
	for _, prop := range p {
		if offered.offers(prop) {
			continue
		}
		if names[prop.Name] {
			unoffered = append(unoffered, prop.String())
		} else {
			unknown = append(unknown, prop.Name)
		}
	}
	var reasons []string
	if len(unknown) > 0 {
		reasons = append(reasons, fmt.Sprintf("no worker knows the properties %s", strings.Join(unknown, ", ")))
	}
	if len(unoffered) > 0 {
		reasons = append(reasons, fmt.Sprintf("no worker offers %s", strings.Join(unoffered, ", ")))
	}
	if len(reasons) == 0 {
		reasons = append(reasons, "each property is offered by some worker, but no single worker offers them all")
	}
	return fmt.Sprintf("no worker can run platform [%s] (%d workers seen recently): %s", p, len(workers), strings.Join(reasons, "; "))
}
