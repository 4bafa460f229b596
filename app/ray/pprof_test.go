package main

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestPprofHandlerHostCheck(t *testing.T) {
	h := pprofHandler(6060)
	tests := []struct {
		host string
		want int
	}{
		{"127.0.0.1:6060", http.StatusOK},
		{"localhost:6060", http.StatusOK},
		{"LocalHost:6060", http.StatusOK},
		{"[::1]:6060", http.StatusOK},
		{"evil.example:6060", http.StatusForbidden}, // DNS rebinding
		{"evil.example", http.StatusForbidden},      // no port
		{"127.0.0.1", http.StatusForbidden},         // port missing
		{"127.0.0.1:6061", http.StatusForbidden},    // other port
		{"localhost.evil.example:6060", http.StatusForbidden},
		{"", http.StatusForbidden},
	}
	for _, tt := range tests {
		t.Run(tt.host, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, "/debug/pprof/", nil)
			r.Host = tt.host
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != tt.want {
				t.Fatalf("Host %q: status %d, want %d", tt.host, w.Code, tt.want)
			}
		})
	}
}
