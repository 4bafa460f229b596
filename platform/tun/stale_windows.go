package tun

import (
	"errors"
	"fmt"
	"unsafe"

	"golang.org/x/sys/windows"
	wgtun "golang.zx2c4.com/wireguard/tun"
)

func init() {
	// Mark rayfish's adapters so that RemoveStale never touches another
	// program's Wintun adapter (WireGuard's own are "WireGuard Tunnel").
	wgtun.WintunTunnelType = TunnelType
}

// RemoveStale removes the Wintun adapters of rayfish's tunnel type named
// name (or Wintun's renamed "name N") left by a crashed daemon, and returns
// a description of each one removed. Call it before Create and only when no
// other daemon runs: it also removes an adapter that a live daemon uses.
// See stale.go for why.
func RemoveStale(name string) ([]string, error) {
	return removeStale(setupAPIOps{}, name)
}

// guidDevClassNet is GUID_DEVCLASS_NET, the network adapter device class.
var guidDevClassNet = windows.GUID{Data1: 0x4d36e972, Data2: 0xe325, Data3: 0x11ce,
	Data4: [8]byte{0xbf, 0xc1, 0x08, 0x00, 0x2b, 0xe1, 0x03, 0x18}}

// devpkeyWintunName is Wintun's DEVPKEY_Wintun_Name, the adapter name it
// stores on the device (api/adapter.c).
var devpkeyWintunName = windows.DEVPROPKEY{
	FmtID: windows.DEVPROPGUID{Data1: 0x3361c968, Data2: 0x2f2e, Data3: 0x4660,
		Data4: [8]byte{0xb4, 0x7e, 0x69, 0x9c, 0xdc, 0x4c, 0x32, 0xb9}},
	PID: windows.DEVPROPID_FIRST_USABLE + 1,
}

// wintunEnumerator is the enumerator of Wintun's software devices
// (Windows 8 and later).
const wintunEnumerator = `SWD\Wintun`

type setupAPIOps struct{}

// devices opens the list of all Wintun devices, present or not.
func devices() (windows.DevInfo, error) {
	// Flags 0: not only DIGCF_PRESENT, so orphans are listed too.
	return windows.SetupDiGetClassDevsEx(&guidDevClassNet, wintunEnumerator, 0, 0, 0, "")
}

func (setupAPIOps) List() ([]adapter, error) {
	devs, err := devices()
	if err != nil {
		return nil, err
	}
	defer devs.Close()
	var list []adapter
	for i := 0; ; i++ {
		d, err := devs.EnumDeviceInfo(i)
		if errors.Is(err, windows.ERROR_NO_MORE_ITEMS) {
			break
		}
		if err != nil {
			continue
		}
		var a adapter
		if a.InstanceID, err = devs.DeviceInstanceID(d); err != nil {
			continue
		}
		if v, err := windows.SetupDiGetDeviceProperty(devs, d, &devpkeyWintunName); err == nil {
			a.Name, _ = v.(string)
		}
		if v, err := devs.DeviceRegistryProperty(d, windows.SPDRP_DEVICEDESC); err == nil {
			a.Description, _ = v.(string)
		}
		var status, problem uint32
		a.Present = windows.CM_Get_DevNode_Status(&status, &problem, d.DevInst, 0) == nil
		list = append(list, a)
	}
	return list, nil
}

func (setupAPIOps) Remove(instanceID string) error {
	devs, err := devices()
	if err != nil {
		return err
	}
	defer devs.Close()
	for i := 0; ; i++ {
		d, err := devs.EnumDeviceInfo(i)
		if errors.Is(err, windows.ERROR_NO_MORE_ITEMS) {
			return fmt.Errorf("device %s not found", instanceID)
		}
		if err != nil {
			continue
		}
		if id, err := devs.DeviceInstanceID(d); err != nil || id != instanceID {
			continue
		}
		params := windows.RemoveDeviceParams{
			ClassInstallHeader: *windows.MakeClassInstallHeader(windows.DIF_REMOVE),
			Scope:              windows.DI_REMOVEDEVICE_GLOBAL,
		}
		if err := devs.SetClassInstallParams(d, &params.ClassInstallHeader, uint32(unsafe.Sizeof(params))); err != nil {
			return fmt.Errorf("set remove parameters: %w", err)
		}
		if err := devs.CallClassInstaller(windows.DIF_REMOVE, d); err != nil {
			return fmt.Errorf("remove device: %w", err)
		}
		return nil
	}
}
