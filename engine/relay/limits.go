package relay

import (
	"context"
	"math"
	"net"
	"net/http"
	"net/netip"
	"sync"
	"sync/atomic"
)

// Default caps of a Server. A relay is open to anyone who can reach it
// (unless Allow says otherwise), so it limits what one client, and one
// source address, can take.
const (
	// DefaultRateBytesPerSec is the default per-client send rate:
	// 32 MiB/s, about 270 Mbit/s.
	DefaultRateBytesPerSec = 32 << 20
	// DefaultMaxConns is the default cap on relay connections in all.
	DefaultMaxConns = 4096
	// DefaultMaxConnsPerIP is the default cap on relay connections from
	// one source IP address (a NAT may hide several nodes).
	DefaultMaxConnsPerIP = 32
)

// NoRateLimit, as ServerConfig.RateBytesPerSec, turns the rate limit off.
const NoRateLimit = math.MaxUint64

// connLimiter counts relay connections, in all and per source address.
type connLimiter struct {
	max, maxPerIP int // <= 0: no cap

	mu    sync.Mutex // guards the fields below
	total int
	perIP map[netip.Addr]int
}

func newConnLimiter(max, maxPerIP int) *connLimiter {
	return &connLimiter{max: max, maxPerIP: maxPerIP, perIP: make(map[netip.Addr]int)}
}

// acquire takes a slot for a connection from ip, reporting false, and
// taking nothing, when a cap is reached.
func (l *connLimiter) acquire(ip netip.Addr) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.max > 0 && l.total >= l.max || l.maxPerIP > 0 && l.perIP[ip] >= l.maxPerIP {
		return false
	}
	l.total++
	l.perIP[ip]++
	return true
}

// release gives back a slot that acquire took for ip.
func (l *connLimiter) release(ip netip.Addr) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.total--
	if n := l.perIP[ip] - 1; n > 0 {
		l.perIP[ip] = n
	} else {
		delete(l.perIP, ip)
	}
}

// remoteIP parses the IP of an http.Request's RemoteAddr; the zero Addr
// if it has none (all such connections then share one per-IP count).
func remoteIP(remoteAddr string) netip.Addr {
	host, _, err := net.SplitHostPort(remoteAddr)
	if err != nil {
		return netip.Addr{}
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Addr{}
	}
	return ip.Unmap().WithZone("")
}

// limitListener applies a connLimiter to the TCP connections a listener
// accepts, before any byte is read: over a cap, a connection is closed at
// once. Idle HTTP connections then count too, not only relay ones.
type limitListener struct {
	net.Listener
	l       *connLimiter
	refused *atomic.Uint64
}

func (ll *limitListener) Accept() (net.Conn, error) {
	for {
		c, err := ll.Listener.Accept()
		if err != nil {
			return nil, err
		}
		ip := remoteIP(c.RemoteAddr().String())
		if ll.l.acquire(ip) {
			return &limitedConn{Conn: c, l: ll.l, ip: ip}, nil
		}
		ll.refused.Add(1)
		c.Close()
	}
}

// limitedConn gives its slot back when closed.
type limitedConn struct {
	net.Conn
	l    *connLimiter
	ip   netip.Addr
	once sync.Once
}

func (c *limitedConn) Close() error {
	c.once.Do(func() { c.l.release(c.ip) })
	return c.Conn.Close()
}

// countedKey marks, in a request's context, a connection a limitListener
// counted already.
type countedKey struct{}

func markCounted(ctx context.Context, _ net.Conn) context.Context {
	return context.WithValue(ctx, countedKey{}, true)
}

func counted(r *http.Request) bool {
	v, _ := r.Context().Value(countedKey{}).(bool)
	return v
}
