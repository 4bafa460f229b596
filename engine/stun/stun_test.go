package stun

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"net"
	"net/netip"
	"testing"
	"time"
)

// rfc5769Resp is the IPv4 sample response of RFC 5769 section 2.2, whose
// XOR-MAPPED-ADDRESS is 192.0.2.1:32853 (it also has SOFTWARE,
// MESSAGE-INTEGRITY and FINGERPRINT attributes).
const rfc5769Resp = "0101003c2112a442b7e7a701bc34d686fa87dfae" +
	"8022000b7465737420766563746f7220" +
	"002000080001a147e112a643" +
	"000800142b91f599fd9e90c38c7489f92af9ba53f06be7d7" +
	"80280004c07d4c96"

// rfc5769RespV6 is the IPv6 sample response of RFC 5769 section 2.3:
// [2001:db8:1234:5678:11:2233:4455:6677]:32853.
const rfc5769RespV6 = "010100482112a442b7e7a701bc34d686fa87dfae" +
	"8022000b7465737420766563746f7220" +
	"002000140002a1470113a9faa5d3f179bc25f4b5bed2b9d9" +
	"00080014a382954e4be67bf11784c97c8292c275bfe3ed41" +
	"80280004c8fb0b4c"

func mustHex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestParseResponseRFC5769(t *testing.T) {
	wantID := TxID(mustHex(t, "b7e7a701bc34d686fa87dfae"))
	tests := []struct {
		name string
		msg  string
		want netip.AddrPort
	}{
		{"ipv4", rfc5769Resp, netip.MustParseAddrPort("192.0.2.1:32853")},
		{"ipv6", rfc5769RespV6, netip.MustParseAddrPort("[2001:db8:1234:5678:11:2233:4455:6677]:32853")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id, addr, err := ParseResponse(mustHex(t, tt.msg))
			if err != nil {
				t.Fatal(err)
			}
			if id != wantID || addr != tt.want {
				t.Errorf("got %v %v, want %v %v", id, addr, wantID, tt.want)
			}
		})
	}
}

func TestRequestFormat(t *testing.T) {
	id := TxID{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}
	req := BuildRequest(id)
	if !IsMessage(req) {
		t.Fatalf("request %x is not a STUN message", req)
	}
	if len(req) != 28 || binary.BigEndian.Uint16(req[0:2]) != typeBindingRequest {
		t.Fatalf("request %x: wrong length or type", req)
	}
	got, ok := parseRequest(req)
	if !ok || got != id {
		t.Fatalf("parseRequest = %v, %v", got, ok)
	}
	// Appending to a non-empty buffer leaves the prefix alone.
	b := AppendRequest([]byte("xyz"), id)
	if string(b[:3]) != "xyz" || !bytes.Equal(b[3:], req) {
		t.Errorf("AppendRequest with prefix = %x", b)
	}
}

func TestHandleRequestRoundTrip(t *testing.T) {
	tests := []netip.AddrPort{
		netip.MustParseAddrPort("198.18.0.1:4242"),
		netip.MustParseAddrPort("[2001:db8::1]:1"),
		netip.MustParseAddrPort("[::ffff:198.18.7.8]:65535"), // reported unmapped
		netip.MustParseAddrPort("0.0.0.0:0"),
	}
	out := make([]byte, MaxResponseLen)
	for _, src := range tests {
		t.Run(src.String(), func(t *testing.T) {
			id := NewTxID()
			n, ok := HandleRequest(BuildRequest(id), src, out)
			if !ok {
				t.Fatal("request not answered")
			}
			gotID, addr, err := ParseResponse(out[:n])
			if err != nil {
				t.Fatal(err)
			}
			want := netip.AddrPortFrom(src.Addr().Unmap(), src.Port())
			if gotID != id || addr != want {
				t.Errorf("got %v %v, want %v %v", gotID, addr, id, want)
			}
		})
	}
}

