package ipc

import (
	"fmt"
	"net"

	"golang.org/x/sys/unix"
)

// PeerCred returns the credentials of the process that connected c, a unix
// socket connection, as recorded by the kernel at connect time (SO_PEERCRED).
func PeerCred(c net.Conn) (Cred, error) {
	var (
		uc   *unix.Ucred
		uerr error
	)
	if err := rawControl(c, func(fd int) {
		uc, uerr = unix.GetsockoptUcred(fd, unix.SOL_SOCKET, unix.SO_PEERCRED)
	}); err != nil {
		return Cred{}, err
	}
	if uerr != nil {
		return Cred{}, fmt.Errorf("ipc: SO_PEERCRED: %w", uerr)
	}
	return credFromUID(int(uc.Uid), int(uc.Pid)), nil
}
