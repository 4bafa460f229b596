package netmap

import (
	"encoding/base32"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"net/netip"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/rayfish/rayfish/engine/key"
)

// InviteKind says how an invite admits its holder.
type InviteKind uint8

// Invite kinds. The zero value is invalid.
const (
	// InviteSingle admits one node, once.
	InviteSingle InviteKind = iota + 1
	// InviteReusable (a fleet key) admits any number of nodes until it
	// expires.
	InviteReusable
	// InviteApproval carries no secret: joining with it queues a request
	// that an admin accepts or denies.
	InviteApproval
)

var kindNames = [...]string{InviteSingle: "single", InviteReusable: "reusable", InviteApproval: "approval"}

func (k InviteKind) valid() bool { return k >= InviteSingle && k <= InviteApproval }

// String returns "single", "reusable" or "approval".
func (k InviteKind) String() string {
	if !k.valid() {
		return fmt.Sprintf("InviteKind(%d)", uint8(k))
	}
	return kindNames[k]
}

// MarshalText implements encoding.TextMarshaler.
func (k InviteKind) MarshalText() ([]byte, error) {
	if !k.valid() {
		return nil, fmt.Errorf("invalid invite kind %d", uint8(k))
	}
	return []byte(k.String()), nil
}

// UnmarshalText implements encoding.TextUnmarshaler.
func (k *InviteKind) UnmarshalText(b []byte) error {
	for i, name := range kindNames {
		if name != "" && name == string(b) {
			*k = InviteKind(i)
			return nil
		}
	}
	return fmt.Errorf("unknown invite kind %q", b)
}

// Invite limits.
const (
	// MaxInviteAddrs bounds the inviter addresses in a code.
	MaxInviteAddrs = 8
	// MaxRelayLen bounds a relay URL in bytes.
	MaxRelayLen = 256
)

// Invite is the content of an invite code: where to find an admin of the
// network and, unless Kind is InviteApproval, the secret that admits.
type Invite struct {
	Kind        InviteKind
	Network     key.NetworkPublic
	NetworkName string
	// Inviter is the admin that issued the invite.
	Inviter key.NodePublic
	// Addrs are the inviter's direct addresses, at most MaxInviteAddrs.
	Addrs []netip.AddrPort
	// Relay is the inviter's home relay URL, if any.
	Relay string
	// Secret is zero for InviteApproval.
	Secret [16]byte
	// Expires has second precision; zero means no expiry.
	Expires time.Time
}

// Invite code text form.
const (
	invitePrefix  = "rayfish1-"
	inviteVersion = 1
	// maxInviteCode bounds the text accepted by ParseInvite.
	maxInviteCode = 4096
	// maxExpires is the last second of year 9999.
	maxExpires = 253402300799
)

var inviteEnc = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// Errors from ParseInvite.
var (
	ErrNotInvite     = errors.New("not a rayfish invite code")
	ErrInviteDamaged = errors.New("invite code is damaged (checksum mismatch) — copy it again")
	ErrInviteNewer   = errors.New("invite code is from a newer rayfish version — upgrade rayfish")
)

// Encode returns the invite code: "rayfish1-" and then, in lowercase
// base32, a version byte, the fields and a CRC-32 of them. Address zones
// are dropped, an InviteApproval's secret is omitted, an expiry before
// 1970 is written as the first second of 1970, and fields beyond the
// limits (addresses, relay length) are truncated; ParseInvite rejects
// what it cannot represent.
func (i Invite) Encode() string {
	b := make([]byte, 0, 160)
	b = append(b, inviteVersion, byte(i.Kind))
	b = append(b, i.Network[:]...)
	b = append(b, i.Inviter[:]...)
	var exp uint64
	if !i.Expires.IsZero() {
		exp = uint64(min(max(i.Expires.Unix(), 1), maxExpires))
	}
	b = binary.BigEndian.AppendUint64(b, exp)
	if i.Kind != InviteApproval {
		b = append(b, i.Secret[:]...)
	}
	name := i.NetworkName
	if len(name) > 255 {
		name = name[:255]
	}
	b = append(b, byte(len(name)))
	b = append(b, name...)
	addrs := i.Addrs
	if len(addrs) > MaxInviteAddrs {
		addrs = addrs[:MaxInviteAddrs]
	}
	b = append(b, byte(len(addrs)))
	for _, a := range addrs {
		b = appendAddrPort(b, a)
	}
	relay := i.Relay
	if len(relay) > MaxRelayLen {
		relay = relay[:MaxRelayLen]
	}
	b = binary.BigEndian.AppendUint16(b, uint16(len(relay)))
	b = append(b, relay...)
	b = binary.BigEndian.AppendUint32(b, crc32.ChecksumIEEE(b))
	return invitePrefix + inviteEnc.EncodeToString(b)
}

