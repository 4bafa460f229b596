package netmap

import (
	"encoding/binary"
	"errors"
	"hash/crc32"
	"net/netip"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/rayfish/rayfish/engine/key"
)

func sampleInvite() Invite {
	return Invite{
		Kind:        InviteSingle,
		Network:     key.NewNetwork().Public(),
		NetworkName: "home",
		Inviter:     key.NewNode().Public(),
		Addrs: []netip.AddrPort{
			netip.MustParseAddrPort("198.18.0.1:41641"),
			netip.MustParseAddrPort("[2001:db8::1]:41641"),
		},
		Relay:   "https://relay.example.net:443",
		Secret:  [16]byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16},
		Expires: t0.Add(7 * 24 * time.Hour),
	}
}

func TestInviteRoundTrip(t *testing.T) {
	many := make([]netip.AddrPort, MaxInviteAddrs)
	for i := range many {
		many[i] = netip.AddrPortFrom(netip.AddrFrom4([4]byte{198, 18, 0, byte(i + 1)}), uint16(1000+i))
	}
	tests := []struct {
		name   string
		mutate func(*Invite)
	}{
		{"single", func(*Invite) {}},
		{"reusable", func(i *Invite) { i.Kind = InviteReusable }},
		{"approval", func(i *Invite) { i.Kind = InviteApproval; i.Secret = [16]byte{} }},
		{"no addrs", func(i *Invite) { i.Addrs = nil }},
		{"no relay", func(i *Invite) { i.Relay = "" }},
		{"no expiry", func(i *Invite) { i.Expires = time.Time{} }},
		{"max addrs", func(i *Invite) { i.Addrs = many }},
		{"max relay", func(i *Invite) { i.Relay = "https://" + strings.Repeat("r", MaxRelayLen-8) }},
		{"long name", func(i *Invite) { i.NetworkName = strings.Repeat("n", MaxNetworkNameLen) }},
		{"mapped addr", func(i *Invite) { i.Addrs = []netip.AddrPort{netip.MustParseAddrPort("[::ffff:198.18.0.1]:7")} }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := sampleInvite()
			tt.mutate(&in)
			code := in.Encode()
			if !strings.HasPrefix(code, "rayfish1-") || strings.ToLower(code) != code {
				t.Fatalf("code %q", code)
			}
			got, err := ParseInvite(code)
			if err != nil {
				t.Fatalf("ParseInvite: %v", err)
			}
			if !reflect.DeepEqual(got, in) {
				t.Fatalf("round trip:\n got %+v\nwant %+v", got, in)
			}
		})
	}
}

func TestInviteEncodeNormalizes(t *testing.T) {
	in := sampleInvite()
	in.Kind = InviteApproval // secret is not carried
	in.Expires = t0.Add(1500 * time.Millisecond)
	got, err := ParseInvite(in.Encode())
	if err != nil {
		t.Fatal(err)
	}
	if got.Secret != ([16]byte{}) {
		t.Error("approval code carried a secret")
	}
	if !got.Expires.Equal(t0.Add(time.Second)) {
		t.Errorf("Expires = %v, want second precision", got.Expires)
	}
	// Addresses beyond the limit are dropped.
	in = sampleInvite()
	for len(in.Addrs) < MaxInviteAddrs+3 {
		in.Addrs = append(in.Addrs, in.Addrs[0])
	}
	if got, err := ParseInvite(in.Encode()); err != nil || len(got.Addrs) != MaxInviteAddrs {
		t.Errorf("too many addrs: %d, %v", len(got.Addrs), err)
	}
}

