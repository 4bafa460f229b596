// Package enginetest holds fakes for testing the engine in-process: a
// channel-backed TUN device and helpers to build packets.
package enginetest

import (
	"os"
	"sync"

	"golang.zx2c4.com/wireguard/tun"
)

// TUN is a fake tun.Device. Tests send packets "from the kernel" on
// ToEngine and receive what the engine writes on FromEngine.
type TUN struct {
	ToEngine   chan []byte
	FromEngine chan []byte
	events     chan tun.Event
	closed     chan struct{}
	once       sync.Once
}

// NewTUN returns a fake TUN with buffered channels.
func NewTUN() *TUN {
	return &TUN{
		ToEngine:   make(chan []byte, 256),
		FromEngine: make(chan []byte, 1024),
		events:     make(chan tun.Event, 1),
		closed:     make(chan struct{}),
	}
}

// File implements tun.Device.
func (t *TUN) File() *os.File { return nil }

// Read implements tun.Device: one packet per call.
func (t *TUN) Read(bufs [][]byte, sizes []int, offset int) (int, error) {
	select {
	case <-t.closed:
		return 0, os.ErrClosed
	case p := <-t.ToEngine:
		sizes[0] = copy(bufs[0][offset:], p)
		return 1, nil
	}
}

// Write implements tun.Device; packets that find FromEngine full are
// dropped, like a kernel queue.
func (t *TUN) Write(bufs [][]byte, offset int) (int, error) {
	for i, b := range bufs {
		select {
		case <-t.closed:
			return i, os.ErrClosed
		default:
		}
		p := append([]byte(nil), b[offset:]...)
		select {
		case t.FromEngine <- p:
		default:
		}
	}
	return len(bufs), nil
}

// MTU implements tun.Device.
func (t *TUN) MTU() (int, error) { return 1360, nil }

// Name implements tun.Device.
func (t *TUN) Name() (string, error) { return "faketun0", nil }

// Events implements tun.Device.
func (t *TUN) Events() <-chan tun.Event { return t.events }

// BatchSize implements tun.Device.
func (t *TUN) BatchSize() int { return 8 }

// Close implements tun.Device; it is idempotent.
func (t *TUN) Close() error {
	t.once.Do(func() { close(t.closed) })
	return nil
}
