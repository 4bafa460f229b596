package dns

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// The tests here run this test binary again inside `ip netns exec`, the
// way a daemon runs in the project's namespace tests: there,
// /etc/resolv.conf is a bind mount of /etc/netns/NAME/resolv.conf, and
// the host's file must never change.

const helperEnv = "RAYFISH_DNS_NETNS_HELPER"

// TestNetnsHelper is not a test on its own: it is what runs inside the
// namespace.
func TestNetnsHelper(t *testing.T) {
	step := os.Getenv(helperEnv)
	if step == "" {
		t.Skip("helper for TestNetnsResolvConf")
	}
	stateDir := os.Getenv(helperEnv + "_STATE")
	m := New(stateDir, testLog(t))
	switch step {
	case "apply": // and then "crash": no Restore
		if m.Mode() != ModeResolvConf {
			t.Fatalf("mode %q inside a network namespace, want %q", m.Mode(), ModeResolvConf)
		}
		ups, err := m.Upstreams(magic...)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Printf("upstreams=%v\n", ups)
		if err := m.Apply(applyCfg); err != nil {
			t.Fatal(err)
		}
		if !isMountPoint("/etc/resolv.conf") {
			t.Error("/etc/resolv.conf is not a bind mount inside ip netns exec")
		}
		b, err := os.ReadFile("/etc/resolv.conf")
		if err != nil || !strings.Contains(string(b), "nameserver 100.100.100.53") {
			t.Fatalf("/etc/resolv.conf inside the namespace after Apply:\n%s (%v)", b, err)
		}
	case "recover":
		if err := RecoverAfterCrash(stateDir, testLog(t)); err != nil {
			t.Fatal(err)
		}
	case "apply-restore":
		if err := m.Apply(applyCfg); err != nil {
			t.Fatal(err)
		}
		if err := m.Restore(); err != nil {
			t.Fatal(err)
		}
	default:
		t.Fatalf("unknown step %q", step)
	}
}

// hostFile is what must not change about the host's /etc/resolv.conf.
type hostFile struct {
	content []byte
	ino     uint64
	mtime   int64
	link    string
}

func snapshotHost(t *testing.T) hostFile {
	var h hostFile
	var st syscall.Stat_t
	if err := syscall.Lstat("/etc/resolv.conf", &st); err == nil {
		h.ino, h.mtime = st.Ino, st.Mtim.Nano()
	}
	h.link, _ = os.Readlink("/etc/resolv.conf")
	h.content, _ = os.ReadFile("/etc/resolv.conf")
	return h
}

func TestNetnsResolvConf(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root for network namespaces")
	}
	if os.Getenv(helperEnv) != "" {
		t.Skip("inside the helper")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("no ip command")
	}
	ns := fmt.Sprintf("rfdns-%d", os.Getpid())
	nsDir := filepath.Join("/etc/netns", ns)
	if out, err := exec.Command("ip", "netns", "add", ns).CombinedOutput(); err != nil {
		t.Skipf("ip netns add: %v: %s", err, out)
	}
	t.Cleanup(func() {
		exec.Command("ip", "netns", "del", ns).Run()
		os.RemoveAll(nsDir)
	})
	nsFile := filepath.Join(nsDir, "resolv.conf")
	writeFile(t, nsFile, userResolvConf, 0o644)
	host := snapshotHost(t)
	hostSidecar := exists("/etc/resolv.pre-rayfish.conf")
	stateDir := t.TempDir()

	run := func(step string) string {
		t.Helper()
		cmd := exec.Command("ip", "netns", "exec", ns, os.Args[0], "-test.run=^TestNetnsHelper$", "-test.v", "-test.count=1")
		cmd.Env = append(os.Environ(), helperEnv+"="+step, helperEnv+"_STATE="+stateDir)
		out, err := cmd.CombinedOutput()
		if err != nil || !bytes.Contains(out, []byte("--- PASS: TestNetnsHelper")) {
			t.Fatalf("helper %s: %v\n%s", step, err, out)
		}
		if h := snapshotHost(t); !bytes.Equal(h.content, host.content) || h.ino != host.ino || h.mtime != host.mtime || h.link != host.link {
			t.Fatalf("the host's /etc/resolv.conf changed during %s", step)
		}
		return string(out)
	}

	out := run("apply")
	if !strings.Contains(out, "upstreams=[198.18.0.53:53 [2001:db8::53]:53]") {
		t.Errorf("helper saw other upstreams:\n%s", out)
	}
	got := readFile(t, nsFile)
	if !strings.HasPrefix(got, Header) || !strings.Contains(got, "search corp.example lab.example") {
		t.Errorf("namespace resolv.conf after Apply:\n%s", got)
	}
	if !exists(statePath(stateDir)) {
		t.Fatal("no backup after the helper \"crashed\"")
	}
	// A bind-mounted file gets no copy beside it: not in the host's /etc,
	// and not in /etc/netns/NS, where ip netns exec would mount it over
	// /etc/resolv.pre-rayfish.conf.
	if exists(filepath.Join(nsDir, "resolv.pre-rayfish.conf")) {
		t.Error("a backup was written into the namespace's /etc/netns directory")
	}
	if !hostSidecar && exists("/etc/resolv.pre-rayfish.conf") {
		t.Error("a backup was written into the host's /etc")
	}

	run("recover")
	if got := readFile(t, nsFile); got != userResolvConf {
		t.Errorf("namespace resolv.conf after crash recovery:\n%s", got)
	}

	run("apply-restore")
	if got := readFile(t, nsFile); got != userResolvConf {
		t.Errorf("namespace resolv.conf after Apply and Restore:\n%s", got)
	}
	if exists(statePath(stateDir)) {
		t.Error("backup left")
	}
	leftovers, _ := filepath.Glob("/etc/.resolv.conf.rayfish*")
	if len(leftovers) != 0 {
		t.Errorf("temporary files in the host's /etc: %v", leftovers)
	}
}
