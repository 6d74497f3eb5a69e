package main

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"runtime"
	"runtime/pprof"
	"strconv"
	"time"
)

// IPSD_PPROF_ADDR=127.0.0.1:6060 serves profiles of the running process,
// in the format `go tool pprof` reads: /debug/pprof/profile?seconds=N
// (CPU), /debug/pprof/heap and /debug/pprof/allocs (?gc=1 collects first),
// /debug/pprof/goroutine. `make bench` profiles the server this way. Off
// unless set; keep it on loopback, profiles show the program's insides.
//
// It uses runtime/pprof directly rather than importing net/http/pprof,
// which would register its handlers on http.DefaultServeMux for anything
// that ever serves that mux.
func init() {
	addr := os.Getenv("IPSD_PPROF_ADDR")
	if addr == "" {
		return
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		fmt.Fprintf(os.Stderr, "ipsd: IPSD_PPROF_ADDR: %v\n", err)
		return
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /debug/pprof/profile", func(w http.ResponseWriter, r *http.Request) {
		secs, err := strconv.Atoi(r.URL.Query().Get("seconds"))
		if err != nil || secs <= 0 {
			secs = 30
		}
		w.Header().Set("Content-Type", "application/octet-stream")
		if err := pprof.StartCPUProfile(w); err != nil {
			http.Error(w, err.Error(), http.StatusConflict)
			return
		}
		select {
		case <-time.After(time.Duration(secs) * time.Second):
		case <-r.Context().Done():
		}
		pprof.StopCPUProfile()
	})
	mux.HandleFunc("GET /debug/pprof/{name}", func(w http.ResponseWriter, r *http.Request) {
		p := pprof.Lookup(r.PathValue("name"))
		if p == nil {
			http.NotFound(w, r)
			return
		}
		if r.URL.Query().Get("gc") == "1" {
			runtime.GC()
		}
		w.Header().Set("Content-Type", "application/octet-stream")
		_ = p.WriteTo(w, 0)
	})
	go func() { _ = http.Serve(ln, mux) }()
}
