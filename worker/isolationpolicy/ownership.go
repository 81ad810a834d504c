package isolationpolicy

import (
	"io/fs"
	"os"
	"path/filepath"
)

// GiveDirs makes uid:gid the owner of root and every directory below it,
// so that the action can create and remove its outputs. Files are left
// alone: input files are hardlinks of the worker's file cache, shared
// with other actions, and must stay the worker's, read-only, so that the
// action can neither write nor chmod them. Symbolic links are not
// followed.
func GiveDirs(root string, uid, gid int) error {
	return filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return os.Lchown(p, uid, gid)
		}
		return nil
	})
}