func TestHandleRequestRejects(t *testing.T) {
	id := TxID{9}
	req := BuildRequest(id)
	resp := AppendResponse(nil, id, netip.MustParseAddrPort("198.18.0.1:1"))
	badFP := bytes.Clone(req)
	badFP[len(badFP)-1] ^= 1
	noFP := appendHeader(nil, typeBindingRequest, id) // valid without FINGERPRINT
	trailing := append(bytes.Clone(noFP), 0, 1, 0, 8, 1, 2, 3, 4)
	binary.BigEndian.PutUint16(trailing[2:4], 8) // attribute claims 8 bytes, has 4
	tests := []struct {
		name string
		req  []byte
		out  int
		src  netip.AddrPort
		ok   bool
	}{
		{"valid", req, MaxResponseLen, netip.MustParseAddrPort("198.18.0.1:1"), true},
		{"no fingerprint", noFP, MaxResponseLen, netip.MustParseAddrPort("198.18.0.1:1"), true},
		{"response not request", resp, MaxResponseLen, netip.MustParseAddrPort("198.18.0.1:1"), false},
		{"bad fingerprint", badFP, MaxResponseLen, netip.MustParseAddrPort("198.18.0.1:1"), false},
		{"truncated", req[:len(req)-1], MaxResponseLen, netip.MustParseAddrPort("198.18.0.1:1"), false},
		{"attr overruns", trailing, MaxResponseLen, netip.MustParseAddrPort("198.18.0.1:1"), false},
		{"short out", req, MaxResponseLen - 1, netip.MustParseAddrPort("198.18.0.1:1"), false},
		{"invalid src", req, MaxResponseLen, netip.AddrPort{}, false},
		{"empty", nil, MaxResponseLen, netip.MustParseAddrPort("198.18.0.1:1"), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, ok := HandleRequest(tt.req, tt.src, make([]byte, tt.out))
			if ok != tt.ok {
				t.Errorf("HandleRequest ok = %v, want %v", ok, tt.ok)
			}
		})
	}
}

func TestParseResponseErrors(t *testing.T) {
	id := TxID{7}
	good := AppendResponse(nil, id, netip.MustParseAddrPort("198.18.0.1:1"))

	// A response with only MAPPED-ADDRESS (old servers).
	mapped := appendHeader(nil, typeBindingSuccess, id)
	mapped = append(mapped, 0, 1, 0, 8, 0, familyIPv4, 0x12, 0x34, 198, 18, 0, 9)
	binary.BigEndian.PutUint16(mapped[2:4], 12)

	// Both attributes, MAPPED-ADDRESS last: XOR-MAPPED-ADDRESS wins.
	withMapped := append(bytes.Clone(good[:len(good)-fingerprintLen]), 0, 1, 0, 8, 0, familyIPv4, 0, 1, 10, 0, 0, 1)
	binary.BigEndian.PutUint16(withMapped[2:4], uint16(len(withMapped)-headerLen))

	errResp := appendHeader(nil, typeBindingError, id)
	noAddr := appendFingerprint(appendHeader(nil, typeBindingSuccess, id), 0)
	badFamily := appendHeader(nil, typeBindingSuccess, id)
	badFamily = append(badFamily, 0, 0x20, 0, 8, 0, 9, 0, 1, 1, 2, 3, 4)
	binary.BigEndian.PutUint16(badFamily[2:4], 12)
	shortV6 := appendHeader(nil, typeBindingSuccess, id)
	shortV6 = append(shortV6, 0, 0x20, 0, 8, 0, familyIPv6, 0, 1, 1, 2, 3, 4)
	binary.BigEndian.PutUint16(shortV6[2:4], 12)
	badFP := bytes.Clone(good)
	badFP[len(badFP)-1] ^= 0xff
	fpNotLast := append(bytes.Clone(good), 0, 1, 0, 0)
	binary.BigEndian.PutUint16(fpNotLast[2:4], uint16(len(fpNotLast)-headerLen))

	tests := []struct {
		name    string
		msg     []byte
		want    netip.AddrPort
		wantErr error
	}{
		{"good", good, netip.MustParseAddrPort("198.18.0.1:1"), nil},
		{"mapped only", mapped, netip.MustParseAddrPort("198.18.0.9:4660"), nil},
		{"xor preferred", withMapped, netip.MustParseAddrPort("198.18.0.1:1"), nil},
		{"request", BuildRequest(id), netip.AddrPort{}, ErrNotResponse},
		{"error response", errResp, netip.AddrPort{}, ErrErrorResponse},
		{"no address", noAddr, netip.AddrPort{}, ErrNoMappedAddress},
		{"bad family", badFamily, netip.AddrPort{}, ErrUnsupportedValue},
		{"short v6", shortV6, netip.AddrPort{}, ErrMalformed},
		{"bad fingerprint", badFP, netip.AddrPort{}, ErrBadFingerprint},
		{"fingerprint not last", fpNotLast, netip.AddrPort{}, ErrMalformed},
		{"truncated", good[:len(good)-4], netip.AddrPort{}, ErrNotSTUN},
		{"not stun", []byte("hello, this is not a stun message"), netip.AddrPort{}, ErrNotSTUN},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, addr, err := ParseResponse(tt.msg)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if addr != tt.want {
				t.Errorf("addr = %v, want %v", addr, tt.want)
			}
		})
	}
}

