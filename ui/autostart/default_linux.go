package autostart

import (
	"os"
	"path/filepath"
)

func defaultManager(exe string, args []string) Manager {
	dir := os.Getenv("XDG_CONFIG_HOME")
	if dir == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return unsupported{}
		}
		dir = filepath.Join(home, ".config")
	}
	return XDG{ConfigHome: dir, Exec: exe, Args: args}
}
