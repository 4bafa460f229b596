package ipc

import (
	"context"
	"errors"
	"reflect"
	"regexp"
	"strings"
	"testing"
)

func TestContext(t *testing.T) {
	ctx := context.Background()
	if _, ok := CredFrom(ctx); ok {
		t.Error("CredFrom(empty) ok")
	}
	if err := CredErr(ctx); err == nil {
		t.Error("CredErr(empty) = nil")
	}

	want := Cred{UID: 1000, PID: 42, Username: "alice"}
	ctx = NewContext(ctx, want)
	got, ok := CredFrom(ctx)
	if !ok || !reflect.DeepEqual(got, want) {
		t.Errorf("CredFrom = %+v, %v; want %+v", got, ok, want)
	}
	if err := CredErr(ctx); err != nil {
		t.Errorf("CredErr = %v", err)
	}

	failed := context.WithValue(context.Background(), credKey{}, credResult{err: errors.New("boom")})
	if _, ok := CredFrom(failed); ok {
		t.Error("CredFrom ok after a failure")
	}
	if err := CredErr(failed); err == nil || err.Error() != "boom" {
		t.Errorf("CredErr = %v, want boom", err)
	}
}

func TestCredString(t *testing.T) {
	for _, tt := range []struct {
		c    Cred
		want string
	}{
		{Cred{UID: 0, PID: 1, Username: "root", IsAdmin: true}, "root (uid 0, pid 1, admin true)"},
		{Cred{UID: 1000, PID: 7}, "? (uid 1000, pid 7, admin false)"},
		{Cred{UID: -1, PID: 9, Username: `HOST\bob`, SID: "S-1-5-21-1-2-3-1001"}, `HOST\bob (sid S-1-5-21-1-2-3-1001, pid 9, admin false)`},
	} {
		if got := tt.c.String(); got != tt.want {
			t.Errorf("String() = %q, want %q", got, tt.want)
		}
	}
}

// TestPipeSDDL checks the named pipe's security descriptor: owner SYSTEM, a
// protected DACL, full access for SYSTEM and Administrators, read/write for
// interactive users, and no one else.
func TestPipeSDDL(t *testing.T) {
	m := regexp.MustCompile(`^O:(\w+)G:(\w+)D:(P?)((?:\([^()]*\))+)$`).FindStringSubmatch(PipeSDDL)
	if m == nil {
		t.Fatalf("unexpected SDDL shape: %s", PipeSDDL)
	}
	if m[1] != "SY" || m[2] != "SY" {
		t.Errorf("owner/group = %s/%s, want SY/SY", m[1], m[2])
	}
	if m[3] != "P" {
		t.Error("DACL not protected: it would inherit ACEs from the parent")
	}
	aces := strings.Split(strings.Trim(m[4], "()"), ")(")
	grants := map[string]string{}
	for _, ace := range aces {
		f := strings.Split(ace, ";")
		if len(f) != 6 {
			t.Fatalf("malformed ACE %q", ace)
		}
		if f[0] != "A" {
			t.Errorf("ACE %q is not an allow ACE", ace)
		}
		if _, dup := grants[f[5]]; dup {
			t.Errorf("two ACEs for %s", f[5])
		}
		grants[f[5]] = f[2]
	}
	want := map[string]string{"SY": "GA", "BA": "GA", "IU": "GRGW"}
	for sid, rights := range want {
		if grants[sid] != rights {
			t.Errorf("%s has %q, want %q", sid, grants[sid], rights)
		}
	}
	for sid := range grants {
		if _, ok := want[sid]; !ok {
			t.Errorf("unexpected ACE for %s", sid)
		}
	}
}
