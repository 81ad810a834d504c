package server

import (
	"fmt"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/keepalive"
)

// clientKeepalive pings a quiet connection every 30 s, which the servers'
// enforcement policy (keepalivePolicy) permits, so that a worker whose
// long poll hangs on a dead peer or a NAT that forgot it finds out within
// a minute instead of waiting for the poll to time out.
var clientKeepalive = keepalive.ClientParameters{
	Time:                30 * time.Second,
	Timeout:             20 * time.Second,
	PermitWithoutStream: true,
}

// Dial returns a client connection to the Kiln (or other REAPI) server at
// hostPort, for one process to call another: a worker its scheduler and
// CAS, a scheduler a remote CAS. It connects lazily, on the first call,
// and reconnects after a failure. Replies may be as large as a server accepts requests
// (DefaultMaxRecvMsgSize), e.g. a FindMissingBlobs answer listing many
// digests.
func Dial(hostPort string) (*grpc.ClientConn, error) {
	conn, err := grpc.NewClient(hostPort,
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithKeepaliveParams(clientKeepalive),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(DefaultMaxRecvMsgSize)),
	)
	if err != nil {
		return nil, fmt.Errorf("dialing %s: %w", hostPort, err)
	}
	return conn, nil
}
