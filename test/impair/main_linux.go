//go:build linux

package main

import (
	"flag"
	"fmt"
	"net"
	"os"
	"os/signal"
	"strconv"
	"syscall"

	"golang.org/x/sys/unix"
)

func main() {
	var (
		a, b    = flag.String("a", "", "first interface"), flag.String("b", "", "second interface")
		p       Params
		rate    = flag.String("rate", "0", "bits per second per direction (K, M, G suffixes); 0 = unlimited")
		seed    = flag.Uint64("seed", 1, "random seed")
		mtu     = flag.Int("frame", 2048, "largest frame relayed, bytes")
		pidFile = flag.String("pidfile", "", "write the pid here once relaying")
	)
	flag.DurationVar(&p.Delay, "delay", 0, "one-way delay")
	flag.DurationVar(&p.Jitter, "jitter", 0, "one-way jitter (uniform, +-)")
	flag.Float64Var(&p.Loss, "loss", 0, "loss, percent")
	flag.Float64Var(&p.Reorder, "reorder", 0, "percent of frames sent at once, ahead of the delayed ones")
	flag.IntVar(&p.Limit, "limit", 1000, "frames queued per direction at most")
	flag.Parse()
	r, err := parseRate(*rate)
	if err != nil || *a == "" || *b == "" || p.Loss < 0 || p.Loss > 100 || p.Reorder < 0 || p.Reorder > 100 {
		fmt.Fprintln(os.Stderr, "impair: need -a IF -b IF, loss and reorder in 0..100, a valid -rate")
		os.Exit(2)
	}
	p.Rate = r
	if err := relay(*a, *b, p, *mtu, *seed, *pidFile); err != nil {
		fmt.Fprintln(os.Stderr, "impair:", err)
		os.Exit(1)
	}
}

func relay(a, b string, p Params, mtu int, seed uint64, pidFile string) error {
	fa, err := openPacket(a)
	if err != nil {
		return err
	}
	fb, err := openPacket(b)
	if err != nil {
		return err
	}
	// a -> b and b -> a, each with its own queue and random stream.
	ab := NewQueue(p, mtu, seed, writer(fb))
	ba := NewQueue(p, mtu, seed+1, writer(fa))
	stop := make(chan struct{})
	go ab.Run(stop)
	go ba.Run(stop)
	go pump(fa, ab, mtu)
	go pump(fb, ba, mtu)
	if pidFile != "" {
		if err := os.WriteFile(pidFile, []byte(strconv.Itoa(os.Getpid())+"\n"), 0o644); err != nil {
			return err
		}
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM, syscall.SIGUSR1)
	for s := range sig {
		report(a+">"+b, &ab.Stats)
		report(b+">"+a, &ba.Stats)
		if s != syscall.SIGUSR1 {
			close(stop)
			return nil
		}
	}
	return nil
}

func report(dir string, s *Stats) {
	fmt.Printf("impair %s in=%d out=%d lost=%d reordered=%d overtaken=%d overflow=%d oversize=%d\n", dir,
		s.In.Load(), s.Out.Load(), s.Lost.Load(), s.Reordered.Load(), s.Overtaken.Load(), s.Overflow.Load(), s.Oversize.Load())
}

// pump reads frames from fd into q forever (one buffer, reused).
func pump(fd int, q *Queue, mtu int) {
	buf := make([]byte, mtu+1)
	for {
		n, err := syscall.Read(fd, buf)
		if err != nil {
			if err == syscall.EINTR {
				continue
			}
			fmt.Fprintln(os.Stderr, "impair: read:", err)
			os.Exit(1)
		}
		if n > mtu {
			q.Stats.In.Add(1)
			q.Stats.Oversize.Add(1)
			continue
		}
		q.Enqueue(buf[:n])
	}
}

// writer sends a frame out of fd's interface; a full socket buffer
// loses the frame, as a busy wire would.
func writer(fd int) func([]byte) {
	return func(f []byte) {
		for {
			_, err := syscall.Write(fd, f)
			if err != syscall.EINTR {
				return
			}
		}
	}
}

// openPacket opens an AF_PACKET socket bound to dev that sees every frame
// arriving on it (not the ones we send) and puts dev in promiscuous mode.
func openPacket(dev string) (int, error) {
	ifi, err := interfaceIndex(dev)
	if err != nil {
		return -1, err
	}
	proto := htons(syscall.ETH_P_ALL)
	fd, err := syscall.Socket(syscall.AF_PACKET, syscall.SOCK_RAW, int(proto))
	if err != nil {
		return -1, fmt.Errorf("packet socket: %w", err)
	}
	const packetIgnoreOutgoing = 23 // PACKET_IGNORE_OUTGOING, Linux 4.20
	if err := syscall.SetsockoptInt(fd, syscall.SOL_PACKET, packetIgnoreOutgoing, 1); err != nil {
		return -1, fmt.Errorf("PACKET_IGNORE_OUTGOING on %s: %w", dev, err)
	}
	mreq := unix.PacketMreq{Ifindex: int32(ifi), Type: unix.PACKET_MR_PROMISC}
	if err := setsockoptPacketMreq(fd, &mreq); err != nil {
		return -1, fmt.Errorf("promiscuous %s: %w", dev, err)
	}
	for _, opt := range []int{syscall.SO_RCVBUF, syscall.SO_SNDBUF} {
		syscall.SetsockoptInt(fd, syscall.SOL_SOCKET, opt, 4<<20)
	}
	if err := syscall.Bind(fd, &syscall.SockaddrLinklayer{Protocol: proto, Ifindex: ifi}); err != nil {
		return -1, fmt.Errorf("bind %s: %w", dev, err)
	}
	return fd, nil
}

func htons(v uint16) uint16 { return v<<8 | v>>8 }

func interfaceIndex(dev string) (int, error) {
	ifi, err := net.InterfaceByName(dev)
	if err != nil {
		return 0, fmt.Errorf("interface %s: %w", dev, err)
	}
	return ifi.Index, nil
}

func setsockoptPacketMreq(fd int, m *unix.PacketMreq) error {
	return unix.SetsockoptPacketMreq(fd, unix.SOL_PACKET, unix.PACKET_ADD_MEMBERSHIP, m)
}
