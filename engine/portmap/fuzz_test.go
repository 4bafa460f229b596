package portmap

import (
	"bytes"
	"net/netip"
	"net/url"
	"testing"

	"github.com/huin/goupnp/dcps/internetgateway2"
)

func FuzzParsePCPMapResponse(f *testing.F) {
	req := pcpMapRequest(netip.MustParseAddr("192.168.1.2"), [12]byte{1}, protoUDP, 41641, netip.AddrPort{}, 7200)
	ok := append([]byte(nil), req...)
	ok[1] |= pcpResponseBit
	f.Add(ok)
	f.Add([]byte{0, 0x81, 0, 1, 0, 0, 0, 0})
	f.Add(append(ok, make([]byte, 1100)...))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := parsePCPMapResponse(b)
		if err != nil {
			return
		}
		if len(b) < pcpMapMsgLen || len(b) > pcpMaxMsgLen || b[0] != pcpVersion || b[3] != 0 {
			t.Fatalf("accepted a bad response (%d bytes)", len(b))
		}
		if r.External.Addr().Is4In6() {
			t.Fatal("external address not unmapped")
		}
	})
}

func FuzzParseDescription(f *testing.F) {
	loc, _ := url.Parse("http://192.168.1.1:5000/rootDesc.xml")
	f.Add([]byte(`<?xml version="1.0"?><root xmlns="urn:schemas-upnp-org:device-1-0"><device><deviceType>urn:schemas-upnp-org:device:InternetGatewayDevice:1</deviceType><serviceList><service><serviceType>urn:schemas-upnp-org:service:WANIPConnection:1</serviceType><controlURL>/ctl</controlURL></service></serviceList></device></root>`))
	f.Add([]byte(`<root><URLBase>http://[::1</URLBase></root>`))
	f.Fuzz(func(t *testing.T, b []byte) {
		root, err := parseDescription(bytes.NewReader(b), loc)
		if err != nil {
			return
		}
		// What the client does next must not panic either.
		internetgateway2.NewWANIPConnection1ClientsFromRootDevice(root, loc)
		internetgateway2.NewWANPPPConnection1ClientsFromRootDevice(root, loc)
	})
}
