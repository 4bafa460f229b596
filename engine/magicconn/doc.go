// Package magicconn is the socket layer under rayfish's QUIC transport.
// It gives quic-go one stable address per peer key and, below that
// address, carries each packet over the best path it knows: a direct UDP
// path found by hole punching, or a relay. quic-go never sees a path
// change; a peer can move from relay to direct, lose its direct path,
// change networks, and its QUIC connection goes on.
//
// # Shape
//
//	quic.Transport ── ReadFrom/WriteTo (virtual address per key) ──┐
//	                                                               │
//	Conn:  virtual address → peer → route {trusted direct ip:port, │
//	       relay connections, candidates}                          │
//	                                                               │
//	      UDP socket (QUIC + disco + STUN)     relay.Conn per relay
//
// The Conn is a net.PacketConn. PeerAddr(k) returns k's virtual address,
// a *net.UDPAddr in VirtualPrefix derived from a keyed hash of k, so it
// is the same for k as long as the Conn lives, whatever happens to k's
// state. The engine dials that address and reads PeerOf or the TLS
// certificate to learn who an accepted connection is from.
//
// # Receiving
//
// One goroutine reads the UDP socket and sorts datagrams by their first
// bytes (see package disco for why these never collide):
//
//   - disco messages (disco.Looks) are opened with the sender's disco
//     pair (authenticated; see package disco), checked against the
//     sender's replay window (disco.Window: a replayed or stale message
//     is dropped) and handled: ping, pong, call-me-maybe;
//   - STUN responses (stun.IsMessage) go to the STUN query waiting for
//     them;
//   - everything else is QUIC. It reaches quic-go, with the sender's
//     virtual address, only if it comes from an address that a verified
//     disco message from that key came from (a ping, or a pong to our
//     ping). Anything else is dropped and counted: without an authentic
//     disco message first, a stranger cannot get a packet in under a peer's
//     name.
//
// A member's disco pair is derived once (disco.Keys, outside every lock;
// its own lock comes after mu) and dropped at the next maintenance tick
// after the member is removed; a key not vouched for pays one key
// derivation per message, behind the unknown-key rate limit.
//
// Relayed packets carry the sender's key, authenticated by the relay, so
// they map to the virtual address directly. Keys we were not told about
// (SetPeer) are accepted too, since a node that was just invited knows
// us before we know it; they live in a bounded least-recently-used set.
//
// Received QUIC packets wait in a bounded queue of pooled buffers for
// ReadFrom; a full queue drops and counts.
//
// # Sending
//
// WriteTo looks up the peer's route, an immutable snapshot replaced
// whenever something changes, and sends without taking a lock:
//
//   - to the best direct address, while its last pong is younger than
//     the trust window (timing.hotTrust while data flows now,
//     timing.trust for a while after, timing.quietTrust otherwise);
//   - else through the peer's relay (its home relay from SetPeer, or the
//     relay its packets last arrived through); relay sends never block;
//   - else, with no relay at all, to every candidate address, each right
//     after a ping to it: the ping teaches the receiver our address just
//     before the QUIC packet arrives, which is how two nodes with public
//     or LAN addresses connect without any relay.
//
// WriteTo reports no error for lost packets (quic-go closes a connection
// on any write error); the Stats say what was lost and why.
//
// # Finding and keeping direct paths
//
// Every candidate address of a peer (from SetPeer, from its pings, from
// its call-me-maybes) is pinged with a disco Ping; the Pong confirms the
// path, gives its round-trip time, and tells us our own address as the
// peer saw it, which joins our endpoints. While a peer has no direct
// path and carries traffic, all its candidates are pinged every
// timing.retry and a CallMeMaybe listing our endpoints goes through the
// relay, so the peer
// pings us at the same moment: both NATs then see outgoing packets to
// the other side and let the answers in. A ping from a new address is
// answered with a pong and, from a member, with a ping of our own.
//
// Only members (keys given to SetPeer) are ever pinged, and only their
// addresses, call-me-maybes and relays are contacted: anyone else gets a
// pong where its ping came from and QUIC packets where it last spoke
// from, so that nobody can aim our packets at a third party. Our own
// address as a pong reports it joins our endpoints only once two members
// report it, one member backing at most one such address.
//
// Once direct, the best path is pinged every timing.hotHeartbeat while
// data flows now (so a dead path is left for the relay within 3 s, see
// test/netns TestPathChanges), every timing.heartbeat for a while after,
// every timing.quietHeartbeat while only QUIC keepalives cross it
// and every timing.idleHeartbeat when the peer is idle; while data flows,
// all candidates are pinged every timing.upgrade to find a better path.
// A path is replaced only by one clearly better (clearlyBetter), so
// jitter does not make it flap. When the best path's pongs stop, its
// trust window runs out and packets go through the relay until a path
// answers again; the reason shows in Path.
//
// This works through endpoint-independent NATs and through NATs whose
// filtering alone depends on the remote end (port-restricted cones), and
// when one side's mapping depends on the destination and the other's
// does not. When both map per destination (symmetric NATs), no direct
// path is found and traffic stays on the relay; Path says so.
//
// # Relays
//
// The home relay is the first of Config.Relays that connects; when it
// stays down for timing.homeFailover, the next is tried. Peers whose home
// relay is another get an on-demand connection to theirs, closed after
// timing.relayIdle without use. The
// relay package reconnects with backoff on its own. Members that name no
// home relay are reached through the meet relay (SetMeetRelay), also on
// demand: a relay some member serves, which is never our home relay nor
// a STUN server unless it is in Config.Relays.
//
// # Our endpoints
//
// Endpoints lists our local addresses (SetLocalEndpoints), our reflexive
// addresses from STUN (Config.STUNServers, queried every
// timing.stunInterval and on NetworkChanged) and from pongs, and our home relay. When they change,
// OnEndpointsChanged runs (off the data path) so the engine re-signs and
// gossips its endpoint record. Netcheck reports the port, the reflexive
// addresses, the NAT's mapping behaviour (from two STUN servers at
// different addresses) and each relay's latency.
//
// # Maximum packet size
//
// quic-go runs over this Conn without path MTU discovery (it is not a
// *net.UDPConn), at its InitialPacketSize, which the engine sets to fit a
// 1500-byte link with IPv6 and UDP headers and a relay frame alike; the
// receive buffers (bufSize) hold any packet of that size.
//
// # Timing
//
// The protocol's timers are the fields of timing; defaultTiming has their
// values, and tests shrink them. This comment names them rather than
// repeating their values.
//
// # Testing
//
// Package natlab simulates an internet with NATs of every kind, on which
// the tests run real quic-go connections between Conns, with a real relay
// on natlab's in-memory streams: everything runs in testing/synctest
// bubbles, so the protocol's timers pass on virtual time.
package magicconn