func TestParseInviteLenient(t *testing.T) {
	in := sampleInvite()
	code := in.Encode()
	wrapped := code[:20] + "\n  " + code[20:60] + "\r\n" + code[60:]
	for name, s := range map[string]string{
		"upper":    strings.ToUpper(code),
		"spaces":   "  " + code + "\n",
		"wrapped":  wrapped,
		"tab mix":  "\t" + strings.ToUpper(code[:30]) + code[30:],
		"nbsp pad": "\u00a0" + code + "\u00a0",
	} {
		got, err := ParseInvite(s)
		if err != nil || !reflect.DeepEqual(got, in) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// rawInvite builds a code from a body (after the version byte) with a
// correct checksum, for testing field validation.
func rawInvite(version byte, body []byte) string {
	b := append([]byte{version}, body...)
	b = binary.BigEndian.AppendUint32(b, crc32.ChecksumIEEE(b))
	return invitePrefix + inviteEnc.EncodeToString(b)
}

// inviteBody returns the encoded fields of i without version and checksum.
func inviteBody(t testing.TB, i Invite) []byte {
	t.Helper()
	b, err := inviteEnc.DecodeString(strings.TrimPrefix(i.Encode(), invitePrefix))
	if err != nil {
		t.Fatal(err)
	}
	return b[1 : len(b)-4]
}

func TestParseInviteErrors(t *testing.T) {
	good := sampleInvite()
	body := inviteBody(t, good)
	withField := func(mutate func(*Invite)) []byte {
		i := sampleInvite()
		i.Network, i.Inviter = good.Network, good.Inviter
		mutate(&i)
		return inviteBody(t, i)
	}
	farExpiry := append([]byte(nil), body...)
	binary.BigEndian.PutUint64(farExpiry[1+32+32:], maxExpires+1)
	tests := []struct {
		name string
		code string
		want error  // sentinel, or nil to only require an error
		msg  string // substring of the message
	}{
		{"empty", "", ErrNotInvite, "not a rayfish invite"},
		{"network id", key.NewNetwork().Public().String(), ErrNotInvite, ""},
		{"url", "https://example.com/", ErrNotInvite, ""},
		{"too long", "rayfish1-" + strings.Repeat("a", 5000), ErrNotInvite, ""},
		{"newer prefix", "rayfish2-abcdef", ErrInviteNewer, "newer rayfish version"},
		{"prefix only", "rayfish1-", ErrInviteDamaged, ""},
		{"bad base32", "rayfish1-0189", ErrInviteDamaged, ""},
		{"short", "rayfish1-aaaa", ErrInviteDamaged, ""},
		{"bad checksum", rawInvite(1, body)[:len(rawInvite(1, body))-3] + "aaa", ErrInviteDamaged, "copy it again"},
		{"newer version byte", rawInvite(2, body), ErrInviteNewer, ""},
		{"version zero", rawInvite(0, body), ErrNotInvite, ""},
		{"trailing bytes", rawInvite(1, append(body[:len(body):len(body)], 0)), nil, "trailing"},
		{"truncated", rawInvite(1, body[:len(body)-1]), nil, "truncated"},
		{"kind zero", rawInvite(1, append([]byte{0}, body[1:]...)), nil, "kind"},
		{"kind unknown", rawInvite(1, append([]byte{9}, body[1:]...)), nil, "kind"},
		{"zero network", rawInvite(1, withField(func(i *Invite) { i.Network = key.NetworkPublic{} })), nil, "network id"},
		{"zero inviter", rawInvite(1, withField(func(i *Invite) { i.Inviter = key.NodePublic{} })), nil, "inviter"},
		{"zero secret", rawInvite(1, withField(func(i *Invite) { i.Secret = [16]byte{} })), nil, "secret"},
		{"bad name", rawInvite(1, withField(func(i *Invite) { i.NetworkName = "Bad Name" })), nil, "network name"},
		{"empty name", rawInvite(1, withField(func(i *Invite) { i.NetworkName = "" })), nil, "network name"},
		{"relay control char", rawInvite(1, withField(func(i *Invite) { i.Relay = "https://x\n" })), nil, "relay"},
		{"port zero", rawInvite(1, withField(func(i *Invite) { i.Addrs = []netip.AddrPort{netip.MustParseAddrPort("198.18.0.1:0")} })), nil, "address"},
		{"unspecified addr", rawInvite(1, withField(func(i *Invite) { i.Addrs = []netip.AddrPort{netip.MustParseAddrPort("0.0.0.0:1")} })), nil, "address"},
		{"zero addr", rawInvite(1, withField(func(i *Invite) { i.Addrs = []netip.AddrPort{{}} })), nil, "address"},
		{"expiry too far", rawInvite(1, farExpiry), nil, "expiry"},
	}
	// Hand-made bodies for limits Encode would not produce.
	tooMany := append([]byte(nil), body[:1+32+32+8+16]...)
	tooMany = append(tooMany, 4)
	tooMany = append(tooMany, "home"...)
	tooMany = append(tooMany, MaxInviteAddrs+1)
	tests = append(tests, struct {
		name string
		code string
		want error
		msg  string
	}{"too many addrs", rawInvite(1, tooMany), nil, "limit"})
	longRelay := append([]byte(nil), body[:1+32+32+8+16]...)
	longRelay = append(longRelay, 4)
	longRelay = append(longRelay, "home"...)
	longRelay = append(longRelay, 0)
	longRelay = binary.BigEndian.AppendUint16(longRelay, MaxRelayLen+1)
	longRelay = append(longRelay, strings.Repeat("r", MaxRelayLen+1)...)
	tests = append(tests, struct {
		name string
		code string
		want error
		msg  string
	}{"relay too long", rawInvite(1, longRelay), nil, "relay"})
	badFamily := append([]byte(nil), body[:1+32+32+8+16]...)
	badFamily = append(badFamily, 4)
	badFamily = append(badFamily, "home"...)
	badFamily = append(badFamily, 1, 5, 0, 0, 0, 0, 0, 1)
	badFamily = append(badFamily, 0, 0)
	tests = append(tests, struct {
		name string
		code string
		want error
		msg  string
	}{"bad family", rawInvite(1, badFamily), nil, "family"})

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseInvite(tt.code)
			if err == nil {
				t.Fatalf("ParseInvite succeeded: %+v", got)
			}
			if tt.want != nil && !errors.Is(err, tt.want) {
				t.Errorf("err = %v, want %v", err, tt.want)
			}
			if !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("err = %q, want it to mention %q", err, tt.msg)
			}
		})
	}
}

