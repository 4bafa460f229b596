package tun

import (
	"errors"
	"os"
	"sync"
	"time"

	wgtun "golang.zx2c4.com/wireguard/tun"
)

// DeferredBatchSize is what a Deferred device reports as its BatchSize: the
// largest batch any real device here reads (wireguard-go's ideal batch on
// Linux with offloads), so buffers sized from it fit the device that comes.
const DeferredBatchSize = 128

// Backoff between attempts of a Deferred device: it starts at
// RetryMinDelay and doubles up to RetryMaxDelay.
const (
	RetryMinDelay = time.Second
	RetryMaxDelay = time.Minute
)

// ErrNotReady is what a Deferred device's Write returns until the real
// device exists: the packets are dropped.
var ErrNotReady = errors.New("tun: the tunnel device does not exist yet")

// Deferred stands in for a TUN device that could not be created (no
// privilege, a driver that will not load): the daemon keeps running and
// Deferred retries the creation with backoff. Until it succeeds Read
// blocks and Write drops; afterwards both go to the real device.
//
// Lock order: mu only; create and report run outside it.
type Deferred struct {
	name   string
	mtu    int
	create func() (Device, error)

	mu    sync.Mutex
	dev   Device
	ready chan struct{} // closed once dev is set or Close is called

	stop chan struct{}
	wg   sync.WaitGroup
	once sync.Once
}

// NewDeferred returns a device named name that calls create until it
// succeeds, once Start is called.
func NewDeferred(name string, mtu int, create func() (Device, error)) *Deferred {
	return &Deferred{name: name, mtu: mtu, create: create, ready: make(chan struct{}), stop: make(chan struct{})}
}

// Start begins the attempts, the first after RetryMinDelay. report is
// called after each one, on the retrying goroutine: with the error of a
// failed attempt, or with the device once it exists (then no more).
func (d *Deferred) Start(report func(Device, error)) {
	d.wg.Add(1)
	go d.retry(report)
}

func (d *Deferred) retry(report func(Device, error)) {
	defer d.wg.Done()
	delay := RetryMinDelay
	t := time.NewTimer(delay)
	defer t.Stop()
	for {
		select {
		case <-d.stop:
			return
		case <-t.C:
		}
		dev, err := d.create()
		if err == nil {
			d.mu.Lock()
			d.dev = dev
			close(d.ready)
			d.mu.Unlock()
			report(dev, nil)
			return
		}
		report(nil, err)
		delay = min(2*delay, RetryMaxDelay)
		t.Reset(delay)
	}
}

// device returns the real device, nil until it exists.
func (d *Deferred) device() Device {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.dev
}

// Read waits for the real device and reads from it; it returns
// os.ErrClosed once the Deferred is closed.
func (d *Deferred) Read(bufs [][]byte, sizes []int, offset int) (int, error) {
	<-d.ready
	dev := d.device()
	if dev == nil {
		return 0, os.ErrClosed
	}
	return dev.Read(bufs, sizes, offset)
}

// Write writes to the real device, or drops the packets with ErrNotReady.
func (d *Deferred) Write(bufs [][]byte, offset int) (int, error) {
	dev := d.device()
	if dev == nil {
		return 0, ErrNotReady
	}
	return dev.Write(bufs, offset)
}

// File returns the real device's file, nil before it exists.
func (d *Deferred) File() *os.File {
	if dev := d.device(); dev != nil {
		return dev.File()
	}
	return nil
}

// MTU returns the real device's MTU, or the one it will be created with.
func (d *Deferred) MTU() (int, error) {
	if dev := d.device(); dev != nil {
		return dev.MTU()
	}
	return d.mtu, nil
}

// Name returns the real device's name, or the requested one.
func (d *Deferred) Name() (string, error) {
	if dev := d.device(); dev != nil {
		return dev.Name()
	}
	return d.name, nil
}

// Events returns the real device's events; before it exists, a channel
// that never delivers.
func (d *Deferred) Events() <-chan wgtun.Event {
	if dev := d.device(); dev != nil {
		return dev.Events()
	}
	return nil
}

// BatchSize returns DeferredBatchSize.
func (d *Deferred) BatchSize() int { return DeferredBatchSize }

// Close stops the attempts and closes the real device if there is one. It
// is idempotent.
func (d *Deferred) Close() error {
	var err error
	d.once.Do(func() {
		close(d.stop)
		d.wg.Wait()
		d.mu.Lock()
		dev := d.dev
		if dev == nil {
			close(d.ready)
		}
		d.mu.Unlock()
		if dev != nil {
			err = dev.Close()
		}
	})
	return err
}
