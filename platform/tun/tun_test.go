package tun

import (
	"strings"
	"testing"
)

func TestValidateName(t *testing.T) {
	tests := []struct {
		goos, name string
		ok         bool
	}{
		{"linux", "rayfish0", true},
		{"linux", "rftest0", true},
		{"linux", "abcdefghijklmno", true},
		{"linux", "abcdefghijklmnop", false}, // 16 bytes
		{"linux", "a/b", false},
		{"linux", "a b", false},
		{"linux", "a:b", false},
		{"linux", "..", false},
		{"linux", "", false},
		{"darwin", "utun", true},
		{"darwin", "utun7", true},
		{"darwin", "utun123", true},
		{"darwin", "utun-1", false},
		{"darwin", "rayfish0", false},
		{"darwin", "utunx", false},
		{"darwin", "utun123456", false},
		{"windows", "rayfish", true},
		{"windows", "Rayfish Tunnel", true},
		{"windows", `a\b`, false},
		{"windows", strings.Repeat("x", 65), false},
	}
	for _, tt := range tests {
		err := ValidateName(tt.goos, tt.name)
		if (err == nil) != tt.ok {
			t.Errorf("ValidateName(%q, %q) = %v, want ok=%v", tt.goos, tt.name, err, tt.ok)
		}
	}
}

func TestDefaultNameValid(t *testing.T) {
	if err := ValidateName(goos, DefaultName); err != nil {
		t.Fatal(err)
	}
}

func TestHeadroom(t *testing.T) {
	if Headroom < VirtioNetHdrLen || Headroom < UtunHdrLen {
		t.Errorf("Headroom %d smaller than a per-OS header (%d, %d)", Headroom, VirtioNetHdrLen, UtunHdrLen)
	}
	if Headroom%8 != 0 {
		t.Errorf("Headroom %d leaves the IP header unaligned", Headroom)
	}
}

func TestCreateRejects(t *testing.T) {
	for _, tt := range []struct {
		name string
		mtu  int
	}{
		{"rftest0", 0},
		{"rftest0", 1279},
		{"rftest0", 65536},
		{"this-name-is-far-too-long-for-any-os-" + strings.Repeat("x", 64), 1400},
	} {
		if dev, err := Create(tt.name, tt.mtu); err == nil {
			dev.Close()
			t.Errorf("Create(%q, %d) succeeded", tt.name, tt.mtu)
		}
	}
}

func TestLUIDOtherOS(t *testing.T) {
	if goos == "windows" {
		t.Skip("real LUIDs on Windows")
	}
	if _, err := LUID(nil); err == nil {
		t.Error("LUID succeeded off Windows")
	}
}
