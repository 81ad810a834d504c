package kilntest

import (
	"errors"
	"io"
	"net"
	"sync"
	"testing"
	"time"
)

// backendDialTimeout bounds one dial of a backend. On loopback a dead
// backend refuses at once; the bound only guards against a wedged one.
const backendDialTimeout = 5 * time.Second

// LoadBalancer is a TCP (L4) load balancer on 127.0.0.1, a stand-in for
// the Kubernetes Service in front of scheduler replicas or CAS nodes: each
// client connection goes, whole, to the next backend in round-robin order
// that accepts a connection, skipping dead ones. A gRPC client therefore
// sticks to one backend for as long as its connection lives and lands on
// another when that backend dies, as it would behind a Service.
type LoadBalancer struct {
	t        testing.TB
	listener net.Listener

	mu       sync.Mutex
	backends []string
	next     int
	conns    map[net.Conn]string // client side → backend, while open
	total    map[string]int      // connections ever sent, by backend
	closed   bool
	handlers sync.WaitGroup
}

// StartLoadBalancer listens on a free loopback port and forwards to
// backends (host:port). It is closed when the test ends.
func StartLoadBalancer(t testing.TB, backends ...string) *LoadBalancer {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("kilntest: load balancer: %v", err)
	}
	lb := &LoadBalancer{
		t:        t,
		listener: l,
		backends: append([]string(nil), backends...),
		conns:    make(map[net.Conn]string),
		total:    make(map[string]int),
	}
	lb.handlers.Go(lb.accept)
	t.Cleanup(lb.Close)
	return lb
}

// Addr is the host:port clients dial.
func (lb *LoadBalancer) Addr() string { return lb.listener.Addr().String() }

// SetBackends replaces the backends for new connections; open ones stay
// where they are.
func (lb *LoadBalancer) SetBackends(backends ...string) {
	lb.mu.Lock()
	defer lb.mu.Unlock()
	lb.backends = append([]string(nil), backends...)
}

// Open counts the open connections by backend.
func (lb *LoadBalancer) Open() map[string]int {
	lb.mu.Lock()
	defer lb.mu.Unlock()
	open := make(map[string]int)
	for _, b := range lb.conns {
		open[b]++
	}
	return open
}

// Total counts the connections ever forwarded, by backend.
func (lb *LoadBalancer) Total() map[string]int {
	lb.mu.Lock()
	defer lb.mu.Unlock()
	total := make(map[string]int, len(lb.total))
	for b, n := range lb.total {
		total[b] = n
	}
	return total
}

// Close stops accepting, cuts every open connection and waits for the
// forwarding goroutines.
func (lb *LoadBalancer) Close() {
	lb.mu.Lock()
	lb.closed = true
	for c := range lb.conns {
		c.Close()
	}
	lb.mu.Unlock()
	lb.listener.Close()
	lb.handlers.Wait()
}

func (lb *LoadBalancer) accept() {
	for {
		client, err := lb.listener.Accept()
		if err != nil {
			if !errors.Is(err, net.ErrClosed) {
				lb.t.Logf("kilntest: load balancer: accept: %v", err)
			}
			return
		}
		lb.handlers.Go(func() { lb.forward(client) })
	}
}

// forward connects client to the first live backend from the round-robin
// position and copies both ways until either side ends; then it closes
// both, so that a dead backend looks to the client like a dropped
// connection. Without a live backend the client is closed at once.
func (lb *LoadBalancer) forward(client net.Conn) {
	defer client.Close()
	backend, server := lb.dialNext()
	if server == nil {
		return
	}
	defer server.Close()
	lb.mu.Lock()
	if lb.closed {
		lb.mu.Unlock()
		return
	}
	lb.conns[client] = backend
	lb.total[backend]++
	lb.mu.Unlock()

	done := make(chan struct{}, 2)
	pipe := func(dst, src net.Conn) {
		_, _ = io.Copy(dst, src)
		done <- struct{}{}
	}
	go pipe(server, client)
	go pipe(client, server)
	<-done
	// One direction ended: end both, so that the other copy returns.
	// Forgotten first, so that a client that sees its connection end
	// no longer finds it in Open.
	lb.mu.Lock()
	delete(lb.conns, client)
	lb.mu.Unlock()
	client.Close()
	server.Close()
	<-done
}

// dialNext tries each backend once, starting at the round-robin position,
// and returns the first that accepts.
func (lb *LoadBalancer) dialNext() (string, net.Conn) {
	lb.mu.Lock()
	backends := lb.backends
	start := lb.next
	lb.next++
	lb.mu.Unlock()
	for i := range backends {
		b := backends[(start+i)%len(backends)]
		conn, err := net.DialTimeout("tcp", b, backendDialTimeout)
		if err == nil {
			return b, conn
		}
	}
	return "", nil
}
