package scheduler

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"

	repb "github.com/bazelbuild/remote-apis/build/bazel/remote/execution/v2"
	"google.golang.org/protobuf/proto"

	"github.com/kilnbuild/kiln/cas"
	"github.com/kilnbuild/kiln/internal/digest"
)

const (
	// maxProtoBlob bounds the Action, Command and Directory messages read
	// into memory; real ones are kilobytes.
	maxProtoBlob = 64 << 20
	// maxInputDirectories bounds the walk of one input tree.
	maxInputDirectories = 1 << 20
	// fetchParallelism is how many Directory blobs are read at once.
	fetchParallelism = 16
)

// errBlobMissing marks a blob that readProto did not find.
var errBlobMissing = errors.New("blob missing from the CAS")

// readProto reads the message stored as d into msg. what names it for
// error messages ("action", "command", "input directory").
func readProto(ctx context.Context, store cas.BlobStore, d digest.Digest, msg proto.Message, what string) error {
	if d.Size > maxProtoBlob {
		return invalidf("%s %s is %d bytes, over the %d byte limit", what, d, d.Size, maxProtoBlob)
	}
	r, err := store.Get(ctx, d, 0, 0)
	if errors.Is(err, cas.ErrNotFound) {
		return errBlobMissing
	}
	if err != nil {
		return fmt.Errorf("reading %s %s: %w", what, d, err)
	}
	defer r.Close()
	b, err := io.ReadAll(io.LimitReader(r, d.Size+1))
	if err != nil {
		return fmt.Errorf("reading %s %s: %w", what, d, err)
	}
	if int64(len(b)) != d.Size {
		return fmt.Errorf("reading %s %s: the CAS returned %d bytes", what, d, len(b))
	}
	if err := proto.Unmarshal(b, msg); err != nil {
		return invalidf("%s %s is not a valid %T message: %v", what, d, msg, err)
	}
	return nil
}

// missingInputs walks the input tree under root through the CAS and returns
// every blob of it that is missing: directories it could not read, and
// files, found with one FindMissing. An invalid Directory is an error.
func missingInputs(ctx context.Context, store cas.BlobStore, root digest.Digest) ([]digest.Digest, error) {
	var missing, files []digest.Digest
	seenDirs := map[digest.Digest]bool{root: true}
	seenFiles := make(map[digest.Digest]bool)
	level := []digest.Digest{root}
	for len(level) > 0 {
		dirs := make([]*repb.Directory, len(level))
		err := parallel(ctx, len(level), fetchParallelism, func(i int) error {
			d := &repb.Directory{}
			if level[i].IsEmpty() { // never missing (checklist item 3)
				dirs[i] = d
				return nil
			}
			if err := readProto(ctx, store, level[i], d, "input directory"); err != nil {
				if errors.Is(err, errBlobMissing) {
					return nil // dirs[i] stays nil
				}
				return err
			}
			dirs[i] = d
			return nil
		})
		if err != nil {
			return nil, err
		}
		var next []digest.Digest
		for i, dir := range dirs {
			if dir == nil {
				missing = append(missing, level[i])
				continue
			}
			fs, children, err := directoryChildren(dir, root.Function, level[i])
			if err != nil {
				return nil, err
			}
			for _, f := range fs {
				if !seenFiles[f] {
					seenFiles[f] = true
					files = append(files, f)
				}
			}
			for _, c := range children {
				if !seenDirs[c] {
					seenDirs[c] = true
					next = append(next, c)
				}
			}
		}
		if len(seenDirs) > maxInputDirectories {
			return nil, invalidf("input tree %s has more than %d directories", root, maxInputDirectories)
		}
		level = next
	}
	if len(files) > 0 {
		m, err := store.FindMissing(ctx, files)
		if err != nil {
			return nil, fmt.Errorf("looking for the input files of %s: %w", root, err)
		}
		missing = append(missing, m...)
	}
	return missing, nil
}

// parallel runs fn(0..n-1) with at most limit calls at once and returns the
// first error.
func parallel(ctx context.Context, n, limit int, fn func(i int) error) error {
	if n == 1 {
		return fn(0)
	}
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr error
	)
	sem := make(chan struct{}, limit)
	for i := range n {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			wg.Wait()
			return ctx.Err()
		}
		wg.Go(func() {
			defer func() { <-sem }()
			if err := fn(i); err != nil {
				mu.Lock()
				if firstErr == nil {
					firstErr = err
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return firstErr
}
