package responder

import (
	"encoding/xml"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

const (
	serviceType = "urn:schemas-upnp-org:service:WANIPConnection:1"
	deviceType  = "urn:schemas-upnp-org:device:InternetGatewayDevice:1"
	uuid        = "uuid:7261796d-6973-6800-0000-000000000001"
)

// UPnPHandler serves the device description at /rootDesc.xml and the
// WANIPConnection:1 control URL at /ctl/IPConn.
func (s *Server) UPnPHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /rootDesc.xml", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", `text/xml; charset="utf-8"`)
		io.WriteString(w, description)
	})
	mux.HandleFunc("POST /ctl/IPConn", s.soap)
	return mux
}

const description = `<?xml version="1.0"?>
<root xmlns="urn:schemas-upnp-org:device-1-0">
<specVersion><major>1</major><minor>0</minor></specVersion>
<device>
<deviceType>` + deviceType + `</deviceType>
<friendlyName>rayfish test gateway</friendlyName>
<UDN>` + uuid + `</UDN>
<deviceList><device>
<deviceType>urn:schemas-upnp-org:device:WANDevice:1</deviceType>
<UDN>uuid:7261796d-6973-6800-0000-000000000002</UDN>
<deviceList><device>
<deviceType>urn:schemas-upnp-org:device:WANConnectionDevice:1</deviceType>
<UDN>uuid:7261796d-6973-6800-0000-000000000003</UDN>
<serviceList><service>
<serviceType>` + serviceType + `</serviceType>
<serviceId>urn:upnp-org:serviceId:WANIPConn1</serviceId>
<controlURL>/ctl/IPConn</controlURL>
<eventSubURL>/evt/IPConn</eventSubURL>
<SCPDURL>/WANIPCn.xml</SCPDURL>
</service></serviceList>
</device></deviceList>
</device></deviceList>
</device>
</root>
`

// soapRequest is the part of a SOAP envelope we read.
type soapRequest struct {
	Body struct {
		Action struct {
			XMLName xml.Name
			Args    []struct {
				XMLName xml.Name
				Value   string `xml:",chardata"`
			} `xml:",any"`
		} `xml:",any"`
	} `xml:"Body"`
}

func (s *Server) soap(w http.ResponseWriter, r *http.Request) {
	var req soapRequest
	if err := xml.NewDecoder(io.LimitReader(r.Body, 16<<10)).Decode(&req); err != nil {
		soapFault(w, 402, "Invalid Args")
		return
	}
	args := map[string]string{}
	for _, a := range req.Body.Action.Args {
		args[a.XMLName.Local] = strings.TrimSpace(a.Value)
	}
	from, _ := netip.ParseAddrPort(r.RemoteAddr)
	switch action := req.Body.Action.XMLName.Local; action {
	case "GetExternalIPAddress":
		soapOK(w, action, "<NewExternalIPAddress>"+s.cfg.External.String()+"</NewExternalIPAddress>")
	case "AddPortMapping":
		ext, err1 := strconv.ParseUint(args["NewExternalPort"], 10, 16)
		inPort, err2 := strconv.ParseUint(args["NewInternalPort"], 10, 16)
		client, err3 := netip.ParseAddr(args["NewInternalClient"])
		lease, err4 := strconv.ParseUint(args["NewLeaseDuration"], 10, 32)
		if err1 != nil || err2 != nil || err3 != nil || err4 != nil || ext == 0 || inPort == 0 {
			soapFault(w, 402, "Invalid Args")
			return
		}
		proto, ok := upnpProto(args["NewProtocol"])
		if !ok {
			soapFault(w, 402, "Invalid Args")
			return
		}
		if client != from.Addr().Unmap() {
			soapFault(w, 606, "Action not authorized")
			return
		}
		if err := s.upnpAdd(portKey{proto, uint16(ext)}, netip.AddrPortFrom(client, uint16(inPort)), time.Duration(lease)*time.Second); err != nil {
			soapFault(w, 718, "ConflictInMappingEntry")
			return
		}
		soapOK(w, action, "")
	case "DeletePortMapping":
		ext, err := strconv.ParseUint(args["NewExternalPort"], 10, 16)
		proto, ok := upnpProto(args["NewProtocol"])
		if err != nil || !ok {
			soapFault(w, 402, "Invalid Args")
			return
		}
		k := portKey{proto, uint16(ext)}
		s.mu.Lock()
		m := s.maps[k]
		mine := m != nil && m.Internal.Addr() == from.Addr().Unmap()
		s.mu.Unlock()
		if !mine || !s.remove(k) {
			soapFault(w, 714, "NoSuchEntryInArray")
			return
		}
		s.cfg.Logf("upnp: delete %s %d", proto, ext)
		soapOK(w, action, "")
	default:
		soapFault(w, 401, "Invalid Action")
	}
}

