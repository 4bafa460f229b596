package ipc

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// dialEnv makes the test binary, run as a child, connect to the socket it
// names and exit: see TestMain.
const dialEnv = "RAYFISH_IPC_TEST_DIAL"

func TestMain(m *testing.M) {
	if path := os.Getenv(dialEnv); path != "" {
		os.Exit(dialHelper(path))
	}
	os.Exit(m.Run())
}

// dialHelper connects to path, says hello and waits for the parent to hang up.
func dialHelper(path string) int {
	c, err := net.Dial("unix", path)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 3
	}
	defer c.Close()
	if _, err := c.Write([]byte("hi")); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 3
	}
	io.Copy(io.Discard, c)
	return 0
}

func TestListenCreates(t *testing.T) {
	path := filepath.Join(t.TempDir(), "run", "rayfish", "rayfish.sock")
	ln, err := Listen(path)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Type() != fs.ModeSocket || fi.Mode().Perm() != 0o666 {
		t.Errorf("socket mode %v, want socket 0666", fi.Mode())
	}
	di, err := os.Stat(filepath.Dir(path))
	if err != nil {
		t.Fatal(err)
	}
	if di.Mode().Perm() != 0o755 {
		t.Errorf("parent mode %v, want 0755", di.Mode().Perm())
	}

	// A second daemon must not steal the socket.
	if ln2, err := Listen(path); err == nil {
		ln2.Close()
		t.Fatal("second Listen succeeded")
	} else if want := "another rayfish daemon is listening on " + path; !strings.Contains(err.Error(), want) {
		t.Errorf("second Listen: %v, want %q", err, want)
	}

	if err := ln.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(path); !os.IsNotExist(err) {
		t.Errorf("socket file left after Close: %v", err)
	}
}

func TestListenRemovesStale(t *testing.T) {
	path := filepath.Join(t.TempDir(), "rayfish.sock")
	old, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	old.SetUnlinkOnClose(false)
	old.Close() // a dead daemon's socket file stays behind
	if _, err := os.Lstat(path); err != nil {
		t.Fatalf("stale socket missing: %v", err)
	}
	ln, err := Listen(path)
	if err != nil {
		t.Fatalf("Listen over a stale socket: %v", err)
	}
	defer ln.Close()
	go func() {
		if c, err := ln.Accept(); err == nil {
			c.Close()
		}
	}()
	c, err := net.Dial("unix", path)
	if err != nil {
		t.Fatalf("dial the new listener: %v", err)
	}
	c.Close()
}

func TestListenLeavesOtherFiles(t *testing.T) {
	path := filepath.Join(t.TempDir(), "rayfish.sock")
	if err := os.WriteFile(path, []byte("precious"), 0o600); err != nil {
		t.Fatal(err)
	}
	if ln, err := Listen(path); err == nil {
		ln.Close()
		t.Fatal("Listen over a regular file succeeded")
	}
	if b, err := os.ReadFile(path); err != nil || string(b) != "precious" {
		t.Errorf("regular file changed: %q, %v", b, err)
	}
}

