package magicdns

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/miekg/dns"
)

// DialFunc opens a connection to an upstream resolver; net.Dialer's
// DialContext is one. The engine injects one that keeps upstream traffic
// off the tunnel; tests inject fakes.
type DialFunc func(ctx context.Context, network, address string) (net.Conn, error)

// Forwarder defaults.
const (
	DefaultForwardTimeout = 2 * time.Second
	DefaultMaxInFlight    = 64
	// maxAttempts bounds the upstreams one query is tried on.
	maxAttempts = 3
	// readBufSize holds any UDP datagram.
	readBufSize = 65535
)

// ErrNoUpstreams means the forwarder knows no upstream resolver.
var ErrNoUpstreams = errors.New("magicdns: no upstream resolvers")

// ForwarderConfig configures a Forwarder.
type ForwarderConfig struct {
	// Upstreams are the resolvers to ask, in order (platform/dns captures
	// them from the system before rayfish takes over DNS).
	Upstreams []netip.AddrPort
	// Dial opens upstream connections (network "udp"); nil means a
	// net.Dialer.
	Dial DialFunc
	// Timeout bounds the wait for each upstream (default
	// DefaultForwardTimeout). A query is tried on up to three upstreams
	// in turn.
	Timeout time.Duration
	// MaxInFlight bounds concurrent forwarded queries (default
	// DefaultMaxInFlight); queries beyond it are dropped and counted.
	MaxInFlight int
}

// Forwarder relays queries to upstream resolvers over UDP. Each query
// uses a fresh connected socket (so a random source port, and only the
// upstream can answer it) and the answer must echo the query's ID and
// question. Upstreams answering SERVFAIL or REFUSED, or not at all, are
// skipped for the next one.
//
// The forwarder owns one goroutine per query in flight; Close stops them.
type Forwarder struct {
	dial    DialFunc
	timeout time.Duration
	sem     chan struct{}
	ctx     context.Context
	cancel  context.CancelFunc

	upstreams atomic.Pointer[[]netip.AddrPort]
	dropped   atomic.Uint64
	bufs      sync.Pool

	mu     sync.Mutex // guards closed and wg.Add
	closed bool
	wg     sync.WaitGroup
}

// NewForwarder returns a forwarder; Close it when done.
func NewForwarder(cfg ForwarderConfig) *Forwarder {
	f := &Forwarder{
		dial:    cfg.Dial,
		timeout: cfg.Timeout,
		sem:     make(chan struct{}, max(cfg.MaxInFlight, 0)),
	}
	if f.dial == nil {
		f.dial = (&net.Dialer{}).DialContext
	}
	if f.timeout <= 0 {
		f.timeout = DefaultForwardTimeout
	}
	if cfg.MaxInFlight <= 0 {
		f.sem = make(chan struct{}, DefaultMaxInFlight)
	}
	f.bufs.New = func() any { b := make([]byte, readBufSize); return &b }
	f.ctx, f.cancel = context.WithCancel(context.Background())
	f.SetUpstreams(cfg.Upstreams)
	return f
}

// SetUpstreams replaces the upstream resolvers.
func (f *Forwarder) SetUpstreams(ups []netip.AddrPort) {
	ups = slices.Clone(ups)
	f.upstreams.Store(&ups)
}

// Upstreams returns the upstream resolvers.
func (f *Forwarder) Upstreams() []netip.AddrPort { return slices.Clone(*f.upstreams.Load()) }

// Dropped returns how many queries were dropped because MaxInFlight were
// already in flight.
func (f *Forwarder) Dropped() uint64 { return f.dropped.Load() }

// Close stops every query in flight and waits for their goroutines. Their
// done functions are not called. Close is idempotent.
func (f *Forwarder) Close() error {
	f.mu.Lock()
	f.closed = true
	f.mu.Unlock()
	f.cancel()
	f.wg.Wait()
	return nil
}

// Forward relays the DNS query in query in the background and calls done
// with the response (fitted to the client's size limit) or an error. It
// returns false, without calling done, if the query does not parse, too
// many queries are in flight, or the forwarder is closed.
func (f *Forwarder) Forward(query []byte, done func(resp []byte, err error)) bool {
	q := new(dns.Msg)
	if err := q.Unpack(query); err != nil || len(q.Question) != 1 {
		return false
	}
	return f.forward(q, querySize(q), done)
}

// Exchange relays the DNS query in query and waits for the response.
func (f *Forwarder) Exchange(ctx context.Context, query []byte) ([]byte, error) {
	q := new(dns.Msg)
	if err := q.Unpack(query); err != nil {
		return nil, fmt.Errorf("magicdns: parse query: %w", err)
	}
	if len(q.Question) != 1 {
		return nil, errors.New("magicdns: query must have one question")
	}
	return f.exchange(ctx, q, querySize(q))
}

// querySize is the response size limit q's client set.
func querySize(q *dns.Msg) int {
	if opt := q.IsEdns0(); opt != nil {
		return clientSize(opt.UDPSize())
	}
	return MinUDPSize
}

