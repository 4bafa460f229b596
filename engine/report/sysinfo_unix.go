//go:build linux || darwin

package report

import (
	"bufio"
	"bytes"
	"os"
	"strings"

	"golang.org/x/sys/unix"
)

// osInfo returns the kernel (uname) and, on Linux, the distribution
// (/etc/os-release PRETTY_NAME).
func osInfo() []string {
	var out []string
	var u unix.Utsname
	if err := unix.Uname(&u); err == nil {
		out = append(out, "kernel: "+strings.Join([]string{
			unix.ByteSliceToString(u.Sysname[:]),
			unix.ByteSliceToString(u.Release[:]),
			unix.ByteSliceToString(u.Version[:]),
			unix.ByteSliceToString(u.Machine[:]),
		}, " "))
	}
	if b, err := os.ReadFile("/etc/os-release"); err == nil {
		sc := bufio.NewScanner(bytes.NewReader(b))
		for sc.Scan() {
			if v, ok := strings.CutPrefix(sc.Text(), "PRETTY_NAME="); ok {
				out = append(out, "release: "+strings.Trim(v, `"'`))
			}
		}
	}
	return out
}
