package portmap

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"time"

	"github.com/huin/goupnp"
	"github.com/huin/goupnp/dcps/internetgateway2"
	"github.com/huin/goupnp/httpu"
	"github.com/huin/goupnp/soap"
	"github.com/huin/goupnp/ssdp"
)

// UPnP IGD through github.com/huin/goupnp: SSDP finds the gateway's
// description, which names a WANIPConnection (1 or 2) or WANPPPConnection
// service; its SOAP actions add and delete the mapping. The description
// and SOAP answers come from the LAN: they are read through an HTTP
// client that caps their size and time, and only a description the
// default gateway serves is fetched at all.

const (
	upnpMaxBody    = 64 << 10 // description or SOAP response
	upnpSearch     = "urn:schemas-upnp-org:device:InternetGatewayDevice:1"
	upnpSearchTime = 2 * time.Second
	upnpDesc       = "rayfish"
)

// igdService is what we need of a WAN connection service (all three
// goupnp clients have these methods).
type igdService interface {
	AddPortMappingCtx(ctx context.Context, remoteHost string, extPort uint16, proto string, intPort uint16, intClient string, enabled bool, desc string, lease uint32) error
	DeletePortMappingCtx(ctx context.Context, remoteHost string, extPort uint16, proto string) error
	GetExternalIPAddressCtx(ctx context.Context) (string, error)
}

// upnpClient maps our port with UPnP IGD.
type upnpClient struct {
	gw   netip.Addr // only this host's description is used
	self netip.Addr // the internal client we map to
	// location, if set, skips SSDP (tests, and a re-map on the same
	// gateway).
	location *url.URL
	svc      igdService
	tcp      bool // map a TCP port, not UDP
}

func (c *upnpClient) proto() string {
	if c.tcp {
		return "TCP"
	}
	return "UDP"
}

func (c *upnpClient) protocol() Protocol { return UPnP }

// boundedClient is an HTTP client for LAN answers: short timeouts and
// bodies cut at upnpMaxBody (decoding a cut body fails).
var boundedClient = http.Client{
	Timeout:   5 * time.Second,
	Transport: limitTransport{&http.Transport{Proxy: nil, MaxResponseHeaderBytes: 16 << 10, DisableKeepAlives: true}},
	CheckRedirect: func(*http.Request, []*http.Request) error {
		return errors.New("UPnP: redirects are not followed")
	},
}

type limitTransport struct{ rt http.RoundTripper }

func (t limitTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := t.rt.RoundTrip(r)
	if err == nil {
		resp.Body = struct {
			io.Reader
			io.Closer
		}{io.LimitReader(resp.Body, upnpMaxBody), resp.Body}
	}
	return resp, err
}

// discover finds the gateway's IGD description with SSDP.
func (c *upnpClient) discover(ctx context.Context) (*url.URL, error) {
	hc, err := httpu.NewHTTPUClient()
	if err != nil {
		return nil, fmt.Errorf("UPnP: %w", err)
	}
	defer hc.Close()
	sctx, cancel := context.WithTimeout(ctx, upnpSearchTime)
	defer cancel()
	resps, err := ssdp.RawSearch(sctx, hc, upnpSearch, 2)
	if err != nil {
		return nil, fmt.Errorf("UPnP: SSDP search: %w", err)
	}
	for _, r := range resps {
		loc, err := r.Location()
		if err != nil {
			continue
		}
		if h, err := netip.ParseAddr(loc.Hostname()); err == nil && h.Unmap() == c.gw {
			return loc, nil
		}
	}
	if len(resps) > 0 {
		return nil, fmt.Errorf("UPnP: %d devices answered SSDP, none is the gateway %v", len(resps), c.gw)
	}
	return nil, errors.New("UPnP: no Internet gateway answered SSDP")
}

// service finds the WAN connection service in the description at loc.
func (c *upnpClient) service(ctx context.Context, loc *url.URL) (igdService, error) {
	if h, err := netip.ParseAddr(loc.Hostname()); err != nil || h.Unmap() != c.gw {
		return nil, fmt.Errorf("UPnP: description %s is not on the gateway %v", loc, c.gw)
	}
	root, err := fetchDescription(ctx, loc)
	if err != nil {
		return nil, err
	}
	// Each service's control URL must stay on the gateway too.
	var svcs []igdService
	keep := func(sc goupnp.ServiceClient) bool {
		h, err := netip.ParseAddr(sc.SOAPClient.EndpointURL.Hostname())
		if err != nil || h.Unmap() != c.gw {
			return false
		}
		sc.SOAPClient.HTTPClient = boundedClient
		return true
	}
	if cs, err := internetgateway2.NewWANIPConnection2ClientsFromRootDevice(root, loc); err == nil {
		for _, s := range cs {
			if keep(s.ServiceClient) {
				svcs = append(svcs, s)
			}
		}
	}
	if cs, err := internetgateway2.NewWANIPConnection1ClientsFromRootDevice(root, loc); err == nil {
		for _, s := range cs {
			if keep(s.ServiceClient) {
				svcs = append(svcs, s)
			}
		}
	}
	if cs, err := internetgateway2.NewWANPPPConnection1ClientsFromRootDevice(root, loc); err == nil {
		for _, s := range cs {
			if keep(s.ServiceClient) {
				svcs = append(svcs, s)
			}
		}
	}
	if len(svcs) == 0 {
		return nil, fmt.Errorf("UPnP: the gateway's description %s has no WAN connection service", loc)
	}
	return svcs[0], nil
}

