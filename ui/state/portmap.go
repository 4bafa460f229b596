package state

import (
	"fmt"
	"strings"
	"time"

	"github.com/rayfish/rayfish/engine/localapi/apitype"
)

// PortMapRows say what the router forwards to this device (PCP, NAT-PMP
// or UPnP): our UDP port, the member relay's TCP port, and whether this
// device relays for its networks' members, from the watch stream. Nil
// while the daemon is not reachable; one "Unknown" row when it does not
// report them.
func (m *Model) PortMapRows() []Row {
	if !m.DaemonReachable() {
		return nil
	}
	return PortMapRows(m.self.PortMapping, m.self.MemberRelay)
}

// PortMapRows are pm and mr (nil: not reported) in plain words.
func PortMapRows(pm *apitype.NetcheckPortMapping, mr *apitype.MemberRelay) []Row {
	if pm == nil && mr == nil {
		return []Row{{Label: "Port mapping", Value: "Unknown: the daemon does not report it (an older daemon?)."}}
	}
	var rows []Row
	if pm != nil {
		r := Row{Label: "Port mapping (UDP)", Value: "none"}
		if pm.Protocol != "" {
			r.Value = fmt.Sprintf("%s by %s%s", pm.External, ProtocolText(pm.Protocol), leaseWords(pm.LeaseS, pm.RenewAt))
			if pm.Gateway != "" {
				r.Value += ", router " + pm.Gateway
			}
			r.Copy = pm.External
		} else if pm.Error != "" {
			r.Value += ": " + pm.Error
		}
		rows = append(rows, r)
		if t := pm.RelayTCP; t != nil {
			r := Row{Label: "Port mapping (relay TCP)", Value: fmt.Sprintf("port %d not mapped", t.Port)}
			if t.Protocol != "" {
				r.Value = fmt.Sprintf("%s → port %d by %s%s", t.External, t.Port, ProtocolText(t.Protocol), leaseWords(t.LeaseS, t.RenewAt))
				r.Copy = t.External
			} else if t.Error != "" {
				r.Value += ": " + t.Error
			}
			rows = append(rows, r)
		}
	}
	if mr != nil {
		r := Row{Label: "Member relay", Value: "not serving: " + mr.Why}
		if mr.Serving {
			r.Value, r.Copy = "serving "+mr.URL, mr.URL
			switch mr.Via {
			case apitype.MemberRelayMapped:
				r.Value += " (through the port mapping)"
			case apitype.MemberRelayConfigured:
				r.Value += " (--serve-relay, or this device's public address)"
			}
		}
		rows = append(rows, r)
	}
	return rows
}

// ProtocolText names a port-mapping protocol as people write it.
func ProtocolText(p string) string {
	switch p {
	case "pcp":
		return "PCP"
	case "nat-pmp":
		return "NAT-PMP"
	case "upnp":
		return "UPnP"
	}
	return strings.ToUpper(p)
}

// leaseWords is ", lease 2h0m0s, renewed at 15:04" (the clock time: the
// row is redrawn only when something changes).
func leaseWords(leaseS int, renew time.Time) string {
	if leaseS <= 0 {
		return ""
	}
	s := fmt.Sprintf(", lease %s", time.Duration(leaseS)*time.Second)
	if !renew.IsZero() {
		s += ", renewed at " + renew.Local().Format("15:04:05")
	}
	return s
}
