package netmap

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/rayfish/rayfish/engine/key"
)

// Name limits.
const (
	// MaxHostnameLen is the longest hostname: one DNS label.
	MaxHostnameLen = 63
	// MaxNetworkNameLen is the longest network name.
	MaxNetworkNameLen = 32
)

// SanitizeHostname turns any string (typically os.Hostname) into a valid
// roster hostname: it keeps the first dot-separated label, lower-cases it,
// replaces every character outside [a-z0-9-] with '-', trims leading and
// trailing '-' and cuts it to 63 characters. An empty result becomes
// "node".
func SanitizeHostname(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '.'); i >= 0 {
		s = s[:i]
	}
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		if b.Len() >= MaxHostnameLen {
			break
		}
		if isHostChar(r) {
			b.WriteRune(r)
		} else {
			b.WriteByte('-')
		}
	}
	out := strings.Trim(b.String(), "-")
	if out == "" {
		return "node"
	}
	return out
}

func isHostChar(r rune) bool {
	return r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-'
}

// ValidHostname reports whether s is a valid roster hostname: a DNS label
// of 1 to 63 characters from [a-z0-9-] that neither starts nor ends with
// '-'.
func ValidHostname(s string) bool {
	if len(s) == 0 || len(s) > MaxHostnameLen || s[0] == '-' || s[len(s)-1] == '-' {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isHostChar(rune(s[i])) {
			return false
		}
	}
	return true
}

// uniqueHostname returns base if it is free, else the first free one of
// base-1, base-2, ..., shortening base so the result stays a valid label.
// base must be valid; taken reports whether a name is in use.
func uniqueHostname(base string, taken func(string) bool) string {
	if !taken(base) {
		return base
	}
	for i := 1; ; i++ {
		suffix := "-" + strconv.Itoa(i)
		b := base
		if len(b)+len(suffix) > MaxHostnameLen {
			b = strings.TrimRight(b[:MaxHostnameLen-len(suffix)], "-")
		}
		if name := b + suffix; !taken(name) {
			return name
		}
	}
}

// errNetworkName explains the rule for network names.
var errNetworkName = errors.New("a network name is 1 to 32 characters of a-z, 0-9, '-' and '_'")

// NormalizeNetworkName lower-cases and trims a user-supplied network name
// and checks it.
func NormalizeNetworkName(s string) (string, error) {
	n := strings.ToLower(strings.TrimSpace(s))
	if !ValidNetworkName(n) {
		return "", fmt.Errorf("invalid network name %q: %w", s, errNetworkName)
	}
	return n, nil
}

// ValidNetworkName reports whether s is a valid (already lower-case)
// network name: 1 to 32 characters of [a-z0-9-_].
func ValidNetworkName(s string) bool {
	if len(s) == 0 || len(s) > MaxNetworkNameLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// ErrHostnameTaken is returned when a member asks for a name another
// member holds.
var ErrHostnameTaken = errors.New("hostname is taken by another member")

// CheckRename reports whether member node may be called name in r: name
// must be a valid hostname that no other member holds.
func (r *Roster) CheckRename(node key.NodePublic, name string) error {
	if !ValidHostname(name) {
		return fmt.Errorf("invalid hostname %q: 1 to 63 characters of a-z, 0-9 and '-', not starting or ending with '-'", name)
	}
	if _, ok := r.Member(node); !ok {
		return fmt.Errorf("node %s: %w", node.ShortString(), ErrNotMember)
	}
	for _, m := range r.Members {
		if m.Hostname == name && m.Node != node {
			return fmt.Errorf("%q in %q: %w (%s)", name, r.Name, ErrHostnameTaken, m.Node.ShortString())
		}
	}
	return nil
}

// SetHostname renames member node (admin only). An unchanged name signs
// no new roster; a taken or invalid one is an error that changes nothing.
func (n *Network) SetHostname(node key.NodePublic, name string, now time.Time) (changed bool, err error) {
	if err := n.requireAdmin(); err != nil {
		return false, err
	}
	if err := n.Roster.CheckRename(node, name); err != nil {
		return false, err
	}
	i, _ := n.Roster.find(node)
	if n.Roster.Members[i].Hostname == name {
		return false, nil
	}
	r := n.Roster.clone()
	r.Members[i].Hostname = name
	if err := n.commit(r, now); err != nil {
		return false, err
	}
	return true, nil
}
