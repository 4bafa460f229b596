package paths

import (
	"fmt"
	"os"
)

// EnsureStateDir creates dir (and its parents) if needed and makes sure only
// its owner can use it: mode 0700 on Linux and darwin, and on Windows a
// protected ACL for SYSTEM and Administrators only. An existing directory
// with looser permissions is tightened.
func EnsureStateDir(dir string) error {
	if dir == "" {
		return fmt.Errorf("paths: empty state directory")
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("paths: create state directory: %w", err)
	}
	fi, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("paths: state directory: %w", err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("paths: state directory %s is not a directory", dir)
	}
	if err := restrict(dir, fi); err != nil {
		return fmt.Errorf("paths: restrict %s: %w", dir, err)
	}
	return nil
}

// stateDirSDDL is the Windows DACL of the state directory: SYSTEM and
// Administrators have full control of it and everything in it (inherited),
// nobody else has any access, and no ACE is inherited from the parent.
const stateDirSDDL = "D:P(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)"