func TestPeerCred(t *testing.T) {
	path := filepath.Join(t.TempDir(), "rayfish.sock")
	ln, err := Listen(path)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	client, err := net.Dial("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	server, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer server.Close()

	cred, err := PeerCred(server)
	if err != nil {
		t.Fatal(err)
	}
	if cred.UID != os.Getuid() || cred.PID != os.Getpid() || cred.IsAdmin != (os.Getuid() == 0) {
		t.Errorf("PeerCred = %+v, want uid %d pid %d", cred, os.Getuid(), os.Getpid())
	}
	if want := lookupUsername(os.Getuid()); cred.Username != want {
		t.Errorf("Username = %q, want %q", cred.Username, want)
	}
	if len(cred.GIDs) == 0 || cred.GIDs[0] != os.Getgid() {
		t.Errorf("GIDs = %v, want the process's group %d first", cred.GIDs, os.Getgid())
	}
	if want := userGroups(os.Getuid()); !containsAll(cred.GIDs, want) {
		t.Errorf("GIDs = %v, want the user's groups %v in them", cred.GIDs, want)
	}

	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	if _, err := PeerCred(a); err == nil {
		t.Error("PeerCred of a net.Pipe succeeded")
	}
}

// TestPeerCredUnprivileged connects from a child process running as nobody
// (uid 65534) and checks that the daemon side sees that uid.
func TestPeerCredUnprivileged(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to run a child as another user")
	}
	// The child must reach both the socket and its own binary.
	dir, err := os.MkdirTemp("", "rayfish-ipc-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	exe := filepath.Join(dir, "ipc.test")
	if err := copyFile(exe, mustExecutable(t)); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "rayfish.sock")
	ln, err := Listen(path)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()

	const nobody = 65534
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), dialEnv+"="+path)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: nobody, Gid: nobody}}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()

	type accepted struct {
		c   net.Conn
		err error
	}
	acc := make(chan accepted, 1)
	go func() {
		c, err := ln.Accept()
		acc <- accepted{c, err}
	}()
	var conn net.Conn
	select {
	case a := <-acc:
		if a.err != nil {
			t.Fatal(a.err)
		}
		conn = a.c
	case err := <-done:
		t.Fatalf("child exited before connecting: %v: %s", err, stderr.String())
	case <-time.After(10 * time.Second):
		cmd.Process.Kill()
		t.Fatal("child never connected")
	}
	cred, err := PeerCred(conn)
	hello := make([]byte, 2)
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	_, rerr := io.ReadFull(conn, hello)
	conn.Close() // lets the child exit
	if err != nil {
		t.Fatal(err)
	}
	if rerr != nil || string(hello) != "hi" {
		t.Errorf("child said %q, %v", hello, rerr)
	}
	if cred.UID != nobody || cred.PID != cmd.Process.Pid || cred.IsAdmin {
		t.Errorf("PeerCred = %+v, want uid %d pid %d, not admin", cred, nobody, cmd.Process.Pid)
	}
	if want := lookupUsername(nobody); cred.Username != want {
		t.Errorf("Username = %q, want %q", cred.Username, want)
	}
	if len(cred.GIDs) == 0 || cred.GIDs[0] != nobody {
		t.Errorf("GIDs = %v, want the child's group %d first", cred.GIDs, nobody)
	}
	if err := <-done; err != nil {
		t.Errorf("child: %v: %s", err, stderr.String())
	}
}

func mustExecutable(t *testing.T) string {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return exe
}

func copyFile(dst, src string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o755)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// TestHTTP serves HTTP on the socket with ConnContext and checks that a
// handler sees the caller's credentials.
func TestHTTP(t *testing.T) {
	path := filepath.Join(t.TempDir(), "rayfish.sock")
	ln, err := Listen(path)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{
		ConnContext: ConnContext,
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			cred, ok := CredFrom(r.Context())
			if !ok {
				http.Error(w, CredErr(r.Context()).Error(), http.StatusForbidden)
				return
			}
			fmt.Fprintf(w, "%d %d", cred.UID, cred.PID)
		}),
	}
	serveDone := make(chan error, 1)
	go func() { serveDone <- srv.Serve(ln) }()
	defer func() {
		srv.Close()
		<-serveDone
	}()

	client := &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", path)
		},
	}}
	defer client.CloseIdleConnections()
	resp, err := client.Get("http://local-rayfish.invalid/whoami")
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	if want := strconv.Itoa(os.Getuid()) + " " + strconv.Itoa(os.Getpid()); resp.StatusCode != 200 || string(body) != want {
		t.Errorf("got %d %q, want 200 %q", resp.StatusCode, body, want)
	}
}

func containsAll(s, sub []int) bool {
	for _, v := range sub {
		if !slices.Contains(s, v) {
			return false
		}
	}
	return true
}
