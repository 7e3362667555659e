// Command workerrole consumes elmcity's aggregation jobs from the Azure
// Storage queue and runs the scheduler and maintenance scripts.
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
	"os/signal"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/elmcity/elmcity/shared/boot"
	"github.com/elmcity/elmcity/shared/envconfig"
	"github.com/elmcity/elmcity/shared/fetch"
	"github.com/elmcity/elmcity/shared/publish"
	"github.com/elmcity/elmcity/shared/queue"
	"github.com/elmcity/elmcity/shared/scripthost"
	"github.com/elmcity/elmcity/shared/tablestore"
	"github.com/elmcity/elmcity/workerrole/internal/aggregate"
	"github.com/elmcity/elmcity/workerrole/internal/cli"
	"github.com/elmcity/elmcity/workerrole/internal/scheduler"
	"github.com/elmcity/elmcity/workerrole/internal/worker"
)

func main() {
	if len(os.Args) > 1 && (os.Args[1] == "expand" || os.Args[1] == "check") {
		os.Exit(curatorTool(os.Args[1], os.Args[2:]))
	}
	boot.Main(boot.Program{
		Name:    "workerrole",
		Summary: "elmcity's worker: aggregates hubs from the job queue and runs the scheduler and maintenance scripts",
		AddrVar: "ELMCITY_WORKER_METRICS_ADDR", AddrDefault: "127.0.0.1:9090",
		Commands: []boot.Command{
			{Usage: "check [--from T] [--to T] [--tz ZONE] FILE|URL", What: "report a feed's problems, as a curator checks one before adding it"},
			{Usage: "expand [--from T] [--to T] [--cap N] [--tz ZONE] FILE|URL", What: "print a feed's occurrences as JSON"},
		},
		Vars: func() []envconfig.Var { _, vars, _ := loadConfig(func(string) string { return "" }); return vars },
	}, run)
}

// curatorTool runs `workerrole expand` (a feed's occurrences as JSON) or
// `workerrole check` (a report of a feed's problems) and returns the exit
// code.
func curatorTool(name string, args []string) int {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	tool := cli.Expand
	if name == "check" {
		tool = cli.Check
	}
	if err := tool(ctx, args, os.Stdin, os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, cli.ErrUsage) && !errors.Is(err, cli.ErrReported) {
			fmt.Fprintln(os.Stderr, "workerrole "+name+":", err)
		}
		return 2
	}
	return 0
}

