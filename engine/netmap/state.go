package netmap

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/rayfish/rayfish/engine/internal/atomicfile"
	"github.com/rayfish/rayfish/engine/key"
)

// stateVersion is the version of the state file format.
const stateVersion = 1

var errStateNewer = errors.New("written by a newer rayfish version")

// ErrDuplicateName is returned when a network name is already in use.
var ErrDuplicateName = errors.New("a network with this name already exists")

// State is everything netmap persists: the networks this node belongs to
// and the last endpoint records it has seen from other nodes. The file
// holds network secrets and is written with mode 0600. A State is not
// safe for concurrent use.
type State struct {
	Networks []*Network
	// Endpoints holds the newest verified endpoint record per node.
	Endpoints map[key.NodePublic]EndpointRecord
	// Removed lists the networks an admin removed this node from, newest
	// last (at most MaxRemovedNetworks), so status can say so.
	Removed []RemovedNetwork
	// owners decides addresses and names claimed in several networks
	// (see ResolveOwners).
	owners owners
}

// stateFile is the on-disk form of a State.
type stateFile struct {
	Version   int              `json:"version"`
	Networks  []*Network       `json:"networks"`
	Endpoints []EndpointRecord `json:"endpoints,omitempty"`
	Owners    []OwnerClaim     `json:"owners,omitempty"`
	Removed   []RemovedNetwork `json:"removed,omitempty"`
}

// Load reads the state file at path. A missing file is an empty state. A
// file that cannot be parsed, or whose rosters or keys do not verify, is
// an error: the caller must not overwrite it with an empty state.
// Endpoint records that no longer verify are dropped, since they are only
// a cache of what peers gossip.
func Load(path string) (*State, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return &State{Endpoints: map[key.NodePublic]EndpointRecord{}}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read state file %s: %w", path, err)
	}
	s, err := parseState(data)
	if err != nil {
		return nil, fmt.Errorf("state file %s: %w", path, err)
	}
	return s, nil
}

func parseState(data []byte) (*State, error) {
	var f stateFile
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, fmt.Errorf("corrupt: %w", err)
	}
	switch {
	case f.Version > stateVersion:
		return nil, fmt.Errorf("%w (format %d, this one reads %d)", errStateNewer, f.Version, stateVersion)
	case f.Version < 1:
		return nil, errors.New("corrupt: no format version")
	}
	s := &State{Endpoints: make(map[key.NodePublic]EndpointRecord, len(f.Endpoints))}
	for i, n := range f.Networks {
		if n == nil {
			return nil, fmt.Errorf("corrupt: network %d is empty", i)
		}
		if !ValidNetworkName(n.Name) {
			return nil, fmt.Errorf("corrupt: invalid network name %q", n.Name)
		}
		r, err := n.Signed.Verify(n.ID)
		if err != nil {
			return nil, fmt.Errorf("network %q: %w", n.Name, err)
		}
		n.Roster = r
		if n.IsAdmin() && n.Secret.Public() != n.Key() {
			return nil, fmt.Errorf("network %q: secret does not match the network's current key", n.Name)
		}
		if err := s.Add(n); err != nil {
			return nil, fmt.Errorf("corrupt: %w", err)
		}
	}
	s.loadOwners(f.Owners)
	for _, r := range f.Removed {
		s.recordRemoved(r)
	}
	for _, r := range f.Endpoints {
		if r.Verify() == nil {
			if old, ok := s.Endpoints[r.Node]; !ok || old.Seq < r.Seq {
				s.Endpoints[r.Node] = r
			}
		}
	}
	return s, nil
}

// Save writes s to path atomically with mode 0600, creating the directory
// (mode 0700) if needed.
func (s *State) Save(path string) error {
	data, err := s.Marshal()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("save state: %w", err)
	}
	if err := atomicfile.WriteFile(path, data, 0o600); err != nil {
		return fmt.Errorf("save state: %w", err)
	}
	return nil
}

