//go:build !linux && !darwin && !windows

package dns

import (
	"fmt"
	"log/slog"
)

func newOS(stateDir string, log *slog.Logger) Manager {
	return newResolvConf("/etc/resolv.conf", stateDir, log)
}

func restoreOS(st *state, _ *slog.Logger) error {
	return fmt.Errorf("mode %q is not used on this OS", st.Mode)
}
