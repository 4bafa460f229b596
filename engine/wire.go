package engine

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/rayfish/rayfish/engine/key"
	"github.com/rayfish/rayfish/engine/netmap"
)

// ALPN protocol ids. Mesh connections are between roster members; join
// connections come from nodes that are not members yet and may only ask
// to join.
const (
	alpnMesh = "rayfish/1"
	alpnJoin = "rayfish-join/1"
)

// QUIC application error codes.
const (
	codeNormal    = 0x0
	codeLeave     = 0x1 // deliberate leave: admins prune the member
	codeDuplicate = 0x2 // a better connection to the same peer exists
	codeFlood     = 0x3 // control messages too large or too many
	codeShutdown  = 0x4 // daemon stopping
	codeNotMember = 0x5 // no network shared any more
)

// maxCtrlMsg bounds one control message (a roster of 4096 members fits).
const maxCtrlMsg = 2 << 20

// Control message types.
const (
	msgHello     = "hello"
	msgRoster    = "roster"
	msgLeave     = "leave"
	msgEndpoints = "endpoints"
	msgState     = "state"     // the sender's data plane went down (Standby) or up
	msgRename    = "rename"    // a member asks the admins for a new hostname
	msgAdminKey  = "admin_key" // an admin hands the network secret to a new co-admin
	msgKeys      = "keys"      // the current keys of rekeyed networks; secrets awaited
	msgRemoved   = "removed"   // an admin's signed proof that the receiver was removed
)

// ctrlMsg is one message on a mesh connection's control stream.
type ctrlMsg struct {
	Type string `json:"type"`
	// Hello: the sender's roster versions by network id.
	Versions map[key.NetworkPublic]uint64 `json:"versions,omitempty"`
	// Hello: the bulk channel version the sender receives (0 = none).
	Bulk   int                  `json:"bulk,omitempty"`
	Roster *netmap.SignedRoster `json:"roster,omitempty"`
	Leave  *netmap.LeaveNotice  `json:"leave,omitempty"`
	// Endpoints carries signed endpoint records (the sender's own and
	// those it knows of members it shares networks with).
	Endpoints []netmap.EndpointRecord `json:"endpoints,omitempty"`
	// Hello, State: the sender is in standby (ray down).
	Standby bool `json:"standby,omitempty"`
	// Hello: the sender's platform ("linux/amd64") and rayfish version,
	// for people to read in peer details; nothing decides on them. Values
	// that are not short plain tokens are ignored (softwareToken).
	OS      string `json:"os,omitempty"`
	Version string `json:"version,omitempty"`
	// Rename: the hostname the sender asks for in a network.
	Rename *renameReq `json:"rename,omitempty"`
	// AdminKey: the network secret for the receiver, which the roster
	// marks as a co-admin. The connection is encrypted end to end and
	// authenticated with the receiver's node key; the secret is never
	// sent to anyone else.
	AdminKey *adminKey `json:"admin_key,omitempty"`
	// Keys: the key each rekeyed network's roster is signed by now.
	Keys map[key.NetworkPublic]key.NetworkPublic `json:"keys,omitempty"`
	// Keys: networks whose new secret the sender, an admin whose key
	// another admin's rekey replaced, waits for.
	NeedKey []key.NetworkPublic `json:"need_key,omitempty"`
	// Removal (removed, and join answers): proof that an admin removed
	// the receiver from a network while it was away.
	Removal *netmap.RemovalProof `json:"removal,omitempty"`
}

// adminKey hands a network's secret to a co-admin.
type adminKey struct {
	Network key.NetworkPublic  `json:"network"`
	Secret  key.NetworkPrivate `json:"secret"`
}

// renameReq asks an admin to rename the sender (the connection's
// authenticated peer) in Network.
type renameReq struct {
	Network  key.NetworkPublic `json:"network"`
	Hostname string            `json:"hostname"`
}

// joinReq is the first message on a join connection.
type joinReq struct {
	Network  key.NetworkPublic      `json:"network"`
	Secret   []byte                 `json:"secret,omitempty"`
	Hostname string                 `json:"hostname"`
	Record   *netmap.EndpointRecord `json:"record,omitempty"`
	// ByID: the joiner presents only the network id (open networks).
	ByID bool `json:"by_id,omitempty"`
	// Removal: a member whose handshakes are refused asks an admin
	// whether it was removed (the answer carries the signed proof).
	Removal bool `json:"removal,omitempty"`
}

// joinResp answers a joinReq; a Pending answer is followed by a final one.
type joinResp struct {
	Error     string                  `json:"error,omitempty"`
	Pending   bool                    `json:"pending,omitempty"`
	Roster    *netmap.SignedRoster    `json:"roster,omitempty"`
	Endpoints []netmap.EndpointRecord `json:"endpoints,omitempty"`
	// Denial, with Error: an admin denied the request (signed).
	Denial *joinDenial `json:"denial,omitempty"`
	// Removal answers a removal question (joinReq.Removal).
	Removal *netmap.RemovalProof `json:"removal,omitempty"`
}

var errMsgTooBig = errors.New("control message too large")

func writeMsg(w io.Writer, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	if len(b) > maxCtrlMsg {
		return errMsgTooBig
	}
	var hdr [4]byte
	binary.BigEndian.PutUint32(hdr[:], uint32(len(b)))
	if _, err := w.Write(append(hdr[:], b...)); err != nil {
		return err
	}
	return nil
}

func readMsg(r io.Reader, v any) error { return readMsgMax(r, v, maxCtrlMsg) }

// readMsgMax reads one message of at most limit bytes into v. The buffer
// grows with the bytes that arrive, not with what the header announces:
// a sender that announces a large message and sends nothing holds
// nothing.
func readMsgMax(r io.Reader, v any, limit int) error {
	var hdr [4]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return err
	}
	n := binary.BigEndian.Uint32(hdr[:])
	if uint64(n) > uint64(limit) {
		return errMsgTooBig
	}
	var buf bytes.Buffer
	if _, err := io.CopyN(&buf, r, int64(n)); err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return err
	}
	if err := json.Unmarshal(buf.Bytes(), v); err != nil {
		return fmt.Errorf("malformed control message: %w", err)
	}
	return nil
}
