// Package dhtdisc finds the members of a network through the BitTorrent
// Mainline DHT (github.com/anacrolix/dht/v2), without any server of our
// own: every node publishes, per network, its signed endpoint record as a
// BEP 44 mutable item, and members look each other's items up when they
// have no working path.
//
// # Items
//
// For network N (its id, the network public key) and member M (node
// public key A, private scalar a):
//
//   - h = SHA-512("rayfish dht v1 blind" || N || A) reduced to a scalar.
//   - The item is published under the blinded key A' = h·A and signed with
//     the scalar h·a (Ed25519 key blinding, as Tor v3 onion services do).
//     Every holder of N can compute A' from A, which the roster lists, and
//     so the BEP 44 target SHA-1(A'); only M can sign for A'.
//   - The value is XChaCha20-Poly1305(k, nonce, record, ad = A') with
//     k = HKDF-SHA-256(N, "rayfish dht v1 record key"): 24-byte random
//     nonce, then the sealed record.
//   - The record is netmap.EndpointRecord in a compact binary form (see
//     Encode), signed by M's real node key. A reader checks that it names M
//     and verifies that signature before anything uses it.
//
// # Threat model
//
// Outsiders (DHT nodes, crawlers) see random-looking 32-byte keys and
// sealed blobs of a few hundred bytes. Without N they cannot compute A',
// so they cannot tell which node published an item, nor link the items one
// node publishes for two networks (different N give unrelated A'), nor
// read the addresses. They can drop, withhold or replay stale items (a
// replay loses to the record's own sequence number), and they see that the
// publishing IP talks to the DHT.
//
// Holders of N (members, former members, anyone an open network's id was
// given to) can compute every member's target and read its addresses: the
// id is the secret, as for invites. They cannot forge an item (only M
// holds h·a) nor a record (only M holds a). A removed member keeps N and
// can go on reading until the network is re-keyed.
//
// Everything read from the DHT is hostile: values are bounded
// (MaxValue) before decryption, records are bounded and decoded without
// allocation proportional to claimed lengths, and the engine uses a record
// only for a node that is an admitted member of that network.
package dhtdisc
