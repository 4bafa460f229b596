// Package audit keeps an append-only log of security-relevant events: peers
// connecting and disconnecting, members joining and leaving networks, join
// requests and their decisions, and the local user behind each change made
// through the local API. Each event is one JSON line
//
//	{"time":"…","event":"peer_connected","peer":"<node id>","hostname":"laptop","network":"home","detail":"direct 198.18.0.2:41641"}
//
// in <dir>/audit.log (mode 0600), rotated by size to audit.log.1 …
// audit.log.N.
//
// Log never blocks the caller: events go through a bounded channel to a
// writer goroutine owned by the Log; when the channel is full the event is
// dropped and counted (Dropped). Close drains what is queued, stops the
// goroutine and closes the file; it is idempotent. A nil *Log accepts and
// ignores events, so callers need no checks when auditing is off.
package audit

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// Event names.
const (
	PeerConnected    = "peer_connected"    // a connection to a peer came up
	PeerDisconnected = "peer_disconnected" // the last connection to a peer went away
	PeerPathChanged  = "peer_path_changed" // direct <-> relay
	MemberAdded      = "member_added"      // a node entered a network's roster
	MemberRemoved    = "member_removed"    // a node left or was removed
	JoinRequested    = "join_requested"    // a node asked to join a closed network
	JoinAccepted     = "join_accepted"     // an admin accepted a request
	JoinDenied       = "join_denied"       // an admin denied a request
	NetworkJoined    = "network_joined"    // this node joined a network
	NetworkLeft      = "network_left"      // this node left a network
	NetworkCreated   = "network_created"   // this node created a network
	NetworkRekeyed   = "network_rekeyed"   // this node gave a network a new key
	InviteIssued     = "invite_issued"     // detail names the kind, never the code
	LocalChange      = "local_change"      // a local user changed something through the local API
	ChangeRefused    = "change_refused"    // a local user was refused a change
)

// Event is one audit record. Time is set by Log when zero. Never put a
// secret (invite code, private key) in any field.
type Event struct {
	Time     time.Time `json:"time"`
	Event    string    `json:"event"`
	Peer     string    `json:"peer,omitempty"`
	Hostname string    `json:"hostname,omitempty"`
	Network  string    `json:"network,omitempty"`
	Detail   string    `json:"detail,omitempty"`
	// User is the local account that asked for a change (LocalChange,
	// ChangeRefused).
	User string `json:"user,omitempty"`
}

// Defaults for Config.
const (
	DefaultFileName = "audit.log"
	DefaultMaxSize  = 10 << 20
	DefaultKeep     = 5
	DefaultQueue    = 1024
)

// Config configures a Log. Zero fields take the defaults.
type Config struct {
	// Dir holds the log files; it is created (0700) if missing.
	Dir string
	// FileName is the current file's name (DefaultFileName).
	FileName string
	// MaxSize is the size in bytes at which the file is rotated
	// (DefaultMaxSize).
	MaxSize int64
	// Keep is how many rotated files are kept besides the current one
	// (DefaultKeep).
	Keep int
	// Queue is the number of events that may wait for the writer
	// (DefaultQueue).
	Queue int
	// Now returns the time stamped on events (time.Now).
	Now func() time.Time
	// Logger receives write errors (nil: discarded). They are also
	// counted in WriteErrors.
	Logger *slog.Logger
}

// Log is an open audit log.
type Log struct {
	cfg  Config
	path string
	log  *slog.Logger

	dropped   atomic.Uint64
	writeErrs atomic.Uint64

	// mu guards closed and sends on queue: Log holds it shared, Close
	// exclusively, so nothing is sent on a closed channel.
	mu     sync.RWMutex
	closed bool
	queue  chan Event

	done chan struct{} // closed when the writer goroutine has exited
	err  error         // the writer's final error, read after done

	// Owned by the writer goroutine.
	f    *os.File
	w    *bufio.Writer
	size int64
}

// Open opens (creating if needed) the audit log in cfg.Dir and starts its
// writer goroutine; Close stops it.
func Open(cfg Config) (*Log, error) {
	l, err := open(cfg)
	if err != nil {
		return nil, err
	}
	go l.run()
	return l, nil
}

