// Package osuser makes the real local users and groups that end-to-end
// tests run programs as (the netns tests' CLI users, the GUI run as a
// desktop user). It needs root and changes /etc/passwd and /etc/group: it
// creates what is missing, leaves what exists, and removes what it created
// when the test ends.
package osuser

import (
	"context"
	"os/exec"
	"strconv"
	"strings"
	"testing"
)

// User is a local account.
type User struct {
	Name     string
	UID, GID int
}

// Ensure makes sure the local user name exists (useradd: no home directory,
// no login shell) and that its supplementary groups are exactly groups, each
// created as a system group if missing. Users and groups it created are
// deleted when t ends.
func Ensure(t testing.TB, name string, groups ...string) User {
	t.Helper()
	for _, g := range groups {
		if exec.Command("getent", "group", g).Run() != nil {
			run(t, "groupadd", "--system", g)
			t.Cleanup(func() { exec.Command("groupdel", g).Run() })
		}
	}
	if exec.Command("getent", "passwd", name).Run() != nil {
		run(t, "useradd", "--no-create-home", "--shell", "/usr/sbin/nologin", name)
		t.Cleanup(func() { exec.Command("userdel", name).Run() })
	}
	run(t, "usermod", "-G", strings.Join(groups, ","), name)
	return User{Name: name, UID: id(t, "-u", name), GID: id(t, "-g", name)}
}

// Command returns cmd run as u through runuser(1), which sets the user's
// groups from the group database as a login would.
func (u User) Command(ctx context.Context, name string, args ...string) *exec.Cmd {
	return exec.CommandContext(ctx, "runuser", append([]string{"-u", u.Name, "--", name}, args...)...)
}

func id(t testing.TB, flag, name string) int {
	t.Helper()
	n, err := strconv.Atoi(strings.TrimSpace(run(t, "id", flag, name)))
	if err != nil {
		t.Fatalf("id %s %s: %v", flag, name, err)
	}
	return n
}

func run(t testing.TB, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}
