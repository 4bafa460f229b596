package relay

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/rayfish/rayfish/engine/key"
)

// FrameType is the first byte of a frame.
type FrameType byte

// Frame types. "Client" and "server" say who sends each one.
const (
	// FrameServerChallenge (server, first frame): 32 random bytes the
	// client signs.
	FrameServerChallenge FrameType = 0x01
	// FrameClientAuth (client, answer to the challenge): node public key
	// (32) and ed25519 signature (64); see authMessage.
	FrameClientAuth FrameType = 0x02
	// FrameServerInfo (server, after a successful auth): max frame payload
	// (uint32), rate limit in bytes/s (uint64, 0 = none) and burst in
	// bytes (uint64). Later versions may append fields.
	FrameServerInfo FrameType = 0x03
	// FrameSendPacket (client): destination key (32) and packet.
	FrameSendPacket FrameType = 0x04
	// FrameRecvPacket (server): source key (32) and packet.
	FrameRecvPacket FrameType = 0x05
	// FramePeerGone (server): key (32) of a node that this client sent
	// to and that is no longer connected to the relay.
	FramePeerGone FrameType = 0x06
	// FramePing (either side): 8 bytes the other side echoes in a Pong.
	FramePing FrameType = 0x07
	// FramePong (either side): the 8 bytes of the Ping it answers.
	FramePong FrameType = 0x08
	// FrameHealth (server): UTF-8 text describing a problem with the
	// relay; empty means healthy again. The connection stays open.
	FrameHealth FrameType = 0x09
	// FrameError (server): UTF-8 reason; the server closes the
	// connection after it.
	FrameError FrameType = 0x0a
)

// String names the frame type for errors and logs.
func (t FrameType) String() string {
	switch t {
	case FrameServerChallenge:
		return "ServerChallenge"
	case FrameClientAuth:
		return "ClientAuth"
	case FrameServerInfo:
		return "ServerInfo"
	case FrameSendPacket:
		return "SendPacket"
	case FrameRecvPacket:
		return "RecvPacket"
	case FramePeerGone:
		return "PeerGone"
	case FramePing:
		return "Ping"
	case FramePong:
		return "Pong"
	case FrameHealth:
		return "Health"
	case FrameError:
		return "Error"
	}
	return fmt.Sprintf("FrameType(%#x)", byte(t))
}

const (
	frameHeaderLen  = 5 // type (1) and big-endian payload length (4)
	keyLen          = len(key.NodePublic{})
	challengeLen    = 32
	pingLen         = 8
	serverInfoLen   = 4 + 8 + 8
	maxErrorTextLen = 256
)

// DefaultMaxFrame is the default maximum frame payload: 64 KiB. A
// SendPacket carries at most DefaultMaxFrame-32 bytes of packet.
const DefaultMaxFrame = 64 << 10

// MaxFrameLimit is the largest frame payload limit a client accepts from
// a relay and a server may be configured with: the client allocates its
// read buffer at the announced size, so a hostile relay must not be able
// to announce gigabytes.
const MaxFrameLimit = 1 << 20

// minMaxFrame is the smallest usable frame payload limit: it must hold a
// ClientAuth frame and a useful packet.
const minMaxFrame = 1 << 10

// ErrFrameTooLarge is returned by ReadFrame for a frame whose payload does
// not fit the caller's buffer. The stream is then out of sync: close it.
var ErrFrameTooLarge = errors.New("relay: frame too large")

// writeFrame writes a frame whose payload is a followed by b.
func writeFrame(bw *bufio.Writer, typ FrameType, a, b []byte) error {
	n := uint32(len(a) + len(b))
	bw.WriteByte(byte(typ))
	bw.WriteByte(byte(n >> 24))
	bw.WriteByte(byte(n >> 16))
	bw.WriteByte(byte(n >> 8))
	bw.WriteByte(byte(n))
	bw.Write(a)
	_, err := bw.Write(b)
	return err // bufio.Writer errors are sticky: the last one reports all
}

