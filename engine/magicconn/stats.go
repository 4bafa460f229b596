package magicconn

import "sync/atomic"

// Stats are the Conn's counters since New, for metrics.
type Stats struct {
	// QUIC packets and bytes per path kind. Packets sent to every
	// candidate while no path is known count as direct, once per copy.
	DirectTx, DirectRx, RelayTx, RelayRx Traffic
	Drops                                Drops
	Disco                                DiscoStats
}

// Traffic counts packets and bytes.
type Traffic struct {
	Packets, Bytes uint64
}

// Drops counts packets lost, by reason.
type Drops struct {
	UnknownSource uint64 // QUIC from an address no verified disco message came from
	QueueFull     uint64 // the receive queue was full
	NoPeer        uint64 // WriteTo an address that is no known peer's
	NoPath        uint64 // WriteTo a peer with no direct path, relay or candidate
	RelayFull     uint64 // the relay connection's send queue was full
	WriteError    uint64 // the socket refused a write
	TooLarge      uint64 // a relayed QUIC packet over bufSize, or any bulk packet over maxBulkLen
	BadDisco      uint64 // disco message that failed to parse or verify
	StaleDisco    uint64 // verified disco message replayed, or stamped too far from our clock
	RateLimited   uint64 // disco message from an unknown key over the rate limit
	BadSTUN       uint64 // STUN message that is not a response to our query
	NotMember     uint64 // call-me-maybe from a key that is not a member (SetPeer)
}

// DiscoStats counts disco messages.
type DiscoStats struct {
	PingsSent, PingsReceived, PongsSent, PongsReceived uint64
	StrayPongs                                         uint64 // answering no ping of ours
	CallMeMaybeSent, CallMeMaybeReceived               uint64
}

type trafficCounter struct {
	packets, bytes atomic.Uint64
}

func (t *trafficCounter) add(n int) {
	t.packets.Add(1)
	t.bytes.Add(uint64(n))
}

func (t *trafficCounter) addN(packets, bytes int) {
	t.packets.Add(uint64(packets))
	t.bytes.Add(uint64(bytes))
}

func (t *trafficCounter) load() Traffic {
	return Traffic{Packets: t.packets.Load(), Bytes: t.bytes.Load()}
}

type counters struct {
	directTx, directRx, relayTx, relayRx trafficCounter

	dropUnknownSource, dropQueueFull, dropNoPeer, dropNoPath atomic.Uint64
	dropRelayFull                                            atomic.Uint64
	dropWriteError, dropTooLarge, dropBadDisco               atomic.Uint64
	dropStaleDisco                                           atomic.Uint64
	dropRateLimited, dropBadSTUN, dropNotMember              atomic.Uint64

	pingsSent, pingsRecv, pongsSent, pongsRecv, strayPongs atomic.Uint64
	cmmSent, cmmRecv                                       atomic.Uint64
}

// Stats returns the counters.
func (c *Conn) Stats() Stats {
	k := &c.ctr
	return Stats{
		DirectTx: k.directTx.load(),
		DirectRx: k.directRx.load(),
		RelayTx:  k.relayTx.load(),
		RelayRx:  k.relayRx.load(),
		Drops: Drops{
			UnknownSource: k.dropUnknownSource.Load(),
			QueueFull:     k.dropQueueFull.Load(),
			NoPeer:        k.dropNoPeer.Load(),
			NoPath:        k.dropNoPath.Load(),
			RelayFull:     k.dropRelayFull.Load(),
			WriteError:    k.dropWriteError.Load(),
			TooLarge:      k.dropTooLarge.Load(),
			BadDisco:      k.dropBadDisco.Load(),
			StaleDisco:    k.dropStaleDisco.Load(),
			RateLimited:   k.dropRateLimited.Load(),
			BadSTUN:       k.dropBadSTUN.Load(),
			NotMember:     k.dropNotMember.Load(),
		},
		Disco: DiscoStats{
			PingsSent:           k.pingsSent.Load(),
			PingsReceived:       k.pingsRecv.Load(),
			PongsSent:           k.pongsSent.Load(),
			PongsReceived:       k.pongsRecv.Load(),
			StrayPongs:          k.strayPongs.Load(),
			CallMeMaybeSent:     k.cmmSent.Load(),
			CallMeMaybeReceived: k.cmmRecv.Load(),
		},
	}
}

// Map flattens s into named counters for metrics: traffic as
// "direct_tx_packets", "relay_rx_bytes"…, drops as "drop_" plus the
// reason, disco messages as "disco_" plus the message.
func (s Stats) Map() map[string]uint64 {
	m := map[string]uint64{}
	for _, t := range []struct {
		name string
		v    Traffic
	}{{"direct_tx", s.DirectTx}, {"direct_rx", s.DirectRx}, {"relay_tx", s.RelayTx}, {"relay_rx", s.RelayRx}} {
		m[t.name+"_packets"] = t.v.Packets
		m[t.name+"_bytes"] = t.v.Bytes
	}
	d := s.Drops
	for name, v := range map[string]uint64{
		"unknown_source": d.UnknownSource, "queue_full": d.QueueFull, "no_peer": d.NoPeer,
		"no_path": d.NoPath, "relay_full": d.RelayFull, "write_error": d.WriteError,
		"too_large": d.TooLarge, "bad_disco": d.BadDisco, "stale_disco": d.StaleDisco, "rate_limited": d.RateLimited,
		"bad_stun": d.BadSTUN, "not_member": d.NotMember,
	} {
		m["drop_"+name] = v
	}
	ds := s.Disco
	for name, v := range map[string]uint64{
		"pings_sent": ds.PingsSent, "pings_received": ds.PingsReceived,
		"pongs_sent": ds.PongsSent, "pongs_received": ds.PongsReceived,
		"stray_pongs": ds.StrayPongs, "call_me_maybe_sent": ds.CallMeMaybeSent,
		"call_me_maybe_received": ds.CallMeMaybeReceived,
	} {
		m["disco_"+name] = v
	}
	return m
}
