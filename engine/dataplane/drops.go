package dataplane

import "sync/atomic"

// dropReason names why a packet was dropped.
type dropReason int

const (
	dropDown         dropReason = iota // data plane off (ray down)
	dropMalformed                      // not a parseable IP packet
	dropNoPeer                         // no peer owns the destination
	dropNoDNS                          // magic DNS not serving
	dropPeerOffline                    // the peer has no connection
	dropBackpressure                   // a queue or the buffer pool is full
	dropSendFailed                     // the carrier refused the packet
	dropTooBig                         // larger than the path; ICMP sent back
	dropSpoofed                        // inner source is not the sending peer's
	dropNotForUs                       // inner destination is not ours
	dropTUNWrite                       // the TUN refused a write
	dropFirewallIn                     // inbound packet denied by the firewall
	dropFirewallOut                    // outbound packet denied by the firewall
	dropBulkSession                    // bulk packet for no known session
	dropBulkReplay                     // bulk packet replayed or too old
	dropBulkAuth                       // bulk packet failed authentication
	dropExitDown                       // for the chosen exit node, which cannot carry it
	numDropReasons
)

var dropNames = [numDropReasons]string{
	dropDown:         "down",
	dropMalformed:    "malformed",
	dropNoPeer:       "no_peer",
	dropNoDNS:        "no_dns",
	dropPeerOffline:  "peer_offline",
	dropBackpressure: "backpressure",
	dropSendFailed:   "send_failed",
	dropTooBig:       "too_big",
	dropSpoofed:      "spoofed_source",
	dropNotForUs:     "not_for_us",
	dropTUNWrite:     "tun_write",
	dropFirewallIn:   "firewall_in",
	dropFirewallOut:  "firewall_out",
	dropBulkSession:  "bulk_unknown_session",
	dropBulkReplay:   "bulk_replay",
	dropBulkAuth:     "bulk_auth",
	dropExitDown:     "exit_node_down",
}

// dropCounters counts drops by reason without locks or allocation.
type dropCounters [numDropReasons]atomic.Uint64

func (d *dropCounters) add(r dropReason) { d[r].Add(1) }

func (d *dropCounters) addN(r dropReason, n int) { d[r].Add(uint64(n)) }

// snapshot returns every counter by name (zero ones included).
func (d *dropCounters) snapshot() map[string]uint64 {
	m := make(map[string]uint64, numDropReasons)
	for i := range d {
		m[dropNames[i]] = d[i].Load()
	}
	return m
}
