// Command kiln-guest-agent is the /init of Kiln's microVM guests (see
// worker/microvm/agent). Build it statically: CGO_ENABLED=0.
package main

import "github.com/kilnbuild/kiln/worker/microvm/agent"

func main() { agent.Main() }
