package service

import (
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	kservice "github.com/kardianos/service"
)

// StartFunc starts the daemon and returns the function that stops it. Stop
// must release everything start acquired: the TUN device, routes, DNS and the
// local API endpoint.
type StartFunc func() (stop func() error, err error)

// ProgramOptions configure a Program.
type ProgramOptions struct {
	// Logger receives the program's logs; nil discards them.
	Logger *slog.Logger
	// OnStartFailure is called, from the goroutine that ran start, when start
	// fails and Stop has not been called. A service should exit non-zero
	// there so that the service manager restarts it (systemd Restart=always,
	// launchd KeepAlive, the Windows recovery action). Nil only logs.
	OnStartFailure func(error)
	// StopTimeout bounds how long Stop waits for a start still in progress;
	// 0 means DefaultStopTimeout.
	StopTimeout time.Duration
}

// DefaultStopTimeout is how long Stop waits for a start in progress.
const DefaultStopTimeout = 20 * time.Second

// Program adapts a daemon's start and stop functions to kardianos's
// service.Interface: Start returns at once and runs start in a goroutine;
// Stop waits for that start to finish and then stops the daemon. A Program
// runs once: Start after Stop is an error.
type Program struct {
	start   StartFunc
	log     *slog.Logger
	onFail  func(error)
	timeout time.Duration

	mu       sync.Mutex
	started  bool
	stopping bool
	done     chan struct{} // closed when start has returned
	stopFn   func() error
	startErr error

	stopOnce sync.Once
	stopErr  error
}

var _ kservice.Interface = (*Program)(nil)

// NewProgram returns a Program that runs start.
func NewProgram(start StartFunc, opts ProgramOptions) *Program {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	timeout := opts.StopTimeout
	if timeout <= 0 {
		timeout = DefaultStopTimeout
	}
	return &Program{
		start:   start,
		log:     log,
		onFail:  opts.OnStartFailure,
		timeout: timeout,
		done:    make(chan struct{}),
	}
}

// Start implements service.Interface. It returns immediately; start runs in a
// goroutine whose end Started reports.
func (p *Program) Start(kservice.Service) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.started {
		return errors.New("service: program already started")
	}
	if p.stopping {
		return errors.New("service: program already stopped")
	}
	p.started = true
	go p.run()
	return nil
}

func (p *Program) run() {
	defer close(p.done)
	stop, err := p.start()
	if err == nil && stop == nil {
		err = errors.New("service: start returned no stop function")
	}
	p.mu.Lock()
	p.stopFn, p.startErr = stop, err
	stopping := p.stopping
	p.mu.Unlock()
	if err == nil {
		p.log.Info("daemon started")
		return
	}
	p.log.Error("daemon failed to start", "err", err)
	if !stopping && p.onFail != nil {
		p.onFail(err)
	}
}

// Started is closed when start has returned, successfully or not.
func (p *Program) Started() <-chan struct{} { return p.done }

// Err returns start's error once Started is closed (nil before).
func (p *Program) Err() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.startErr
}

// Stop implements service.Interface. It waits (at most the stop timeout) for
// a start in progress, then calls the stop function once. Later calls return
// the first call's result.
func (p *Program) Stop(kservice.Service) error {
	p.mu.Lock()
	p.stopping = true
	started := p.started
	p.mu.Unlock()
	if !started {
		return nil
	}
	timer := time.NewTimer(p.timeout)
	defer timer.Stop()
	select {
	case <-p.done:
	case <-timer.C:
		return fmt.Errorf("service: daemon still starting after %v; not stopped", p.timeout)
	}
	p.stopOnce.Do(func() {
		p.mu.Lock()
		stop, startErr := p.stopFn, p.startErr
		p.mu.Unlock()
		if startErr != nil {
			return // nothing is running
		}
		p.log.Info("stopping daemon")
		if err := stop(); err != nil {
			p.stopErr = fmt.Errorf("service: stop daemon: %w", err)
			p.log.Error("daemon stopped with an error", "err", err)
			return
		}
		p.log.Info("daemon stopped")
	})
	return p.stopErr
}