// open opens the file without starting the writer.
func open(cfg Config) (*Log, error) {
	if cfg.Dir == "" {
		return nil, errors.New("audit: no log directory")
	}
	if cfg.FileName == "" {
		cfg.FileName = DefaultFileName
	}
	if cfg.MaxSize <= 0 {
		cfg.MaxSize = DefaultMaxSize
	}
	if cfg.Keep <= 0 {
		cfg.Keep = DefaultKeep
	}
	if cfg.Queue <= 0 {
		cfg.Queue = DefaultQueue
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if err := os.MkdirAll(cfg.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("audit: create log directory: %w", err)
	}
	l := &Log{
		cfg:   cfg,
		path:  filepath.Join(cfg.Dir, cfg.FileName),
		log:   logger,
		queue: make(chan Event, cfg.Queue),
		done:  make(chan struct{}),
	}
	if err := l.openFile(); err != nil {
		return nil, err
	}
	return l, nil
}

// Path returns the current log file's path.
func (l *Log) Path() string { return l.path }

// Log queues e for writing, stamping Time if it is zero. It never blocks:
// if the queue is full, or the log is closed, e is dropped and counted.
func (l *Log) Log(e Event) {
	if l == nil {
		return
	}
	if e.Time.IsZero() {
		e.Time = l.cfg.Now()
	}
	l.mu.RLock()
	defer l.mu.RUnlock()
	if l.closed {
		l.dropped.Add(1)
		return
	}
	select {
	case l.queue <- e:
	default:
		l.dropped.Add(1)
	}
}

// Dropped returns how many events were dropped because the queue was full
// or the log closed.
func (l *Log) Dropped() uint64 {
	if l == nil {
		return 0
	}
	return l.dropped.Load()
}

// WriteErrors returns how many events could not be written to disk.
func (l *Log) WriteErrors() uint64 {
	if l == nil {
		return 0
	}
	return l.writeErrs.Load()
}

// Close writes the queued events, stops the writer and closes the file.
// It returns the first error from flushing or closing the file; later
// calls return the same error.
func (l *Log) Close() error {
	if l == nil {
		return nil
	}
	l.mu.Lock()
	if !l.closed {
		l.closed = true
		close(l.queue)
	}
	l.mu.Unlock()
	<-l.done
	return l.err
}

// run is the writer goroutine: it writes each event and flushes whenever
// the queue is empty, so a burst costs one write system call.
func (l *Log) run() {
	defer close(l.done)
	for e := range l.queue {
		l.write(e)
		if len(l.queue) == 0 {
			l.flush()
		}
	}
	l.flush()
	if l.f == nil {
		return
	}
	if err := l.f.Close(); err != nil && l.err == nil {
		l.err = fmt.Errorf("audit: close %s: %w", l.path, err)
	}
}

func (l *Log) write(e Event) {
	line, err := json.Marshal(e)
	if err != nil { // cannot happen for this struct; count it anyway
		l.fail(fmt.Errorf("audit: encode event: %w", err))
		return
	}
	line = append(line, '\n')
	if l.f == nil || (l.size > 0 && l.size+int64(len(line)) > l.cfg.MaxSize) {
		if err := l.rotate(); err != nil {
			l.fail(err)
			// Keep appending to the current file: losing events is
			// worse than an oversized file.
		}
	}
	if _, err := l.w.Write(line); err != nil {
		l.fail(fmt.Errorf("audit: write %s: %w", l.path, err))
		return
	}
	l.size += int64(len(line))
}

func (l *Log) flush() {
	if err := l.w.Flush(); err != nil {
		l.fail(fmt.Errorf("audit: write %s: %w", l.path, err))
		l.w.Reset(l.f) // drop what could not be written; try afresh
	}
}

func (l *Log) fail(err error) {
	l.writeErrs.Add(1)
	l.log.Warn("audit log", "err", err)
}

func (l *Log) openFile() error {
	f, err := os.OpenFile(l.path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("audit: open log: %w", err)
	}
	// An existing file may have looser permissions from elsewhere.
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return fmt.Errorf("audit: chmod %s: %w", l.path, err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return fmt.Errorf("audit: stat %s: %w", l.path, err)
	}
	l.f, l.size = f, st.Size()
	if l.w == nil {
		l.w = bufio.NewWriterSize(f, 32<<10)
	} else {
		l.w.Reset(f)
	}
	return nil
}

// rotate renames audit.log.(k) to .(k+1) for k = Keep-1 … 1, the current
// file to .1, and opens a fresh current file; the oldest is overwritten.
// After a failed reopen (l.f == nil) it only retries the open.
func (l *Log) rotate() error {
	var errs []error
	if l.f != nil {
		l.flush()
		if err := l.f.Close(); err != nil {
			errs = append(errs, fmt.Errorf("audit: close %s: %w", l.path, err))
		}
		l.f = nil
		for k := l.cfg.Keep - 1; k >= 1; k-- {
			err := os.Rename(rotated(l.path, k), rotated(l.path, k+1))
			if err != nil && !errors.Is(err, os.ErrNotExist) {
				errs = append(errs, fmt.Errorf("audit: rotate: %w", err))
			}
		}
		if err := os.Rename(l.path, rotated(l.path, 1)); err != nil {
			errs = append(errs, fmt.Errorf("audit: rotate: %w", err))
		}
	}
	if err := l.openFile(); err != nil {
		// Nowhere to write: events fail (and are counted) until a
		// later write manages to reopen the file.
		errs = append(errs, err)
		l.w.Reset(failWriter{})
	}
	return errors.Join(errs...)
}

func rotated(path string, k int) string { return path + "." + strconv.Itoa(k) }

// failWriter is the sink after the log file could not be reopened.
type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errors.New("audit: log file unavailable") }

// Tail returns up to n of the last lines of the audit file at path (the
// current file only), oldest first; a missing file yields no lines. It
// reads at most the last 1 MiB.
func Tail(path string, n int) ([]string, error) {
	const maxRead = 1 << 20
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("audit: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("audit: %w", err)
	}
	off := max(st.Size()-maxRead, 0)
	buf := make([]byte, st.Size()-off)
	if _, err := f.ReadAt(buf, off); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("audit: read %s: %w", path, err)
	}
	if off > 0 { // skip the partial first line
		if i := bytes.IndexByte(buf, '\n'); i >= 0 {
			buf = buf[i+1:]
		}
	}
	var lines []string
	for line := range bytes.Lines(buf) {
		lines = append(lines, string(bytes.TrimRight(line, "\n")))
	}
	if len(lines) > n {
		lines = lines[len(lines)-max(n, 0):]
	}
	return lines, nil
}
