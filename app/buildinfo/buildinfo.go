// Package buildinfo holds the version and commit stamped into both
// binaries with -ldflags "-X github.com/rayfish/rayfish/app/buildinfo.Version=...".
package buildinfo

// Stamped at build time; the defaults mark a development build.
var (
	Version = "0.1.0-dev"
	Commit  = ""
)
