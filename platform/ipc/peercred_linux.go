package ipc

import (
	"fmt"
	"net"
	"os/user"
	"strconv"

	"golang.org/x/sys/unix"
)

// PeerCred returns the credentials of the process that connected c, a unix
// socket connection, as recorded by the kernel at connect time (SO_PEERCRED).
// Its groups are that process's group and the user's groups in the group
// database, so a user added to a group counts as a member before logging in
// again.
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
	gids := []int{int(uc.Gid)}
	for _, g := range userGroups(int(uc.Uid)) {
		gids = addGID(gids, g)
	}
	return credFromUID(int(uc.Uid), int(uc.Pid), gids), nil
}

// userGroups returns the ids of the groups the group database lists uid in,
// nil if it has none or they cannot be read.
func userGroups(uid int) []int {
	u, err := user.LookupId(strconv.Itoa(uid))
	if err != nil {
		return nil
	}
	ids, err := u.GroupIds()
	if err != nil {
		return nil
	}
	var gids []int
	for _, s := range ids {
		if g, err := strconv.Atoi(s); err == nil {
			gids = addGID(gids, g)
		}
	}
	return gids
}
