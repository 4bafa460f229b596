// Package ipc is the transport of rayfish's local API: a listener that only
// local processes can reach, and the credentials of the process at the other
// end of each connection.
//
// On Linux and darwin the listener is a unix socket (mode 0666: reads are open
// to local users, changes are authorized per request from the caller's
// credentials, taken with SO_PEERCRED / LOCAL_PEERCRED). On Windows it is a
// named pipe whose security descriptor (PipeSDDL) admits SYSTEM,
// Administrators and interactive users; the caller is identified from the
// pipe client's process token.
//
// With net/http, set http.Server.ConnContext to ConnContext and read the
// caller in handlers with CredFrom.
package ipc

import (
	"context"
	"errors"
	"fmt"
	"net"
)

// Cred identifies the process at the other end of a local API connection.
type Cred struct {
	// UID is the numeric user id on Linux and darwin, and -1 on Windows.
	UID int
	// GIDs are the groups the user is in on Linux and darwin: the
	// connecting process's group, then (Linux) the user's groups in the
	// group database, the way polkit's unix-group rules see them, or
	// (darwin) the process's groups as the kernel reports them. Nil on
	// Windows.
	GIDs []int
	// PID is the peer's process id (0 if unknown).
	PID int
	// Username is the account name, "" if it could not be looked up. On
	// Windows it is DOMAIN\user.
	Username string
	// SID is the user's security identifier on Windows, "" elsewhere.
	SID string
	// Session is the Windows session the client process's token belongs
	// to (0 is the services session; so it is 0 elsewhere too).
	Session uint32
	// IsAdmin reports root (uid 0) on Linux and darwin, and on Windows
	// LocalSystem or a token with the Administrators group enabled (an
	// elevated process).
	IsAdmin bool
}

func (c Cred) String() string {
	name := c.Username
	if name == "" {
		name = "?"
	}
	if c.SID != "" {
		return fmt.Sprintf("%s (sid %s, pid %d, admin %t)", name, c.SID, c.PID, c.IsAdmin)
	}
	return fmt.Sprintf("%s (uid %d, pid %d, admin %t)", name, c.UID, c.PID, c.IsAdmin)
}

type credKey struct{}

type credResult struct {
	cred Cred
	err  error
}

// errNoCred is returned by CredErr for a context that ConnContext did not
// make.
var errNoCred = errors.New("ipc: no peer credentials in context")

// ConnContext returns ctx carrying the credentials of c's peer, or the error
// that kept them from being read. Its signature fits http.Server.ConnContext.
func ConnContext(ctx context.Context, c net.Conn) context.Context {
	cred, err := PeerCred(c)
	return context.WithValue(ctx, credKey{}, credResult{cred: cred, err: err})
}

// NewContext returns ctx carrying cred, as ConnContext would for a peer with
// those credentials. It is meant for tests of handlers.
func NewContext(ctx context.Context, cred Cred) context.Context {
	return context.WithValue(ctx, credKey{}, credResult{cred: cred})
}

// CredFrom returns the peer credentials stored by ConnContext or NewContext.
// ok is false if there are none or they could not be read; callers must then
// treat the peer as unprivileged.
func CredFrom(ctx context.Context) (cred Cred, ok bool) {
	r, ok := ctx.Value(credKey{}).(credResult)
	if !ok || r.err != nil {
		return Cred{}, false
	}
	return r.cred, true
}

// CredErr returns why CredFrom has no credentials, or nil if it has.
func CredErr(ctx context.Context) error {
	r, ok := ctx.Value(credKey{}).(credResult)
	if !ok {
		return errNoCred
	}
	return r.err
}

// addGID appends gid to gids unless it is there already.
func addGID(gids []int, gid int) []int {
	for _, g := range gids {
		if g == gid {
			return gids
		}
	}
	return append(gids, gid)
}
