package relay

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rayfish/rayfish/engine/key"
	"github.com/rayfish/rayfish/engine/magicconn/natlab"
)

// relayLab is the in-memory network (natlab) a test relay runs on: the
// relay's host and one client host, so that tests need no sockets and
// run inside testing/synctest bubbles, on virtual time.
type relayLab struct {
	srv, client *natlab.Host
}

// labs maps the URL of a test relay to its relayLab.
var labs sync.Map

// lastLab numbers labs, so that every relay URL is unique.
var lastLab atomic.Uint32

// newLab returns a new in-memory network and the URL of port 80 of its
// relay host; nothing listens there yet.
func newLab(t *testing.T) (*relayLab, string) {
	t.Helper()
	n := natlab.NewNetwork()
	i := lastLab.Add(1)
	ip := netip.AddrFrom4([4]byte{198, 18, byte(i >> 8), byte(i)})
	l := &relayLab{
		srv:    n.NewHost("relay", ip),
		client: n.NewHost("client", netip.MustParseAddr("198.19.0.1")),
	}
	url := "http://" + netip.AddrPortFrom(ip, 80).String()
	labs.Store(url, l)
	t.Cleanup(func() { labs.Delete(url) })
	return l, url
}

// listen opens port 80 on the lab's relay host.
func (l *relayLab) listen(t *testing.T) net.Listener {
	t.Helper()
	ln, err := l.srv.ListenStream(80)
	if err != nil {
		t.Fatal(err)
	}
	return ln
}

// dialer returns the function that dials url's relay from its lab's
// client host, or nil (a real dial) for a relay on real sockets.
func dialer(url string) func(ctx context.Context, network, addr string) (net.Conn, error) {
	for u, l := range labs.Range {
		if strings.HasPrefix(url, u.(string)) {
			return l.(*relayLab).client.DialContext
		}
	}
	return nil
}

// linkDelay is what every write of a slow client waits, so that round
// trips measured on virtual time are not zero.
const linkDelay = time.Millisecond

// slowOpts returns o dialing through url's lab with connections whose
// writes take linkDelay.
func slowOpts(url string, o ClientOptions) ClientOptions {
	dial := dialer(url)
	o.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := dial(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return slowConn{c}, nil
	}
	return o
}

// slowConn is a net.Conn whose writes take linkDelay.
type slowConn struct{ net.Conn }

func (c slowConn) Write(b []byte) (int, error) {
	time.Sleep(linkDelay)
	return c.Conn.Write(b)
}

// clientOpts returns o dialing through url's lab.
func clientOpts(url string, o ClientOptions) ClientOptions {
	if o.DialContext == nil {
		o.DialContext = dialer(url)
	}
	return o
}

// testServer runs a relay in a new lab until the test ends and returns it
// with its URL.
func testServer(t *testing.T, cfg ServerConfig) (*Server, string) {
	t.Helper()
	l, url := newLab(t)
	return serveOn(t, l.listen(t), cfg), url
}

// serveOn serves a new relay on ln; the test's cleanup closes it and checks
// that Serve returned ErrServerClosed.
func serveOn(t *testing.T, ln net.Listener, cfg ServerConfig) *Server {
	t.Helper()
	s := NewServer(cfg)
	done := make(chan error, 1)
	go func() { done <- s.Serve(ln) }()
	t.Cleanup(func() {
		s.Close()
		if err := <-done; !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("Serve returned %v, want ErrServerClosed", err)
		}
	})
	return s
}

type packet struct {
	src key.NodePublic
	pkt string
}

// inbox collects what a client receives.
type inbox struct {
	packets chan packet
	gone    chan key.NodePublic
}

func newInbox() *inbox {
	return &inbox{packets: make(chan packet, 1024), gone: make(chan key.NodePublic, 64)}
}

func (in *inbox) options() ClientOptions {
	return ClientOptions{
		OnPacket:   func(src key.NodePublic, pkt []byte) { in.packets <- packet{src, string(pkt)} },
		OnPeerGone: func(k key.NodePublic) { in.gone <- k },
	}
}

