package worker

import (
	"context"
	"errors"
	"testing"

	repb "github.com/bazelbuild/remote-apis/build/bazel/remote/execution/v2"
)

// namedRunner reports its name as the exit code's owner.
type namedRunner struct{ code int }

func (r namedRunner) Run(context.Context, *Command) (*Result, error) {
	return &Result{ExitCode: r.code}, nil
}

func TestIsolationsChoosesByPlatform(t *testing.T) {
	s, err := NewIsolations(map[string]Runner{"process": namedRunner{1}, "sandbox": namedRunner{2}}, "sandbox")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		platform Platform
		want     int
	}{
		{nil, 2},
		{Platform{"OSFamily": {"linux"}}, 2},
		{Platform{IsolationProperty: {"process"}}, 1},
		{Platform{IsolationProperty: {"sandbox"}}, 2},
	} {
		res, err := s.Run(context.Background(), &Command{Platform: tc.platform})
		if err != nil || res.ExitCode != tc.want {
			t.Errorf("platform %v: got %v, %v; want runner %d", tc.platform, res, err, tc.want)
		}
	}
	for _, bad := range []Platform{{IsolationProperty: {"microvm"}}, {IsolationProperty: {"process", "sandbox"}}} {
		if _, err := s.Run(context.Background(), &Command{Platform: bad}); !errors.Is(err, ErrBadPlatform) {
			t.Errorf("platform %v: got %v, want ErrBadPlatform", bad, err)
		}
	}
	if got := s.Names(); len(got) != 2 || got[0] != "process" || got[1] != "sandbox" {
		t.Errorf("Names() = %v", got)
	}
	if _, err := NewIsolations(map[string]Runner{"process": namedRunner{}}, "sandbox"); err == nil {
		t.Error("a default without a runner was accepted")
	}
}

func TestActionPlatformPrefersAction(t *testing.T) {
	prop := func(n, v string) *repb.Platform_Property { return &repb.Platform_Property{Name: n, Value: v} }
	cmd := &repb.Command{Platform: &repb.Platform{Properties: []*repb.Platform_Property{prop("isolation", "process")}}}
	act := &repb.Action{Platform: &repb.Platform{Properties: []*repb.Platform_Property{prop("isolation", "sandbox"), prop("label", "a"), prop("label", "b")}}}
	p := actionPlatform(act, cmd)
	if p.Get("isolation") != "sandbox" || len(p["label"]) != 2 {
		t.Errorf("actionPlatform(action, command) = %v", p)
	}
	if p := actionPlatform(&repb.Action{}, cmd); p.Get("isolation") != "process" {
		t.Errorf("without an action platform: %v, want the command's", p)
	}
}
