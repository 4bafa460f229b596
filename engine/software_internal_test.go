package engine

import (
	"strings"
	"testing"
)

// TestSoftwareToken: a hello's platform and version are kept only when
// short plain tokens.
func TestSoftwareToken(t *testing.T) {
	tests := []struct{ in, want string }{
		{"linux/amd64", "linux/amd64"},
		{"0.1.0-dev", "0.1.0-dev"},
		{"v1.2.3+git.abc~1", "v1.2.3+git.abc~1"},
		{"", ""},
		{strings.Repeat("a", maxSoftwareToken), strings.Repeat("a", maxSoftwareToken)},
		{strings.Repeat("a", maxSoftwareToken+1), ""},
		{"linux amd64", ""},
		{"1.0\n2.0", ""},
		{"\x1b[31mred", ""},
		{"héllo", ""},
		{"<b>x</b>", ""},
	}
	for _, tt := range tests {
		if got := softwareToken(tt.in); got != tt.want {
			t.Errorf("softwareToken(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
