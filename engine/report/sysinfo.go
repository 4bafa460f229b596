package report

import (
	"fmt"
	"net"
	"os"
	"runtime"
	"strings"
)

// SystemInfo describes this machine for system.txt: OS and kernel, Go
// version, CPU count, host name and network interfaces with their
// addresses. Hardware (MAC) addresses are left out.
func SystemInfo() string {
	var b strings.Builder
	fmt.Fprintf(&b, "os: %s/%s\n", runtime.GOOS, runtime.GOARCH)
	for _, l := range osInfo() {
		fmt.Fprintf(&b, "%s\n", l)
	}
	fmt.Fprintf(&b, "go: %s\n", runtime.Version())
	fmt.Fprintf(&b, "cpus: %d\n", runtime.NumCPU())
	if h, err := os.Hostname(); err == nil {
		fmt.Fprintf(&b, "hostname: %s\n", h)
	}
	b.WriteString("\ninterfaces:\n")
	b.WriteString(interfaces())
	return b.String()
}

func interfaces() string {
	ifs, err := net.Interfaces()
	if err != nil {
		return fmt.Sprintf("  error: %v\n", err)
	}
	var b strings.Builder
	for _, ifi := range ifs {
		fmt.Fprintf(&b, "  %d %s mtu %d <%s>\n", ifi.Index, ifi.Name, ifi.MTU, ifi.Flags)
		addrs, err := ifi.Addrs()
		if err != nil {
			fmt.Fprintf(&b, "    error: %v\n", err)
			continue
		}
		for _, a := range addrs {
			fmt.Fprintf(&b, "    %s\n", a)
		}
	}
	return b.String()
}
