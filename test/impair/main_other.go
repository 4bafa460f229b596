//go:build !linux

package main

import (
	"fmt"
	"os"
)

func main() {
	fmt.Fprintln(os.Stderr, "impair: needs Linux (AF_PACKET)")
	os.Exit(1)
}
