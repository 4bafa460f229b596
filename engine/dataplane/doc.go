// Package dataplane moves IP packets between the TUN device and the
// peers: the buffer pools, the TUN reader and writer, the routing lookup,
// the inbound checks, the per-peer send queues and senders, the carriers
// that take packets to a peer (QUIC datagrams and the bulk channel), and
// the drop counters.
//
// One packet from an app on A to an app on B:
//
//	TUN read (batch) -> parse -> magic DNS? -> route: peer -> firewall
//	  -> per-peer send queue -> sender goroutine -> the peer's Carrier:
//	  Bulk seals a batch into equal-size trains -> magicconn: one UDP GSO
//	  send on the direct path (or frames to the relay); Datagrams sends
//	  each packet as a QUIC datagram
//	UDP (GRO) -> magicconn split -> ReceiveBulk: session -> open -> inner
//	  source must be the peer's -> firewall -> TUN writer queue -> one TUN
//	  writer goroutine (batch, coalesced with GRO)
//
// Nothing on that path allocates or logs per packet, a slow peer only
// fills its own queue, and every dropped packet is counted by reason
// (Drops). The engine owns membership and connections; it tells the
// plane who the peers are (NewPeer, SetRoutes) and how to reach them
// (Peer.SetCarrier). Every per-packet read is of an atomic snapshot: the
// plane has no lock on its data path.
//
// Locks: only Bulk.mu, one per connection, a leaf that guards its receive
// sessions (taken when they are added or retired, never per packet).
// Goroutines: the TUN reader and writer (Start), one sender per Peer
// (until Peer.Close) and at most one key rotation per Bulk; Plane.Close
// stops and waits for all of them.
package dataplane
