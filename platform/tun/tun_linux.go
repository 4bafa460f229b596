package tun

const (
	goos        = "linux"
	defaultName = "rayfish0"
)
