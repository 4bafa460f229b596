package ipc

import "testing"

func TestCanonicalPipe(t *testing.T) {
	tests := []struct{ in, want string }{
		{`\\.\pipe\rayfish`, `\\.\PIPE\rayfish`},
		{`\\.\Pipe\ray fish`, `\\.\PIPE\ray fish`},
		{`\\.\PIPE\rayfish`, `\\.\PIPE\rayfish`},
		{`\\.\pipe\`, `\\.\pipe\`},
		{`/run/rayfish/rayfish.sock`, `/run/rayfish/rayfish.sock`},
		{`C:\pipe\x`, `C:\pipe\x`},
	}
	for _, tt := range tests {
		if got := canonicalPipe(tt.in); got != tt.want {
			t.Errorf("canonicalPipe(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
