package dns

import (
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"strconv"
	"unsafe"

	"golang.org/x/sys/windows"
	winreg "golang.org/x/sys/windows/registry"
)

func newOS(stateDir string, log *slog.Logger) Manager {
	return &nrptManager{
		reg:       winRegistry{},
		sys:       winSystem{},
		stateDir:  stateDir,
		log:       log,
		upstreams: adapterUpstreams,
		ifaceGUID: adapterGUID,
	}
}

func restoreOS(st *state, log *slog.Logger) error {
	if st.Mode != ModeNRPT {
		return fmt.Errorf("mode %q is not used on Windows", st.Mode)
	}
	return deleteNRPTRule(winRegistry{}, winSystem{}, st, log)
}

// winRegistry is registry on HKEY_LOCAL_MACHINE.
type winRegistry struct{}

func (winRegistry) SubKeyNames(path string) ([]string, error) {
	k, err := winreg.OpenKey(winreg.LOCAL_MACHINE, path, winreg.ENUMERATE_SUB_KEYS)
	if errors.Is(err, winreg.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer k.Close()
	return k.ReadSubKeyNames(-1)
}

func (winRegistry) WriteValues(path string, vals []regValue) error {
	k, _, err := winreg.CreateKey(winreg.LOCAL_MACHINE, path, winreg.SET_VALUE)
	if err != nil {
		return err
	}
	defer k.Close()
	for _, v := range vals {
		switch v.Kind {
		case regString:
			err = k.SetStringValue(v.Name, v.Str)
		case regMultiString:
			err = k.SetStringsValue(v.Name, v.Strs)
		case regDWord:
			err = k.SetDWordValue(v.Name, v.DWord)
		default:
			err = fmt.Errorf("unknown value kind %d", v.Kind)
		}
		if err != nil {
			return fmt.Errorf("%s: %w", v.Name, err)
		}
	}
	return nil
}

func (winRegistry) DeleteKey(path string) (bool, error) {
	err := winreg.DeleteKey(winreg.LOCAL_MACHINE, path)
	if errors.Is(err, winreg.ErrNotExist) {
		return false, nil
	}
	return err == nil, err
}

func (winRegistry) DeleteValue(path, name string) error {
	k, err := winreg.OpenKey(winreg.LOCAL_MACHINE, path, winreg.SET_VALUE)
	if errors.Is(err, winreg.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	defer k.Close()
	if err := k.DeleteValue(name); err != nil && !errors.Is(err, winreg.ErrNotExist) {
		return err
	}
	return nil
}

var (
	userenv                   = windows.NewLazySystemDLL("userenv.dll")
	procRefreshPolicyEx       = userenv.NewProc("RefreshPolicyEx")
	dnsapi                    = windows.NewLazySystemDLL("dnsapi.dll")
	procDnsFlushResolverCache = dnsapi.NewProc("DnsFlushResolverCache")
)

// winSystem calls userenv and dnsapi.
type winSystem struct{}

func (winSystem) RefreshPolicy() error {
	const rpForce = 1
	if err := procRefreshPolicyEx.Find(); err != nil {
		return err
	}
	r, _, err := procRefreshPolicyEx.Call(1 /* machine */, rpForce)
	if r == 0 {
		return fmt.Errorf("RefreshPolicyEx: %w", err)
	}
	return nil
}

func (winSystem) FlushCache() error {
	if err := procDnsFlushResolverCache.Find(); err != nil {
		return err
	}
	r, _, err := procDnsFlushResolverCache.Call()
	if r == 0 {
		return fmt.Errorf("DnsFlushResolverCache: %w", err)
	}
	return nil
}

// siteLocalDefaults are the placeholder servers Windows lists on adapters
// with no IPv6 DNS configured.
var siteLocalDefaults = []netip.Addr{
	netip.MustParseAddr("fec0:0:0:ffff::1"),
	netip.MustParseAddr("fec0:0:0:ffff::2"),
	netip.MustParseAddr("fec0:0:0:ffff::3"),
}

// adapterList returns GetAdaptersAddresses' list (flags as it wants).
func adapterList(flags uint32) (*windows.IpAdapterAddresses, error) {
	size := uint32(16 << 10)
	for range 4 {
		buf := make([]byte, size)
		err := windows.GetAdaptersAddresses(windows.AF_UNSPEC, flags,
			0, (*windows.IpAdapterAddresses)(unsafe.Pointer(&buf[0])), &size)
		if err == nil {
			return (*windows.IpAdapterAddresses)(unsafe.Pointer(&buf[0])), nil
		}
		if !errors.Is(err, windows.ERROR_BUFFER_OVERFLOW) {
			return nil, fmt.Errorf("dns: GetAdaptersAddresses: %w", err)
		}
	}
	return nil, errors.New("dns: GetAdaptersAddresses: buffer keeps growing")
}

// adapterGUID returns the GUID of the adapter named name (its friendly
// name, as the TUN device reports it).
func adapterGUID(name string) (string, error) {
	list, err := adapterList(windows.GAA_FLAG_SKIP_UNICAST | windows.GAA_FLAG_SKIP_ANYCAST |
		windows.GAA_FLAG_SKIP_MULTICAST | windows.GAA_FLAG_SKIP_DNS_SERVER)
	if err != nil {
		return "", err
	}
	for a := list; a != nil; a = a.Next {
		if windows.UTF16PtrToString(a.FriendlyName) == name {
			return windows.BytePtrToString(a.AdapterName), nil
		}
	}
	return "", fmt.Errorf("dns: no adapter named %q", name)
}

// adapterUpstreams returns the DNS servers of every adapter that is up.
// rayfish's own adapter holds only magic DNS, which skip removes.
func adapterUpstreams(skip []netip.Addr) ([]netip.AddrPort, error) {
	list, err := adapterList(windows.GAA_FLAG_SKIP_UNICAST | windows.GAA_FLAG_SKIP_ANYCAST | windows.GAA_FLAG_SKIP_MULTICAST)
	if err != nil {
		return nil, err
	}
	var addrs []netip.Addr
	for a := list; a != nil; a = a.Next {
		if a.OperStatus != windows.IfOperStatusUp {
			continue
		}
		for s := a.FirstDnsServerAddress; s != nil; s = s.Next {
			ip, ok := netip.AddrFromSlice(s.Address.IP())
			if !ok {
				continue
			}
			ip = ip.Unmap()
			if ip.Is6() && ip.IsLinkLocalUnicast() {
				ip = ip.WithZone(strconv.Itoa(int(a.Ipv6IfIndex)))
			}
			if !containsAddr(siteLocalDefaults, ip) {
				addrs = append(addrs, ip)
			}
		}
	}
	return toUpstreams(addrs, skip), nil
}

func containsAddr(list []netip.Addr, a netip.Addr) bool {
	for _, b := range list {
		if a.WithZone("") == b {
			return true
		}
	}
	return false
}
