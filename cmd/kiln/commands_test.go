package main

import (
	"bytes"
	"context"
	"errors"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
)

func runCapture(args ...string) (stdout, stderr string, err error) {
	var out, errOut bytes.Buffer
	err = run(context.Background(), args, &out, &errOut)
	return out.String(), errOut.String(), err
}

func isUsageError(err error) bool {
	var u usageError
	return errors.As(err, &u)
}

func TestVersionPrintsSomething(t *testing.T) {
	out, _, err := runCapture("version")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(out, "kiln ") || len(strings.TrimSpace(out)) <= len("kiln ") {
		t.Errorf("version printed %q", out)
	}
}

func TestHelpListsCommands(t *testing.T) {
	for _, args := range [][]string{{"help"}, {"--help"}} {
		out, _, err := runCapture(args...)
		if err != nil {
			t.Fatalf("%q: %v", args, err)
		}
		for _, c := range commands() {
			if !strings.Contains(out, "  "+c.name+" ") {
				t.Errorf("%q does not list %q:\n%s", args, c.name, out)
			}
		}
	}
}

func TestHelpForACommandShowsItsFlags(t *testing.T) {
	out, _, err := runCapture("help", "up")
	if err != nil {
		t.Fatal(err)
	}
	for _, flag := range []string{"-listen", "-metrics-listen", "-data-dir", "-cas-max-size", "-config"} {
		if !strings.Contains(out, flag) {
			t.Errorf("help up does not mention %s:\n%s", flag, out)
		}
	}
}

func TestCommandLineMistakesAreUsageErrors(t *testing.T) {
	for _, args := range [][]string{
		{},
		{"frobnicate"},
		{"up", "--no-such-flag"},
		{"up", "extra-argument"},
		{"up", "--cas-max-size=huge"},
		{"help", "frobnicate"},
		{"version", "now"},
	} {
		_, _, err := runCapture(args...)
		if !isUsageError(err) {
			t.Errorf("kiln %q: error %v, want a usage error", args, err)
		}
	}
}

func TestUpRejectsInvalidConfigNamingTheField(t *testing.T) {
	_, _, err := runCapture("up", "--listen=127.0.0.1:0", "--metrics-listen=", "--data-dir="+t.TempDir(), "--log-format=xml")
	if err == nil || !strings.Contains(err.Error(), "log.format") {
		t.Errorf("error = %v, want one naming log.format", err)
	}
}

func TestUpFailsCleanlyWhenThePortIsTaken(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	for _, flag := range []string{"--listen=", "--metrics-listen="} {
		args := []string{"up", "--listen=127.0.0.1:0", "--metrics-listen=127.0.0.1:0", "--data-dir=" + t.TempDir(),
			flag + taken.Addr().String()}
		_, _, err := runCapture(args...)
		if err == nil {
			t.Errorf("%s on a taken port: up returned nil", flag)
			continue
		}
		field := map[string]string{"--listen=": "server.listen", "--metrics-listen=": "server.metrics_listen"}[flag]
		if !strings.Contains(err.Error(), field) {
			t.Errorf("%s on a taken port: error %q does not name %s", flag, err, field)
		}
	}
}

func TestSecondUpOnTheSameDataDirFails(t *testing.T) {
	dir := t.TempDir()
	startUp(t, "--listen=127.0.0.1:0", "--metrics-listen=", "--data-dir="+dir)
	// Two processes on one CAS directory would corrupt each other's
	// accounting; the second must refuse to start, not hang or serve.
	_, _, err := runCapture("up", "--listen=127.0.0.1:0", "--metrics-listen=", "--data-dir="+dir)
	if err == nil {
		t.Fatal("a second kiln up on the same data dir started")
	}
	if !strings.Contains(err.Error(), "CAS") {
		t.Errorf("error %q does not say what is in use", err)
	}
}

func TestDialableAddress(t *testing.T) {
	for _, tc := range []struct{ listen, want string }{
		{"127.0.0.1:8980", "127.0.0.1:8980"},
		{"0.0.0.0:8980", "127.0.0.1:8980"},
		{"[::]:8980", "127.0.0.1:8980"},
		{"[::1]:8980", "[::1]:8980"},
	} {
		addr, err := net.ResolveTCPAddr("tcp", tc.listen)
		if err != nil {
			t.Fatal(err)
		}
		if got := dialable(addr); got != tc.want {
			t.Errorf("dialable(%s) = %s, want %s", tc.listen, got, tc.want)
		}
	}
}

func TestRunLayersStopsEverythingWhenOneFails(t *testing.T) {
	boom := errors.New("boom")
	err := runLayers(context.Background(),
		[]func(context.Context) error{func(ctx context.Context) error { <-ctx.Done(); return nil }},
		[]func(context.Context) error{func(context.Context) error { return boom }},
	)
	if !errors.Is(err, boom) {
		t.Errorf("runLayers = %v, want boom", err)
	}
}

func TestRunLayersStopsLayersInOrder(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	var mu sync.Mutex
	var events []string
	record := func(e string) {
		mu.Lock()
		events = append(events, e)
		mu.Unlock()
	}
	layer := func(name string) []func(context.Context) error {
		// Two funcs per layer: the next layer may stop only after both.
		return []func(context.Context) error{
			func(ctx context.Context) error { <-ctx.Done(); record(name + " stopped"); return nil },
			func(ctx context.Context) error { <-ctx.Done(); record(name + " stopped"); return nil },
		}
	}
	done := make(chan error, 1)
	go func() { done <- runLayers(ctx, layer("workers"), layer("scheduler"), layer("servers")) }()
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	want := []string{"workers stopped", "workers stopped", "scheduler stopped", "scheduler stopped", "servers stopped", "servers stopped"}
	if !slices.Equal(events, want) {
		t.Errorf("stop order %q, want %q", events, want)
	}
}
