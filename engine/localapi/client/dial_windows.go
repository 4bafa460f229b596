//go:build windows

package client

import (
	"context"
	"net"

	"golang.zx2c4.com/wireguard/ipc/namedpipe"
)

func dial(ctx context.Context, socket string) (net.Conn, error) {
	return namedpipe.DialContext(ctx, socket)
}
