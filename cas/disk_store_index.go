package cas

import "github.com/kilnbuild/kiln/internal/digest"

// lruIndex is the DiskStore's in-memory view of what is on disk: every blob
// with its size, ordered by recency of use. It is not safe for concurrent
// use; the DiskStore's mutex guards it.
//
// The list is intrusive (links live in the entries) so that entries need no
// interface boxing and recency updates allocate nothing.
type lruIndex struct {
	entries map[digest.Digest]*lruEntry
	// sentinel.next is the most recently used entry, sentinel.prev the least.
	sentinel lruEntry
	bytes    int64
}

type lruEntry struct {
	d digest.Digest
	// touched is the file's mtime as last set (Unix seconds). The store
	// rewrites the mtime only when it is stale by more than an interval, so
	// hot paths stay free of syscalls while restarts still see a useful
	// recency order.
	touched    int64
	prev, next *lruEntry
}

func newLRUIndex() *lruIndex {
	x := &lruIndex{entries: make(map[digest.Digest]*lruEntry)}
	x.sentinel.prev = &x.sentinel
	x.sentinel.next = &x.sentinel
	return x
}

// grow makes room for n more entries, sparing rehashes while a big store loads.
func (x *lruIndex) grow(n int) {
	if len(x.entries) == 0 {
		x.entries = make(map[digest.Digest]*lruEntry, n)
	}
}

// get returns the entry of d, or nil.
func (x *lruIndex) get(d digest.Digest) *lruEntry { return x.entries[d] }

// len is the number of blobs.
func (x *lruIndex) len() int { return len(x.entries) }

// add inserts d, which must be absent, as the most recently used entry.
func (x *lruIndex) add(d digest.Digest, touched int64) *lruEntry {
	e := &lruEntry{d: d, touched: touched}
	x.entries[d] = e
	x.bytes += d.Size
	x.linkFront(e)
	return e
}

// remove deletes e from the index.
func (x *lruIndex) remove(e *lruEntry) {
	delete(x.entries, e.d)
	x.bytes -= e.d.Size
	x.unlink(e)
}

// use marks e as the most recently used entry.
func (x *lruIndex) use(e *lruEntry) {
	x.unlink(e)
	x.linkFront(e)
}

// oldest returns the least recently used entry, or nil if the index is empty.
func (x *lruIndex) oldest() *lruEntry {
	if x.sentinel.prev == &x.sentinel {
		return nil
	}
	return x.sentinel.prev
}

func (x *lruIndex) linkFront(e *lruEntry) {
	e.prev = &x.sentinel
	e.next = x.sentinel.next
	e.next.prev = e
	x.sentinel.next = e
}

func (x *lruIndex) unlink(e *lruEntry) {
	e.prev.next = e.next
	e.next.prev = e.prev
	e.prev, e.next = nil, nil
}
