package bulk

import (
	"fmt"
	"sync/atomic"
)

// A Receiver opens packets for one direction of one bulk session. Open may
// be called from several goroutines at once.
type Receiver struct {
	session      SessionID
	cipher       Cipher
	maxForgeries uint64

	aead      atomic.Pointer[aeadBox] // nil once closed
	forgeries atomic.Uint64           // packets that failed authentication
	window    window
}

// NewReceiver returns a Receiver opening with k. It keeps no reference to
// k.
func NewReceiver(k *Keys) (*Receiver, error) {
	a, err := k.Cipher.aead(&k.Key)
	if err != nil {
		return nil, fmt.Errorf("bulk: new receiver: %w", err)
	}
	r := &Receiver{session: k.Session, cipher: k.Cipher}
	_, _, r.maxForgeries = k.Cipher.limits()
	r.aead.Store(&aeadBox{a})
	return r, nil
}

// Open authenticates and decrypts a wire packet, appends the IP packet to
// dst and returns the extended slice. To open in place, pass
// wire[HeaderLen:HeaderLen] as dst; otherwise dst must not overlap wire.
//
// Errors, in the order checked: ErrClosed, ErrShort, ErrNotBulk,
// ErrWrongSession, ErrTooOld or ErrReplay (from the window, before
// decryption), ErrExhausted (too many forgeries seen), ErrAuth, and
// ErrReplay or ErrTooOld again if another goroutine accepted the same or
// much newer counters while this one decrypted. The replay window changes
// only when Open returns nil. On error the returned slice is dst, and dst's
// spare capacity may have been overwritten.
func (r *Receiver) Open(dst, wire []byte) ([]byte, error) {
	box := r.aead.Load()
	if box == nil {
		return dst, ErrClosed
	}
	if len(wire) < HeaderLen+TagLen {
		return dst, ErrShort
	}
	if wire[0] != Marker {
		return dst, ErrNotBulk
	}
	if SessionID(wire[1:1+sessionLen]) != r.session {
		return dst, ErrWrongSession
	}
	c := counterOf(wire)
	if err := r.window.check(c); err != nil {
		return dst, err
	}
	if r.forgeries.Load() >= r.maxForgeries {
		return dst, ErrExhausted
	}
	out, err := box.aead.Open(dst, wire[nonceOff:HeaderLen], wire[HeaderLen:], wire[:HeaderLen])
	if err != nil {
		r.forgeries.Add(1)
		return dst, ErrAuth
	}
	if err := r.window.commit(c); err != nil {
		return dst, err
	}
	return out, nil
}

// Reordered returns how many packets Open accepted after a packet with a
// higher counter: out-of-order delivery (duplicates are refused with
// ErrReplay instead).
func (r *Receiver) Reordered() uint64 { return r.window.late.Load() }

// CountReorderedIn makes r also count its out-of-order packets in n,
// which outlives r (a data plane's total over every session and epoch).
// Call it before the first Open.
func (r *Receiver) CountReorderedIn(n *atomic.Uint64) { r.window.shared = n }

// Forgeries returns how many packets for this session failed
// authentication.
func (r *Receiver) Forgeries() uint64 { return r.forgeries.Load() }

// Session returns the session id the Receiver accepts.
func (r *Receiver) Session() SessionID { return r.session }

// Cipher returns the Receiver's AEAD.
func (r *Receiver) Cipher() Cipher { return r.cipher }

// Close makes every later Open fail with ErrClosed and drops the AEAD
// state. Opens already running finish. Close is idempotent.
func (r *Receiver) Close() error {
	r.aead.Store(nil)
	return nil
}
