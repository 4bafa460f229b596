package relay

import (
	"bytes"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/rayfish/rayfish/engine/key"
)

// fakeClient returns a server-side client that is not connected to
// anything, for testing routing without sockets.
func fakeClient(s *Server, k key.NodePublic) *sclient {
	return &sclient{
		s:          s,
		key:        k,
		sendq:      make(chan outBatch, s.cfg.QueueSize),
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
	s := NewServer(ServerConfig{QueueSize: 2})
	a := fakeClient(s, key.NewNode().Public())
	b := fakeClient(s, key.NewNode().Public())
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
	// registered as b's sender; a batch that does not fit the queue
	// (QueueSize packets) is dropped.
	a.forward(b.key, []byte("one"), now)
	a.flushPending()
	a.forward(b.key, []byte("two"), now)
	a.forward(b.key, []byte("three"), now)
	a.flushPending()
	if got := len(b.sendq); got != 1 {
		t.Fatalf("b's queue holds %d batches, want 1", got)
	}
	if got := frames(t, <-b.sendq); len(got) != 1 || got[0] != fmt.Sprintf("%v:one", a.key.ShortString()) {
		t.Errorf("queued %q, want one packet \"one\" from a", got)
	}
	if b.senders[a.key] != a {
		t.Error("a not registered as b's sender")
	}
	st := s.Stats()
	if st.DropUnknownDest != 3 || st.DropQueueFull != 2 {
		t.Errorf("stats %+v: want 3 unknown-destination and 2 queue-full drops", st)
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
	c := fakeClient(s, key.NewNode().Public())
	s.clients[c.key] = c
	c.fail("")
	a.forward(c.key, []byte("late"), now)
	a.flushPending()
	if len(c.sendq) != 0 || s.Stats().DropUnknownDest != 4 {
		t.Error("packet queued for a failing client")
	}
}

func TestForwardAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector's sync.Pool drops items at random")
	}
	s := NewServer(ServerConfig{})
	a := fakeClient(s, key.NewNode().Public())
	b := fakeClient(s, key.NewNode().Public())
	s.clients[a.key] = a
	s.clients[b.key] = b
	pkt := make([]byte, 1280)
	now := time.Now()
	allocs := testing.AllocsPerRun(1000, func() {
		for range 5 { // a batch of several, in a batch buffer
			a.forward(b.key, pkt, now)
		}
		a.flushPending()
		bt := <-b.sendq
		b.queued.Add(-int32(bt.n))
		s.putBuf(bt.bp)
	})
	if allocs != 0 {
		t.Errorf("forward: %v allocs per packet, want 0", allocs)
	}
}

// frames decodes a batch into "source:packet" strings.
func frames(t *testing.T, b outBatch) []string {
	t.Helper()
	var out []string
	r := bytes.NewReader(*b.bp)
	buf := make([]byte, DefaultMaxFrame)
	for r.Len() > 0 {
		typ, p, err := ReadFrame(r, buf)
		if err != nil || typ != FrameRecvPacket {
			t.Fatalf("frame %d: %v %v", len(out), typ, err)
		}
		src, pkt, ok := splitKey(p)
		if !ok {
			t.Fatalf("frame %d: short", len(out))
		}
		out = append(out, src.ShortString()+":"+string(pkt))
	}
	if len(out) != b.n {
		t.Errorf("batch says %d packets, holds %d", b.n, len(out))
	}
	return out
}

func TestForwardBatches(t *testing.T) {
	s := NewServer(ServerConfig{QueueSize: 100})
	a := fakeClient(s, key.NewNode().Public())
	b := fakeClient(s, key.NewNode().Public())
	c := fakeClient(s, key.NewNode().Public())
	for _, x := range []*sclient{a, b, c} {
		s.clients[x.key] = x
	}
	now := time.Now()
	big := bytes.Repeat([]byte("x"), 1400)
	var wantB []string
	for i := range 25 { // more than one batch buffer holds
		pkt := append([]byte(fmt.Sprint(i, ":")), big...)
		a.forward(b.key, pkt, now)
		wantB = append(wantB, a.key.ShortString()+":"+string(pkt))
		if i%10 == 0 {
			a.forward(c.key, []byte(fmt.Sprint("c", i)), now)
		}
	}
	a.flushPending()
	var gotB []string
	for len(b.sendq) > 0 {
		bt := <-b.sendq
		if len(*bt.bp) > batchBufSize {
			t.Errorf("batch of %d bytes, over %d", len(*bt.bp), batchBufSize)
		}
		gotB = append(gotB, frames(t, bt)...)
	}
	if !slices.Equal(gotB, wantB) {
		t.Errorf("b got %d packets, want %d in order", len(gotB), len(wantB))
	}
	if bt := <-c.sendq; bt.n != 3 || len(c.sendq) != 0 {
		t.Errorf("c got a batch of %d (and %d more), want one of 3", bt.n, len(c.sendq))
	}
	// A destination that leaves while its batch is gathered: dropped as gone.
	a.forward(c.key, []byte("bye"), now)
	c.fail("")
	a.flushPending()
	if len(c.sendq) != 0 || s.Stats().DropGone != 1 {
		t.Errorf("batch for a departed client: %d queued, %d dropped as gone", len(c.sendq), s.Stats().DropGone)
	}
	if b.queued.Load() != 25 {
		t.Errorf("b's queue counts %d packets, want 25", b.queued.Load())
	}
	if st := s.Stats(); st.DropQueueFull != 0 {
		t.Errorf("%d queue-full drops", st.DropQueueFull)
	}
}

