package ipc

import (
	"os/user"
	"strconv"
)

// lookupUsername returns the name of uid, or "" if it has none.
func lookupUsername(uid int) string {
	u, err := user.LookupId(strconv.Itoa(uid))
	if err != nil {
		return ""
	}
	return u.Username
}
