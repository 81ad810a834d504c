package cas

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"

	repb "github.com/bazelbuild/remote-apis/build/bazel/remote/execution/v2"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/kilnbuild/kiln/internal/digest"
)

const (
	// maxTreeResponseBytes bounds one GetTreeResponse, whatever page_size
	// says, below the 4 MiB default receive limit of gRPC clients.
	maxTreeResponseBytes = 4<<20 - 64<<10
	// maxDirectoryBytes bounds the blobs GetTree reads as Directory
	// messages; bigger ones are treated as unreadable.
	maxDirectoryBytes = 16 << 20
	// treeFetchConcurrency is how many directories GetTree reads at once.
	treeFetchConcurrency = 8
)

// GetTree implements repb.ContentAddressableStorageServer. It streams the
// directories under the root breadth-first, each distinct directory once,
// in pages of at most page_size directories and maxTreeResponseBytes. Every
// page but the last carries a next_page_token that resumes right after it.
// Missing or unreadable subdirectories are left out with their subtrees.
//
// The token is the position in that order, so resuming re-reads the
// directories before it: cheap next to sending them, and it keeps tokens
// small whatever the width of the tree. The order is stable as long as the
// tree's blobs stay as they are.
func (s *CASServer) GetTree(req *repb.GetTreeRequest, stream grpc.ServerStreamingServer[repb.GetTreeResponse]) error {
	ctx := stream.Context()
	fn, err := requestFunction(req.GetDigestFunction(), req.GetRootDigest())
	if err != nil {
		return status.Error(codes.InvalidArgument, err.Error())
	}
	root, err := parseDigest(fn, req.GetRootDigest())
	if err != nil {
		return status.Errorf(codes.InvalidArgument, "root_digest: %v", err)
	}
	if req.GetPageSize() < 0 {
		return status.Errorf(codes.InvalidArgument, "page_size %d is negative", req.GetPageSize())
	}
	start, err := parseTreePageToken(req.GetPageToken(), root)
	if err != nil {
		return status.Error(codes.InvalidArgument, err.Error())
	}
	p := treePager{stream: stream, root: root, pageSize: int(req.GetPageSize())}
	err = s.walkTree(ctx, root, func(pos int64, dir *repb.Directory) error {
		if pos < start {
			return nil
		}
		return p.add(pos, dir)
	})
	if err != nil {
		return s.fail(ctx, "GetTree", err)
	}
	return p.finish()
}

// walkTree calls visit for every distinct directory under root, root first,
// breadth-first, with its position in that order.
func (s *CASServer) walkTree(ctx context.Context, root digest.Digest, visit func(pos int64, dir *repb.Directory) error) error {
	queue := []digest.Digest{root}
	seen := map[digest.Digest]bool{root: true}
	var pos int64
	for len(queue) > 0 {
		batch := queue[:min(len(queue), treeFetchConcurrency)]
		queue = queue[len(batch):]
		dirs := make([]*repb.Directory, len(batch))
		errs := make([]error, len(batch))
		var wg sync.WaitGroup
		for i, d := range batch {
			wg.Go(func() { dirs[i], errs[i] = s.readDirectory(ctx, d) })
		}
		wg.Wait()
		for i, d := range batch {
			if err := errs[i]; err != nil {
				if d == root {
					return fmt.Errorf("root directory: %w", err)
				}
				if errors.Is(err, ErrNotFound) || errors.Is(err, digest.ErrInvalid) {
					continue // the spec's partial result: leave the subtree out
				}
				return err
			}
			for _, child := range dirs[i].GetDirectories() {
				cd, err := parseDigest(root.Function, child.GetDigest())
				if err != nil || seen[cd] {
					continue // an invalid child digest is as good as a missing one
				}
				seen[cd] = true
				queue = append(queue, cd)
			}
			if err := visit(pos, dirs[i]); err != nil {
				return err
			}
			pos++
		}
	}
	return nil
}

// readDirectory reads and parses the Directory stored as d. Unparseable
// bytes are reported as digest.ErrInvalid: the client named a blob that is
// not a Directory. It does not check that the message is canonical
// (checklist item 4): GetTree returns what is stored.
func (s *CASServer) readDirectory(ctx context.Context, d digest.Digest) (*repb.Directory, error) {
	if d.Size > maxDirectoryBytes {
		return nil, fmt.Errorf("%w: %s is too big (%d bytes) to be a Directory", digest.ErrInvalid, d, d.Size)
	}
	var b []byte
	if !d.IsEmpty() {
		rc, err := s.store.Get(ctx, d, 0, 0)
		if err != nil {
			return nil, err
		}
		defer rc.Close()
		b = make([]byte, d.Size)
		if _, err := io.ReadFull(rc, b); err != nil {
			if err == io.ErrUnexpectedEOF || err == io.EOF {
				err = fmt.Errorf("%w: %s", errShortBlob, d)
			}
			return nil, err
		}
	}
	dir := &repb.Directory{}
	if err := proto.Unmarshal(b, dir); err != nil {
		return nil, fmt.Errorf("%w: %s is not a Directory: %v", digest.ErrInvalid, d, err)
	}
	return dir, nil
}

// treePager groups directories into GetTreeResponse pages. It holds a page
// back until the next directory arrives, so that only the true last page
// goes out with an empty next_page_token.
type treePager struct {
	stream   grpc.ServerStreamingServer[repb.GetTreeResponse]
	root     digest.Digest
	pageSize int
	page     []*repb.Directory
	bytes    int
}

func (p *treePager) add(pos int64, dir *repb.Directory) error {
	n := proto.Size(dir) + 8 // field tag and length prefix, generously
	full := p.pageSize > 0 && len(p.page) >= p.pageSize
	if len(p.page) > 0 && (full || p.bytes+n > maxTreeResponseBytes) {
		err := p.stream.Send(&repb.GetTreeResponse{Directories: p.page, NextPageToken: treePageToken(p.root, pos)})
		if err != nil {
			return err
		}
		p.page, p.bytes = nil, 0
	}
	p.page = append(p.page, dir)
	p.bytes += n
	return nil
}

// finish sends the last page, empty if the token pointed past the end.
func (p *treePager) finish() error {
	return p.stream.Send(&repb.GetTreeResponse{Directories: p.page})
}

// treePageToken encodes the position of the next directory, tied to the
// root so that a token cannot be replayed against another tree.
func treePageToken(root digest.Digest, pos int64) string {
	return base64.RawURLEncoding.EncodeToString(fmt.Appendf(nil, "v1:%s:%d", root, pos))
}

func parseTreePageToken(token string, root digest.Digest) (int64, error) {
	if token == "" {
		return 0, nil
	}
	b, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil {
		return 0, fmt.Errorf("page_token %q is not a token this server handed out", token)
	}
	rest, ok := strings.CutPrefix(string(b), "v1:"+root.String()+":")
	if !ok {
		return 0, fmt.Errorf("page_token %q does not belong to a GetTree of root %s", token, root)
	}
	pos, err := strconv.ParseInt(rest, 10, 64)
	if err != nil || pos < 0 {
		return 0, fmt.Errorf("page_token %q is not a token this server handed out", token)
	}
	return pos, nil
}