// appendFrame appends a frame of type typ carrying a then b to dst.
func appendFrame(dst []byte, typ FrameType, a, b []byte) []byte {
	n := uint32(len(a) + len(b))
	dst = append(dst, byte(typ), byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
	dst = append(dst, a...)
	return append(dst, b...)
}

// ReadFrame reads one frame into buf and returns its type and payload,
// which aliases buf and is valid until the next call. A payload longer than
// len(buf) is an ErrFrameTooLarge. A stream that ends cleanly between
// frames returns io.EOF; one that ends inside a frame returns
// io.ErrUnexpectedEOF. It does not allocate when r is a *bufio.Reader or
// len(buf) >= 5.
func ReadFrame(r io.Reader, buf []byte) (FrameType, []byte, error) {
	var typ FrameType
	var n uint32
	if br, ok := r.(*bufio.Reader); ok && br.Size() >= frameHeaderLen {
		hdr, err := br.Peek(frameHeaderLen)
		if err != nil {
			if err == io.EOF && len(hdr) > 0 {
				err = io.ErrUnexpectedEOF
			}
			return 0, nil, err
		}
		typ, n = FrameType(hdr[0]), binary.BigEndian.Uint32(hdr[1:])
		br.Discard(frameHeaderLen)
	} else {
		var hdr []byte
		if len(buf) >= frameHeaderLen {
			hdr = buf[:frameHeaderLen]
		} else {
			hdr = make([]byte, frameHeaderLen)
		}
		if _, err := io.ReadFull(r, hdr); err != nil {
			return 0, nil, err
		}
		typ, n = FrameType(hdr[0]), binary.BigEndian.Uint32(hdr[1:])
	}
	if uint64(n) > uint64(len(buf)) {
		return typ, nil, fmt.Errorf("%w: %v frame of %d bytes, limit %d", ErrFrameTooLarge, typ, n, len(buf))
	}
	payload := buf[:n]
	if _, err := io.ReadFull(r, payload); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return typ, nil, err
	}
	return typ, payload, nil
}

// splitKey splits a payload that starts with a node key.
func splitKey(p []byte) (key.NodePublic, []byte, bool) {
	var k key.NodePublic
	if len(p) < keyLen {
		return k, nil, false
	}
	copy(k[:], p)
	return k, p[keyLen:], true
}

// ServerInfo is what the server tells a client after it authenticated.
type ServerInfo struct {
	// MaxFrame is the largest frame payload the server accepts; a packet
	// may be MaxFrame-32 bytes.
	MaxFrame int
	// RateBytesPerSec and RateBurst are the client's send rate limit; 0
	// means unlimited.
	RateBytesPerSec uint64
	RateBurst       uint64
}

func (si ServerInfo) appendTo(b []byte) []byte {
	b = binary.BigEndian.AppendUint32(b, uint32(si.MaxFrame))
	b = binary.BigEndian.AppendUint64(b, si.RateBytesPerSec)
	return binary.BigEndian.AppendUint64(b, si.RateBurst)
}

func parseServerInfo(p []byte) (ServerInfo, error) {
	if len(p) < serverInfoLen {
		return ServerInfo{}, fmt.Errorf("relay: ServerInfo of %d bytes, want at least %d", len(p), serverInfoLen)
	}
	si := ServerInfo{
		MaxFrame:        int(binary.BigEndian.Uint32(p[0:4])),
		RateBytesPerSec: binary.BigEndian.Uint64(p[4:12]),
		RateBurst:       binary.BigEndian.Uint64(p[12:20]),
	}
	if si.MaxFrame < minMaxFrame {
		return ServerInfo{}, fmt.Errorf("relay: server max frame %d is below %d", si.MaxFrame, minMaxFrame)
	}
	if si.MaxFrame > MaxFrameLimit {
		return ServerInfo{}, fmt.Errorf("relay: server max frame %d is above the %d-byte limit", si.MaxFrame, MaxFrameLimit)
	}
	return si, nil
}

// errorText makes a peer-supplied message safe to show: at most 256
// bytes, invalid UTF-8 and non-printable characters replaced by '?'.
func errorText(p []byte) string {
	if len(p) > maxErrorTextLen {
		p = p[:maxErrorTextLen]
	}
	return strings.Map(func(r rune) rune {
		if r == utf8.RuneError || !unicode.IsPrint(r) {
			return '?'
		}
		return r
	}, string(p))
}
