package worker

import repb "github.com/bazelbuild/remote-apis/build/bazel/remote/execution/v2"

// Platform is an action's platform properties by name. REAPI allows a name
// to repeat; every value is kept, in the action's (sorted) order.
type Platform map[string][]string

// Get returns the first value of name, or "" when the action did not name it.
func (p Platform) Get(name string) string {
	if v := p[name]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// actionPlatform is the platform an action runs on: Action.platform when it
// has one (REAPI v2.2+), else the older Command.platform (checklist item 38).
func actionPlatform(action *repb.Action, command *repb.Command) Platform {
	props := action.GetPlatform().GetProperties()
	if len(props) == 0 {
		props = command.GetPlatform().GetProperties()
	}
	p := make(Platform, len(props))
	for _, prop := range props {
		p[prop.GetName()] = append(p[prop.GetName()], prop.GetValue())
	}
	return p
}
