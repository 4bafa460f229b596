package main

// `ray system-path add|remove` (hidden): add the directory of ray.exe to the
// machine's PATH, or remove it. The MSI runs it as LocalSystem after
// installing the files and before removing them, so that `ray` works in any
// new command prompt and the tray app finds it; wixl has no Environment
// element to do this declaratively.

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/rayfish/rayfish/platform/service"
)

func init() {
	commands["system-path"] = cmdSystemPath
}

func cmdSystemPath(ctx context.Context, c *cli, args []string) error {
	if len(args) != 1 || (args[0] != "add" && args[0] != "remove") {
		return exitCode{2, "usage: ray system-path add|remove"}
	}
	exe, err := service.ExecutablePath()
	if err != nil {
		return err
	}
	dir := filepath.Dir(exe)
	if !validPathDir(dir) {
		return fmt.Errorf("system-path: %q cannot be a PATH entry", dir)
	}
	changed, err := editSystemPath(args[0] == "add", dir)
	if err != nil {
		return fmt.Errorf("system-path %s %s: %w", args[0], dir, err)
	}
	if changed {
		fmt.Fprintf(c.out, "system PATH: %s %s\n", map[bool]string{true: "added", false: "removed"}[args[0] == "add"], dir)
	}
	return nil
}

// samePathDir reports whether two Windows PATH entries name the same
// directory: case-insensitive, ignoring a trailing backslash and quotes.
func samePathDir(a, b string) bool {
	norm := func(s string) string {
		s = strings.Trim(strings.TrimSpace(s), `"`)
		return strings.TrimRight(s, `\/`)
	}
	na, nb := norm(a), norm(b)
	return na != "" && strings.EqualFold(na, nb)
}

// validPathDir reports whether dir can be a PATH entry as is: not empty
// and without the separator or quotes.
func validPathDir(dir string) bool {
	return strings.Trim(strings.TrimSpace(dir), `\/`) != "" && !strings.ContainsAny(dir, `;"`)
}

// pathWith returns the Windows PATH value with dir appended, and whether it
// changed (not when dir is already there or is not a valid entry).
func pathWith(path, dir string) (string, bool) {
	if !validPathDir(dir) {
		return path, false
	}
	for _, e := range strings.Split(path, ";") {
		if samePathDir(e, dir) {
			return path, false
		}
	}
	trimmed := strings.TrimRight(path, ";")
	if trimmed == "" {
		return dir, true
	}
	return trimmed + ";" + dir, true
}

// pathWithout returns the Windows PATH value without any entry naming dir,
// and whether it changed. Other entries, empty ones included, are kept as
// they are.
func pathWithout(path, dir string) (string, bool) {
	if !validPathDir(dir) {
		return path, false
	}
	entries := strings.Split(path, ";")
	kept := entries[:0]
	for _, e := range entries {
		if !samePathDir(e, dir) {
			kept = append(kept, e)
		}
	}
	if len(kept) == len(entries) {
		return path, false
	}
	return strings.Join(kept, ";"), true
}
