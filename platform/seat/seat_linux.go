package seat

import (
	"context"
	"fmt"
	"os/user"
	"strconv"

	"github.com/godbus/dbus/v5"
)

// Group is the group whose members may change rayfish on Linux; the .deb's
// postinst creates it.
const Group = "rayfish"

func probe(ctx context.Context) (Machine, error) {
	m := Machine{ConsoleSession: NoSession, GroupGID: lookupGID(Group)}
	conn, err := dbus.ConnectSystemBus(dbus.WithContext(ctx))
	if err != nil {
		return m, fmt.Errorf("seat: system bus: %w", err)
	}
	defer conn.Close()
	m.Present, err = activeLocalUsers(ctx, connCaller{conn})
	return m, err
}

// lookupGID returns the id of the group name, -1 if there is none.
func lookupGID(name string) int {
	g, err := user.LookupGroup(name)
	if err != nil {
		return -1
	}
	id, err := strconv.Atoi(g.Gid)
	if err != nil {
		return -1
	}
	return id
}
