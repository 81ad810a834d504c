package main

import (
	"context"
	"log/slog"
	"testing"

	"github.com/kilnbuild/kiln/bench/loadgen"
	"github.com/kilnbuild/kiln/cas"
	"github.com/kilnbuild/kiln/internal/digest"
)

// BenchmarkInProcess runs the ByteStream scenarios against an in-process
// server, client and server in one process, so that
//
//	go test ./bench -run '^$' -bench InProcess/disk -cpuprofile cpu.out
//
// shows where the server spends its time without a kiln binary at hand.
// Client costs (loadgen, protobuf marshalling) appear in the same profile.
func BenchmarkInProcess(b *testing.B) {
	stores := map[string]func(b *testing.B) cas.BlobStore{
		"memory": func(*testing.B) cas.BlobStore { return cas.NewMemoryStore() },
		"disk": func(b *testing.B) cas.BlobStore {
			s, err := cas.NewDiskStore(context.Background(), b.TempDir(), cas.DiskStoreOptions{Logger: slog.New(slog.DiscardHandler)})
			if err != nil {
				b.Fatal(err)
			}
			return s
		},
	}
	for _, storeName := range []string{"memory", "disk"} {
		for _, size := range []int64{4 << 10, 64 << 20} {
			for _, dir := range []string{"write", "read"} {
				name := storeName + "/" + dir + "/" + loadgen.FormatSize(size)
				b.Run(name, func(b *testing.B) {
					target := startServer(b, stores[storeName](b))
					c, err := loadgen.Dial(target, loadgen.DialOptions{})
					if err != nil {
						b.Fatal(err)
					}
					defer c.Close()
					gen, err := loadgen.NewBlobGenerator(digest.Functions[0], size)
					if err != nil {
						b.Fatal(err)
					}
					load := loadgen.Load{Concurrency: 2, Count: int64(b.N)}
					var s loadgen.Scenario = &loadgen.ByteStreamWrite{Size: size, Load: load, Generator: gen}
					if dir == "read" {
						s = &loadgen.ByteStreamRead{Size: size, Load: load, Generator: gen}
					}
					b.SetBytes(size)
					b.ResetTimer() // a read's uploads still count; fine for profiles
					r, err := s.Run(context.Background(), c)
					if err != nil {
						b.Fatal(err)
					}
					if r.Errors > 0 {
						b.Fatalf("%d errors: %s", r.Errors, r.FirstError)
					}
					b.ReportMetric(r.Latency.P50.Seconds()*1e3, "p50-ms")
				})
			}
		}
	}
}
