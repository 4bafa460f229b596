package netcfg

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"os"
	"slices"
	"strings"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
)

// Serving as an exit node or subnet router (Config.Forward) on Linux:
//
//   - IP forwarding on: net.ipv4.ip_forward and
//     net.ipv6.conf.all.forwarding set to 1.
//   - chain nat-<tun> in `table inet rayfish` (nat, postrouting, srcnat):
//     `meta nfproto ipvX oifname != tun ip[6] saddr RANGE counter
//     masquerade` for each overlay range of the TUN's addresses
//     (100.64.0.0/10, fd72:6179:6669::/48).
//   - chain fwd-<tun> (filter, forward): `iifname != tun oifname tun ct
//     state != established,related counter drop`, so that hosts on the
//     LAN cannot use this host as a gateway into the mesh. Its comment
//     records the forwarding sysctls as they were before rayfish turned
//     them on, e.g. "rayfish: restore ip_forward=0 ipv6_forwarding=0".
//
// With IPv6 forwarding on, the kernel ignores router advertisements on
// interfaces whose accept_ra is 1 (the default): a host that gets its IPv6
// default route by SLAAC should set accept_ra=2 on its uplink before
// serving as an exit node, as with any Linux router.
//
// No accept rules are needed: our base chains accept by policy, and an
// accept in our table would not override a drop in another table (a
// host firewall with a forward policy of drop has to allow the TUN).
//
// The record lives in the kernel next to the state it describes, so it
// outlives a crashed daemon exactly as long as the sysctls it changed do:
// Cleanup at the next start (or Apply with Forward false, or Teardown)
// finds the chain, writes the recorded values back and deletes both
// chains. After a reboot both are gone and nothing is restored wrongly.
// Turning forwarding on again while the record exists keeps the original
// values. While another daemon's fwd-<tun> chain is left in the table,
// the sysctls are left on.

const (
	sysctlForward4 = "/proc/sys/net/ipv4/ip_forward"
	sysctlForward6 = "/proc/sys/net/ipv6/conf/all/forwarding"
	recordPrefix   = "rayfish: restore "
)

func natChain(tun string) *nftables.Chain {
	return baseChain("nat-"+tun, nftables.ChainTypeNAT, nftables.ChainHookPostrouting, nftables.ChainPriorityNATSource)
}

func fwdChain(tun string) *nftables.Chain {
	return baseChain("fwd-"+tun, nftables.ChainTypeFilter, nftables.ChainHookForward, nftables.ChainPriorityFilter)
}

// forwarding is the state of the two forwarding sysctls: "0", "1" or, for
// IPv6 on a kernel without it, "-".
type forwarding struct{ v4, v6 string }

func (f forwarding) comment() string {
	return fmt.Sprintf("%sip_forward=%s ipv6_forwarding=%s", recordPrefix, f.v4, f.v6)
}

// parseRecord parses a comment made by forwarding.comment.
func parseRecord(s string) (forwarding, error) {
	var f forwarding
	rest, ok := strings.CutPrefix(strings.TrimRight(s, "\x00"), recordPrefix)
	if ok {
		for _, kv := range strings.Fields(rest) {
			k, v, _ := strings.Cut(kv, "=")
			if v != "0" && v != "1" && v != "-" {
				ok = false
			}
			switch k {
			case "ip_forward":
				f.v4 = v
			case "ipv6_forwarding":
				f.v6 = v
			}
		}
	}
	if !ok || f.v4 == "" || f.v6 == "" || f.v4 == "-" {
		return forwarding{}, fmt.Errorf("netcfg: malformed forwarding record %q", s)
	}
	return f, nil
}

// readForwarding reads the current forwarding sysctls.
func readForwarding() (forwarding, error) {
	f := forwarding{v6: "-"}
	b, err := os.ReadFile(sysctlForward4)
	if err != nil {
		return f, fmt.Errorf("netcfg: read %s: %w", sysctlForward4, err)
	}
	f.v4 = sysctlBool(b)
	b, err = os.ReadFile(sysctlForward6)
	if err == nil {
		f.v6 = sysctlBool(b)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return f, fmt.Errorf("netcfg: read %s: %w", sysctlForward6, err)
	}
	return f, nil
}

func sysctlBool(b []byte) string {
	if strings.TrimSpace(string(b)) == "0" {
		return "0"
	}
	return "1"
}

// writeForwarding sets the forwarding sysctls to f ("-" leaves IPv6 alone).
func writeForwarding(f forwarding) error {
	if err := os.WriteFile(sysctlForward4, []byte(f.v4+"\n"), 0o644); err != nil {
		return fmt.Errorf("netcfg: set ip_forward=%s: %w", f.v4, err)
	}
	if f.v6 == "-" {
		return nil
	}
	if err := os.WriteFile(sysctlForward6, []byte(f.v6+"\n"), 0o644); err != nil {
		return fmt.Errorf("netcfg: set ipv6 forwarding=%s: %w", f.v6, err)
	}
	return nil
}