func TestParseInviteDetectsTypos(t *testing.T) {
	in := sampleInvite()
	code := in.Encode()
	const alphabet = "abcdefghijklmnopqrstuvwxyz234567"
	for pos := len(invitePrefix); pos < len(code); pos++ {
		for _, c := range []byte{alphabet[(strings.IndexByte(alphabet, code[pos])+1)%32], alphabet[(strings.IndexByte(alphabet, code[pos])+17)%32]} {
			typo := code[:pos] + string(c) + code[pos+1:]
			got, err := ParseInvite(typo)
			if err == nil {
				// Only the unused low bits of the last character may
				// change without effect.
				if pos != len(code)-1 || !reflect.DeepEqual(got, in) {
					t.Fatalf("typo at %d (%q) parsed as %+v", pos, c, got)
				}
				continue
			}
			if !errors.Is(err, ErrInviteDamaged) {
				t.Fatalf("typo at %d: err = %v, want ErrInviteDamaged", pos, err)
			}
		}
	}
	// Swapping two adjacent different characters is caught too.
	for pos := len(invitePrefix); pos < len(code)-2; pos++ {
		if code[pos] == code[pos+1] {
			continue
		}
		swapped := code[:pos] + string(code[pos+1]) + string(code[pos]) + code[pos+2:]
		if _, err := ParseInvite(swapped); !errors.Is(err, ErrInviteDamaged) {
			t.Fatalf("swap at %d: err = %v", pos, err)
		}
	}
}

func FuzzParseInvite(f *testing.F) {
	in := sampleInvite()
	f.Add(in.Encode())
	in.Kind = InviteApproval
	in.Addrs = nil
	in.Relay = ""
	f.Add(in.Encode())
	in.Kind = InviteReusable
	in.Expires = time.Time{}
	f.Add(strings.ToUpper(in.Encode()))
	f.Add("")
	f.Add("rayfish1-")
	f.Add("rayfish2-aaaa")
	f.Add(rawInvite(1, []byte{1}))
	f.Fuzz(func(t *testing.T, s string) {
		inv, err := ParseInvite(s)
		if err != nil {
			return
		}
		again, err := ParseInvite(inv.Encode())
		if err != nil {
			t.Fatalf("re-encoded invite does not parse: %v", err)
		}
		if !reflect.DeepEqual(again, inv) {
			t.Fatalf("re-encode changed the invite:\n got %+v\nwant %+v", again, inv)
		}
	})
}

// FuzzInviteBody fuzzes the fields behind a valid checksum, which random
// text almost never gets past.
func FuzzInviteBody(f *testing.F) {
	in := sampleInvite()
	f.Add(inviteBody(f, in))
	in.Kind = InviteApproval
	f.Add(inviteBody(f, in))
	f.Add([]byte{})
	f.Add([]byte{1, 2, 3})
	f.Fuzz(func(t *testing.T, body []byte) {
		inv, err := ParseInvite(rawInvite(inviteVersion, body))
		if err != nil {
			return
		}
		code := inv.Encode()
		if code != rawInvite(inviteVersion, body) {
			t.Fatalf("valid body is not canonical:\n got %s\nwant %s", code, rawInvite(inviteVersion, body))
		}
		again, err := ParseInvite(code)
		if err != nil || !reflect.DeepEqual(again, inv) {
			t.Fatalf("re-encode: %+v, %v; want %+v", again, err, inv)
		}
	})
}
