package main

import (
	"errors"
	"fmt"

	"google.golang.org/grpc"

	"github.com/kilnbuild/kiln/internal/config"
	"github.com/kilnbuild/kiln/internal/server"
)

// connections dials each remote endpoint once: a worker whose scheduler,
// CAS and action cache are one server shares one connection among them.
type connections struct {
	byAddr map[string]*grpc.ClientConn
}

func newConnections() *connections {
	return &connections{byAddr: make(map[string]*grpc.ClientConn)}
}

// get returns the connection to endpoint (grpc://HOST:PORT), dialling it
// on first use. field names the config key for errors.
func (c *connections) get(field, endpoint string) (*grpc.ClientConn, error) {
	hostPort, err := config.ParseGRPCAddress(endpoint)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", field, err)
	}
	if conn, ok := c.byAddr[hostPort]; ok {
		return conn, nil
	}
	conn, err := server.Dial(hostPort)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", field, err)
	}
	c.byAddr[hostPort] = conn
	return conn, nil
}

// Close closes every connection.
func (c *connections) Close() error {
	var errs []error
	for _, conn := range c.byAddr {
		errs = append(errs, conn.Close())
	}
	clear(c.byAddr)
	return errors.Join(errs...)
}

// grpcURL shows an endpoint the way users write it.
func grpcURL(endpoint string) string {
	if hostPort, err := config.ParseGRPCAddress(endpoint); err == nil {
		return "grpc://" + hostPort
	}
	return endpoint
}