// run wires the worker by hand, in dependency order, and works until ctx is
// cancelled; then it stops its probe server, flushes the table log and
// returns.
func run(ctx context.Context, getenv func(string) string, stdout io.Writer) error {
	cfg, _, err := loadConfig(getenv)
	if err != nil {
		return err
	}
	r, err := boot.Start(ctx, "workerrole", cfg.Common, cfg, stdout)
	if err != nil {
		return err
	}
	defer r.Close(ctx)
	acct, log, console := r.Acct, r.Log, r.Console

	jobs, err := queue.Open(ctx, acct, queue.Config{
		Name:              cfg.JobQueue,
		MaxDequeueCount:   int64(cfg.MaxDequeueCount),
		VisibilityTimeout: cfg.VisibilityTimeout,
		Logger:            log,
	})
	if err != nil {
		return fmt.Errorf("open job queue: %w", err)
	}

	st, err := tablestore.Open(ctx, acct, tablestore.Config{HubsTable: cfg.HubsTable, FeedsTable: cfg.FeedsTable})
	if err != nil {
		return fmt.Errorf("open hub store: %w", err)
	}
	pub, err := publish.Open(ctx, acct, publish.Config{Table: cfg.CalendarsTable, Logger: log})
	if err != nil {
		return fmt.Errorf("open calendar store: %w", err)
	}
	fetcher, err := fetch.New(fetch.Config{
		AllowPrivate: cfg.FetchAllowPrivate, Timeout: cfg.FetchTimeout, MaxBytes: int64(cfg.FetchMaxBytes), Logger: log,
	})
	if err != nil {
		return fmt.Errorf("feed fetcher: %w", err)
	}
	defer fetcher.CloseIdleConnections()
	m := newMetrics(jobs.Length, jobs.PoisonLength, r.TableLog.Dropped)
	runner := worker.New(jobs, map[string]worker.Handler{
		queue.KindAggregate: aggregate.New(st, fetcher, pub, aggregate.Config{
			Instance: cfg.Instance, FeedConcurrency: cfg.FeedConcurrency, LeaseTTL: cfg.HubLeaseTTL, Logger: log, Observe: m, Jobs: st,
			ParseTimeout: cfg.ParseTimeout, MaxHubEvents: cfg.MaxHubEvents, MaxRegionMembers: cfg.MaxRegionMembers,
			Bounds: cfg.Bounds, MaxAttempts: cfg.MaxDequeueCount,
		}),
	}, worker.Config{Concurrency: cfg.Concurrency, SoftStop: cfg.ShutdownTimeout, JobTimeout: cfg.JobTimeout, Logger: log,
		Observe: m.observeJob, Started: m.jobStarted})

	scripts, err := boot.Scripts(cfg.Scripts, log)
	if err != nil {
		return err
	}
	defer func() { _ = scripts.Close() }()
	schedule, err := scheduler.LoadSchedule(ctx, scripts)
	if err != nil {
		return err
	}
	sched := scheduler.New(st, pub, jobs, scripts, scheduler.Config{
		Instance: cfg.Instance, Tick: cfg.SchedulerTick, Schedule: schedule, Logger: log,
		Host: scripthost.New(r.TableLog, st, pub, jobs, "scheduler"), OnLeader: m.setLeader,
	})

	probe := &http.Server{
		Handler:           probeHandler(acct.Ping, jobs.Length, promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})),
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      10 * time.Second,
		IdleTimeout:       60 * time.Second,
		ErrorLog:          slog.NewLogLogger(console, slog.LevelWarn),
	}
	ln, err := net.Listen("tcp", cfg.MetricsAddr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.MetricsAddr, err)
	}
	// The runner and the scheduler stop when ctx ends or the probe server
	// fails; run returns only once both have.
	workCtx, stopWork := context.WithCancel(ctx)
	defer stopWork()
	serveErr := make(chan error, 1)
	go func() { serveErr <- probe.Serve(ln) }()
	runDone := make(chan error, 1)
	go func() { runDone <- runner.Run(workCtx) }()
	schedDone := make(chan error, 1)
	go func() { schedDone <- sched.Run(workCtx) }()
	log.InfoContext(ctx, "listening", "addr", ln.Addr().String(), "queue", jobs.Name())

	var failed error
	select {
	case err := <-serveErr:
		failed = fmt.Errorf("serve probes: %w", err)
		serveErr <- nil // read again below
	case <-ctx.Done():
	}
	stopWork()
	log.Info("shutting down: finishing in-flight jobs", "timeout", cfg.ShutdownTimeout.String())
	if err := <-runDone; err != nil {
		log.Error("job runner stopped with an error", "error", err.Error())
	}
	<-schedDone
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.ShutdownTimeout)
	defer cancel()
	if err := probe.Shutdown(sctx); err != nil {
		_ = probe.Close()
	}
	if err := <-serveErr; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve probes: %w", err)
	}
	if failed != nil {
		return failed
	}
	log.Info("stopped")
	return nil
}

// probeTimeout bounds the storage calls behind /readyz and /queue, so a
// probe answers even while storage does not.
const probeTimeout = 2 * time.Second

// probeHandler serves /healthz (the process is up), /readyz (storage
// answers), /queue (the approximate job queue length, for operators) and
// /metrics.
func probeHandler(ready func(context.Context) error, length func(context.Context) (int, error), metrics http.Handler) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", metrics)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, `{"status":"ok"}`)
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), probeTimeout)
		defer cancel()
		if err := ready(ctx); err != nil {
			writeJSON(w, http.StatusServiceUnavailable, `{"error":{"code":"not_ready","message":"storage is not reachable"}}`)
			return
		}
		writeJSON(w, http.StatusOK, `{"status":"ready"}`)
	})
	mux.HandleFunc("GET /queue", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), probeTimeout)
		defer cancel()
		n, err := length(ctx)
		if err != nil {
			writeJSON(w, http.StatusServiceUnavailable, `{"error":{"code":"not_ready","message":"queue is not reachable"}}`)
			return
		}
		writeJSON(w, http.StatusOK, fmt.Sprintf(`{"approximate_length":%d}`, n))
	})
	return mux
}

func writeJSON(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, body)
}
