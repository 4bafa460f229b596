package tun

const (
	goos        = "darwin"
	defaultName = "utun"
)
