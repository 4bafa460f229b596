package netcfg

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
	"golang.org/x/sys/unix"
)

// The overlay guard: the kernel accepts a packet for any local address
// on any interface (the weak host model), so a LAN neighbour could send
// to our overlay address through the physical interface, past the
// engine's firewall (Tailscale TS-2024-005). An nftables chain drops
// packets for our overlay addresses that arrive on any interface but the
// TUN (and loopback, which carries this host's own traffic to them).
//
// The chain, guard-<tun>, lives in `table inet rayfish`, which rayfish
// owns; each Apply replaces the chain's rules in one transaction, so a
// restart after a crash replaces them rather than adding copies.
// Teardown deletes the chain, and the table once it is empty.
const guardTable = "rayfish"

func guardChain(tun string) *nftables.Chain {
	// Raw priority: before conntrack, so nothing dropped is tracked.
	return baseChain("guard-"+tun, nftables.ChainTypeFilter, nftables.ChainHookPrerouting, nftables.ChainPriorityRaw)
}

// baseChain returns a base chain in rayfish's table with an accept policy.
func baseChain(name string, typ nftables.ChainType, hook *nftables.ChainHook, prio *nftables.ChainPriority) *nftables.Chain {
	accept := nftables.ChainPolicyAccept
	return &nftables.Chain{
		Name:     name,
		Table:    &nftables.Table{Family: nftables.TableFamilyINet, Name: guardTable},
		Type:     typ,
		Hooknum:  hook,
		Priority: prio,
		Policy:   &accept,
	}
}

// ifname is an interface name as nftables compares it (IFNAMSIZ bytes).
func ifname(name string) []byte {
	b := make([]byte, unix.IFNAMSIZ)
	copy(b, name)
	return b
}

// guardRules returns one rule per address: `iifname != tun iifname !=
// "lo" ip[6] daddr ADDR counter drop`.
func guardRules(tun string, addrs []netip.Prefix) [][]expr.Any {
	var out [][]expr.Any
	for _, p := range addrs {
		a := p.Addr().Unmap()
		family, load := addrExprs(a, false)
		out = append(out, append(family,
			&expr.Meta{Key: expr.MetaKeyIIFNAME, Register: 1},
			&expr.Cmp{Op: expr.CmpOpNeq, Register: 1, Data: ifname(tun)},
			&expr.Cmp{Op: expr.CmpOpNeq, Register: 1, Data: ifname("lo")},
			load,
			&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: a.AsSlice()},
			&expr.Counter{},
			&expr.Verdict{Kind: expr.VerdictDrop},
		))
	}
	return out
}

// addrExprs returns `meta nfproto ipvX` for a's family, and the
// expression that loads the packet's source (src) or destination address
// of that family into register 1.
func addrExprs(a netip.Addr, src bool) (family []expr.Any, load *expr.Payload) {
	proto, off := byte(unix.NFPROTO_IPV4), uint32(16) // IPv4 destination
	if a.Is6() {
		proto, off = unix.NFPROTO_IPV6, 24
	}
	if src {
		off -= uint32(a.BitLen() / 8) // the source precedes it
	}
	return []expr.Any{
		&expr.Meta{Key: expr.MetaKeyNFPROTO, Register: 1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{proto}},
	}, &expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: off, Len: uint32(a.BitLen() / 8)}
}

// applyGuard makes guard-<tun> drop exactly addrs arriving elsewhere.
func applyGuard(tun string, addrs []netip.Prefix) error {
	c, err := nftables.New()
	if err != nil {
		return fmt.Errorf("netcfg: %w: %w", ErrNoGuard, err)
	}
	ch := guardChain(tun)
	c.AddTable(ch.Table)
	c.AddChain(ch)
	c.FlushChain(ch)
	for _, r := range guardRules(tun, addrs) {
		c.AddRule(&nftables.Rule{Table: ch.Table, Chain: ch, Exprs: r})
	}
	if err := c.Flush(); err != nil {
		return fmt.Errorf("netcfg: %w: %w", ErrNoGuard, err)
	}
	return nil
}

// removeGuard deletes guard-<tun>, and rayfish's table if no other
// daemon's chain is left in it. Nothing to remove is not an error.
func removeGuard(tun string) error {
	return removeChains(guardChain(tun))
}

// removeChains deletes those of chains (all in rayfish's table) that
// exist, and the table once no chain is left in it, in one transaction.
// Nothing to remove, or no nftables at all, is not an error.
func removeChains(chains ...*nftables.Chain) error {
	c, err := nftables.New()
	if err != nil {
		return nil // no nftables: nothing was installed
	}
	have, err := tableChains(c)
	if err != nil || len(have) == 0 {
		return nil // no table: nothing to remove
	}
	left := len(have)
	for _, ch := range chains {
		if !slices.Contains(have, ch.Name) {
			continue
		}
		c.FlushChain(ch) // a chain is deleted only once it is empty
		c.DelChain(ch)
		left--
	}
	if left == len(have) {
		return nil
	}
	if left == 0 {
		c.DelTable(chains[0].Table)
	}
	if err := c.Flush(); err != nil && !errors.Is(err, unix.ENOENT) {
		return fmt.Errorf("netcfg: remove nftables chains from table %s: %w", guardTable, err)
	}
	return nil
}

// tableChains returns the names of the chains in rayfish's table.
func tableChains(c *nftables.Conn) ([]string, error) {
	chains, err := c.ListChainsOfTableFamily(nftables.TableFamilyINet)
	if err != nil {
		return nil, fmt.Errorf("netcfg: list nftables chains: %w", err)
	}
	var out []string
	for _, o := range chains {
		if o.Table.Name == guardTable {
			out = append(out, o.Name)
		}
	}
	return out, nil
}