// applyForward makes this host route for the mesh through tun: the nat and
// fwd chains are replaced in one transaction (recording the sysctls'
// previous values, or keeping an earlier record), then forwarding is
// turned on. ranges are the overlay ranges to masquerade.
func applyForward(tun string, ranges []netip.Prefix) error {
	c, err := nftables.New()
	if err != nil {
		return fmt.Errorf("netcfg: %w: %w", ErrNoForward, err)
	}
	prev, found, err := readRecord(c, tun)
	if err != nil {
		return err
	}
	if !found {
		if prev, err = readForwarding(); err != nil {
			return err
		}
	}
	nat, fwd := natChain(tun), fwdChain(tun)
	c.AddTable(nat.Table)
	c.AddChain(nat)
	c.FlushChain(nat)
	for _, r := range masqRules(tun, ranges) {
		c.AddRule(&nftables.Rule{Table: nat.Table, Chain: nat, Exprs: r})
	}
	c.AddChain(fwd)
	c.FlushChain(fwd)
	c.AddRule(&nftables.Rule{Table: fwd.Table, Chain: fwd, Exprs: inboundDropRule(tun), UserData: comment(prev.comment())})
	if err := c.Flush(); err != nil {
		return fmt.Errorf("netcfg: %w: %w", ErrNoForward, err)
	}
	on := forwarding{v4: "1", v6: "1"}
	if prev.v6 == "-" {
		on.v6 = "-"
	}
	return writeForwarding(on)
}

// removeForward undoes applyForward for tun: the recorded sysctl values
// are written back (unless another TUN's fwd chain is left), then both
// chains are deleted. Nothing to undo is not an error.
func removeForward(tun string) error {
	c, err := nftables.New()
	if err != nil {
		return nil // no nftables: forwarding was never turned on
	}
	have, err := tableChains(c)
	if err != nil {
		return nil
	}
	nat, fwd := natChain(tun), fwdChain(tun)
	if !slices.Contains(have, nat.Name) && !slices.Contains(have, fwd.Name) {
		return nil
	}
	prev, found, recErr := readRecord(c, tun)
	others := slices.ContainsFunc(have, func(n string) bool { return strings.HasPrefix(n, "fwd-") && n != fwd.Name })
	if found && !others {
		if err := writeForwarding(prev); err != nil {
			return err // keep the record for another try
		}
	}
	return errors.Join(recErr, removeChains(nat, fwd))
}

// readRecord returns the sysctl values recorded in fwd-<tun>'s comment.
func readRecord(c *nftables.Conn, tun string) (forwarding, bool, error) {
	have, err := tableChains(c)
	if err != nil {
		return forwarding{}, false, err
	}
	ch := fwdChain(tun)
	if !slices.Contains(have, ch.Name) {
		return forwarding{}, false, nil
	}
	rules, err := c.GetRules(ch.Table, ch)
	if err != nil {
		return forwarding{}, false, fmt.Errorf("netcfg: list nftables chain %s: %w", ch.Name, err)
	}
	for _, r := range rules {
		if s, ok := commentOf(r.UserData); ok && strings.HasPrefix(s, recordPrefix) {
			f, err := parseRecord(s)
			return f, err == nil, err
		}
	}
	return forwarding{}, false, nil
}

// comment encodes s as an nftables rule comment (the TLV nft(8) shows).
func comment(s string) []byte {
	s = s[:min(len(s), 254)] + "\x00"
	return append([]byte{0, byte(len(s))}, s...) // type 0: comment
}

// commentOf decodes the comment in a rule's user data.
func commentOf(udata []byte) (string, bool) {
	for len(udata) >= 2 {
		typ, n := udata[0], int(udata[1])
		if len(udata) < 2+n {
			return "", false
		}
		if typ == 0 {
			return strings.TrimRight(string(udata[2:2+n]), "\x00"), true
		}
		udata = udata[2+n:]
	}
	return "", false
}

// masqRules returns `meta nfproto ipvX oifname != tun ip[6] saddr RANGE
// counter masquerade` for each of ranges.
func masqRules(tun string, ranges []netip.Prefix) [][]expr.Any {
	var out [][]expr.Any
	for _, p := range ranges {
		a := p.Masked().Addr()
		n := uint32(a.BitLen() / 8)
		family, load := addrExprs(a, true)
		out = append(out, append(family,
			&expr.Meta{Key: expr.MetaKeyOIFNAME, Register: 1},
			&expr.Cmp{Op: expr.CmpOpNeq, Register: 1, Data: ifname(tun)},
			load,
			&expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: n, Mask: prefixMask(p), Xor: make([]byte, n)},
			&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: a.AsSlice()},
			&expr.Counter{},
			&expr.Masq{},
		))
	}
	return out
}

// prefixMask returns the netmask of p as bytes.
func prefixMask(p netip.Prefix) []byte {
	b := make([]byte, p.Addr().BitLen()/8)
	for i := range p.Bits() {
		b[i/8] |= 0x80 >> (i % 8)
	}
	return b
}

// inboundDropRule is `iifname != tun oifname tun ct state !=
// established,related counter drop`.
func inboundDropRule(tun string) []expr.Any {
	est := make([]byte, 4)
	binary.NativeEndian.PutUint32(est, expr.CtStateBitESTABLISHED|expr.CtStateBitRELATED)
	return []expr.Any{
		&expr.Meta{Key: expr.MetaKeyIIFNAME, Register: 1},
		&expr.Cmp{Op: expr.CmpOpNeq, Register: 1, Data: ifname(tun)},
		&expr.Meta{Key: expr.MetaKeyOIFNAME, Register: 1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: ifname(tun)},
		&expr.Ct{Register: 1, Key: expr.CtKeySTATE},
		&expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: 4, Mask: est, Xor: make([]byte, 4)},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: make([]byte, 4)},
		&expr.Counter{},
		&expr.Verdict{Kind: expr.VerdictDrop},
	}
}
