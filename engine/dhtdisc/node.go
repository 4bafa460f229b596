package dhtdisc

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/anacrolix/dht/v2"
	"github.com/anacrolix/dht/v2/bep44"
	"github.com/anacrolix/dht/v2/exts/getput"
	"github.com/anacrolix/dht/v2/krpc"
	alog "github.com/anacrolix/log"
	"github.com/anacrolix/torrent/bencode"
	"golang.org/x/time/rate"

	"github.com/rayfish/rayfish/engine/key"
	"github.com/rayfish/rayfish/engine/netmap"
)

// DefaultBootstrap is the well-known public Mainline DHT bootstrap nodes.
var DefaultBootstrap = append([]string(nil), dht.DefaultGlobalBootstrapHostPorts...)

// BootstrapList is the bootstrap nodes to use: the ones given
// (--dht-bootstrap), else DefaultBootstrap.
func BootstrapList(given []string) []string {
	if len(given) > 0 {
		return given
	}
	return DefaultBootstrap
}

// quiet is the DHT library's logger: the library logs peers' errors at
// warning level, which is noise for us (and would be per-peer input in
// our logs).
var quiet = alog.Default.WithNames("dht").FilterLevel(alog.Critical)

// Config configures a Node.
type Config struct {
	// Listen is the UDP address to serve on ("" = any port).
	Listen string
	// Bootstrap is host:port of nodes to start from (see BootstrapList).
	Bootstrap []string
	// Logger receives the node's logs; nil discards them.
	Logger *slog.Logger
}

// Node is one DHT node: it answers other nodes (a full DHT participant)
// and publishes and finds rayfish items.
type Node struct {
	srv  *dht.Server
	conn *countingConn
	log  *slog.Logger
	boot []string

	mu          sync.Mutex // guards the fields below
	seqs        map[bep44.Target]int64
	lastPublish time.Time
	lookups     int64
	publishes   int64

	closeOnce sync.Once
	done      chan struct{}
	wg        sync.WaitGroup // bootstrapLoop and TableMaintainer
}

// Stats describe a Node for netcheck and metrics.
type Stats struct {
	Nodes       int       `json:"nodes"`
	GoodNodes   int       `json:"good_nodes"`
	LastPublish time.Time `json:"last_publish,omitzero"`
	Lookups     int64     `json:"lookups"`
	Publishes   int64     `json:"publishes"`
	BytesIn     int64     `json:"bytes_in"`
	BytesOut    int64     `json:"bytes_out"`
}

// New starts a DHT node and its table maintenance.
func New(cfg Config) (*Node, error) {
	pc, err := net.ListenPacket("udp", cfg.Listen)
	if err != nil {
		return nil, fmt.Errorf("dht: listen %q: %w", cfg.Listen, err)
	}
	lg := cfg.Logger
	if lg == nil {
		lg = slog.New(slog.DiscardHandler)
	}
	n := &Node{conn: &countingConn{PacketConn: pc}, log: lg, seqs: map[bep44.Target]int64{}, done: make(chan struct{}),
		boot: append([]string(nil), cfg.Bootstrap...)}
	sc := dht.NewDefaultServerConfig()
	sc.Conn = n.conn
	sc.StartingNodes = func() ([]dht.Addr, error) { return resolve(n.boot) }
	sc.Logger = quiet
	sc.SendLimiter = rate.NewLimiter(25, 25)
	sc.QueryResendDelay = func() time.Duration { return 2 * time.Second }
	n.srv, err = dht.NewServer(sc)
	if err != nil {
		pc.Close()
		return nil, fmt.Errorf("dht: %w", err)
	}
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		n.bootstrapLoop()
	}()
	return n, nil
}

// resolve turns host:port into DHT addresses (the library's own resolver
// starts a goroutine that never ends).
func resolve(hostPorts []string) ([]dht.Addr, error) {
	var out []dht.Addr
	var lastErr error
	for _, hp := range hostPorts {
		ua, err := net.ResolveUDPAddr("udp", hp)
		if err != nil {
			lastErr = err
			continue
		}
		out = append(out, dht.NewAddr(ua))
	}
	if len(out) == 0 && lastErr != nil {
		return nil, fmt.Errorf("dht: bootstrap nodes: %w", lastErr)
	}
	return out, nil
}

// bootstrapLoop bootstraps at once, again soon while the table is small
// (a small private DHT fills as its nodes come up), then rarely.
func (n *Node) bootstrapLoop() {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { <-n.done; cancel() }()
	maintaining := false
	for wait := time.Second; ; wait = min(wait*2, 5*time.Minute) {
		if err := n.canTraverse(); err != nil {
			n.log.Debug("dht bootstrap", "err", err)
			wait = time.Second // a seed: wait for nodes to call
			goto sleep
		}
		if !maintaining {
			// The table maintainer bootstraps at once; start it only
			// when it has somewhere to start from (see canTraverse).
			maintaining = true
			n.wg.Add(1)
			go func() {
				defer n.wg.Done()
				n.srv.TableMaintainer() // returns when srv closes
			}()
		}
		if _, err := n.srv.BootstrapContext(ctx); err != nil {
			n.log.Debug("dht bootstrap", "err", err)
		}
		if n.srv.Stats().GoodNodes >= 8 {
			wait = 10 * time.Minute
		} else {
			wait = min(wait, time.Minute)
		}
	sleep:
		select {
		case <-n.done:
			return
		case <-time.After(wait):
		}
	}
}

