package netmap

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"time"

	"github.com/rayfish/rayfish/engine/key"
)

// Domain separation prefixes for statements signed by node keys.
const (
	leaveDomain    = "rayfish-leave-v1\x00"
	endpointDomain = "rayfish-endpoints-v1\x00"
)

// MaxEndpointAddrs bounds the addresses in an EndpointRecord.
const MaxEndpointAddrs = 16

// LeaveNotice is a node's signed statement that it left a network: an
// admin that receives it removes the node from the roster.
type LeaveNotice struct {
	Network key.NetworkPublic `json:"network"`
	Node    key.NodePublic    `json:"node"`
	// Time has second precision.
	Time time.Time `json:"time"`
	Sig  []byte    `json:"sig"`
}

// SignLeave returns k's notice that it leaves network at now.
func SignLeave(k key.NodePrivate, network key.NetworkPublic, now time.Time) LeaveNotice {
	l := LeaveNotice{
		Network: network,
		Node:    k.Public(),
		Time:    now.UTC().Truncate(time.Second),
	}
	l.Sig = k.Sign(l.message())
	return l
}

func (l LeaveNotice) message() []byte {
	b := make([]byte, 0, len(leaveDomain)+32+32+8)
	b = append(b, leaveDomain...)
	b = append(b, l.Network[:]...)
	b = append(b, l.Node[:]...)
	return binary.BigEndian.AppendUint64(b, uint64(l.Time.Unix()))
}

// Verify checks that l is well formed and signed by l.Node. Whether the
// node is a member, and whether the notice is recent, is the caller's
// question (see Network.ApplyLeave).
func (l LeaveNotice) Verify() error {
	switch {
	case l.Network.IsZero():
		return errors.New("leave notice has no network")
	case l.Node.IsZero():
		return errors.New("leave notice has no node")
	case l.Time.IsZero() || l.Time.Nanosecond() != 0:
		return errors.New("leave notice has an invalid time")
	}
	if !l.Node.Verify(l.message(), l.Sig) {
		return fmt.Errorf("leave notice from %s: signature invalid", l.Node.ShortString())
	}
	return nil
}

// EndpointRecord is a node's signed statement of where it can be reached:
// its direct addresses and home relay. Members gossip these; a record
// with a higher Seq replaces a lower one (see State.SetEndpoint).
type EndpointRecord struct {
	Node  key.NodePublic   `json:"node"`
	Addrs []netip.AddrPort `json:"addrs"`
	Relay string           `json:"relay,omitempty"`
	// ExitNode and Routes are the node's offers (routes.go): to be an
	// exit node, and subnet routes, sorted, at most MaxOfferRoutes.
	ExitNode bool           `json:"exit_node,omitempty"`
	Routes   []netip.Prefix `json:"routes,omitempty"`
	Seq      uint64         `json:"seq"`
	Sig      []byte         `json:"sig"`
}

// Offer is what a node offers to route for its networks.
type Offer struct {
	ExitNode bool
	Routes   []netip.Prefix
}

// IsZero reports whether o offers nothing.
func (o Offer) IsZero() bool { return !o.ExitNode && len(o.Routes) == 0 }

// Equal reports whether o and p offer the same.
func (o Offer) Equal(p Offer) bool {
	return o.ExitNode == p.ExitNode && slices.Equal(o.Routes, p.Routes)
}

// Offer returns the offers r carries.
func (r EndpointRecord) Offer() Offer { return Offer{ExitNode: r.ExitNode, Routes: r.Routes} }

// SignEndpoints returns k's endpoint record. Addresses are unmapped and
// stripped of zones; unusable ones (port 0, unspecified, multicast) and
// any beyond MaxEndpointAddrs are dropped, and so is a relay URL longer
// than MaxRelayLen or not printable ASCII, so the result always verifies.
func SignEndpoints(k key.NodePrivate, addrs []netip.AddrPort, relay string, seq uint64) EndpointRecord {
	return SignRecord(k, addrs, relay, Offer{}, seq)
}

// SignRecord is SignEndpoints with offers. Routes that fail ValidRoute,
// repeats and any beyond MaxOfferRoutes are dropped; the rest are
// sorted.
func SignRecord(k key.NodePrivate, addrs []netip.AddrPort, relay string, offer Offer, seq uint64) EndpointRecord {
	r := EndpointRecord{Node: k.Public(), Seq: seq, ExitNode: offer.ExitNode}
	for _, p := range offer.Routes {
		if len(r.Routes) < MaxOfferRoutes && ValidRoute(p) == nil && !slices.Contains(r.Routes, p) {
			r.Routes = append(r.Routes, p)
		}
	}
	SortPrefixes(r.Routes)
	for _, a := range addrs {
		a = netip.AddrPortFrom(a.Addr().Unmap().WithZone(""), a.Port())
		if len(r.Addrs) < MaxEndpointAddrs && usableAddrPort(a) {
			r.Addrs = append(r.Addrs, a)
		}
	}
	if len(relay) <= MaxRelayLen && printableASCII(relay) {
		r.Relay = relay
	}
	r.Sig = k.Sign(r.message())
	return r
}

func (r EndpointRecord) message() []byte {
	b := make([]byte, 0, len(endpointDomain)+32+8+1+len(r.Addrs)*19+2+len(r.Relay))
	b = append(b, endpointDomain...)
	b = append(b, r.Node[:]...)
	b = binary.BigEndian.AppendUint64(b, r.Seq)
	b = append(b, byte(len(r.Addrs)))
	for _, a := range r.Addrs {
		b = appendAddrPort(b, a)
	}
	b = binary.BigEndian.AppendUint16(b, uint16(len(r.Relay)))
	b = append(b, r.Relay...)
	return AppendOffer(b, r.Offer())
}

// AppendOffer appends the binary form of o to b: nothing for no offer
// (records without offers sign as before), else a flags byte (1: exit
// node), a count, and per route its family (4|6), address and length.
func AppendOffer(b []byte, o Offer) []byte {
	if o.IsZero() {
		return b
	}
	var flags byte
	if o.ExitNode {
		flags = 1
	}
	b = append(b, flags, byte(len(o.Routes)))
	for _, p := range o.Routes {
		if p.Addr().Is4() {
			b = append(b, 4)
		} else {
			b = append(b, 6)
		}
		b = append(b, p.Addr().AsSlice()...)
		b = append(b, byte(p.Bits()))
	}
	return b
}

// Verify checks that r is within bounds, well formed and signed by
// r.Node.
func (r EndpointRecord) Verify() error {
	switch {
	case r.Node.IsZero():
		return errors.New("endpoint record has no node")
	case len(r.Addrs) > MaxEndpointAddrs:
		return fmt.Errorf("endpoint record has %d addresses, limit %d", len(r.Addrs), MaxEndpointAddrs)
	case len(r.Relay) > MaxRelayLen:
		return fmt.Errorf("endpoint record relay URL longer than %d bytes", MaxRelayLen)
	case !printableASCII(r.Relay):
		return errors.New("endpoint record relay URL is not printable")
	}
	if err := checkOffer(r.Routes); err != nil {
		return err
	}
	for _, a := range r.Addrs {
		if !usableAddrPort(a) || a.Addr().Is4In6() {
			return fmt.Errorf("endpoint record has unusable address %s", a)
		}
	}
	if !r.Node.Verify(r.message(), r.Sig) {
		return fmt.Errorf("endpoint record from %s: signature invalid", r.Node.ShortString())
	}
	return nil
}