// fetchDescription reads and parses the device description at loc.
func fetchDescription(ctx context.Context, loc *url.URL) (*goupnp.RootDevice, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, loc.String(), nil)
	if err != nil {
		return nil, fmt.Errorf("UPnP: %w", err)
	}
	resp, err := boundedClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("UPnP: description: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("UPnP: description %s: HTTP %s", loc, resp.Status)
	}
	return parseDescription(resp.Body, loc)
}

// parseDescription decodes a device description read from r (already
// bounded) fetched from loc.
func parseDescription(r io.Reader, loc *url.URL) (*goupnp.RootDevice, error) {
	root := new(goupnp.RootDevice)
	d := xml.NewDecoder(r)
	d.DefaultSpace = goupnp.DeviceXMLNamespace
	if err := d.Decode(root); err != nil {
		return nil, fmt.Errorf("UPnP: description %s: %w", loc, err)
	}
	base := loc
	if root.URLBaseStr != "" {
		u, err := url.Parse(root.URLBaseStr)
		if err != nil {
			return nil, fmt.Errorf("UPnP: description %s: bad URLBase: %w", loc, err)
		}
		base = u
	}
	root.SetURLBase(base)
	return root, nil
}

func (c *upnpClient) connect(ctx context.Context) error {
	if c.svc != nil {
		return nil
	}
	if c.location == nil {
		loc, err := c.discover(ctx)
		if err != nil {
			return err
		}
		c.location = loc
	}
	svc, err := c.service(ctx, c.location)
	if err != nil {
		c.location = nil
		return err
	}
	c.svc = svc
	return nil
}

func (c *upnpClient) mapPort(ctx context.Context, internal uint16, prev netip.AddrPort, lease time.Duration) (Mapping, error) {
	if err := c.connect(ctx); err != nil {
		return Mapping{}, err
	}
	ext := internal
	if prev.IsValid() {
		ext = prev.Port()
	}
	secs := uint32(lease / time.Second)
	add := func(port uint16, secs uint32) error {
		return c.svc.AddPortMappingCtx(ctx, "", port, c.proto(), internal, c.self.String(), true, upnpDesc, secs)
	}
	err := add(ext, secs)
	if upnpCode(err) == 725 { // OnlyPermanentLeasesSupported
		secs = 0
		err = add(ext, secs)
	}
	if upnpCode(err) == 718 { // ConflictInMappingEntry: another host has it
		ext = 1024 + uint16(uint32(internal)*7919%(65535-1024))
		err = add(ext, secs)
	}
	if err != nil {
		c.svc = nil // look again next time
		return Mapping{}, upnpErr("AddPortMapping", err)
	}
	ip, err := c.externalIP(ctx)
	if err != nil {
		c.svc.DeletePortMappingCtx(ctx, "", ext, c.proto())
		return Mapping{}, err
	}
	m := Mapping{Protocol: UPnP, External: netip.AddrPortFrom(ip, ext), Lease: time.Duration(secs) * time.Second}
	if secs == 0 {
		m.Lease = permanentRefresh
	}
	return m, nil
}

// externalIP asks the gateway for its public address.
func (c *upnpClient) externalIP(ctx context.Context) (netip.Addr, error) {
	ipText, err := c.svc.GetExternalIPAddressCtx(ctx)
	if err != nil {
		return netip.Addr{}, upnpErr("GetExternalIPAddress", err)
	}
	ip, err := netip.ParseAddr(ipText)
	if err != nil || !ip.Is4() || ip.IsUnspecified() {
		return netip.Addr{}, fmt.Errorf("UPnP: gateway has no usable external address (%q)", ipText)
	}
	return ip, nil
}

func (c *upnpClient) unmapPort(ctx context.Context, _ uint16, m Mapping) error {
	if err := c.connect(ctx); err != nil {
		return err
	}
	if err := c.svc.DeletePortMappingCtx(ctx, "", m.External.Port(), c.proto()); err != nil {
		return upnpErr("DeletePortMapping", err)
	}
	return nil
}

// upnpCode is the UPnP error code in a SOAP fault (0 if none).
func upnpCode(err error) int {
	var f *soap.SOAPFaultError
	if errors.As(err, &f) {
		return f.Detail.UPnPError.Errorcode
	}
	return 0
}

// upnpErr says which action failed and, for a SOAP fault, the UPnP error
// code and description in one line (a gateway that refuses reserved WAN
// addresses, like miniupnpd, answers 501 Action Failed).
func upnpErr(action string, err error) error {
	var f *soap.SOAPFaultError
	if errors.As(err, &f) {
		desc := f.Detail.UPnPError.ErrorDescription
		if desc == "" {
			desc = f.FaultString
		}
		return &UPnPError{Action: action, Code: f.Detail.UPnPError.Errorcode, Description: printable(desc, 80)}
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return fmt.Errorf("UPnP: %s: gateway did not answer in time", action)
	}
	return fmt.Errorf("UPnP: %s: %w", action, err)
}

// UPnPError is a UPnP action the gateway refused.
type UPnPError struct {
	Action      string
	Code        int
	Description string
}

func (e *UPnPError) Error() string {
	return "UPnP: " + e.Action + ": gateway refused with error " + strconv.Itoa(e.Code) + " (" + e.Description + ")"
}

// printable keeps at most n printable ASCII characters of the gateway's
// text, for one-line errors.
func printable(s string, n int) string {
	out := make([]byte, 0, min(len(s), n))
	for i := 0; i < len(s) && len(out) < n; i++ {
		if c := s[i]; c >= 0x20 && c < 0x7f {
			out = append(out, c)
		}
	}
	return string(out)
}
