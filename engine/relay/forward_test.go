package relay

import (
	"testing"
	"time"

	"github.com/rayfish/rayfish/engine/key"
)

// fakeClient returns a server-side client that is not connected to
// anything, for testing routing without sockets.
func fakeClient(s *Server, k key.NodePublic, queue int) *sclient {
	return &sclient{
		s:          s,
		key:        k,
		sendq:      make(chan *[]byte, queue),
		ctrlq:      make(chan ctrlFrame, ctrlQueueSize),
		done:       make(chan struct{}),
		writerDone: make(chan struct{}),
		senders:    make(map[key.NodePublic]*sclient),
		limiter:    newTokenBucket(s.cfg.RateBytesPerSec, s.cfg.RateBurst, time.Now()),
		sentTo:     make(map[key.NodePublic]*sclient),
		goneTold:   make(map[key.NodePublic]bool),
	}
}

func TestForward(t *testing.T) {
	s := NewServer(ServerConfig{})
	a := fakeClient(s, key.NewNode().Public(), 1)
	b := fakeClient(s, key.NewNode().Public(), 2)
	s.clients[a.key] = a
	s.clients[b.key] = b
	nobody := key.NewNode().Public()
	now := time.Now()

	// Unknown destination: dropped, one PeerGone however many packets.
	for range 3 {
		a.forward(nobody, []byte("x"), now)
	}
	if got := len(a.ctrlq); got != 1 {
		t.Fatalf("%d control frames queued, want 1 PeerGone", got)
	}
	if f := <-a.ctrlq; f.typ != FramePeerGone || key.NodePublic(f.data) != nobody {
		t.Errorf("queued %v for %x, want PeerGone for nobody", f.typ, f.data[:4])
	}

	// Known destination: queued with the source key in front, and a
	// registered as b's sender; a full queue drops.
	a.forward(b.key, []byte("one"), now)
	a.forward(b.key, []byte("two"), now)
	a.forward(b.key, []byte("three"), now)
	if got := len(b.sendq); got != 2 {
		t.Fatalf("b's queue holds %d, want 2", got)
	}
	bp := <-b.sendq
	if src, pkt, _ := splitKey(*bp); src != a.key || string(pkt) != "one" {
		t.Errorf("queued %q from %v, want \"one\" from a", pkt, src.ShortString())
	}
	if b.senders[a.key] != a {
		t.Error("a not registered as b's sender")
	}
	st := s.Stats()
	if st.DropUnknownDest != 3 || st.DropQueueFull != 1 {
		t.Errorf("stats %+v: want 3 unknown-destination and 1 queue-full drops", st)
	}

	// When b leaves, a hears PeerGone; when a later leaves, b (which
	// never sent to a) hears nothing and a is no longer b's sender.
	s.unregister(b)
	if f := <-a.ctrlq; f.typ != FramePeerGone || key.NodePublic(f.data) != b.key {
		t.Errorf("a got %v, want PeerGone(b)", f.typ)
	}
	s.unregister(a)
	if len(b.ctrlq) != 0 {
		t.Error("b was told about a")
	}

	// Packets to a client that is shutting down count as unknown.
	c := fakeClient(s, key.NewNode().Public(), 4)
	s.clients[c.key] = c
	c.fail("")
	a.forward(c.key, []byte("late"), now)
	if len(c.sendq) != 0 || s.Stats().DropUnknownDest != 4 {
		t.Error("packet queued for a failing client")
	}
}

func TestForwardAllocs(t *testing.T) {
	s := NewServer(ServerConfig{})
	a := fakeClient(s, key.NewNode().Public(), 1)
	b := fakeClient(s, key.NewNode().Public(), 1)
	s.clients[a.key] = a
	s.clients[b.key] = b
	pkt := make([]byte, 1280)
	now := time.Now()
	allocs := testing.AllocsPerRun(1000, func() {
		a.forward(b.key, pkt, now)
		s.putBuf(<-b.sendq)
	})
	if allocs != 0 {
		t.Errorf("forward: %v allocs per packet, want 0", allocs)
	}
}

func TestClientSendAllocs(t *testing.T) {
	// A client whose writer is not running: Send only queues.
	c := &Client{info: ServerInfo{MaxFrame: DefaultMaxFrame}, sendq: make(chan outFrame, 1), done: make(chan struct{})}
	c.pool.New = func() any {
		b := make([]byte, 0, pooledBufSize)
		return &b
	}
	dst := key.NewNode().Public()
	pkt := make([]byte, 1280)
	allocs := testing.AllocsPerRun(1000, func() {
		if err := c.Send(dst, pkt); err != nil {
			t.Fatal(err)
		}
		c.putBuf((<-c.sendq).payload)
	})
	if allocs != 0 {
		t.Errorf("Send: %v allocs per packet, want 0", allocs)
	}
	if err := c.Send(dst, pkt); err != nil {
		t.Fatal(err)
	}
	if err := c.Send(dst, pkt); err != ErrSendQueueFull {
		t.Errorf("Send to a full queue: err = %v, want ErrSendQueueFull", err)
	}
}
