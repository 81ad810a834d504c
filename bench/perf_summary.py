#!/usr/bin/env python3
"""Summarise where a Go server spends its CPU, from `perf script` output.

Kiln has no /debug/pprof; perf works on any Go binary because Go keeps frame
pointers. Record while a benchmark runs, then summarise:

    perf record -F 499 -g -p "$(pgrep -n kiln)" -o perf.data -- sleep 8
    perf script -i perf.data > stacks.txt
    python3 bench/perf_summary.py stacks.txt

Each sample goes to the first bucket that matches, in the order below, so GC
work is GC even when it runs inside an allocation, and a copy is a copy
whichever code asked for it (the callers are listed after the buckets).
"""
import collections
import re
import sys

BUCKETS = [
    ("GC (mark, assist, sweep)", lambda leaf, j: any(x in j for x in ("gcBgMarkWorker", "gcAssistAlloc", "bgsweep", "bgscavenge"))),
    ("hashing", lambda leaf, j: re.search(r"sha(1|256|512)\.block|blake3", leaf) is not None),
    ("file syscalls (write, fsync, read, open, rename)", lambda leaf, j: any(x in j for x in (
        "os.(*File).Write", "os.(*File).Sync", "os.(*File).Read", "os.Rename", "os.rename", "os.OpenFile",
        "os.CreateTemp", "os.Remove", "os.Lstat", "os.Stat", "os.Chtimes"))),
    ("network syscalls and netpoll", lambda leaf, j: any(x in j for x in ("net.(*conn)", "net.(*netFD)", "tcp_", "EpollWait", "netpoll"))),
    ("memmove (user-space copies)", lambda leaf, j: leaf.startswith("runtime.memmove")),
    ("memclr (zeroing buffers)", lambda leaf, j: leaf.startswith("runtime.memclr")),
    ("locks and futexes", lambda leaf, j: any(x in j for x in ("sync.(*Mutex).lockSlow", "sync.(*RWMutex)", "runtime.lock2", "futex", "runtime.semacquire", "runtime.semrelease"))),
    ("scheduler", lambda leaf, j: any(x in j for x in ("runtime.schedule", "runtime.findRunnable", "runtime.park_m", "finish_task_switch"))),
    ("protobuf (other than copies)", lambda leaf, j: "protobuf" in j),
    ("allocation", lambda leaf, j: "mallocgc" in j),
    ("map lookups", lambda leaf, j: re.match(r"runtime\.mapaccess|aeshash|memeqbody|type:\.eq\.", leaf) is not None),
    ("Kiln's own code", lambda leaf, j: leaf.startswith("github.com/kilnbuild/")),
    ("other", lambda leaf, j: True),
]


def frames(sample):
    lines = [l.strip() for l in sample.strip().split("\n")[1:]]
    return [re.sub(r"^[0-9a-f]+ ", "", l).rsplit(" (", 1)[0].split("+0x")[0] for l in lines]


def main(path):
    buckets, copiers, total = collections.Counter(), collections.Counter(), 0
    for sample in open(path).read().split("\n\n"):
        f = frames(sample)
        if not f:
            continue
        total += 1
        leaf, joined = f[0], " ".join(f)
        name = next(n for n, match in BUCKETS if match(leaf, joined))
        buckets[name] += 1
        if name.startswith(("memmove", "memclr")):
            caller = next((x for x in f[1:] if not x.startswith("runtime.") and "BufferPool" not in x), "?")
            copiers[("(clear) " if name.startswith("memclr") else "") + caller] += 1
    print(f"{total} samples")
    for name, n in buckets.most_common():
        print(f"{100 * n / total:5.1f}%  {name}")
    print("-- copies and clears, by caller")
    for name, n in copiers.most_common(10):
        print(f"{100 * n / total:5.1f}%  {name}")
    own = collections.Counter()
    for sample in open(path).read().split("\n\n"):
        f = frames(sample)
        if f and f[0].startswith("github.com/kilnbuild/"):
            own[f[0]] += 1
    print("-- Kiln functions by own CPU")
    for name, n in own.most_common(5):
        print(f"{100 * n / total:5.1f}%  {name}")


if __name__ == "__main__":
    main(sys.argv[1])