// Marshal encodes the state as Save writes it, so that a caller can take
// the snapshot under its lock and write the file outside it.
func (s *State) Marshal() ([]byte, error) {
	f := stateFile{Version: stateVersion, Networks: s.Networks, Owners: s.OwnerClaims(), Removed: s.Removed}
	if f.Networks == nil {
		f.Networks = []*Network{}
	}
	for _, r := range s.Endpoints {
		f.Endpoints = append(f.Endpoints, r)
	}
	slices.SortFunc(f.Endpoints, func(a, b EndpointRecord) int { return bytes.Compare(a.Node[:], b.Node[:]) })
	data, err := json.MarshalIndent(f, "", "\t")
	if err != nil {
		return nil, fmt.Errorf("save state: %w", err)
	}
	return append(data, '\n'), nil
}

// ByName returns the network with the given local name (case and
// surrounding space ignored), or nil.
func (s *State) ByName(name string) *Network {
	name = strings.ToLower(strings.TrimSpace(name))
	for _, n := range s.Networks {
		if n.Name == name {
			return n
		}
	}
	return nil
}

// ByID returns the network with the given id, or nil.
func (s *State) ByID(id key.NetworkPublic) *Network {
	for _, n := range s.Networks {
		if n.ID == id {
			return n
		}
	}
	return nil
}

// Add adds a network, for instance one just joined with FromRoster. Its
// name and id must both be new; on a name clash the caller may rename n
// and try again.
func (s *State) Add(n *Network) error {
	if !ValidNetworkName(n.Name) {
		return fmt.Errorf("invalid network name %q: %w", n.Name, errNetworkName)
	}
	if n.Roster == nil {
		return fmt.Errorf("network %q has no roster", n.Name)
	}
	if old := s.ByID(n.ID); old != nil {
		return fmt.Errorf("already a member of network %s (as %q)", n.ID, old.Name)
	}
	if s.ByName(n.Name) != nil {
		return fmt.Errorf("network %q: %w", n.Name, ErrDuplicateName)
	}
	s.Networks = append(s.Networks, n)
	return nil
}

// Create creates a network (see Create) and adds it to s.
func (s *State) Create(name string, open bool, creator key.NodePublic, hostname string, now time.Time) (*Network, error) {
	norm, err := NormalizeNetworkName(name)
	if err != nil {
		return nil, err
	}
	if s.ByName(norm) != nil {
		return nil, fmt.Errorf("network %q: %w", norm, ErrDuplicateName)
	}
	n, err := Create(norm, open, creator, hostname, now)
	if err != nil {
		return nil, err
	}
	if err := s.Add(n); err != nil {
		return nil, err
	}
	return n, nil
}

// RemoveNetwork forgets the network with the given id.
func (s *State) RemoveNetwork(id key.NetworkPublic) bool {
	i := slices.IndexFunc(s.Networks, func(n *Network) bool { return n.ID == id })
	if i < 0 {
		return false
	}
	s.Networks = slices.Delete(s.Networks, i, i+1)
	return true
}

// SetEndpoint verifies r and keeps it if its Seq is higher than that of
// the record held for the same node. It does not check that the node
// shares a network with us; PruneEndpoints drops strangers.
func (s *State) SetEndpoint(r EndpointRecord) (changed bool, err error) {
	if err := r.Verify(); err != nil {
		return false, err
	}
	if old, ok := s.Endpoints[r.Node]; ok && old.Seq >= r.Seq {
		return false, nil
	}
	if s.Endpoints == nil {
		s.Endpoints = make(map[key.NodePublic]EndpointRecord)
	}
	s.Endpoints[r.Node] = r
	return true, nil
}

// PruneEndpoints drops endpoint records of nodes that are in none of the
// networks' rosters, and reports how many it dropped.
func (s *State) PruneEndpoints() int {
	dropped := 0
	for node := range s.Endpoints {
		if !s.isMember(node) {
			delete(s.Endpoints, node)
			dropped++
		}
	}
	return dropped
}

func (s *State) isMember(node key.NodePublic) bool {
	for _, n := range s.Networks {
		if n.Roster != nil {
			if _, ok := n.Roster.Member(node); ok {
				return true
			}
		}
	}
	return false
}
