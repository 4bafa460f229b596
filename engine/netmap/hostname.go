package netmap

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
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
