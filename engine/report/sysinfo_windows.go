package report

import (
	"fmt"

	"golang.org/x/sys/windows"
)

// osInfo returns the Windows version and build.
func osInfo() []string {
	v := windows.RtlGetVersion()
	return []string{fmt.Sprintf("kernel: Windows %d.%d build %d", v.MajorVersion, v.MinorVersion, v.BuildNumber)}
}
