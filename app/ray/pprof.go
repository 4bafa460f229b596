package main

import (
	"context"
	"net/http"
	"net/http/pprof"

	"github.com/rayfish/rayfish/engine/metrics"
)

// servePprof serves Go's profiler on a loopback address (`ray daemon
// --pprof 127.0.0.1:6060`) for performance work; off by default.
func servePprof(ctx context.Context, addr string) error {
	ln, err := metrics.Listen(addr) // refuses non-loopback addresses
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	srv := &http.Server{Handler: mux}
	go func() {
		<-ctx.Done()
		srv.Close()
	}()
	go srv.Serve(ln)
	return nil
}
