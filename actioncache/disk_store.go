package actioncache

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"

	repb "github.com/bazelbuild/remote-apis/build/bazel/remote/execution/v2"
	"google.golang.org/protobuf/proto"

	"github.com/kilnbuild/kiln/internal/digest"
)

// DiskStoreOptions tune a DiskStore. The zero value keeps every entry.
type DiskStoreOptions struct {
	// MaxEntries, if positive, caps the number of entries; the least
	// recently used ones are removed first.
	MaxEntries int
	// MaxSizeBytes, if positive, caps the total size of the entry files,
	// evicting least recently used entries first.
	MaxSizeBytes int64
	// Logger receives eviction and damage reports; nil discards them.
	Logger *slog.Logger
}

// DiskStore keeps one file per entry, holding the serialized ActionResult:
//
//	{dir}/entries/{sha256(instance)}/{function}/{hash[:2]}/{hash}-{size}
//
// The instance name is hashed because it may contain '/' and arbitrary
// characters. An entry is written to {dir}/tmp, fsynced and renamed into
// place, so a Get (or a restart after a crash) sees the old entry or the new
// one, never a torn one; leftovers in {dir}/tmp are removed at open.
//
// One process owns a directory at a time.
type DiskStore struct {
	entriesDir string
	tmpDir     string
	log        *slog.Logger
	lru        *diskLRU // nil without limits: then nothing is indexed
}

// NewDiskStore opens (creating if needed) the action cache under dir.
func NewDiskStore(dir string, opts DiskStoreOptions) (*DiskStore, error) {
	s := &DiskStore{
		entriesDir: filepath.Join(dir, "entries"),
		tmpDir:     filepath.Join(dir, "tmp"),
		log:        opts.Logger,
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	for _, d := range []string{s.entriesDir, s.tmpDir} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, fmt.Errorf("opening action cache: %w", err)
		}
	}
	if err := removeStrayTempFiles(s.tmpDir); err != nil {
		return nil, fmt.Errorf("opening action cache: %w", err)
	}
	if opts.MaxEntries > 0 || opts.MaxSizeBytes > 0 {
		lru, err := loadDiskLRU(s.entriesDir, opts.MaxEntries, opts.MaxSizeBytes, s.log)
		if err != nil {
			return nil, fmt.Errorf("opening action cache: %w", err)
		}
		s.lru = lru
	}
	return s, nil
}

// removeStrayTempFiles deletes what an interrupted Put left behind.
func removeStrayTempFiles(tmpDir string) error {
	ents, err := os.ReadDir(tmpDir)
	if err != nil {
		return err
	}
	for _, e := range ents {
		if err := os.RemoveAll(filepath.Join(tmpDir, e.Name())); err != nil {
			return err
		}
	}
	return nil
}

// entryPath returns the file of k. The digest is validated again because
// Store is a public interface: a malformed hash must never become a path.
func (s *DiskStore) entryPath(k Key) (string, error) {
	d, err := digest.New(k.Action.Function, k.Action.Hash, k.Action.Size)
	if err != nil {
		return "", fmt.Errorf("action cache key: %w", err)
	}
	inst := sha256.Sum256([]byte(k.Instance))
	return filepath.Join(s.entriesDir, hex.EncodeToString(inst[:]), digest.FunctionName(d.Function),
		d.Hash[:2], d.Hash+"-"+strconv.FormatInt(d.Size, 10)), nil
}

// Get implements Store.
func (s *DiskStore) Get(ctx context.Context, k Key) (*repb.ActionResult, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	path, err := s.entryPath(k)
	if err != nil {
		return nil, err
	}
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("action %s: %w", k.Action, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("reading action cache entry: %w", err)
	}
	r := &repb.ActionResult{}
	if err := proto.Unmarshal(b, r); err != nil {
		// Renames make torn entries impossible; this is damage from
		// outside. A miss lets the client rebuild and overwrite it.
		s.log.Warn("unreadable action cache entry", "path", path, "err", err)
		return nil, fmt.Errorf("action %s: unreadable entry: %w", k.Action, ErrNotFound)
	}
	if s.lru != nil {
		s.lru.touch(path)
	}
	return r, nil
}

// Put implements Store.
func (s *DiskStore) Put(ctx context.Context, k Key, r *repb.ActionResult) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if r == nil {
		return fmt.Errorf("action %s: nil action result", k.Action)
	}
	path, err := s.entryPath(k)
	if err != nil {
		return err
	}
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(r)
	if err != nil {
		return fmt.Errorf("encoding action result: %w", err)
	}
	tmp, err := s.writeTemp(b)
	if err != nil {
		return fmt.Errorf("writing action cache entry: %w", err)
	}
	defer os.Remove(tmp) // a no-op after a successful rename
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("writing action cache entry: %w", err)
	}
	commit := func() error { return os.Rename(tmp, path) }
	if s.lru != nil {
		err = s.lru.add(path, int64(len(b)), commit)
	} else {
		err = commit()
	}
	if err != nil {
		return fmt.Errorf("writing action cache entry: %w", err)
	}
	// Make the rename itself durable; the entry is already whole either way.
	if err := syncDir(filepath.Dir(path)); err != nil {
		s.log.Warn("syncing action cache directory", "err", err)
	}
	return nil
}

// writeTemp writes b to a fresh file in the temp directory and fsyncs it.
func (s *DiskStore) writeTemp(b []byte) (string, error) {
	f, err := os.CreateTemp(s.tmpDir, "put-*")
	if err != nil {
		return "", err
	}
	_, werr := f.Write(b)
	if werr == nil {
		werr = f.Sync()
	}
	cerr := f.Close()
	if err := errors.Join(werr, cerr); err != nil {
		os.Remove(f.Name())
		return "", err
	}
	return f.Name(), nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
