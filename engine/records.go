package engine

import (
	"github.com/rayfish/rayfish/engine/key"
	"github.com/rayfish/rayfish/engine/netmap"
)

// maxImportRecords bounds the endpoint records one control message may
// carry (one per member of the largest network would be MaxMembers, but
// gossip sends at most maxGossipRecords).
const maxImportRecords = maxGossipRecords

// newestPerNode keeps one record per node, the one with the highest
// sequence number (the first of equals), in the order nodes first
// appear, and at most maxImportRecords of them. A message repeating one
// record costs one signature check, not one per copy.
func newestPerNode(recs []netmap.EndpointRecord) []netmap.EndpointRecord {
	n := min(len(recs), maxImportRecords)
	at := make(map[key.NodePublic]int, n)
	out := make([]netmap.EndpointRecord, 0, n)
	for _, r := range recs {
		i, seen := at[r.Node]
		switch {
		case !seen && len(out) < maxImportRecords:
			at[r.Node] = len(out)
			out = append(out, r)
		case seen && r.Seq > out[i].Seq:
			out[i] = r
		}
	}
	return out
}

// wantedRecordsLocked returns the records worth verifying: of peers,
// not ours, newer than what we hold.
func (e *Engine) wantedRecordsLocked(recs []netmap.EndpointRecord) []netmap.EndpointRecord {
	var out []netmap.EndpointRecord
	for _, r := range recs {
		if e.isNewRecordLocked(r) {
			out = append(out, r)
		}
	}
	return out
}

func (e *Engine) isNewRecordLocked(r netmap.EndpointRecord) bool {
	if r.Node == e.self {
		return false
	}
	if _, ok := e.peers[r.Node]; !ok {
		return false
	}
	old, ok := e.state.Endpoints[r.Node]
	return !ok || old.Seq < r.Seq
}

// verifiedRecords returns the records whose signatures verify. It runs
// without e.mu: signature checks are the expensive part of an import.
func (e *Engine) verifiedRecords(recs []netmap.EndpointRecord) []netmap.EndpointRecord {
	out := recs[:0]
	for _, r := range recs {
		if err := r.Verify(); err != nil {
			e.log.Warn("bad endpoint record", "node", r.Node.ShortString(), "err", err)
			continue
		}
		out = append(out, r)
	}
	return out
}
