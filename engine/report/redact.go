package report

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
)

// Redacted replaces a removed secret.
const Redacted = "[REDACTED]"

// rule is one redaction: every match of re is replaced by repl (which may
// use $1-style groups). The regexp runs only if may, a cheap scan of the
// text and its lowercase form, says it could match: most log lines hold
// no secret, and regexp is slow on megabytes.
type rule struct {
	re   *regexp.Regexp
	repl string
	may  func(s, lower string) bool
}

// rules are applied in order. Each replacement is itself left alone by
// every rule, so redacting twice changes nothing (see Redact).
var rules = []rule{
	// Private keys in their text form (key.NodePrivate/NetworkPrivate
	// MarshalText): "nodekey:" or "netkey:" and a base32 seed.
	{
		regexp.MustCompile(`(?i)(nodekey|netkey):[a-z2-7=]+`), "${1}:" + Redacted,
		func(_, l string) bool { return strings.Contains(l, "key:") },
	},
	// Invite codes (netmap.Invite.Encode): they carry the join secret.
	{
		regexp.MustCompile(`(?i)rayfish1-[a-z2-7=]+`), "rayfish1-" + Redacted,
		func(_, l string) bool { return strings.Contains(l, "rayfish1-") },
	},
	// "secret=…", "private_key: …", "token=…" and the like, in logfmt,
	// JSON or prose. A value in brackets (a printed byte array) is
	// removed whole.
	{
		regexp.MustCompile(`(?i)((?:secret|private_?key|privkey|password|passwd|token|psk|seed)"?\s*[:=]\s*"?)(\[[^\]]*\]|[^\s",}\]]+)`), "${1}" + Redacted,
		func(_, l string) bool {
			for _, w := range []string{"secret", "priv", "passw", "token", "psk", "seed"} {
				if strings.Contains(l, w) {
					return true
				}
			}
			return false
		},
	},
	// 16 bytes or more in hex: secrets, seeds, hashes of them.
	{
		regexp.MustCompile(`(?i)[0-9a-f]{32,}`), "[REDACTED-HEX]",
		func(_, l string) bool { return hasRun(l, 32, isHex, false) },
	},
	// 30 bytes or more in padded base64 (how encoding/json writes a
	// []byte such as a raw ed25519 key).
	{
		regexp.MustCompile(`[A-Za-z0-9+/]{40,}={1,2}`), "[REDACTED-B64]",
		func(s, _ string) bool { return hasRun(s, 40, isBase64, true) },
	},
}

func isHex(c byte) bool { return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' }

func isBase64(c byte) bool {
	return 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '+' || c == '/'
}

// hasRun reports whether s has n consecutive bytes in the class, followed
// by '=' if padded.
func hasRun(s string, n int, in func(byte) bool, padded bool) bool {
	run := 0
	for i := 0; i < len(s); i++ {
		switch {
		case in(s[i]):
			run++
			if run >= n && !padded {
				return true
			}
		case padded && s[i] == '=' && run >= n:
			return true
		default:
			run = 0
		}
	}
	return false
}

// Redact removes secrets from s: private keys in text form
// ("nodekey:…", "netkey:…"), invite codes ("rayfish1-…"), values of
// secret-looking keys ("secret=…", "token: …"), runs of 32 or more hex
// digits and long padded base64. Node and network ids (public keys, 52
// base32 characters without a prefix) stay. Redact is idempotent.
func Redact(s string) string {
	// Rules can expose new matches for each other (a replacement can
	// complete a keyword pattern); iterate to a fixed point, which the
	// fuzz test checks is reached.
	for range 4 {
		next := s
		for _, r := range rules {
			if r.may(next, strings.ToLower(next)) {
				next = r.re.ReplaceAllString(next, r.repl)
			}
		}
		if next == s {
			break
		}
		s = next
	}
	return s
}

// secretKey reports whether a JSON object key names a secret, whatever
// its case or separators ("private_key", "inviteCode", "Secret").
func secretKey(k string) bool {
	k = strings.ToLower(strings.NewReplacer("_", "", "-", "", " ", "").Replace(k))
	switch k {
	case "code", "invite", "invitecode", "nodekey", "netkey", "networkkey", "seed", "psk", "key":
		return true
	}
	for _, word := range []string{"secret", "private", "privkey", "password", "passwd", "token"} {
		if strings.Contains(k, word) {
			return true
		}
	}
	return false
}

// RedactJSON decodes a JSON document, replaces the value of every key
// that names a secret (see secretKey) with Redacted, passes every other
// string (keys included) through Redact, and returns it indented.
func RedactJSON(doc []byte) ([]byte, error) {
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("report: redact JSON: %w", err)
	}
	out, err := json.MarshalIndent(redactValue(v), "", "  ")
	if err != nil {
		return nil, fmt.Errorf("report: redact JSON: %w", err)
	}
	return append(out, '\n'), nil
}

func redactValue(v any) any {
	switch v := v.(type) {
	case string:
		return Redact(v)
	case []any:
		for i := range v {
			v[i] = redactValue(v[i])
		}
		return v
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, val := range v {
			if secretKey(k) && val != nil {
				out[Redact(k)] = Redacted
				continue
			}
			out[Redact(k)] = redactValue(val)
		}
		return out
	default: // numbers, bools, null
		return v
	}
}
