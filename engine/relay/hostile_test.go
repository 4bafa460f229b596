package relay

import (
	"bufio"
	"context"
	"net/http"
	"runtime"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/rayfish/rayfish/engine/key"
)

// hostileServer accepts one connection on a fresh 127.0.0.1 port, does
// the relay handshake without checking the client's proof, and announces
// info. It returns the URL to dial.
func hostileServer(t *testing.T, info ServerInfo) string {
	t.Helper()
	l, url := newLab(t)
	ln := l.listen(t)
	done := make(chan struct{})
	t.Cleanup(func() {
		ln.Close()
		<-done
	})
	go func() {
		defer close(done)
		conn, err := ln.Accept()
		if err != nil {
			return
		}
		defer conn.Close()
		conn.SetDeadline(time.Now().Add(5 * time.Second))
		br := bufio.NewReader(conn)
		if _, err := http.ReadRequest(br); err != nil {
			return
		}
		bw := bufio.NewWriter(conn)
		bw.WriteString("HTTP/1.1 101 Switching Protocols\r\nUpgrade: " + upgradeProto + "\r\nConnection: Upgrade\r\n\r\n")
		writeFrame(bw, FrameServerChallenge, newChallenge(), nil)
		bw.Flush()
		if _, _, err := ReadFrame(br, make([]byte, 256)); err != nil {
			return
		}
		writeFrame(bw, FrameServerInfo, info.appendTo(nil), nil)
		bw.Flush()
		br.ReadByte() // until the client hangs up
	}()
	return url
}

// TestHugeMaxFrameRefused is issue 12 H2: a relay announcing a 2 GiB
// frame limit must not make the client allocate it.
func TestHugeMaxFrameRefused(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		url := hostileServer(t, ServerInfo{MaxFrame: 2 << 30})

		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		c, err := Dial(ctx, url, key.NewNode(), clientOpts(url, ClientOptions{}))
		if err == nil {
			c.Close() // waits for the reader, which allocates its buffer first
		}
		runtime.ReadMemStats(&after)
		grew := after.TotalAlloc - before.TotalAlloc
		t.Logf("Dial: err %v; heap allocated during Dial: %d KiB", err, grew>>10)
		if grew > 10<<20 {
			t.Errorf("heap grew by %d MiB, want < 10 MiB", grew>>20)
		}
		if err == nil || !strings.Contains(err.Error(), "max frame") {
			t.Errorf("Dial error %v, want a refusal of the max frame", err)
		}
	})
}

func TestParseServerInfoMaxFrameLimit(t *testing.T) {
	for _, tc := range []struct {
		maxFrame int
		ok       bool
	}{
		{minMaxFrame - 1, false},
		{minMaxFrame, true},
		{DefaultMaxFrame, true},
		{MaxFrameLimit, true},
		{MaxFrameLimit + 1, false},
		{2 << 30, false},
		{1<<32 - 1, false},
	} {
		_, err := parseServerInfo(ServerInfo{MaxFrame: tc.maxFrame}.appendTo(nil))
		if (err == nil) != tc.ok {
			t.Errorf("MaxFrame %d: err %v, want ok=%v", tc.maxFrame, err, tc.ok)
		}
	}
}

func TestServerMaxFrameClamped(t *testing.T) {
	s := NewServer(ServerConfig{MaxFrame: 64 << 20})
	defer s.Close()
	if s.cfg.MaxFrame != MaxFrameLimit {
		t.Errorf("MaxFrame %d, want it clamped to %d", s.cfg.MaxFrame, MaxFrameLimit)
	}
}
