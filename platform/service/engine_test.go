package service_test

import (
	"errors"
	"net"
	"net/netip"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/rayfish/rayfish/engine"
	"github.com/rayfish/rayfish/engine/enginetest"
	"github.com/rayfish/rayfish/platform/service"
)

// fakeNet records what the engine asks of the OS network configuration.
type fakeNet struct {
	mu      sync.Mutex
	applied [][]netip.Prefix
	downs   int
}

func (n *fakeNet) Apply(addrs []netip.Prefix) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.applied = append(n.applied, addrs)
	return nil
}

func (n *fakeNet) Down() error {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.downs++
	return nil
}

func (n *fakeNet) counts() (applied, downs int) {
	n.mu.Lock()
	defer n.mu.Unlock()
	return len(n.applied), n.downs
}

// TestProgramRunsEngine runs a real engine with a fake TUN under a Program,
// as the service manager would, and checks that Stop releases the TUN, the
// UDP port and the network configuration (the daemon's Close contract).
func TestProgramRunsEngine(t *testing.T) {
	dev := enginetest.NewTUN()
	nc := &fakeNet{}
	var eng *engine.Engine
	start := func() (func() error, error) {
		e, err := engine.New(engine.Config{
			StateDir:   t.TempDir(),
			ListenPort: -1,
			ListenAddr: netip.MustParseAddr("127.0.0.1"),
			TUN:        dev,
			Net:        nc,
			Hostname:   "svc-test",
			Endpoints:  func() []netip.AddrPort { return nil },
		})
		if err != nil {
			return nil, err
		}
		if err := e.Start(); err != nil {
			e.Close()
			return nil, err
		}
		eng = e
		// Like the daemon's Close: engine, then the OS network config.
		return func() error {
			err := e.Close()
			return errors.Join(err, nc.Down())
		}, nil
	}
	p := service.NewProgram(start, service.ProgramOptions{})
	if err := p.Start(nil); err != nil {
		t.Fatal(err)
	}
	select {
	case <-p.Started():
	case <-time.After(20 * time.Second):
		t.Fatal("engine did not start")
	}
	if err := p.Err(); err != nil {
		t.Fatal(err)
	}
	port := eng.ListenPort()
	if port <= 0 {
		t.Fatalf("engine listen port %d", port)
	}
	if applied, _ := nc.counts(); applied == 0 {
		t.Error("the engine never configured the TUN's addresses")
	}

	if err := p.Stop(nil); err != nil {
		t.Fatal(err)
	}
	// The TUN is closed: reads fail at once.
	buf := [][]byte{make([]byte, 1500)}
	if _, err := dev.Read(buf, []int{0}, 0); !errors.Is(err, os.ErrClosed) {
		t.Errorf("TUN read after Stop = %v, want os.ErrClosed", err)
	}
	// The network configuration was taken down.
	if _, downs := nc.counts(); downs == 0 {
		t.Error("network configuration not taken down")
	}
	// The UDP port is free again.
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: port})
	if err != nil {
		t.Errorf("UDP port %d still held after Stop: %v", port, err)
	} else {
		c.Close()
	}
}
