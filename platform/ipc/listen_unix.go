//go:build linux || darwin

package ipc

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"syscall"
	"time"
)

// Listen listens on the unix socket path. It creates the parent directory
// (0755) if needed and makes the socket 0666. A socket file left by a dead
// daemon is removed; if a live one answers on path, Listen fails with
// "another rayfish daemon is listening on PATH". Any other kind of file at
// path is left alone and is an error. Closing the listener removes the socket
// file.
func Listen(path string) (net.Listener, error) {
	dir := filepath.Dir(path)
	if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, fmt.Errorf("ipc: create %s: %w", dir, err)
		}
		// Undo a restrictive umask: unprivileged clients must reach the socket.
		if err := os.Chmod(dir, 0o755); err != nil {
			return nil, fmt.Errorf("ipc: chmod %s: %w", dir, err)
		}
	}
	if err := removeStale(path); err != nil {
		return nil, err
	}
	ln, err := net.Listen("unix", path)
	if err != nil {
		return nil, fmt.Errorf("ipc: listen on %s: %w", path, err)
	}
	if err := os.Chmod(path, 0o666); err != nil {
		ln.Close()
		return nil, fmt.Errorf("ipc: chmod %s: %w", path, err)
	}
	return ln, nil
}

// removeStale removes the socket file at path if no process accepts
// connections on it.
func removeStale(path string) error {
	fi, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("ipc: %w", err)
	}
	if fi.Mode().Type() != fs.ModeSocket {
		return fmt.Errorf("ipc: %s exists and is not a socket", path)
	}
	c, err := net.DialTimeout("unix", path, 2*time.Second)
	if err == nil {
		c.Close()
		return fmt.Errorf(daemonRunningMsg, path)
	}
	if !errors.Is(err, syscall.ECONNREFUSED) {
		// A timeout or EAGAIN means a live but busy listener.
		return fmt.Errorf(daemonRunningMsg+": %w", path, err)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("ipc: remove stale socket: %w", err)
	}
	return nil
}

// credFromUID fills in the fields that derive from a unix uid; gids are
// the groups the kernel reported for the connecting process.
func credFromUID(uid, pid int, gids []int) Cred {
	return Cred{
		UID:      uid,
		GIDs:     gids,
		PID:      pid,
		Username: lookupUsername(uid),
		IsAdmin:  uid == 0,
	}
}

// rawControl runs f on the file descriptor of c's socket.
func rawControl(c any, f func(fd int)) error {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return fmt.Errorf("ipc: %T is not a socket", c)
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return fmt.Errorf("ipc: %w", err)
	}
	if err := raw.Control(func(fd uintptr) { f(int(fd)) }); err != nil {
		return fmt.Errorf("ipc: %w", err)
	}
	return nil
}