// ParseInvite parses an invite code. It ignores surrounding and embedded
// white space (codes wrapped over lines) and accepts upper case.
func ParseInvite(s string) (Invite, error) {
	if len(s) > maxInviteCode {
		return Invite{}, fmt.Errorf("%w (too long)", ErrNotInvite)
	}
	s = strings.ToLower(strings.Map(func(r rune) rune {
		if unicode.IsSpace(r) {
			return -1
		}
		return r
	}, s))
	rest, ok := strings.CutPrefix(s, invitePrefix)
	if !ok {
		// "rayfish2-..." and later are formats this version predates.
		if v, _, ok := strings.Cut(strings.TrimPrefix(s, "rayfish"), "-"); ok {
			if n, err := strconv.Atoi(v); err == nil && n > 1 && len(v) < 4 {
				return Invite{}, ErrInviteNewer
			}
		}
		return Invite{}, ErrNotInvite
	}
	b, err := inviteEnc.DecodeString(rest)
	if err != nil || len(b) < 5 {
		return Invite{}, ErrInviteDamaged
	}
	body, sum := b[:len(b)-4], binary.BigEndian.Uint32(b[len(b)-4:])
	if crc32.ChecksumIEEE(body) != sum {
		return Invite{}, ErrInviteDamaged
	}
	if body[0] != inviteVersion {
		if body[0] > inviteVersion {
			return Invite{}, ErrInviteNewer
		}
		return Invite{}, fmt.Errorf("%w (unknown format %d)", ErrNotInvite, body[0])
	}
	inv, err := decodeInvite(body[1:])
	if err != nil {
		return Invite{}, fmt.Errorf("invalid invite code: %w", err)
	}
	return inv, nil
}

// decodeInvite parses the fields after the version byte.
func decodeInvite(b []byte) (Invite, error) {
	var inv Invite
	d := decoder{b: b}
	inv.Kind = InviteKind(d.byte())
	copy(inv.Network[:], d.bytes(len(inv.Network)))
	copy(inv.Inviter[:], d.bytes(len(inv.Inviter)))
	exp := d.uint64()
	if inv.Kind != InviteApproval {
		copy(inv.Secret[:], d.bytes(len(inv.Secret)))
	}
	inv.NetworkName = string(d.bytes(int(d.byte())))
	naddrs := int(d.byte())
	if naddrs > MaxInviteAddrs {
		return Invite{}, fmt.Errorf("%d addresses, limit %d", naddrs, MaxInviteAddrs)
	}
	for range naddrs {
		inv.Addrs = append(inv.Addrs, d.addrPort())
	}
	inv.Relay = string(d.bytes(int(d.uint16())))
	if d.err != nil {
		return Invite{}, d.err
	}
	if len(d.b) != 0 {
		return Invite{}, errors.New("trailing bytes")
	}

	switch {
	case !inv.Kind.valid():
		return Invite{}, fmt.Errorf("unknown invite kind %d", inv.Kind)
	case inv.Network.IsZero():
		return Invite{}, errors.New("no network id")
	case inv.Inviter.IsZero():
		return Invite{}, errors.New("no inviter")
	case inv.Kind != InviteApproval && inv.Secret == [16]byte{}:
		return Invite{}, errors.New("no secret")
	case exp > maxExpires:
		return Invite{}, errors.New("expiry out of range")
	case !ValidNetworkName(inv.NetworkName):
		return Invite{}, errors.New("invalid network name")
	case len(inv.Relay) > MaxRelayLen:
		return Invite{}, errors.New("relay URL too long")
	case !printableASCII(inv.Relay):
		return Invite{}, errors.New("invalid relay URL")
	}
	if exp != 0 {
		inv.Expires = time.Unix(int64(exp), 0).UTC()
	}
	for _, a := range inv.Addrs {
		if !usableAddrPort(a) {
			return Invite{}, fmt.Errorf("unusable address %s", a)
		}
	}
	return inv, nil
}

// usableAddrPort reports whether a peer could be reached at a.
func usableAddrPort(a netip.AddrPort) bool {
	ip := a.Addr()
	return a.Port() != 0 && ip.IsValid() && ip.Zone() == "" &&
		!ip.IsUnspecified() && !ip.IsMulticast()
}

func printableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] >= 0x7f {
			return false
		}
	}
	return true
}

// appendAddrPort appends a's binary form: family (4 or 6), address, port.
// The zone is dropped.
func appendAddrPort(b []byte, a netip.AddrPort) []byte {
	ip := a.Addr()
	if ip.Is4() {
		b = append(b, 4)
		v := ip.As4()
		b = append(b, v[:]...)
	} else {
		b = append(b, 6)
		v := ip.As16() // the zero Addr encodes as ::, which parsers reject
		b = append(b, v[:]...)
	}
	return binary.BigEndian.AppendUint16(b, a.Port())
}

// decoder reads big-endian fields; the first short read sets err and
// every later read returns zeros.
type decoder struct {
	b   []byte
	err error
}

func (d *decoder) bytes(n int) []byte {
	if d.err != nil {
		return nil
	}
	if n > len(d.b) {
		d.err = errors.New("truncated")
		return nil
	}
	v := d.b[:n]
	d.b = d.b[n:]
	return v
}

func (d *decoder) byte() byte {
	if v := d.bytes(1); v != nil {
		return v[0]
	}
	return 0
}

func (d *decoder) uint16() uint16 {
	if v := d.bytes(2); v != nil {
		return binary.BigEndian.Uint16(v)
	}
	return 0
}

func (d *decoder) uint64() uint64 {
	if v := d.bytes(8); v != nil {
		return binary.BigEndian.Uint64(v)
	}
	return 0
}

func (d *decoder) addrPort() netip.AddrPort {
	var ip netip.Addr
	switch d.byte() {
	case 4:
		if v := d.bytes(4); v != nil {
			ip = netip.AddrFrom4([4]byte(v))
		}
	case 6:
		if v := d.bytes(16); v != nil {
			ip = netip.AddrFrom16([16]byte(v))
		}
	default:
		if d.err == nil {
			d.err = errors.New("bad address family")
		}
		return netip.AddrPort{}
	}
	return netip.AddrPortFrom(ip, d.uint16())
}
