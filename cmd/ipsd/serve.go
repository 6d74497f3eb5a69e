package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/ipsexport/ipsd/internal/app"
)

func cmdServe(ctx context.Context, g *globals, args []string, stdout, stderr io.Writer, _ bool) error {
	fs := subFlags("serve", g, stderr)
	addr := fs.String("addr", envOr("IPSD_ADDR", "127.0.0.1:8080"), "listen address")
	tlsCert := fs.String("tls-cert", "", "TLS certificate file (PEM); without it plain HTTP, for use behind a proxy")
	tlsKey := fs.String("tls-key", "", "TLS key file (PEM)")
	maxBody := fs.Int64("max-request-bytes", 8<<20, "largest SOAP request body accepted")
	maxHandles := fs.Int("max-export-assets", 10_000, "largest assetHandleArray of an exportJob")
	logJSON := fs.Bool("log-json", false, "log as JSON lines")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if (*tlsCert == "") != (*tlsKey == "") {
		return fmt.Errorf("%w: --tls-cert and --tls-key go together", errUsage)
	}
	log := newLogger(stderr, *logJSON)

	a, err := app.Open(ctx, app.Config{
		DataDir: g.dataDir, DatabaseURL: g.databaseURL, Logger: log,
		MaxRequestBytes: *maxBody, MaxExportAssets: *maxHandles, ServerName: hostname(),
	})
	if err != nil {
		return err
	}
	defer a.Close()

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("listen %s: %w", *addr, err)
	}
	srv := &http.Server{
		Handler:           a.Handler(),
		ReadHeaderTimeout: 30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	scheme := "http"
	if *tlsCert != "" {
		scheme = "https"
	}
	log.Info("serving", "url", fmt.Sprintf("%s://%s/scene7/services/IpsApiService", scheme, ln.Addr()))
	fmt.Fprintf(stdout, "IPS endpoint: %s://%s/scene7/services/IpsApiService\n", scheme, ln.Addr())

	errc := make(chan error, 1)
	go func() {
		if *tlsCert != "" {
			errc <- srv.ServeTLS(ln, *tlsCert, *tlsKey)
		} else {
			errc <- srv.Serve(ln)
		}
	}()
	select {
	case err := <-errc:
		if !errors.Is(err, http.ErrServerClosed) {
			return fmt.Errorf("serve: %w", err)
		}
		return nil
	case <-ctx.Done():
	}
	log.Info("shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	return nil
}

func newLogger(w io.Writer, json bool) *slog.Logger {
	if json {
		return slog.New(slog.NewJSONHandler(w, nil))
	}
	return slog.New(slog.NewTextHandler(w, nil))
}

func hostname() string {
	h, err := os.Hostname()
	if err != nil {
		return "ipsd"
	}
	return h
}
