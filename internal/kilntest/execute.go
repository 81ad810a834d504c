package kilntest

import (
	"context"
	"errors"
	"fmt"
	"io"

	repb "github.com/bazelbuild/remote-apis/build/bazel/remote/execution/v2"
	"google.golang.org/protobuf/proto"

	"github.com/kilnbuild/kiln/internal/digest"
)

// UploadProto uploads m in its canonical (deterministic) encoding and
// returns its digest.
func (c *Client) UploadProto(ctx context.Context, m proto.Message) (digest.Digest, error) {
	data, err := proto.MarshalOptions{Deterministic: true}.Marshal(m)
	if err != nil {
		return digest.Digest{}, err
	}
	return c.Upload(ctx, data)
}

// UploadAction uploads cmd and an action that runs it, and returns the
// action digest. action supplies everything else (timeout, do_not_cache,
// platform); its command digest is overwritten, and an unset input root
// is the empty directory. action may be nil.
func (c *Client) UploadAction(ctx context.Context, cmd *repb.Command, action *repb.Action) (digest.Digest, error) {
	cd, err := c.UploadProto(ctx, cmd)
	if err != nil {
		return digest.Digest{}, fmt.Errorf("uploading the command: %w", err)
	}
	a := &repb.Action{}
	if action != nil {
		a = proto.Clone(action).(*repb.Action)
	}
	a.CommandDigest = cd.Proto()
	if a.InputRootDigest == nil {
		// The empty blob is always present; nothing to upload.
		a.InputRootDigest = Digest(nil).Proto()
	}
	ad, err := c.UploadProto(ctx, a)
	if err != nil {
		return digest.Digest{}, fmt.Errorf("uploading the action: %w", err)
	}
	return ad, nil
}

// Execute runs the action with the Execution service, reads the operation
// stream to its end, and returns the ExecuteResponse of the operation that
// is done. The call's own error is returned as it is; a stream that ends
// without a done operation, or one that breaks the API's rules, is an
// error too.
func (c *Client) Execute(ctx context.Context, action digest.Digest) (*repb.ExecuteResponse, error) {
	stream, err := c.Execution.Execute(ctx, &repb.ExecuteRequest{
		ActionDigest:   action.Proto(),
		DigestFunction: repb.DigestFunction_SHA256,
	})
	if err != nil {
		return nil, err
	}
	for {
		op, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("executing %s: the stream ended before the operation was done", action)
		}
		if err != nil {
			return nil, err
		}
		if !op.GetDone() {
			continue
		}
		if op.GetError() != nil {
			return nil, fmt.Errorf("executing %s: Operation.error is set (%v); the API puts errors in ExecuteResponse.status", action, op.GetError())
		}
		resp := &repb.ExecuteResponse{}
		if err := op.GetResponse().UnmarshalTo(resp); err != nil {
			return nil, fmt.Errorf("executing %s: the done operation holds no ExecuteResponse: %w", action, err)
		}
		return resp, nil
	}
}
