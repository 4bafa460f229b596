package engine

import (
	"bytes"
	"encoding/binary"
	"testing"
)

// FuzzReadMsg feeds arbitrary bytes to the control and join message
// readers: no panic, nothing read past the header's length, and nothing
// over the limit accepted.
func FuzzReadMsg(f *testing.F) {
	msg := func(body string) []byte {
		b := binary.BigEndian.AppendUint32(nil, uint32(len(body)))
		return append(b, body...)
	}
	f.Add(msg(`{"network":"x","hostname":"h"}`))
	f.Add(msg(`{"type":"hello","versions":{},"bulk":1}`))
	f.Add(msg(`{"type":"endpoints","endpoints":[{"node":"","addrs":["1.2.3.4:5"],"seq":1,"sig":""}]}`))
	f.Add([]byte{0xff, 0xff, 0xff, 0xff})
	f.Add([]byte{0, 0, 0x20, 0x01})
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, limit := range []int{maxJoinMsg, 64} {
			r := bytes.NewReader(data)
			var req joinReq
			err := readMsgMax(r, &req, limit)
			read := len(data) - r.Len()
			if len(data) >= 4 {
				n := int(binary.BigEndian.Uint32(data))
				if read > 4+min(n, limit) {
					t.Fatalf("read %d bytes of a %d-byte message (limit %d)", read, n, limit)
				}
				if err == nil && n > limit {
					t.Fatalf("accepted a %d-byte message over the limit %d", n, limit)
				}
			}
			var m ctrlMsg
			readMsgMax(bytes.NewReader(data), &m, limit)
		}
	})
}
