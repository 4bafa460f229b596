// Package single keeps one tray app per user: the first process listens
// on a unix socket; a second launch connects, says "show", and exits, and
// the first brings its window forward.
package single

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// ErrRunning is returned by Listen when another instance answered; it has
// been asked to show its window and this process should exit.
var ErrRunning = errors.New("rayfish is already running")

const msgShow = "show"

// Instance is the primary instance's listener.
type Instance struct {
	ln     net.Listener
	path   string
	onShow func()

	closeOnce sync.Once
	wg        sync.WaitGroup
}

// DefaultPath returns the socket path for this user: in $XDG_RUNTIME_DIR
// when set, else in the user cache directory.
func DefaultPath() (string, error) {
	if d := os.Getenv("XDG_RUNTIME_DIR"); d != "" {
		return filepath.Join(d, "rayfish-app.sock"), nil
	}
	d, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("find a place for the instance socket: %w", err)
	}
	return filepath.Join(d, "rayfish", "app.sock"), nil
}

// Listen makes this process the primary instance, calling onShow (on the
// listener's goroutine) whenever a later launch asks for the window. If
// another instance answers on path, Listen asks it to show and returns
// ErrRunning.
func Listen(path string, onShow func()) (*Instance, error) {
	if err := notify(path); err == nil {
		return nil, ErrRunning
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("create instance socket dir: %w", err)
	}
	// Nobody answered: whatever is at path is a stale socket.
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("remove stale instance socket: %w", err)
	}
	ln, err := net.Listen("unix", path)
	if err != nil {
		return nil, fmt.Errorf("listen for other launches: %w", err)
	}
	in := &Instance{ln: ln, path: path, onShow: onShow}
	in.wg.Add(1)
	go in.acceptLoop()
	return in, nil
}

// notify asks the instance listening on path to show its window.
func notify(path string) error {
	c, err := net.DialTimeout("unix", path, time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(2 * time.Second))
	if _, err := c.Write([]byte(msgShow + "\n")); err != nil {
		return fmt.Errorf("ask running instance to show: %w", err)
	}
	// Wait for the acknowledgement so the message is not lost when this
	// process exits right away.
	if _, err := bufio.NewReader(c).ReadString('\n'); err != nil {
		return fmt.Errorf("running instance did not answer: %w", err)
	}
	return nil
}

func (in *Instance) acceptLoop() {
	defer in.wg.Done()
	for {
		c, err := in.ln.Accept()
		if err != nil {
			return // closed
		}
		in.serve(c)
	}
}

func (in *Instance) serve(c net.Conn) {
	defer c.Close()
	c.SetDeadline(time.Now().Add(2 * time.Second))
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return
	}
	if strings.TrimSpace(line) == msgShow {
		c.Write([]byte("ok\n"))
		if in.onShow != nil {
			in.onShow()
		}
	}
}

// Path returns the socket path.
func (in *Instance) Path() string { return in.path }

// Close stops listening and removes the socket. It is idempotent.
func (in *Instance) Close() error {
	var err error
	in.closeOnce.Do(func() {
		err = in.ln.Close()
		in.wg.Wait()
	})
	return err
}
