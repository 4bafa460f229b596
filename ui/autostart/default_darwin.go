package autostart

import "os"

func defaultManager(exe string, args []string) Manager {
	home, err := os.UserHomeDir()
	if err != nil {
		return unsupported{}
	}
	return LaunchAgent{Home: home, Exec: exe, Args: args}
}
