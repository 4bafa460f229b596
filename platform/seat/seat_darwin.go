package seat

import (
	"context"
	"fmt"
	"os"
	"os/user"
	"strconv"
	"syscall"
)

// Group is the group whose members may change rayfish on darwin: the
// machine's administrators.
const Group = "admin"

func probe(ctx context.Context) (Machine, error) {
	m := Machine{ConsoleSession: NoSession, GroupGID: -1}
	if g, err := user.LookupGroup(Group); err == nil {
		if id, err := strconv.Atoi(g.Gid); err == nil {
			m.GroupGID = id
		}
	}
	fi, err := os.Stat("/dev/console")
	if err != nil {
		return m, fmt.Errorf("seat: %w", err)
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return m, fmt.Errorf("seat: no owner for /dev/console")
	}
	// root owns the console at the login window: nobody is logged in.
	if st.Uid != 0 {
		m.Present = []int{int(st.Uid)}
	}
	return m, nil
}
