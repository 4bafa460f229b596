package magicconn

import (
	"encoding/binary"
	"testing"

	"golang.org/x/sys/unix"
)

// cmsg builds one control message the way the kernel lays it out.
func cmsg(level, typ int32, data []byte) []byte {
	b := make([]byte, unix.CmsgSpace(len(data)))
	h := (*unix.Cmsghdr)(unsafePointer(&b[0]))
	h.Level, h.Type = level, typ
	h.SetLen(unix.CmsgLen(len(data)))
	copy(b[unix.CmsgLen(0):], data)
	return b
}

func TestGROSegSize(t *testing.T) {
	u16 := binary.NativeEndian.AppendUint16(nil, 1400)
	u32 := binary.NativeEndian.AppendUint32(nil, 1252)
	other := cmsg(unix.SOL_SOCKET, unix.SO_TIMESTAMP, make([]byte, 16))
	tests := []struct {
		name string
		oob  []byte
		want int
	}{
		{"none", nil, 0},
		{"uint16", cmsg(unix.SOL_UDP, unix.UDP_GRO, u16), 1400},
		{"uint32", cmsg(unix.SOL_UDP, unix.UDP_GRO, u32), 1252},
		{"after another message", append(append([]byte{}, other...), cmsg(unix.SOL_UDP, unix.UDP_GRO, u16)...), 1400},
		{"other only", other, 0},
		{"short data", cmsg(unix.SOL_UDP, unix.UDP_GRO, []byte{1}), 0},
		{"truncated", cmsg(unix.SOL_UDP, unix.UDP_GRO, u32)[:unix.CmsgLen(0)+2], 0},
		{"garbage", []byte{1, 2, 3}, 0},
	}
	for _, tt := range tests {
		if got := groSegSize(tt.oob); got != tt.want {
			t.Errorf("%s: %d, want %d", tt.name, got, tt.want)
		}
	}
	oob := cmsg(unix.SOL_UDP, unix.UDP_GRO, u16)
	if a := testing.AllocsPerRun(100, func() { groSegSize(oob) }); a != 0 {
		t.Errorf("%v allocations per parse", a)
	}
}

func FuzzGROSegSize(f *testing.F) {
	f.Add(cmsg(unix.SOL_UDP, unix.UDP_GRO, []byte{0x78, 0x05}))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, oob []byte) {
		if len(oob) > 0 && len(oob)%8 != 0 {
			oob = append(oob, make([]byte, 8-len(oob)%8)...) // the kernel's buffer is aligned
		}
		groSegSize(oob)
	})
}