func (f *Forwarder) forward(q *dns.Msg, maxSize int, done func([]byte, error)) bool {
	select {
	case f.sem <- struct{}{}:
	default:
		f.dropped.Add(1)
		return false
	}
	f.mu.Lock()
	if f.closed {
		f.mu.Unlock()
		<-f.sem
		return false
	}
	f.wg.Add(1)
	f.mu.Unlock()
	go func() {
		defer f.wg.Done()
		defer func() { <-f.sem }()
		resp, err := f.exchange(f.ctx, q, maxSize)
		if f.ctx.Err() != nil {
			return
		}
		done(resp, err)
	}()
	return true
}

// exchange asks the upstreams in turn and returns the first good answer,
// fitted to maxSize.
func (f *Forwarder) exchange(ctx context.Context, q *dns.Msg, maxSize int) ([]byte, error) {
	ups := *f.upstreams.Load()
	if len(ups) == 0 {
		return nil, ErrNoUpstreams
	}
	// Ask upstreams for no more than MaxUDPSize, whatever the client
	// advertised; a client's larger size only risks fragmentation.
	uq := q.Copy()
	if opt := uq.IsEdns0(); opt != nil && opt.UDPSize() > MaxUDPSize {
		opt.SetUDPSize(MaxUDPSize)
	}
	wire, err := uq.Pack()
	if err != nil {
		return nil, fmt.Errorf("magicdns: pack query: %w", err)
	}
	bp := f.bufs.Get().(*[]byte)
	defer f.bufs.Put(bp)

	var fallback []byte // a SERVFAIL or REFUSED answer, if nothing better comes
	var errs []error
	for i, up := range ups {
		if i == maxAttempts || ctx.Err() != nil {
			break
		}
		resp, msg, err := f.ask(ctx, up, wire, q, *bp)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if resp, err = fit(resp, msg, maxSize); err != nil {
			errs = append(errs, fmt.Errorf("upstream %s: %w", up, err))
			continue
		}
		if msg.Rcode == dns.RcodeServerFailure || msg.Rcode == dns.RcodeRefused {
			if fallback == nil {
				fallback = resp
			}
			continue
		}
		return resp, nil
	}
	if fallback != nil {
		return fallback, nil
	}
	if err := ctx.Err(); err != nil {
		errs = append(errs, err)
	}
	return nil, fmt.Errorf("magicdns: forward %s: %w", q.Question[0].Name, errors.Join(errs...))
}

// ask sends wire to one upstream and waits for a valid answer to q. The
// returned bytes are a copy.
func (f *Forwarder) ask(ctx context.Context, up netip.AddrPort, wire []byte, q *dns.Msg, buf []byte) ([]byte, *dns.Msg, error) {
	ctx, cancel := context.WithTimeout(ctx, f.timeout)
	defer cancel()
	conn, err := f.dial(ctx, "udp", up.String())
	if err != nil {
		return nil, nil, fmt.Errorf("upstream %s: %w", up, err)
	}
	defer conn.Close()
	deadline, _ := ctx.Deadline()
	if err := conn.SetDeadline(deadline); err != nil {
		return nil, nil, fmt.Errorf("upstream %s: %w", up, err)
	}
	// Unblock the read at once if the forwarder closes.
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Now()) })
	defer stop()
	if _, err := conn.Write(wire); err != nil {
		return nil, nil, fmt.Errorf("upstream %s: %w", up, err)
	}
	for {
		n, err := conn.Read(buf)
		if err != nil {
			return nil, nil, fmt.Errorf("upstream %s: %w", up, err)
		}
		m := new(dns.Msg)
		if m.Unpack(buf[:n]) != nil || !answers(m, q) {
			continue // garbage or a stray answer: keep waiting
		}
		return append([]byte(nil), buf[:n]...), m, nil
	}
}

// answers reports whether m is a response to q.
func answers(m, q *dns.Msg) bool {
	if !m.Response || m.Id != q.Id || len(m.Question) != 1 {
		return false
	}
	a, b := m.Question[0], q.Question[0]
	return a.Qtype == b.Qtype && a.Qclass == b.Qclass && strings.EqualFold(a.Name, b.Name)
}

// fit returns resp (parsed as m) cut to maxSize, with TC set if records
// had to go.
func fit(resp []byte, m *dns.Msg, maxSize int) ([]byte, error) {
	if len(resp) <= maxSize {
		return resp, nil
	}
	rcode := m.Rcode
	m.Truncate(maxSize)
	b, err := m.Pack()
	if err == nil && len(b) <= maxSize {
		return b, nil
	}
	// Keep the header and question only.
	h := new(dns.Msg)
	h.SetReply(m)
	h.Truncated, h.Rcode, h.RecursionAvailable = true, rcode, m.RecursionAvailable
	if b, err = h.Pack(); err != nil {
		return nil, fmt.Errorf("pack truncated answer: %w", err)
	}
	return b, nil
}
