package enginetest

import (
	"net"
	"sync"
	"sync/atomic"
	"testing"
)

// CountDatagrams counts what arrives on pc until the test ends, then
// closes pc and waits for its reader.
func CountDatagrams(t testing.TB, pc net.PacketConn) *atomic.Int64 {
	t.Helper()
	var n atomic.Int64
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		buf := make([]byte, 2048)
		for {
			if _, _, err := pc.ReadFrom(buf); err != nil {
				return
			}
			n.Add(1)
		}
	}()
	t.Cleanup(func() {
		pc.Close()
		wg.Wait()
	})
	return &n
}
