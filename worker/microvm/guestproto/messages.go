package guestproto

import (
	"encoding/json"
	"fmt"
)

// Ready says the agent finished a stage and waits for the host's next
// frame: a Setup after StageBooted, a Run after StageSetUp. A guest is
// snapshotted while it waits after StageSetUp.
type Ready struct {
	Stage string `json:"stage"`
}

// Stages a Ready reports.
const (
	StageBooted = "booted"
	StageSetUp  = "set-up"
)

// Setup is what the agent prepares once per guest, before any action: the
// read-only toolchain mounts and the symlinks of the action's root.
type Setup struct {
	// Mounts are block devices to mount read-only into the action's root.
	Mounts []Mount `json:"mounts"`
	// Symlinks are created in the action's root, after the mounts
	// (e.g. /bin -> usr/bin on a merged-/usr host).
	Symlinks []Symlink `json:"symlinks,omitempty"`
}

// Mount is one block device, named by its virtio serial, and where it goes.
type Mount struct {
	Serial string `json:"serial"`
	Path   string `json:"path"`
	FSType string `json:"fstype"`
}

// Symlink is a symlink at Path pointing to Target.
type Symlink struct {
	Path   string `json:"path"`
	Target string `json:"target"`
}

// Run is the one action a guest runs.
type Run struct {
	Args []string `json:"args"`
	Env  []string `json:"env"`
	// RootDir is where the input device is mounted, the same absolute
	// path as on the worker so that paths baked into the action agree.
	RootDir string `json:"root_dir"`
	// WorkingDir is absolute, inside RootDir.
	WorkingDir string `json:"working_dir"`
	// InputSerial names the device holding the input root (ext4, mounted
	// read-write: the action writes its outputs there).
	InputSerial string `json:"input_serial"`
	// OutputSerial names the raw device the agent writes the output tar to.
	OutputSerial string `json:"output_serial"`
	// KeepLostFound says the input root has a lost+found of its own;
	// otherwise the agent removes the one mkfs.ext4 made.
	KeepLostFound bool `json:"keep_lost_found,omitempty"`
	// UnixNano is the worker's clock: a restored guest's clock stands
	// where the snapshot stopped it.
	UnixNano int64 `json:"unix_nano"`
}

// Done is how an action ended.
type Done struct {
	// Failure is empty when the command ran; otherwise it says why it
	// could not start, and ExitCode means nothing.
	Failure string `json:"failure,omitempty"`
	Message string `json:"message,omitempty"`
	// ExitCode is the exit status, 128+n when signal n killed it.
	ExitCode int   `json:"exit_code"`
	WallNano int64 `json:"wall_nano"`
	UserNano int64 `json:"user_nano"`
	SysNano  int64 `json:"sys_nano"`
	MaxRSS   int64 `json:"max_rss_bytes"`
	// OutputBytes is the length of the tar on the output device: every
	// entry of the input root the action created or changed, with names
	// relative to the root.
	OutputBytes int64 `json:"output_bytes"`
	// Removed lists entries of the input root, relative to it, that the
	// action removed (or replaced by another kind of file).
	Removed []string `json:"removed,omitempty"`
}

// Failures a Done reports.
const (
	FailureNotFound      = "not-found"
	FailureNotExecutable = "not-executable"
	FailureOutputs       = "outputs"
	FailureInternal      = "internal"
)

// Fatal is the agent's last word when it cannot go on.
type Fatal struct {
	Message string `json:"message"`
}

// Encode marshals a message for a frame.
func Encode(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		// Only the types above are encoded; they always marshal.
		panic(fmt.Sprintf("guestproto: encoding %T: %v", v, err))
	}
	return b
}

// Decode unmarshals a frame's payload into v.
func Decode(payload []byte, v any) error {
	if err := json.Unmarshal(payload, v); err != nil {
		return fmt.Errorf("%w: decoding %T: %w", ErrBadFrame, v, err)
	}
	return nil
}