// upnpProto is the transport a NewProtocol argument names.
func upnpProto(arg string) (string, bool) {
	switch {
	case strings.EqualFold(arg, "UDP"):
		return "udp", true
	case strings.EqualFold(arg, "TCP"):
		return "tcp", true
	}
	return "", false
}

// upnpAdd maps k to in: a new entry, or an update of the same internal
// client's entry (UPnP overwrites its own mapping); another client's
// port is a conflict.
func (s *Server) upnpAdd(k portKey, in netip.AddrPort, lease time.Duration) error {
	s.mu.Lock()
	m := s.maps[k]
	if m != nil && m.Internal.Addr() != in.Addr() {
		s.mu.Unlock()
		return errConflict
	}
	fresh := m == nil || m.Internal != in
	old := m
	m = &Mapping{Proto: k.proto, Ext: k.ext, Internal: in, Via: "upnp"}
	if lease > 0 { // as asked: UPnP has no way to grant less
		m.Expires = time.Now().Add(lease)
	}
	s.maps[k] = m
	s.mu.Unlock()
	if !fresh {
		s.cfg.Logf("upnp: refresh %s %d -> %v for %v", k.proto, k.ext, in, lease)
		return nil
	}
	if old != nil {
		s.unforward(k)
	}
	s.cfg.Logf("upnp: map %s %d -> %v for %v", k.proto, k.ext, in, lease)
	if err := s.forward(k, in); err != nil {
		s.remove(k)
		return err
	}
	return nil
}

func soapOK(w http.ResponseWriter, action, inner string) {
	w.Header().Set("Content-Type", `text/xml; charset="utf-8"`)
	fmt.Fprintf(w, `<?xml version="1.0"?>
<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/" s:encodingStyle="http://schemas.xmlsoap.org/soap/encoding/"><s:Body><u:%sResponse xmlns:u="%s">%s</u:%sResponse></s:Body></s:Envelope>`,
		action, serviceType, inner, action)
}

func soapFault(w http.ResponseWriter, code int, desc string) {
	w.Header().Set("Content-Type", `text/xml; charset="utf-8"`)
	w.WriteHeader(http.StatusInternalServerError)
	fmt.Fprintf(w, `<?xml version="1.0"?>
<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/" s:encodingStyle="http://schemas.xmlsoap.org/soap/encoding/"><s:Body><s:Fault><faultcode>s:Client</faultcode><faultstring>UPnPError</faultstring><detail><UPnPError xmlns="urn:schemas-upnp-org:control-1-0"><errorCode>%d</errorCode><errorDescription>%s</errorDescription></UPnPError></detail></s:Fault></s:Body></s:Envelope>`,
		code, desc)
}

// ServeSSDP answers M-SEARCH requests for an Internet gateway (or
// ssdp:all) received on conn (joined to 239.255.255.250:1900) with
// location, until conn is closed.
func ServeSSDP(conn *net.UDPConn, location string) error {
	buf := make([]byte, 2048)
	for {
		n, from, err := conn.ReadFromUDPAddrPort(buf)
		if err != nil {
			return nil
		}
		req := string(buf[:n])
		if !strings.HasPrefix(req, "M-SEARCH ") {
			continue
		}
		st := ""
		for _, line := range strings.Split(req, "\r\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.EqualFold(strings.TrimSpace(k), "ST") {
				st = strings.TrimSpace(v)
			}
		}
		if st != deviceType && st != "ssdp:all" && st != "upnp:rootdevice" {
			continue
		}
		if st == "ssdp:all" {
			st = deviceType
		}
		resp := "HTTP/1.1 200 OK\r\nCACHE-CONTROL: max-age=120\r\nEXT:\r\nST: " + st + "\r\nUSN: " + uuid + "::" + st +
			"\r\nSERVER: Linux UPnP/1.1 rayfish-test-gateway/1\r\nLOCATION: " + location + "\r\n\r\n"
		// Answer from a unicast socket, as devices do.
		if c, err := net.DialUDP("udp4", nil, net.UDPAddrFromAddrPort(from)); err == nil {
			c.Write([]byte(resp))
			c.Close()
		}
	}
}
