package main

import (
	"errors"
	"unsafe"

	"golang.org/x/sys/windows"
	"golang.org/x/sys/windows/registry"
)

const envKey = `SYSTEM\CurrentControlSet\Control\Session Manager\Environment`

// editSystemPath adds dir to, or removes it from, the machine PATH in the
// registry and tells running programs (Explorer) that the environment
// changed.
func editSystemPath(add bool, dir string) (bool, error) {
	k, err := registry.OpenKey(registry.LOCAL_MACHINE, envKey, registry.QUERY_VALUE|registry.SET_VALUE)
	if err != nil {
		return false, err
	}
	defer k.Close()
	old, _, err := k.GetStringValue("Path")
	if err != nil && !errors.Is(err, registry.ErrNotExist) {
		return false, err
	}
	var val string
	var changed bool
	if add {
		val, changed = pathWith(old, dir)
	} else {
		val, changed = pathWithout(old, dir)
	}
	if !changed {
		return false, nil
	}
	if err := k.SetExpandStringValue("Path", val); err != nil {
		return false, err
	}
	broadcastEnvironmentChange()
	return true, nil
}

var (
	user32                  = windows.NewLazySystemDLL("user32.dll")
	procSendMessageTimeoutW = user32.NewProc("SendMessageTimeoutW")
)

// broadcastEnvironmentChange sends WM_SETTINGCHANGE "Environment" to all
// top-level windows, waiting at most a second for each.
func broadcastEnvironmentChange() {
	const (
		hwndBroadcast   = 0xffff
		wmSettingChange = 0x001a
		smtoAbortIfHung = 0x0002
	)
	env, err := windows.UTF16PtrFromString("Environment")
	if err != nil {
		return
	}
	var result uintptr
	procSendMessageTimeoutW.Call(hwndBroadcast, wmSettingChange, 0, uintptr(unsafe.Pointer(env)),
		smtoAbortIfHung, 1000, uintptr(unsafe.Pointer(&result)))
}
