//go:build installers

package installers

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/rayfish/rayfish/test/osuser"
)

// TestDebGroup installs the .deb the way a person does, through sudo (and
// pkexec), and checks that the package creates the group rayfish, adds the
// installing user to it and says so, and that purging removes the group.
func TestDebGroup(t *testing.T) {
	e := getEnv(t)
	if os.Geteuid() != 0 {
		t.Skip("dpkg -i needs root")
	}
	debs, _ := filepath.Glob(e.path("rayfish_" + e.version + "_*.deb"))
	if len(debs) != 1 {
		t.Fatalf("want one .deb in %s, found %v", e.out, debs)
	}
	deb := debs[0]
	if out, _ := exec.Command("dpkg-query", "-W", "-f=${db:Status-Status}", "rayfish").Output(); string(out) == "installed" {
		t.Skip("a rayfish package is already installed on this machine; not replacing it")
	}
	if exec.Command("getent", "group", "rayfish").Run() == nil {
		t.Skip("the group rayfish exists on this machine already; not touching it")
	}
	for _, p := range []string{"/usr/bin/ray", "/usr/bin/rayfish"} {
		if _, err := os.Lstat(p); err == nil {
			t.Skipf("%s exists outside the package system; not overwriting it", p)
		}
	}
	osuser.Ensure(t, "alice")
	t.Cleanup(func() { exec.Command("dpkg", "--purge", "rayfish").Run() })

	// dpkg runs as root under sudo or pkexec, which tell the installing user.
	dpkg := func(env []string, args ...string) string {
		t.Helper()
		cmd := exec.Command("dpkg", args...)
		cmd.Env = append(slices.DeleteFunc(os.Environ(), func(kv string) bool {
			return strings.HasPrefix(kv, "SUDO_USER=") || strings.HasPrefix(kv, "PKEXEC_UID=")
		}), env...)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%s dpkg %s: %v\n%s", env, strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	inGroup := func(user string) bool {
		out := run(t, "id", "-nG", user)
		return slices.Contains(strings.Fields(out), "rayfish")
	}

	out := dpkg([]string{"SUDO_USER=alice"}, "-i", deb)
	for _, want := range []string{"created the group rayfish", "added alice to the group rayfish"} {
		if !strings.Contains(out, want) {
			t.Errorf("dpkg -i as SUDO_USER=alice does not say %q:\n%s", want, out)
		}
	}
	if !inGroup("alice") {
		t.Fatal("alice is not in the group rayfish after dpkg -i as SUDO_USER=alice")
	}
	ent := strings.Split(strings.TrimSpace(run(t, "getent", "group", "rayfish")), ":")
	if gid, err := strconv.Atoi(ent[2]); err != nil || gid >= 1000 {
		t.Errorf("group rayfish %q is not a system group", ent)
	}
	t.Logf("dpkg -i as SUDO_USER=alice: group %s", strings.Join(ent, ":"))

	// Reinstalling keeps the group and its members.
	if out := dpkg([]string{"SUDO_USER=alice"}, "-i", deb); !strings.Contains(out, "alice is in the group rayfish already") {
		t.Errorf("reinstall does not say alice is a member already:\n%s", out)
	}
	if got := strings.TrimSpace(run(t, "getent", "group", "rayfish")); got != strings.Join(ent, ":") {
		t.Errorf("reinstall changed the group: %q, was %q", got, strings.Join(ent, ":"))
	}

	out = dpkg(nil, "--purge", "rayfish")
	if err := exec.Command("getent", "group", "rayfish").Run(); err == nil {
		t.Fatalf("group rayfish still there after dpkg --purge:\n%s", out)
	}
	if inGroup("alice") {
		t.Error("alice still in rayfish after purge")
	}

	// pkexec names the user by uid.
	uid := strings.TrimSpace(run(t, "id", "-u", "alice"))
	if out := dpkg([]string{"PKEXEC_UID=" + uid}, "-i", deb); !strings.Contains(out, "added alice to the group rayfish") {
		t.Errorf("dpkg -i as PKEXEC_UID=%s does not add alice:\n%s", uid, out)
	}
	if !inGroup("alice") {
		t.Error("alice is not in the group rayfish after dpkg -i as PKEXEC_UID")
	}
	// A plain root install adds no one.
	dpkg(nil, "--purge", "rayfish")
	out = dpkg(nil, "-i", deb)
	if strings.Contains(out, "added") || inGroup("alice") {
		t.Errorf("root install added a user:\n%s", out)
	}
	dpkg(nil, "--purge", "rayfish")
	if err := exec.Command("getent", "group", "rayfish").Run(); err == nil {
		t.Error("group rayfish still there after the last purge")
	}
}
