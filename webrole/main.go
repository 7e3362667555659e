// Command webrole serves elmcity's public calendar outputs, the curator and
// admin REST API, and the script-backed /services endpoints.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/elmcity/elmcity/shared/boot"
	"github.com/elmcity/elmcity/shared/envconfig"
	"github.com/elmcity/elmcity/shared/fetch"
	"github.com/elmcity/elmcity/shared/publish"
	"github.com/elmcity/elmcity/shared/queue"
	"github.com/elmcity/elmcity/shared/scripthost"
	"github.com/elmcity/elmcity/shared/tablestore"
	"github.com/elmcity/elmcity/webrole/internal/api"
	webconsole "github.com/elmcity/elmcity/webrole/internal/console"
)

func main() {
	gin.SetMode(gin.ReleaseMode)
	boot.Main(boot.Program{
		Name:    "webrole",
		Summary: "elmcity's web role: the public calendar outputs, the curator and admin API and the script-backed services",
		AddrVar: "ELMCITY_HTTP_ADDR", AddrDefault: "127.0.0.1:8080",
		Vars: func() []envconfig.Var { _, vars, _ := loadConfig(func(string) string { return "" }); return vars },
	}, run)
}

// run wires the web role by hand, in dependency order, and serves the
// public handler on ELMCITY_HTTP_ADDR and the metrics on
// ELMCITY_METRICS_ADDR until ctx is cancelled; then it drains requests,
// stops the metrics listener, flushes the table log and returns.
func run(ctx context.Context, getenv func(string) string, stdout io.Writer) error {
	cfg, _, err := loadConfig(getenv)
	if err != nil {
		return err
	}
	r, err := boot.Start(ctx, "webrole", cfg.Common, cfg, stdout)
	if err != nil {
		return err
	}
	defer r.Close(ctx)
	acct, tlog, log, console := r.Acct, r.TableLog, r.Log, r.Console

	st, err := tablestore.Open(ctx, acct, tablestore.Config{HubsTable: cfg.HubsTable, FeedsTable: cfg.FeedsTable, Limits: cfg.Limits})
	if err != nil {
		return fmt.Errorf("open hub store: %w", err)
	}
	jobs, err := queue.Open(ctx, acct, queue.Config{Name: cfg.JobQueue, Logger: log})
	if err != nil {
		return fmt.Errorf("open job queue: %w", err)
	}

	cals, err := publish.Open(ctx, acct, publish.Config{Table: cfg.CalendarsTable, Logger: log})
	if err != nil {
		return fmt.Errorf("open calendar store: %w", err)
	}
	scripts, err := boot.Scripts(cfg.Scripts, log)
	if err != nil {
		return err
	}
	defer func() { _ = scripts.Close() }()

	// Feed checks fetch under the worker's rules: no private addresses
	// unless the config allows them, the size cap and the timeout.
	checkFetcher, err := fetch.New(fetch.Config{AllowPrivate: cfg.FetchAllowPrivate, Timeout: cfg.FetchTimeout,
		MaxBytes: int64(cfg.FetchMaxBytes), MaxRedirects: fetch.DefaultMaxRedirects, Logger: log})
	if err != nil {
		return fmt.Errorf("feed check fetcher: %w", err)
	}
	defer checkFetcher.CloseIdleConnections()
	checks := cfg.Check
	checks.Fetcher = checkFetcher
	// A script feed's check runs its adapter with the engine behind
	// /services, from the same script source (adapters/{name}.js).
	checks.Adapters = scripts
	// The console's cookies are Secure when the site is served over https
	// (its public URL says so); X-Forwarded-Proto is not trusted.
	con := webconsole.New(webconsole.Deps{Store: st, Logger: log, AdminToken: cfg.AdminToken.Reveal(), Lifetime: cfg.SessionLifetime,
		Secure: strings.HasPrefix(cfg.Outputs.PublicURL, "https://")})
	srv := api.New(api.Deps{
		Logger:       log,
		Ready:        acct.Ping,
		Store:        st,
		Jobs:         jobs,
		Log:          tlog,
		Scripts:      scripts,
		Calendars:    cals,
		ScriptHost:   scripthost.New(tlog, st, cals, nil, "webrole"),
		AdminToken:   cfg.AdminToken.Reveal(),
		MaxBodyBytes: int64(cfg.MaxBodyBytes),
		Outputs:      cfg.Outputs,
		LogDropped:   tlog.Dropped,
		Console:      con,
		Checks:       checks,
	})
	// Deferred here, it runs after both servers have stopped.
	defer srv.Close()
	httpSrv := &http.Server{
		Handler:           srv.Handler(),
		ReadHeaderTimeout: cfg.ReadHeaderTimeout,
		ReadTimeout:       cfg.ReadTimeout,
		WriteTimeout:      cfg.WriteTimeout,
		IdleTimeout:       cfg.IdleTimeout,
		ErrorLog:          slog.NewLogLogger(console, slog.LevelWarn),
	}
	// Metrics have a listener of their own (ELMCITY_METRICS_ADDR, on
	// loopback by default), so the public port never serves them.
	metricsSrv := &http.Server{
		Handler:           srv.MetricsHandler(),
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      10 * time.Second,
		IdleTimeout:       60 * time.Second,
		ErrorLog:          slog.NewLogLogger(console, slog.LevelWarn),
	}
	ln, err := net.Listen("tcp", cfg.HTTPAddr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.HTTPAddr, err)
	}
	mln, err := net.Listen("tcp", cfg.MetricsAddr)
	if err != nil {
		_ = ln.Close()
		return fmt.Errorf("listen for metrics on %s: %w", cfg.MetricsAddr, err)
	}
	// From here two goroutines serve. Whatever ends the serving (ctx, or
	// either server failing), both servers are stopped and both
	// goroutines waited for before run returns.
	serveErr := make(chan error, 1)
	go func() { serveErr <- httpSrv.Serve(ln) }()
	metricsErr := make(chan error, 1)
	go func() { metricsErr <- metricsSrv.Serve(mln) }()
	log.InfoContext(ctx, "listening", "addr", ln.Addr().String())
	log.InfoContext(ctx, "serving metrics", "addr", mln.Addr().String())

	var failed error
	publicDone, metricsDone := false, false
	select {
	case err := <-serveErr:
		publicDone, failed = true, fmt.Errorf("serve: %w", err)
	case err := <-metricsErr:
		metricsDone, failed = true, fmt.Errorf("serve metrics: %w", err)
	case <-ctx.Done():
	}
	log.InfoContext(ctx, "shutting down", "timeout", cfg.ShutdownTimeout.String())
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.ShutdownTimeout)
	defer cancel()
	errs := []error{failed}
	if !publicDone {
		errs = append(errs, stop(sctx, httpSrv, serveErr, "serve"))
	}
	// Metrics stop last, so a scrape during the drain still answers.
	if !metricsDone {
		errs = append(errs, stop(sctx, metricsSrv, metricsErr, "serve metrics"))
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	log.InfoContext(ctx, "stopped")
	return nil
}

// stop shuts srv down within ctx (closing it when that runs out) and
// waits for its Serve, whose result served delivers; op names the serving
// in the error. http.ErrServerClosed is not an error.
func stop(ctx context.Context, srv *http.Server, served <-chan error, op string) error {
	var errs []error
	if err := srv.Shutdown(ctx); err != nil {
		_ = srv.Close()
		errs = append(errs, fmt.Errorf("shutdown (%s): %w", op, err))
	}
	if err := <-served; err != nil && !errors.Is(err, http.ErrServerClosed) {
		errs = append(errs, fmt.Errorf("%s: %w", op, err))
	}
	return errors.Join(errs...)
}