// testClient returns a client whose writer is not running: sends only queue.
func testClient(queue int) *Client {
	c := &Client{info: ServerInfo{MaxFrame: DefaultMaxFrame}, opts: ClientOptions{SendQueue: queue},
		sendq: make(chan outFrame, queue), done: make(chan struct{})}
	c.pool.New = func() any {
		b := make([]byte, 0, pooledBufSize)
		return &b
	}
	c.batchPool.New = func() any {
		b := make([]byte, 0, clientBatchBufSize)
		return &b
	}
	return c
}

func TestClientSendAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector's sync.Pool drops items at random")
	}
	c := testClient(64)
	dst := key.NewNode().Public()
	pkt := make([]byte, 1280)
	train := make([]byte, 40*1280)
	allocs := testing.AllocsPerRun(1000, func() {
		if err := c.Send(dst, pkt); err != nil {
			t.Fatal(err)
		}
		f := <-c.sendq
		c.queued.Add(-int32(f.n))
		c.putBuf(f.payload)
		if err := c.SendSegments(dst, train, 1280); err != nil {
			t.Fatal(err)
		}
		f = <-c.sendq
		c.queued.Add(-int32(f.n))
		c.putBuf(f.payload)
	})
	if allocs != 0 {
		t.Errorf("Send: %v allocs per packet, want 0", allocs)
	}
}

func TestClientQueue(t *testing.T) {
	c := testClient(4)
	dst := key.NewNode().Public()
	if err := c.Send(dst, []byte("a")); err != nil {
		t.Fatal(err)
	}
	// 1 + 3 packets fill the queue; a train that does not fit is dropped whole.
	if err := c.SendSegments(dst, []byte("bbbcccdd"), 3); err != nil {
		t.Fatal(err)
	}
	if err := c.SendSegments(dst, []byte("eeff"), 2); err != ErrSendQueueFull {
		t.Errorf("train to a full queue: err = %v, want ErrSendQueueFull", err)
	}
	if err := c.Send(dst, []byte("g")); err != ErrSendQueueFull {
		t.Errorf("Send to a full queue: err = %v, want ErrSendQueueFull", err)
	}
	if c.queued.Load() != 4 || len(c.sendq) != 2 {
		t.Fatalf("queued %d packets in %d items, want 4 in 2", c.queued.Load(), len(c.sendq))
	}
	var got []string
	buf := make([]byte, DefaultMaxFrame)
	for len(c.sendq) > 0 {
		f := <-c.sendq
		if !f.raw {
			got = append(got, f.typ.String()+":"+string((*f.payload)[keyLen:]))
			continue
		}
		r := bytes.NewReader(*f.payload)
		for r.Len() > 0 {
			typ, p, err := ReadFrame(r, buf)
			if err != nil {
				t.Fatal(err)
			}
			k, pkt, _ := splitKey(p)
			if k != dst {
				t.Errorf("frame for %v, want dst", k.ShortString())
			}
			got = append(got, typ.String()+":"+string(pkt))
		}
	}
	sp := FrameSendPacket.String()
	if want := []string{sp + ":a", sp + ":bbb", sp + ":ccc", sp + ":dd"}; !slices.Equal(got, want) {
		t.Errorf("queued %q, want %q", got, want)
	}
	if err := c.SendSegments(dst, make([]byte, 10), DefaultMaxFrame); err != ErrPacketTooLarge {
		t.Errorf("oversize segment: err = %v, want ErrPacketTooLarge", err)
	}
}