func TestIsMessage(t *testing.T) {
	req := BuildRequest(TxID{})
	quicLong := append([]byte{0xc0}, req[1:]...)
	quicShort := append([]byte{0x40}, req[1:]...)
	badCookie := bytes.Clone(req)
	badCookie[5] ^= 1
	oddLen := bytes.Clone(req)
	binary.BigEndian.PutUint16(oddLen[2:4], 7)
	tests := []struct {
		name string
		b    []byte
		want bool
	}{
		{"request", req, true},
		{"quic long header", quicLong, false},
		{"quic short header", quicShort, false},
		{"bad cookie", badCookie, false},
		{"length not multiple of 4", oddLen, false},
		{"extra bytes", append(bytes.Clone(req), 0), false},
		{"short", req[:19], false},
	}
	for _, tt := range tests {
		if got := IsMessage(tt.b); got != tt.want {
			t.Errorf("%s: IsMessage = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestMappingBehavior(t *testing.T) {
	a := netip.MustParseAddrPort("198.18.0.1:1000")
	b := netip.MustParseAddrPort("198.18.0.1:1001")
	c := netip.MustParseAddrPort("198.18.0.2:1000")
	tests := []struct {
		name string
		in   []netip.AddrPort
		want Mapping
	}{
		{"none", nil, MappingUnknown},
		{"one", []netip.AddrPort{a}, MappingUnknown},
		{"one valid", []netip.AddrPort{a, {}}, MappingUnknown},
		{"same", []netip.AddrPort{a, a}, MappingEndpointIndependent},
		{"same with failure", []netip.AddrPort{a, {}, a}, MappingEndpointIndependent},
		{"port differs", []netip.AddrPort{a, b}, MappingAddressDependent},
		{"address differs", []netip.AddrPort{a, c}, MappingAddressDependent},
		{"third differs", []netip.AddrPort{a, a, c}, MappingAddressDependent},
	}
	for _, tt := range tests {
		if got := MappingBehavior(tt.in...); got != tt.want {
			t.Errorf("%s: got %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestAllocs(t *testing.T) {
	id := NewTxID()
	req := BuildRequest(id)
	src := netip.MustParseAddrPort("198.18.0.1:4242")
	out := make([]byte, MaxResponseLen)
	n, _ := HandleRequest(req, src, out)
	resp := out[:n]
	buf := make([]byte, 0, 64)
	tests := []struct {
		name string
		fn   func()
	}{
		{"HandleRequest", func() { HandleRequest(req, src, out) }},
		{"ParseResponse", func() { ParseResponse(resp) }},
		{"AppendRequest", func() { AppendRequest(buf[:0], id) }},
		{"IsMessage", func() { IsMessage(resp) }},
	}
	for _, tt := range tests {
		if a := testing.AllocsPerRun(100, tt.fn); a != 0 {
			t.Errorf("%s: %v allocs, want 0", tt.name, a)
		}
	}
}

func listenUDP(t *testing.T) *net.UDPConn {
	t.Helper()
	pc, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	return pc
}

// startServer runs Serve on a fresh 127.0.0.1 socket until the test ends.
func startServer(t *testing.T) netip.AddrPort {
	t.Helper()
	pc := listenUDP(t)
	done := make(chan error, 1)
	go func() { done <- Serve(pc) }()
	t.Cleanup(func() {
		pc.Close()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return pc.LocalAddr().(*net.UDPAddr).AddrPort()
}

func TestQueryInProcess(t *testing.T) {
	s1 := startServer(t)
	s2 := startServer(t)
	client := listenUDP(t)
	local := client.LocalAddr().(*net.UDPAddr).AddrPort()

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	a1, err := Query(ctx, client, s1)
	if err != nil {
		t.Fatal(err)
	}
	a2, err := Query(ctx, client, s2)
	if err != nil {
		t.Fatal(err)
	}
	if a1 != local || a2 != local {
		t.Errorf("reflexive addresses %v %v, want %v", a1, a2, local)
	}
	if m := MappingBehavior(a1, a2); m != MappingEndpointIndependent {
		t.Errorf("mapping = %v, want endpoint-independent", m)
	}

	// A second socket has a different endpoint: as if the NAT mapped per
	// destination.
	other := listenUDP(t)
	a3, err := Query(ctx, other, s2)
	if err != nil {
		t.Fatal(err)
	}
	if m := MappingBehavior(a1, a3); m != MappingAddressDependent {
		t.Errorf("mapping = %v, want address-dependent", m)
	}
}

func TestQueryIgnoresStrayAndTimesOut(t *testing.T) {
	// A "server" that answers with garbage and a response to a different
	// transaction: Query must ignore both and give up at the deadline.
	srv := listenUDP(t)
	go func() {
		buf := make([]byte, 1500)
		for {
			_, addr, err := srv.ReadFromUDPAddrPort(buf)
			if err != nil {
				return
			}
			srv.WriteToUDPAddrPort([]byte("garbage"), addr)
			srv.WriteToUDPAddrPort(AppendResponse(nil, TxID{1}, addr), addr)
		}
	}()
	client := listenUDP(t)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	_, err := Query(ctx, client, srv.LocalAddr().(*net.UDPAddr).AddrPort())
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want deadline exceeded", err)
	}
}

func FuzzParseResponse(f *testing.F) {
	f.Add(mustHex(f, rfc5769Resp))
	f.Add(mustHex(f, rfc5769RespV6))
	f.Add(BuildRequest(TxID{1}))
	f.Add(AppendResponse(nil, TxID{2}, netip.MustParseAddrPort("198.18.0.1:9")))
	f.Add(AppendResponse(nil, TxID{3}, netip.MustParseAddrPort("[2001:db8::7]:9")))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		id, addr, err := ParseResponse(b)
		if err == nil {
			if !addr.IsValid() {
				t.Fatal("no error but invalid address")
			}
			// What parses re-encodes to something that parses the same.
			id2, addr2, err := ParseResponse(AppendResponse(nil, id, addr))
			if err != nil || id2 != id || addr2 != addr {
				t.Fatalf("re-encode: %v %v %v, want %v %v", id2, addr2, err, id, addr)
			}
		}
		out := make([]byte, MaxResponseLen)
		if n, ok := HandleRequest(b, netip.MustParseAddrPort("198.18.0.1:1"), out); ok {
			if !IsMessage(out[:n]) {
				t.Fatal("response is not a STUN message")
			}
		}
	})
}
