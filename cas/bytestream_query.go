package cas

import (
	"context"

	repb "github.com/bazelbuild/remote-apis/build/bazel/remote/execution/v2"
	"google.golang.org/genproto/googleapis/bytestream"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/kilnbuild/kiln/internal/resourcename"
)

// QueryWriteStatus implements bytestream.ByteStreamServer (checklist item
// 16): the committed size of an upload in progress, or of one complete and
// not yet idle for long.
//
// An upload whose session is gone but whose blob is stored is reported
// complete: the client's goal is reached. That holds for plain uploads
// only; the compressed size of a stored blob is unknown, so a compressed
// upload without a session is NOT_FOUND and its retry ends early in Write.
func (s *ByteStreamServer) QueryWriteStatus(ctx context.Context, req *bytestream.QueryWriteStatusRequest) (*bytestream.QueryWriteStatusResponse, error) {
	rn, err := resourcename.ParseWrite(req.GetResourceName())
	if err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	if err := checkBlobName(rn.Blob); err != nil {
		return nil, status.Errorf(codes.InvalidArgument, "resource name %q: %v", req.GetResourceName(), err)
	}
	if committed, complete, ok := s.uploads.state(uploadKey(rn)); ok {
		return &bytestream.QueryWriteStatusResponse{CommittedSize: committed, Complete: complete}, nil
	}
	if rn.Compressor == repb.Compressor_IDENTITY {
		present, err := s.present(ctx, rn.Blob)
		if err != nil {
			return nil, s.fail(ctx, "QueryWriteStatus", err)
		}
		if present {
			return &bytestream.QueryWriteStatusResponse{CommittedSize: rn.Digest.Size, Complete: true}, nil
		}
	}
	return nil, status.Errorf(codes.NotFound, "no upload %q is in progress", req.GetResourceName())
}
