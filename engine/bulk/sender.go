package bulk

import (
	"encoding/binary"
	"fmt"
	"sync/atomic"
	"time"
)

// RekeyAfterTime is the age at which a Sender's keys should be replaced
// whatever its packet count (as WireGuard's REKEY_AFTER_TIME): it bounds
// how long one key is used, and so how long forgeries can pile up against
// its Receiver (see Receiver.Open's ErrExhausted) before fresh keys, with
// a fresh count, take over.
const RekeyAfterTime = 2 * time.Minute

// RekeyMinPackets is how many packets a Sender must have sealed before
// its age alone asks for new keys. The peer registers the epoch after the
// current one when it opens the current one's first packet, so a sender
// must not move on after a few packets that may all have been lost: with
// two epochs unseen, the peer could no longer open anything. An idle
// Sender protects nothing and needs no new keys.
const RekeyMinPackets = 64

// A Sender seals packets for one direction of one bulk session. Seal may
// be called from several goroutines at once; each call takes the next
// counter, so no counter is ever used twice.
type Sender struct {
	session     SessionID
	cipher      Cipher
	rekeyAfter  uint64
	rejectAfter uint64
	created     time.Time

	aead atomic.Pointer[aeadBox] // nil once closed
	next atomic.Uint64           // counter of the next packet
}

// NewSender returns a Sender sealing with k. It keeps no reference to k.
func NewSender(k *Keys) (*Sender, error) {
	a, err := k.Cipher.aead(&k.Key)
	if err != nil {
		return nil, fmt.Errorf("bulk: new sender: %w", err)
	}
	s := &Sender{session: k.Session, cipher: k.Cipher, created: time.Now()}
	s.rekeyAfter, s.rejectAfter, _ = k.Cipher.limits()
	s.aead.Store(&aeadBox{a})
	return s, nil
}

// Seal appends the wire form of pkt to dst and returns the extended
// slice: HeaderLen bytes of header, then len(pkt)+TagLen bytes of
// ciphertext and tag. It allocates only if dst lacks the capacity.
//
// To seal in place, read the packet into buf[HeaderLen:] and call
// Seal(buf[:0], buf[HeaderLen:HeaderLen+n]) with cap(buf) >= n+Overhead.
// Otherwise pkt must not overlap the part of dst's capacity that Seal
// writes.
//
// Seal returns ErrTooLarge for packets over MaxPacket, ErrExhausted once
// the cipher's packet limit is reached (the caller must rekey or
// re-handshake) and ErrClosed after Close; then it returns dst as it was.
func (s *Sender) Seal(dst, pkt []byte) ([]byte, error) {
	box := s.aead.Load()
	if box == nil {
		return dst, ErrClosed
	}
	if len(pkt) > MaxPacket {
		return dst, ErrTooLarge
	}
	n := s.next.Add(1) - 1
	if n >= s.rejectAfter {
		return dst, ErrExhausted
	}
	ret, out := sliceForAppend(dst, HeaderLen+len(pkt)+TagLen)
	out[0] = Marker
	copy(out[1:1+sessionLen], s.session[:])
	binary.BigEndian.PutUint64(out[counterOff:HeaderLen], n)
	box.aead.Seal(out[HeaderLen:HeaderLen], out[nonceOff:HeaderLen], pkt, out[:HeaderLen])
	return ret, nil
}

// NeedsRekey reports whether the session should move to fresh keys (see
// DeriveKeysEpoch): the Sender has sealed enough packets, well before Seal
// starts to refuse, or it is RekeyAfterTime old and has sealed at least
// RekeyMinPackets. It reads the clock, so callers ask once per batch, not
// per packet.
func (s *Sender) NeedsRekey() bool {
	n := s.next.Load()
	return n >= s.rekeyAfter || n >= RekeyMinPackets && time.Since(s.created) >= RekeyAfterTime
}

// Sent returns the number of counters taken so far, including those of
// refused calls.
func (s *Sender) Sent() uint64 { return s.next.Load() }

// Session returns the session id the Sender puts in its packets.
func (s *Sender) Session() SessionID { return s.session }

// Cipher returns the Sender's AEAD.
func (s *Sender) Cipher() Cipher { return s.cipher }

// Close makes every later Seal fail with ErrClosed and drops the AEAD
// state. Seals already running finish. Close is idempotent.
func (s *Sender) Close() error {
	s.aead.Store(nil)
	return nil
}

// sliceForAppend extends in by n bytes, reallocating if needed, and
// returns the whole slice and the new part (as crypto/cipher does).
func sliceForAppend(in []byte, n int) (head, tail []byte) {
	if total := len(in) + n; cap(in) >= total {
		head = in[:total]
	} else {
		head = make([]byte, total)
		copy(head, in)
	}
	tail = head[len(in):]
	return head, tail
}
