//go:build !windows

package client_test

import (
	"context"
	"errors"
	"io"
	"net"
	"path/filepath"
	"slices"
	"sync"
	"testing"

	"github.com/rayfish/rayfish/engine/localapi"
	"github.com/rayfish/rayfish/engine/localapi/apitype"
	"github.com/rayfish/rayfish/engine/localapi/client"
)

// steps is a Backend whose Status walks through a list, one status per
// notification, and whose subscription closes after the last (the daemon
// stopping). Other methods panic (nil interface): the watch needs none.
type steps struct {
	localapi.Backend
	mu  sync.Mutex
	sts []*apitype.Status
}

func (s *steps) Status() *apitype.Status {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.sts[0]
	if len(s.sts) > 1 {
		s.sts = s.sts[1:]
	}
	return st
}

func (s *steps) Subscribe() (<-chan struct{}, func()) {
	ch := make(chan struct{}, len(s.sts))
	for range s.sts {
		ch <- struct{}{}
	}
	close(ch)
	return ch, func() {}
}

// TestWatchQuiet: over a real socket, WatchQuiet gets no event for a
// counters-only change, Watch does; both get the path change.
func TestWatchQuiet(t *testing.T) {
	peer := func(rx uint64, path string) []apitype.Peer {
		return []apitype.Peer{{ID: "a", Online: true, Path: path, RxBytes: rx}}
	}
	for _, tt := range []struct {
		quiet bool
		want  []string
	}{
		{false, []string{"snapshot", "peer", "peer", "stopping"}},
		{true, []string{"snapshot", "peer", "stopping"}},
	} {
		sock := filepath.Join(t.TempDir(), "s")
		ln, err := net.Listen("unix", sock)
		if err != nil {
			t.Fatal(err)
		}
		srv := localapi.New(&steps{sts: []*apitype.Status{
			{State: apitype.StateUp, Peers: peer(1, apitype.PathDirect)},
			{State: apitype.StateUp, Peers: peer(2, apitype.PathDirect)},
			{State: apitype.StateUp, Peers: peer(3, apitype.PathRelay)},
		}}, nil)
		go srv.Serve(ln)
		c := client.New(sock)
		watch := c.Watch
		if tt.quiet {
			watch = c.WatchQuiet
		}
		var got []string
		err = watch(context.Background(), func(ev apitype.WatchEvent) error {
			got = append(got, ev.Type)
			return nil
		})
		srv.Close()
		if !errors.Is(err, io.EOF) {
			t.Fatalf("quiet=%v: watch ended with %v", tt.quiet, err)
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("quiet=%v: events %v, want %v", tt.quiet, got, tt.want)
		}
	}
}
