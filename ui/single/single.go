// Package single keeps one tray app per user: the first process listens
// on a unix socket (a named pipe on Windows, where AF_UNIX is missing from
// older builds and from Wine); a second launch connects, says "show", and
// exits, and the first brings its window forward.
package single

import (
	"bufio"
	"errors"
	"fmt"
	"net"
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

// Listen makes this process the primary instance, calling onShow (on the
// listener's goroutine) whenever a later launch asks for the window. If
// another instance answers on path, Listen asks it to show and returns
// ErrRunning.
func Listen(path string, onShow func()) (*Instance, error) {
	if err := notify(path); err == nil {
		return nil, ErrRunning
	}
	// Nobody answered: whatever is at path is stale.
	ln, err := listen(path)
	if err != nil {
		return nil, err
	}
	in := &Instance{ln: ln, path: path, onShow: onShow}
	in.wg.Add(1)
	go in.acceptLoop()
	return in, nil
}

// notify asks the instance listening on path to show its window.
func notify(path string) error {
	c, err := dial(path, time.Second)
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

// Close stops listening and removes the socket. It is idempotent.
func (in *Instance) Close() error {
	var err error
	in.closeOnce.Do(func() {
		err = in.ln.Close()
		in.wg.Wait()
	})
	return err
}
