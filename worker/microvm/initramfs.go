package microvm

import (
	"bufio"
	"fmt"
	"io"
	"sort"
)

// initramfsFile is one file of an initramfs.
type initramfsFile struct {
	Name string // path without a leading slash
	Mode uint32 // permission bits
	Data []byte
}

// writeInitramfs writes files as an uncompressed cpio "newc" archive, the
// format the kernel unpacks into its rootfs. The archive depends only on
// the files: entries are sorted, times are zero and inodes are counted, so
// that building the same guest twice gives the same bytes. Parent
// directories are added as needed.
func writeInitramfs(w io.Writer, files []initramfsFile) error {
	bw := bufio.NewWriter(w)
	dirs := map[string]bool{}
	var entries []initramfsFile
	for _, f := range files {
		for d := parentOf(f.Name); d != ""; d = parentOf(d) {
			if !dirs[d] {
				dirs[d] = true
				entries = append(entries, initramfsFile{Name: d, Mode: 0o040755})
			}
		}
		entries = append(entries, initramfsFile{Name: f.Name, Mode: 0o100000 | f.Mode&0o7777, Data: f.Data})
	}
	sort.Slice(entries, func(i, j int) bool { return entries[i].Name < entries[j].Name })
	for i, e := range entries {
		if err := writeCpioEntry(bw, uint32(i+1), e.Name, e.Mode, e.Data); err != nil {
			return err
		}
	}
	if err := writeCpioEntry(bw, 0, "TRAILER!!!", 0, nil); err != nil {
		return err
	}
	return bw.Flush()
}

func parentOf(name string) string {
	for i := len(name) - 1; i >= 0; i-- {
		if name[i] == '/' {
			return name[:i]
		}
	}
	return ""
}

func writeCpioEntry(w *bufio.Writer, ino uint32, name string, mode uint32, data []byte) error {
	nlink := 1
	if mode&0o040000 != 0 {
		nlink = 2
	}
	// magic, ino, mode, uid, gid, nlink, mtime, filesize, devmajor,
	// devminor, rdevmajor, rdevminor, namesize, check
	if _, err := fmt.Fprintf(w, "070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X",
		ino, mode, 0, 0, nlink, 0, len(data), 0, 0, 0, 0, len(name)+1, 0); err != nil {
		return err
	}
	w.WriteString(name)
	w.WriteByte(0)
	pad(w, 110+len(name)+1)
	w.Write(data)
	pad(w, len(data))
	return nil
}

// pad aligns to the 4 bytes newc wants after a header+name and after data.
func pad(w *bufio.Writer, n int) {
	for ; n%4 != 0; n++ {
		w.WriteByte(0)
	}
}
