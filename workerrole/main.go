// Command workerrole consumes elmcity's aggregation jobs from the Azure
// Storage queue and runs the scheduler and maintenance scripts.
package main

import (
	"cmp"
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
	"github.com/elmcity/elmcity/shared/tablelog"
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
			{Usage: "check [--from T] [--to T] [--tz ZONE] [--kind K] [--mapping JSON|--mapping-file F] [--adapter NAME] [--hosts a,b] [--scripts DIR] FILE|URL", What: "report a feed's problems, as a curator checks one before adding it"},
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
// cancelled or the probe server, the job runner or the scheduler fails;
// then it stops and waits for all three (see serve), flushes the table log
// and returns.
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
	acct, console := r.Acct, r.Console
	// Curators read the worker's records in their hub's table log as
	// sentences; stdout keeps the constant messages.
	log := slog.New(tablelog.WithSentences(r.Log.Handler(), aggregate.Sentences(), worker.Sentences(), scheduler.Sentences()))

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
	scripts, err := boot.Scripts(cfg.Scripts, log)
	if err != nil {
		return err
	}
	defer func() { _ = scripts.Close() }()
	m := newMetrics(jobs.Length, jobs.PoisonLength, r.TableLog.Dropped)
	runner := worker.New(jobs, map[string]worker.Handler{
		queue.KindAggregate: aggregate.New(st, fetcher, pub, aggregate.Config{
			Instance: cfg.Instance, FeedConcurrency: cfg.FeedConcurrency, LeaseTTL: cfg.HubLeaseTTL, Logger: log, Observe: m, Jobs: st,
			ParseTimeout: cfg.ParseTimeout, MaxHubEvents: cfg.MaxHubEvents, MaxRegionMembers: cfg.MaxRegionMembers,
			Bounds: cfg.Bounds, MaxAttempts: cfg.MaxDequeueCount,
			Adapters: scripts, AdapterFetcher: scripthost.NewFetcher(fetcher), MaxSourceBytes: cfg.FetchMaxBytes,
		}),
	}, worker.Config{Concurrency: cfg.Concurrency, SoftStop: cfg.ShutdownTimeout, JobTimeout: cfg.JobTimeout, Logger: log,
		Observe: m.observeJob, Started: m.jobStarted})
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
	log.InfoContext(ctx, "listening", "addr", ln.Addr().String(), "queue", jobs.Name())
	return serve(ctx, log, cfg.ShutdownTimeout, probe, ln, map[string]func(context.Context) error{
		"job runner": runner.Run,
		"scheduler":  sched.Run,
	})
}

// errStoppedEarly is the failure of a task that returned before it was
// asked to stop.
var errStoppedEarly = errors.New("stopped before shutdown")

// serve serves probes on ln and runs each task until ctx ends or any of
// them, or the probe server, stops. On every way out it cancels the tasks,
// waits for all of them (each finishes its own in-flight work), then shuts
// the probe server down within shutdownTimeout, so that nothing it started
// outlives it. It returns every failure, or nil after a stop that ctx asked
// for.
func serve(ctx context.Context, log *slog.Logger, shutdownTimeout time.Duration, probe *http.Server, ln net.Listener,
	tasks map[string]func(context.Context) error) error {
	workCtx, stopWork := context.WithCancel(ctx)
	defer stopWork()
	type result struct {
		name string
		err  error
	}
	done := make(chan result, len(tasks))
	for name, task := range tasks {
		go func() { done <- result{name, task(workCtx)} }()
	}
	serveErr := make(chan error, 1)
	go func() { serveErr <- probe.Serve(ln) }()

	var errs []error
	running, serving := len(tasks), true
	select {
	case err := <-serveErr:
		serving = false
		errs = append(errs, fmt.Errorf("serve probes: %w", err))
	case r := <-done:
		running--
		if r.err != nil || ctx.Err() == nil {
			errs = append(errs, fmt.Errorf("%s: %w", r.name, cmp.Or(r.err, errStoppedEarly)))
		}
	case <-ctx.Done():
	}
	stopWork()
	log.Info("shutting down: finishing in-flight jobs", "timeout", shutdownTimeout.String())
	for ; running > 0; running-- {
		if r := <-done; r.err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", r.name, r.err))
		}
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownTimeout)
	defer cancel()
	if err := probe.Shutdown(sctx); err != nil {
		_ = probe.Close()
	}
	if serving {
		if err := <-serveErr; !errors.Is(err, http.ErrServerClosed) {
			errs = append(errs, fmt.Errorf("serve probes: %w", err))
		}
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
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
