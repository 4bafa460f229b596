package ipc

import (
	"errors"
	"fmt"
	"net"
	"unsafe"

	"golang.org/x/sys/windows"
	"golang.zx2c4.com/wireguard/ipc/namedpipe"
)

// Listen listens on the named pipe path (e.g. \\.\pipe\rayfish) with the
// security descriptor PipeSDDL. If the pipe already exists (a live daemon
// holds it), Listen fails with "another rayfish daemon is listening on PATH".
func Listen(path string) (net.Listener, error) {
	sd, err := windows.SecurityDescriptorFromString(PipeSDDL)
	if err != nil {
		return nil, fmt.Errorf("ipc: security descriptor: %w", err)
	}
	ln, err := (&namedpipe.ListenConfig{SecurityDescriptor: sd}).Listen(canonicalPipe(path))
	if errors.Is(err, windows.ERROR_ACCESS_DENIED) || errors.Is(err, windows.ERROR_PIPE_BUSY) {
		return nil, fmt.Errorf(daemonRunningMsg+": %w", path, err)
	}
	if err != nil {
		return nil, fmt.Errorf("ipc: listen on %s: %w", path, err)
	}
	return ln, nil
}

// PeerCred returns the identity of the client process of c, a named pipe
// connection made by Listen, read from that process's token.
func PeerCred(c net.Conn) (Cred, error) {
	fc, ok := c.(interface{ Fd() uintptr })
	if !ok {
		return Cred{}, fmt.Errorf("ipc: %T is not a named pipe", c)
	}
	var pid uint32
	if err := windows.GetNamedPipeClientProcessId(windows.Handle(fc.Fd()), &pid); err != nil {
		return Cred{}, fmt.Errorf("ipc: pipe client process: %w", err)
	}
	proc, err := windows.OpenProcess(windows.PROCESS_QUERY_LIMITED_INFORMATION, false, pid)
	if err != nil {
		return Cred{}, fmt.Errorf("ipc: open client process %d: %w", pid, err)
	}
	defer windows.CloseHandle(proc)
	var tok windows.Token
	if err := windows.OpenProcessToken(proc, windows.TOKEN_QUERY, &tok); err != nil {
		return Cred{}, fmt.Errorf("ipc: token of process %d: %w", pid, err)
	}
	defer tok.Close()
	tu, err := tok.GetTokenUser()
	if err != nil {
		return Cred{}, fmt.Errorf("ipc: token user of process %d: %w", pid, err)
	}
	sid := tu.User.Sid
	cred := Cred{UID: -1, PID: int(pid), SID: sid.String()}
	if acct, dom, _, err := sid.LookupAccount(""); err == nil {
		cred.Username = dom + `\` + acct
	}
	var sess uint32
	var n uint32
	if err := windows.GetTokenInformation(tok, windows.TokenSessionId, (*byte)(unsafe.Pointer(&sess)), uint32(unsafe.Sizeof(sess)), &n); err == nil {
		cred.Session = sess
	}
	cred.IsAdmin = sid.IsWellKnown(windows.WinLocalSystemSid) || tok.IsElevated() || adminsEnabled(tok)
	return cred, nil
}

// adminsEnabled reports whether tok has the Administrators group enabled
// (not merely deny-only, as in a filtered UAC token).
func adminsEnabled(tok windows.Token) bool {
	groups, err := tok.GetTokenGroups()
	if err != nil {
		return false
	}
	for _, g := range groups.AllGroups() {
		if g.Sid.IsWellKnown(windows.WinBuiltinAdministratorsSid) &&
			g.Attributes&windows.SE_GROUP_ENABLED != 0 &&
			g.Attributes&windows.SE_GROUP_USE_FOR_DENY_ONLY == 0 {
			return true
		}
	}
	return false
}
