package main

import (
	"context"
	"errors"
	"io"
)

func runRelay(ctx context.Context, args []string, logw io.Writer) error {
	return errors.New("relay: not built yet")
}
