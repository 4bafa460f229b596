package ipc

import (
	"fmt"
	"net"

	"golang.org/x/sys/unix"
)

// PeerCred returns the credentials of the process that connected c, a unix
// socket connection (LOCAL_PEERCRED and LOCAL_PEERPID).
func PeerCred(c net.Conn) (Cred, error) {
	var (
		xu         *unix.Xucred
		pid        int
		xerr, perr error
	)
	if err := rawControl(c, func(fd int) {
		xu, xerr = unix.GetsockoptXucred(fd, unix.SOL_LOCAL, unix.LOCAL_PEERCRED)
		pid, perr = unix.GetsockoptInt(fd, unix.SOL_LOCAL, unix.LOCAL_PEERPID)
	}); err != nil {
		return Cred{}, err
	}
	if xerr != nil {
		return Cred{}, fmt.Errorf("ipc: LOCAL_PEERCRED: %w", xerr)
	}
	if perr != nil {
		pid = 0 // not fatal: the uid is what authorizes
	}
	var gids []int
	for i := 0; i < int(xu.Ngroups) && i < len(xu.Groups); i++ {
		gids = addGID(gids, int(xu.Groups[i]))
	}
	return credFromUID(int(xu.Uid), pid, gids), nil
}