// canTraverse reports whether a traversal has nodes to start from. The
// library leaks a traversal's goroutine when it has none, so every
// traversal is started only after this check.
func (n *Node) canTraverse() error {
	if n.srv.NumNodes() > 0 {
		return nil
	}
	if len(n.boot) == 0 {
		return errors.New("dht: no known nodes and no bootstrap nodes")
	}
	_, err := resolve(n.boot)
	return err
}

// Addr is the node's UDP address.
func (n *Node) Addr() netip.AddrPort {
	ap, _ := netip.ParseAddrPort(n.conn.LocalAddr().String())
	return ap
}

// Publish puts r, k's endpoint record, as k's item for network nw.
func (n *Node) Publish(ctx context.Context, nw key.NetworkPublic, k key.NodePrivate, r netmap.EndpointRecord) error {
	s, err := newSigner(nw, k)
	if err != nil {
		return err
	}
	v, err := Seal(nw, s.pub, r)
	if err != nil {
		return err
	}
	target := bep44.MakeMutableTarget(s.pub, nil)
	n.mu.Lock()
	floor := max(n.seqs[target]+1, time.Now().UnixMilli())
	n.mu.Unlock()
	if err := n.canTraverse(); err != nil {
		return fmt.Errorf("dht: publish: %w", err)
	}
	// A storing node refuses a put whose seq is not above the one it
	// holds, and our last seq is gone when the daemon restarts: the seq
	// is the clock's milliseconds (a restart comes later than that), and
	// above any seq the nodes asked for the target hold (a clock set
	// back, several publishes in one millisecond).
	bv := bencode.MustMarshal(v)
	var seq int64
	put := func(stored int64) bep44.Put {
		seq = max(floor, nextSeq(stored))
		p := bep44.Put{V: v, K: &s.pub, Seq: seq}
		copy(p.Sig[:], s.sign(signedPart(seq, bv)))
		return p
	}
	ctx = alog.ContextWithLogger(ctx, quiet)
	stats, err := getput.Put(ctx, krpc.ID(target), n.srv, nil, put)
	n.mu.Lock()
	n.seqs[target] = max(n.seqs[target], seq)
	n.mu.Unlock()
	if err != nil {
		return fmt.Errorf("dht: publish: %w", err)
	}
	if stats != nil && stats.NumResponses == 0 {
		return errors.New("dht: publish: no DHT node answered")
	}
	n.mu.Lock()
	n.lastPublish = time.Now()
	n.publishes++
	n.mu.Unlock()
	return nil
}

// nextSeq is the seq that replaces an item stored with seq stored (the
// library passes 0 when it found none; BEP 44 checks only the order).
func nextSeq(stored int64) int64 {
	if stored == math.MaxInt64 {
		return stored
	}
	return stored + 1
}

// signedPart is what BEP 44 signs for a mutable item without salt.
func signedPart(seq int64, bv []byte) []byte {
	return append(fmt.Appendf(nil, "3:seqi%de1:v", seq), bv...)
}

// Lookup finds member m's item for network nw and returns its verified
// endpoint record.
func (n *Node) Lookup(ctx context.Context, nw key.NetworkPublic, m key.NodePublic) (netmap.EndpointRecord, error) {
	n.mu.Lock()
	n.lookups++
	n.mu.Unlock()
	pub, err := PublicKey(nw, m)
	if err != nil {
		return netmap.EndpointRecord{}, err
	}
	if err := n.canTraverse(); err != nil {
		return netmap.EndpointRecord{}, fmt.Errorf("dht: lookup %s: %w", m.ShortString(), err)
	}
	ctx = alog.ContextWithLogger(ctx, quiet)
	res, _, err := getput.Get(ctx, bep44.MakeMutableTarget(pub, nil), n.srv, nil, nil)
	if err != nil {
		return netmap.EndpointRecord{}, fmt.Errorf("dht: lookup %s: %w", m.ShortString(), err)
	}
	if !res.Mutable || len(res.V) > MaxValue+8 {
		return netmap.EndpointRecord{}, fmt.Errorf("dht: lookup %s: not a rayfish item", m.ShortString())
	}
	var v []byte
	if err := bencode.Unmarshal(res.V, &v); err != nil {
		return netmap.EndpointRecord{}, fmt.Errorf("dht: lookup %s: %w", m.ShortString(), err)
	}
	return Open(nw, m, v)
}

// Stats returns the node's counters.
func (n *Node) Stats() Stats {
	ss := n.srv.Stats()
	n.mu.Lock()
	defer n.mu.Unlock()
	return Stats{Nodes: ss.Nodes, GoodNodes: ss.GoodNodes, LastPublish: n.lastPublish, Lookups: n.lookups,
		Publishes: n.publishes, BytesIn: n.conn.in.Load(), BytesOut: n.conn.out.Load()}
}

// Close stops the node. It is idempotent.
func (n *Node) Close() {
	n.closeOnce.Do(func() {
		close(n.done)
		n.srv.Close()
		n.wg.Wait()
	})
}

// countingConn counts the DHT's bytes.
type countingConn struct {
	net.PacketConn
	in, out atomic.Int64
}

func (c *countingConn) ReadFrom(b []byte) (int, net.Addr, error) {
	k, a, err := c.PacketConn.ReadFrom(b)
	c.in.Add(int64(k))
	return k, a, err
}

func (c *countingConn) WriteTo(b []byte, a net.Addr) (int, error) {
	k, err := c.PacketConn.WriteTo(b, a)
	c.out.Add(int64(k))
	return k, err
}
