package single

import (
	"context"
	"fmt"
	"net"
	"time"

	"golang.org/x/sys/windows"
	"golang.zx2c4.com/wireguard/ipc/namedpipe"
)

// DefaultPath returns the named pipe for this user, named after the user's
// SID (pipes live in one machine-wide namespace). The `\\.\PIPE\` prefix is
// upper case because Wine resolves only that spelling when the pipe is
// created (see platform/ipc).
func DefaultPath() (string, error) {
	tok := windows.GetCurrentProcessToken()
	tu, err := tok.GetTokenUser()
	if err != nil {
		return "", fmt.Errorf("find the user for the instance pipe: %w", err)
	}
	return PipePath(tu.User.Sid.String()), nil
}

// pipeSDDL lets only the owner (the user who started the first instance)
// and SYSTEM open the pipe.
const pipeSDDL = "D:P(A;;GA;;;OW)(A;;GA;;;SY)"

// listen creates the pipe; a pipe left by a dead process is gone with it.
func listen(path string) (net.Listener, error) {
	sd, err := windows.SecurityDescriptorFromString(pipeSDDL)
	if err != nil {
		return nil, fmt.Errorf("instance pipe security descriptor: %w", err)
	}
	ln, err := (&namedpipe.ListenConfig{SecurityDescriptor: sd}).Listen(path)
	if err != nil {
		return nil, fmt.Errorf("listen for other launches: %w", err)
	}
	return ln, nil
}

func dial(path string, timeout time.Duration) (net.Conn, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	return namedpipe.DialContext(ctx, path)
}