func (in *inbox) expectPacket(t *testing.T, src key.NodePublic, pkt string) {
	t.Helper()
	select {
	case got := <-in.packets:
		if got.src != src || got.pkt != pkt {
			t.Fatalf("received %q from %v, want %q from %v", got.pkt, got.src.ShortString(), pkt, src.ShortString())
		}
	case <-time.After(5 * time.Second):
		t.Fatalf("no packet %q from %v", pkt, src.ShortString())
	}
}

func (in *inbox) expectGone(t *testing.T, k key.NodePublic) {
	t.Helper()
	select {
	case got := <-in.gone:
		if got != k {
			t.Fatalf("PeerGone(%v), want PeerGone(%v)", got.ShortString(), k.ShortString())
		}
	case <-time.After(5 * time.Second):
		t.Fatalf("no PeerGone(%v)", k.ShortString())
	}
}

// dialTest dials url as k and closes the client when the test ends.
func dialTest(t *testing.T, url string, k key.NodePrivate, opts ClientOptions) *Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := Dial(ctx, url, k, clientOpts(url, opts))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// sync waits until the relay has processed everything c sent before:
// frames are handled in order, so the Pong comes after them.
func syncClient(t *testing.T, c *Client) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := c.Ping(ctx); err != nil {
		t.Fatal(err)
	}
}

// rawConn speaks the relay protocol by hand, to misbehave.
type rawConn struct {
	conn      net.Conn
	br        *bufio.Reader
	challenge []byte
}

// rawUpgrade connects to the relay at url and reads the challenge.
func rawUpgrade(t *testing.T, url string) *rawConn {
	t.Helper()
	addr := strings.TrimPrefix(url, "http://")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, err := dialer(url)(ctx, "tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	conn.SetDeadline(time.Now().Add(5 * time.Second))
	fmt.Fprintf(conn, "GET /relay HTTP/1.1\r\nHost: %s\r\nUpgrade: rayfish-relay\r\nConnection: Upgrade\r\n\r\n", addr)
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("status %s", resp.Status)
	}
	typ, p, err := ReadFrame(br, make([]byte, 64))
	if err != nil || typ != FrameServerChallenge {
		t.Fatalf("challenge: %v %v", typ, err)
	}
	return &rawConn{conn: conn, br: br, challenge: p}
}

func (r *rawConn) write(t *testing.T, typ FrameType, payload []byte) {
	t.Helper()
	if err := writeTestFrame(r.conn, typ, payload); err != nil {
		t.Fatal(err)
	}
}

// auth authenticates as k and reads ServerInfo.
func (r *rawConn) auth(t *testing.T, k key.NodePrivate) {
	t.Helper()
	r.write(t, FrameClientAuth, clientAuth(k, r.challenge, nil))
	typ, _, err := ReadFrame(r.br, make([]byte, 64))
	if err != nil || typ != FrameServerInfo {
		t.Fatalf("after auth: %v %v", typ, err)
	}
}

// expectClosed reads until the server closes the connection and returns
// the text of the Error frame it sent first, if any.
func (r *rawConn) expectClosed(t *testing.T) string {
	t.Helper()
	var msg string
	buf := make([]byte, DefaultMaxFrame)
	for {
		typ, p, err := ReadFrame(r.br, buf)
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, net.ErrClosed) {
			return msg
		}
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			t.Fatal("server did not close the connection")
		}
		if err != nil {
			return msg // e.g. connection reset
		}
		if typ == FrameError {
			msg = string(p)
		}
	}
}

// counter is a goroutine-safe count of received packets per source.
type counter struct {
	mu sync.Mutex
	n  map[key.NodePublic]int
}

func (c *counter) add(src key.NodePublic) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n == nil {
		c.n = make(map[key.NodePublic]int)
	}
	c.n[src]++
}

func (c *counter) get(src key.NodePublic) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n[src]
}

// writeTestFrame writes one frame. With a *bufio.Writer it does not allocate;
// with any other writer it makes one allocation so the frame goes out in a
// single Write. It does not flush.
func writeTestFrame(w io.Writer, typ FrameType, payload []byte) error {
	if bw, ok := w.(*bufio.Writer); ok {
		return writeFrame(bw, typ, payload, nil)
	}
	b := make([]byte, frameHeaderLen, frameHeaderLen+len(payload))
	b[0] = byte(typ)
	binary.BigEndian.PutUint32(b[1:], uint32(len(payload)))
	_, err := w.Write(append(b, payload...))
	return err
}
