package engine

import (
	"crypto/tls"
	"crypto/x509"
	"net/netip"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/rayfish/rayfish/engine/key"
)

// SetTUNAddrsForTest records desired TUN addresses as recomputeLocked
// does, for the reconfig routine to apply.
func (e *Engine) SetTUNAddrsForTest(addrs []netip.Prefix) {
	e.mu.Lock()
	e.setAddrsLocked(addrs)
	e.mu.Unlock()
}

// HoldLockForTest takes e.mu and returns its release.
func (e *Engine) HoldLockForTest() func() {
	e.mu.Lock()
	return e.mu.Unlock
}

// VerifyMeshPeerForTest runs the TLS check of an incoming mesh
// connection presenting peer's certificate.
func (e *Engine) VerifyMeshPeerForTest(t testing.TB, peer key.NodePrivate) error {
	t.Helper()
	cert, err := peer.Certificate()
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(cert.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	return e.verifyIncoming(tls.ConnectionState{NegotiatedProtocol: alpnMesh, PeerCertificates: []*x509.Certificate{leaf}})
}

// NodeKeyForTest returns the node's private key.
func (e *Engine) NodeKeyForTest() key.NodePrivate { return e.nodeKey }

// TestControlQueueDropsOldest: a peer's control queue is bounded; when it
// is full the oldest message goes and is counted, and the writer stops
// with the peer.
func TestControlQueueDropsOldest(t *testing.T) {
	e := &Engine{}
	p := &peer{e: e, ctrlq: make(chan ctrlItem, ctrlQueueLen), done: make(chan struct{})}
	pc := &peerConn{owner: p, ready: make(chan struct{})}
	const extra = 5
	for i := range ctrlQueueLen + extra {
		e.sendCtrl(pc, &ctrlMsg{Type: msgEndpoints, Bulk: i})
	}
	if got := p.ctrlDrops.Load(); got != extra {
		t.Errorf("peer counted %d drops, want %d", got, extra)
	}
	if got := e.ctrlDrops.Load(); got != extra {
		t.Errorf("engine counted %d drops, want %d", got, extra)
	}
	if len(p.ctrlq) != ctrlQueueLen {
		t.Fatalf("queue holds %d, want %d", len(p.ctrlq), ctrlQueueLen)
	}
	if first := <-p.ctrlq; first.m.Bulk != extra {
		t.Errorf("oldest kept message is #%d, want #%d (drop-oldest)", first.m.Bulk, extra)
	}
	// A connection-less peer (tests) is ignored, not blocked on.
	e.sendCtrl(&peerConn{}, &ctrlMsg{})
}

// TestControlWriterStopsWithPeer: the writer returns once the peer stops.
func TestControlWriterStopsWithPeer(t *testing.T) {
	e := &Engine{}
	e.ctx = t.Context()
	p := &peer{e: e, ctrlq: make(chan ctrlItem, ctrlQueueLen), done: make(chan struct{})}
	exited := make(chan struct{})
	go func() {
		p.routineCtrl()
		close(exited)
	}()
	ready := make(chan struct{})
	close(ready)
	e.sendCtrl(&peerConn{owner: p, ready: ready}, &ctrlMsg{}) // no stream: skipped
	p.stop()
	select {
	case <-exited:
	case <-time.After(5 * time.Second):
		t.Fatal("control writer still running after the peer stopped")
	}
}

// TestFileWriterOrder: snapshots are written after the lock, in order:
// however flushes interleave, the file ends with the last staged
// snapshot and a stale flush never overwrites a newer one.
func TestFileWriterOrder(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.json")
	w := &fileWriter{path: path}
	var mu sync.Mutex // stands for e.mu
	var wg sync.WaitGroup
	last := ""
	for i := range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			mu.Lock()
			data := []byte{byte('A' + i%26), byte('a' + i/26)}
			w.stage(data)
			last = string(data)
			mu.Unlock()
			if err := w.flush(); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != last {
		t.Errorf("file holds %q, last staged %q", got, last)
	}
	// Nothing new staged: a flush writes nothing.
	os.Remove(path)
	if err := w.flush(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Errorf("flush without a new snapshot wrote the file (%v)", err)
	}
}
