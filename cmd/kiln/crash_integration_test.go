package main_test

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/kilnbuild/kiln/internal/digest"
	"github.com/kilnbuild/kiln/internal/kilntest"
)

// crashRounds is how often the crash test kills kiln: later rounds crash a
// store that is itself recovering from a crash.
const crashRounds = 3

// uploadLog is what a test knows about the uploads it sent to a server.
type uploadLog struct {
	// acked holds the blobs whose Write the server acknowledged.
	acked map[digest.Digest][]byte
	// tried holds every blob sent in any form, acknowledged or not.
	tried map[digest.Digest][]byte
	// unfinished holds blobs whose upload never sent finish_write: they
	// must never become visible.
	unfinished map[digest.Digest][]byte
}

func newUploadLog() *uploadLog {
	return &uploadLog{acked: map[digest.Digest][]byte{}, tried: map[digest.Digest][]byte{}, unfinished: map[digest.Digest][]byte{}}
}

// TestCrashDuringUploads kills kiln with SIGKILL while many uploads are in
// flight, restarts it on the same data directory, and checks that nothing
// it acknowledged was lost and nothing it serves is corrupt or partial. It
// does so several times over, so that a store recovering from a crash
// crashes again.
func TestCrashDuringUploads(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end crash test; skipped in -short mode")
	}
	seed := rand.Uint64()
	t.Logf("blob seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 0))
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()

	log := newUploadLog()
	dataDir := "" // a fresh one first, then always the same
	for round := range crashRounds {
		kiln := kilntest.Start(t, kilntest.Options{DataDir: dataDir})
		dataDir = kiln.DataDir
		client := kiln.Client()
		if round > 0 {
			checkAfterCrash(ctx, t, client, log)
		}
		uploadUntilKilled(ctx, t, kiln, client, rng, log)
	}

	kiln := kilntest.Start(t, kilntest.Options{DataDir: dataDir})
	client := kiln.Client()
	checkAfterCrash(ctx, t, client, log)

	// The store still takes the blobs that were cut off.
	for d, data := range log.unfinished {
		if _, err := client.Upload(ctx, data); err != nil {
			t.Fatalf("re-uploading blob %s, cut off by a crash: %v", d, err)
		}
		if got, err := client.Read(ctx, d); err != nil || !bytes.Equal(got, data) {
			t.Fatalf("re-uploaded blob %s reads back as %d bytes, %v", d, len(got), err)
		}
	}
}

// uploadUntilKilled uploads a batch of random blobs of mixed sizes from
// several goroutines and kills kiln once a third of them were
// acknowledged, with other uploads in every stage from queued to
// committing, and some deliberately stalled. It records everything in log.
func uploadUntilKilled(ctx context.Context, t *testing.T, kiln *kilntest.Server, client *kilntest.Client, rng *rand.Rand, log *uploadLog) {
	t.Helper()
	blobs := randomBlobs(rng, []blobClass{
		{count: 48, min: 1, max: 64 << 10},
		{count: 16, min: 256 << 10, max: 1 << 20},
		{count: 8, min: 2 << 20, max: 6 << 20},
	})
	stalled := randomBlobs(rng, []blobClass{{count: 6, min: 2 << 20, max: 3 << 20}})

	// Stalled uploads: two stop half way, two send every byte but not
	// finish_write, two send finish_write but never wait for the answer.
	for i, data := range stalled {
		d := kilntest.Digest(data)
		u, err := client.StartUpload(ctx, d)
		if err != nil {
			t.Fatal(err)
		}
		log.tried[d] = data
		switch i % 3 {
		case 0:
			err = u.Send(data[:len(data)/2], false)
			log.unfinished[d] = data
		case 1:
			err = u.Send(data, false)
			log.unfinished[d] = data
		case 2:
			err = u.Send(data, true)
		}
		if err != nil {
			t.Fatalf("starting a stalled upload: %v", err)
		}
	}

	var (
		mu      sync.Mutex
		killed  bool
		acked   int
		started int
	)
	killNow := make(chan struct{})
	queue := make(chan []byte)
	go func() {
		defer close(queue)
		for _, data := range blobs {
			queue <- data
		}
	}()
	var wg sync.WaitGroup
	for range 6 {
		wg.Go(func() {
			for data := range queue {
				mu.Lock()
				stop := killed
				if !stop {
					log.tried[kilntest.Digest(data)] = data
					started++
				}
				mu.Unlock()
				if stop {
					continue // drain the queue
				}
				d, err := client.Upload(ctx, data)
				mu.Lock()
				if err == nil {
					log.acked[d] = data
					if acked++; acked == len(blobs)/3 {
						close(killNow)
					}
				}
				mu.Unlock()
			}
		})
	}
	select {
	case <-killNow:
	case <-ctx.Done():
		t.Fatal("uploads did not complete before the deadline")
	}
	mu.Lock()
	killed = true
	mu.Unlock()
	kiln.Kill()
	wg.Wait()
	t.Logf("killed kiln with %d of %d started uploads acknowledged, %d not started, %d stalled",
		acked, started, len(blobs)-started, len(stalled))
}

// checkAfterCrash checks a restarted server against log: every
// acknowledged blob is there byte for byte, every other blob is either
// missing (and not readable) or reads back as exactly itself, and no
// unfinished upload became visible.
func checkAfterCrash(ctx context.Context, t *testing.T, client *kilntest.Client, log *uploadLog) {
	t.Helper()
	var lost []string
	for d, want := range log.acked {
		got, err := client.Read(ctx, d)
		switch {
		case err != nil:
			lost = append(lost, fmt.Sprintf("%s: %v", d, err))
		case !bytes.Equal(got, want):
			lost = append(lost, fmt.Sprintf("%s: came back as %d other bytes", d, len(got)))
		}
	}
	if len(lost) > 0 {
		t.Errorf("%d of %d acknowledged blobs were lost or damaged in a crash, e.g.\n%s",
			len(lost), len(log.acked), strings.Join(lost[:min(len(lost), 5)], "\n"))
	}

	all := keys(log.tried)
	missing, err := client.FindMissing(ctx, all)
	if err != nil {
		t.Fatal(err)
	}
	isMissing := map[digest.Digest]bool{}
	for _, d := range missing {
		isMissing[d] = true
		if _, ok := log.acked[d]; ok {
			t.Errorf("FindMissingBlobs reports acknowledged blob %s missing", d)
		}
	}
	survived := 0
	for _, d := range all {
		got, err := client.Read(ctx, d)
		switch {
		case isMissing[d]:
			if status.Code(err) != codes.NotFound {
				t.Errorf("blob %s is missing per FindMissingBlobs, but Read gives %d bytes, %v; want NOT_FOUND", d, len(got), err)
			}
		case err != nil:
			t.Errorf("blob %s is present per FindMissingBlobs, but Read fails: %v", d, err)
		case kilntest.Digest(got) != d:
			t.Errorf("blob %s reads back as %d bytes that do not match its digest", d, len(got))
		default:
			if _, ok := log.acked[d]; !ok {
				survived++
			}
		}
	}
	for d := range log.unfinished {
		if !isMissing[d] {
			t.Errorf("blob %s, whose upload never finished, is present after a crash", d)
		}
	}
	t.Logf("after restart: %d blobs tried, %d acknowledged, %d more complete on the server though never acknowledged",
		len(all), len(log.acked), survived)
}
