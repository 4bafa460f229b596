package dns

import (
	"fmt"
	"log/slog"
)

func newOS(stateDir string, log *slog.Logger) Manager {
	return newResolverDir("/etc/resolver", "/etc/resolv.conf", stateDir, log)
}

func restoreOS(st *state, _ *slog.Logger) error {
	return fmt.Errorf("mode %q is not used on macOS", st.Mode)
}
