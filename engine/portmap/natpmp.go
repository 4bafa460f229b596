package portmap

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"time"

	natpmp "github.com/jackpal/go-nat-pmp"
)

// natpmpClient maps our port with NAT-PMP (RFC 6886) through
// github.com/jackpal/go-nat-pmp, which bounds the responses it reads (16
// bytes) and checks their version, opcode and result code.
type natpmpClient struct {
	gw      netip.Addr
	timeout time.Duration // per call; the library is not context-aware
	tcp     bool          // map a TCP port, not UDP
}

func (c *natpmpClient) proto() string {
	if c.tcp {
		return "tcp"
	}
	return "udp"
}

func (c *natpmpClient) protocol() Protocol { return NATPMP }

func (c *natpmpClient) client(ctx context.Context) *natpmp.Client {
	t := c.timeout
	if d, ok := ctx.Deadline(); ok {
		t = min(t, time.Until(d))
	}
	return natpmp.NewClientWithTimeout(net.IP(c.gw.AsSlice()), max(t, 10*time.Millisecond))
}

func (c *natpmpClient) mapPort(ctx context.Context, internal uint16, prev netip.AddrPort, lease time.Duration) (Mapping, error) {
	cl := c.client(ctx)
	ext, err := cl.GetExternalAddress()
	if err != nil {
		return Mapping{}, fmt.Errorf("NAT-PMP: external address: %w", err)
	}
	ip := netip.AddrFrom4(ext.ExternalIPAddress)
	want := internal // the same port outside as inside, if free
	if prev.IsValid() {
		want = prev.Port()
	}
	r, err := cl.AddPortMapping(c.proto(), int(internal), int(want), int(lease/time.Second))
	if err != nil {
		return Mapping{}, fmt.Errorf("NAT-PMP: map: %w", err)
	}
	if r.InternalPort != internal {
		return Mapping{}, errors.New("NAT-PMP: response is for another port")
	}
	if r.MappedExternalPort == 0 || r.PortMappingLifetimeInSeconds == 0 || ip.IsUnspecified() {
		return Mapping{}, fmt.Errorf("NAT-PMP: gateway granted no usable mapping (%v:%d, %d s)", ip, r.MappedExternalPort, r.PortMappingLifetimeInSeconds)
	}
	return Mapping{
		Protocol: NATPMP,
		External: netip.AddrPortFrom(ip, r.MappedExternalPort),
		Lease:    time.Duration(r.PortMappingLifetimeInSeconds) * time.Second,
	}, nil
}

func (c *natpmpClient) unmapPort(ctx context.Context, internal uint16, _ Mapping) error {
	if _, err := c.client(ctx).AddPortMapping(c.proto(), int(internal), 0, 0); err != nil {
		return fmt.Errorf("NAT-PMP: delete: %w", err)
	}
	return nil
}
