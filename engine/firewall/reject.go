package firewall

import (
	"fmt"

	"github.com/rayfish/rayfish/engine/packet"
)

// BuildReject writes into dst the answer to pkt, a packet the firewall
// rejected (Verdict Reject), and returns its length: a TCP reset for TCP,
// an ICMP "port unreachable" for UDP (so the sender fails fast, as with a
// closed port), and an ICMP "administratively prohibited" otherwise. The
// answer comes from pkt's destination and goes to its source; send it
// back the way pkt came (into the TUN for an outbound packet, to the peer
// for an inbound one). info describes pkt. dst may be pkt's own buffer;
// 1280 bytes always suffice.
func BuildReject(dst, pkt []byte, info *packet.Info) (int, error) {
	var n int
	var err error
	switch {
	case info.Proto == packet.ProtoTCP:
		n, err = packet.BuildTCPReset(dst, pkt)
	case info.Version == 4:
		code := uint8(packet.ICMPv4AdminProhibited)
		if info.Proto == packet.ProtoUDP {
			code = packet.ICMPv4PortUnreachable
		}
		n, err = packet.BuildICMPv4Unreachable(dst, pkt, code, info.Dst)
	case info.Version == 6:
		code := uint8(packet.ICMPv6AdminProhibited)
		if info.Proto == packet.ProtoUDP {
			code = packet.ICMPv6PortUnreachable
		}
		n, err = packet.BuildICMPv6Unreachable(dst, pkt, code, info.Dst)
	default:
		return 0, fmt.Errorf("firewall: reject: IP version %d", info.Version)
	}
	if err != nil {
		return 0, fmt.Errorf("firewall: reject: %w", err)
	}
	return n, nil
}
