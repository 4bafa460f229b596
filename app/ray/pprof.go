package main

import (
	"context"
	"net"
	"net/http"
	"net/http/pprof"
	"strconv"
	"strings"

	"github.com/rayfish/rayfish/engine/metrics"
)

// servePprof serves Go's profiler on a loopback address (`ray daemon
// --pprof 127.0.0.1:6060`) for performance work; off by default.
func servePprof(ctx context.Context, addr string) error {
	ln, err := metrics.Listen(addr) // refuses non-loopback addresses
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: pprofHandler(ln.Addr().(*net.TCPAddr).Port)}
	go func() {
		<-ctx.Done()
		srv.Close()
	}()
	go srv.Serve(ln)
	return nil
}

// pprofHandler serves the profiles to requests that name the loopback
// listener on port in their Host header. Anything else is refused: a web
// page whose name was rebound to 127.0.0.1 (DNS rebinding) sends its own
// name as Host, and must not read the daemon's memory.
func pprofHandler(port int) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	p := strconv.Itoa(port)
	allowed := []string{"127.0.0.1:" + p, "localhost:" + p, "[::1]:" + p}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !loopbackHost(r.Host, allowed) {
			http.Error(w, "forbidden: Host must be a loopback address with the listening port", http.StatusForbidden)
			return
		}
		mux.ServeHTTP(w, r)
	})
}

// loopbackHost reports whether host (a Host header) is one of allowed,
// ignoring the case of "localhost".
func loopbackHost(host string, allowed []string) bool {
	for _, a := range allowed {
		if strings.EqualFold(host, a) {
			return true
		}
	}
	return false
}
