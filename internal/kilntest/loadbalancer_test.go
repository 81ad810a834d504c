package kilntest

import (
	"bufio"
	"errors"
	"io"
	"net"
	"sync"
	"testing"
	"time"
)

// nameServer is a backend that greets each connection with its name and
// then echoes what it reads.
type nameServer struct {
	name string
	l    net.Listener
	mu   sync.Mutex
	open []net.Conn
}

func startNameServer(t *testing.T, name string) *nameServer {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &nameServer{name: name, l: l}
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			s.mu.Lock()
			s.open = append(s.open, c)
			s.mu.Unlock()
			go func() {
				if _, err := io.WriteString(c, name+"\n"); err == nil {
					_, _ = io.Copy(c, c)
				}
				c.Close()
			}()
		}
	}()
	t.Cleanup(s.kill)
	return s
}

func (s *nameServer) addr() string { return s.l.Addr().String() }

// kill stops listening and drops every connection, as a killed process
// would.
func (s *nameServer) kill() {
	s.l.Close()
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.open {
		c.Close()
	}
}

// greeting dials the balancer and returns the connection and the name of
// the backend that answered.
func greeting(t *testing.T, lb *LoadBalancer) (net.Conn, string) {
	t.Helper()
	c, err := net.Dial("tcp", lb.Addr())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	// A bound on a hang only.
	c.SetDeadline(time.Now().Add(10 * time.Second))
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return c, ""
	}
	return c, line[:len(line)-1]
}

func TestLoadBalancerRoundRobinsConnections(t *testing.T) {
	a, b := startNameServer(t, "a"), startNameServer(t, "b")
	lb := StartLoadBalancer(t, a.addr(), b.addr())
	var got []string
	for range 4 {
		_, name := greeting(t, lb)
		got = append(got, name)
	}
	if got[0] == got[1] || got[0] != got[2] || got[1] != got[3] {
		t.Errorf("backends of 4 connections: %q, want them alternating", got)
	}
	if total := lb.Total(); total[a.addr()] != 2 || total[b.addr()] != 2 {
		t.Errorf("Total = %v, want 2 connections to each backend", total)
	}
}

func TestLoadBalancerCarriesBytesBothWays(t *testing.T) {
	lb := StartLoadBalancer(t, startNameServer(t, "a").addr())
	c, name := greeting(t, lb)
	if name != "a" {
		t.Fatalf("greeting %q, want a", name)
	}
	msg := make([]byte, 1<<20)
	for i := range msg {
		msg[i] = byte(i * 7)
	}
	go func() { c.Write(msg) }()
	back := make([]byte, len(msg))
	if _, err := io.ReadFull(c, back); err != nil {
		t.Fatal(err)
	}
	for i := range back {
		if back[i] != msg[i] {
			t.Fatalf("byte %d came back as %d, want %d", i, back[i], msg[i])
		}
	}
}

func TestLoadBalancerSkipsDeadBackendsAndDropsTheirConnections(t *testing.T) {
	a, b := startNameServer(t, "a"), startNameServer(t, "b")
	lb := StartLoadBalancer(t, a.addr(), b.addr())
	onA, name := greeting(t, lb)
	if name != "a" {
		t.Fatalf("first connection went to %q, want a", name)
	}
	a.kill()
	// The client of a dead backend sees its connection end.
	if _, err := onA.Read(make([]byte, 1)); !errors.Is(err, io.EOF) {
		t.Errorf("read on a connection whose backend died = %v, want EOF", err)
	}
	for i := range 3 {
		if _, name := greeting(t, lb); name != "b" {
			t.Errorf("connection %d after a died went to %q, want b", i, name)
		}
	}
	if open := lb.Open(); open[a.addr()] != 0 {
		t.Errorf("Open = %v, want none on the dead backend", open)
	}
}

func TestLoadBalancerWithoutLiveBackendsClosesTheClient(t *testing.T) {
	a := startNameServer(t, "a")
	lb := StartLoadBalancer(t, a.addr())
	a.kill()
	c, err := net.Dial("tcp", lb.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second)) // a bound on a hang only
	if n, err := c.Read(make([]byte, 16)); !errors.Is(err, io.EOF) {
		t.Errorf("read with every backend dead = %d bytes, %v; want the connection closed (EOF)", n, err)
	}
	lb.SetBackends(startNameServer(t, "c").addr())
	if _, name := greeting(t, lb); name != "c" {
		t.Errorf("after SetBackends the connection went to %q, want c", name)
	}
}
