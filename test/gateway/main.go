// Command gateway is the lab's home-router port mapper: it answers
// NAT-PMP, PCP and UPnP IGD on the LAN side of a router namespace and
// programs each mapping as nftables DNAT (table ip rfgw), removing it on
// delete, on expiry and at exit. Tests only; see test/netns.
//
//	gateway --wan 198.18.100.11 --lan 198.19.1.1 --lan-if lA [--protocols pcp,nat-pmp,upnp]
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/rayfish/rayfish/test/gateway/responder"
)

func main() {
	wan := flag.String("wan", "", "the router's WAN address (mappings are on it)")
	lan := flag.String("lan", "", "the router's LAN address (we listen on it)")
	lanIf := flag.String("lan-if", "", "the LAN interface (SSDP multicast)")
	protos := flag.String("protocols", "pcp,nat-pmp,upnp", "protocols to speak")
	httpPort := flag.Int("http-port", 5000, "UPnP HTTP port")
	maxLease := flag.Duration("max-lease", 2*time.Hour, "longest lifetime NAT-PMP and PCP grant")
	flag.Parse()
	wanIP, err1 := netip.ParseAddr(*wan)
	lanIP, err2 := netip.ParseAddr(*lan)
	if err1 != nil || err2 != nil || *lanIf == "" {
		log.Fatal("usage: gateway --wan ADDR --lan ADDR --lan-if NAME [--protocols pcp,nat-pmp,upnp]")
	}
	cfg := responder.Config{External: wanIP, Logf: log.Printf, MaxLease: *maxLease}
	for _, p := range strings.Split(*protos, ",") {
		switch p {
		case "pcp":
			cfg.PCP = true
		case "nat-pmp":
			cfg.NATPMP = true
		case "upnp":
			cfg.UPnP = true
		default:
			log.Fatalf("unknown protocol %q", p)
		}
	}
	fw, err := newNFT(wanIP)
	if err != nil {
		log.Fatal(err)
	}
	defer fw.close()
	cfg.Forward = fw
	s := responder.New(cfg)
	defer s.Close()

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	if cfg.PCP || cfg.NATPMP {
		c, err := net.ListenUDP("udp4", net.UDPAddrFromAddrPort(netip.AddrPortFrom(lanIP, responder.PMPPort)))
		if err != nil {
			log.Fatal(err)
		}
		defer c.Close()
		go s.ServePMP(c)
	}
	if cfg.UPnP {
		ln, err := net.Listen("tcp4", netip.AddrPortFrom(lanIP, uint16(*httpPort)).String())
		if err != nil {
			log.Fatal(err)
		}
		hs := &http.Server{Handler: s.UPnPHandler(), ReadHeaderTimeout: 5 * time.Second}
		go hs.Serve(ln)
		defer hs.Close()
		ifi, err := net.InterfaceByName(*lanIf)
		if err != nil {
			log.Fatal(err)
		}
		mc, err := net.ListenMulticastUDP("udp4", ifi, &net.UDPAddr{IP: net.IPv4(239, 255, 255, 250), Port: 1900})
		if err != nil {
			log.Fatal(err)
		}
		defer mc.Close()
		go responder.ServeSSDP(mc, fmt.Sprintf("http://%s:%d/rootDesc.xml", lanIP, *httpPort))
	}
	log.Printf("gateway ready: wan %v lan %v protocols %s", wanIP, lanIP, *protos)
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			log.Printf("gateway stopping")
			return
		case now := <-t.C:
			s.Expire(now)
		}
	}
}

// nft forwards mapped ports with DNAT maps in table ip rfgw: "ports"
// for UDP, "tcpports" for TCP.
type nft struct{}

func newNFT(wan netip.Addr) (*nft, error) {
	n := &nft{}
	n.run("delete table ip rfgw") // a table left by a killed run
	err := n.run(fmt.Sprintf(`table ip rfgw {
  map ports { type inet_service : ipv4_addr . inet_service; }
  map tcpports { type inet_service : ipv4_addr . inet_service; }
  chain prerouting { type nat hook prerouting priority dstnat;
    ip daddr %s dnat ip to udp dport map @ports
    ip daddr %s dnat ip to tcp dport map @tcpports
  }
}`, wan, wan))
	return n, err
}

// mapName is the DNAT map of transport proto.
func mapName(proto string) string {
	if proto == "tcp" {
		return "tcpports"
	}
	return "ports"
}

func (n *nft) run(script string) error {
	cmd := exec.Command("nft", "-f", "-")
	cmd.Stdin = strings.NewReader(script)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("nft: %v: %s", err, out)
	}
	return nil
}

func (n *nft) Add(proto string, ext uint16, to netip.AddrPort) error {
	return n.run(fmt.Sprintf("add element ip rfgw %s { %d : %s . %d }", mapName(proto), ext, to.Addr(), to.Port()))
}

func (n *nft) Remove(proto string, ext uint16) error {
	return n.run(fmt.Sprintf("delete element ip rfgw %s { %d }", mapName(proto), ext))
}

func (n *nft) close() { n.run("delete table ip rfgw") }
