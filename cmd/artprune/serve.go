package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/spf13/cobra"

	"github.com/artprune/artprune/internal/metrics"
	"github.com/artprune/artprune/prune"
	"github.com/artprune/artprune/run"
)

// serveOptions are the flags of "artprune serve".
type serveOptions struct {
	pruneOptions
	every  durationValue
	listen string
	// addrFile, when set, receives the address the HTTP server listens on (for tests and scripts using port 0).
	addrFile string
}

func newServeCmd(getenv func(string) string) *cobra.Command {
	o := &serveOptions{every: durationValue(6 * time.Hour), listen: ":9090"}
	cmd := &cobra.Command{
		Use:   "serve --every 6h --repo KEY... [--delete] [--listen :9090]",
		Short: "Prune on a schedule in one long-lived process, with /metrics and /healthz",
		Long: `serve runs a prune at start and then every --every, in one process, never two at once: a run still going
when the next is due makes that one skipped (counted in artprune_ticks_skipped_total). It serves Prometheus metrics
on /metrics and health on /healthz: 200 while the first run goes and after a run that succeeded, 503 with the reason
after one that failed (use it for readiness or alerting, not liveness: a failed run is no reason to restart).

On SIGTERM or SIGINT it stops scheduling, lets the current run stop as prune does (no new deletion starts, those
in flight finish), shuts the HTTP server down and exits 0.

Every prune flag applies to each run; --report and --metrics-file are rewritten after each, --summary-markdown
is appended to (as for CI job summaries), and --pushgateway is pushed to.`,
		Example: `  artprune serve --every 6h --listen :9090 --config /etc/artprune/config.yaml`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return o.serve(cmd, getenv)
		},
	}
	f := cmd.Flags()
	o.registerAll(f)
	f.BoolVar(&o.delete, "delete", false, "delete; without it every run is a dry run")
	o.registerPurge(f)
	f.Var(&o.every, "every", "time between the starts of two runs (Go duration or days: 6h, 1d)")
	f.StringVar(&o.listen, "listen", o.listen, "address of the HTTP server for /metrics and /healthz")
	f.StringVar(&o.addrFile, "addr-file", "", "write the address the HTTP server listens on to this file")
	_ = f.MarkHidden("addr-file")
	return cmd
}

// health is what /healthz answers.
type health struct {
	mu     sync.Mutex
	ok     bool
	reason string
	last   time.Time
}

func (h *health) set(ok bool, reason string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.ok, h.reason, h.last = ok, reason, time.Now()
}

func (h *health) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	h.mu.Lock()
	ok, reason, last := h.ok, h.reason, h.last
	h.mu.Unlock()
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	switch {
	case last.IsZero():
		fmt.Fprintln(w, "ok: the first run is going")
	case ok:
		fmt.Fprintf(w, "ok: the last run succeeded at %s\n", last.UTC().Format(time.RFC3339))
	default:
		w.WriteHeader(http.StatusServiceUnavailable)
		fmt.Fprintf(w, "the last run, at %s, failed: %s\n", last.UTC().Format(time.RFC3339), reason)
	}
}

func (o *serveOptions) serve(cmd *cobra.Command, getenv func(string) string) error {
	ctx := cmd.Context()
	if time.Duration(o.every) < minEvery(ctx) {
		return usageErrorf("--every %s: want a minute or more", o.every.String())
	}
	s, err := o.openWith(cmd, getenv, o.selection(), false)
	if err != nil {
		return err
	}
	m := metrics.New(true)
	h := &health{ok: true}
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(m.Registry(), promhttp.HandlerOpts{}))
	mux.Handle("/healthz", h)
	ln, err := net.Listen("tcp", o.listen)
	if err != nil {
		return usageErrorf("--listen %s: %v", o.listen, err)
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	s.log.Info("serving", "listen", ln.Addr().String(), "every", o.every.String(), "delete", o.delete)
	if o.addrFile != "" {
		if err := writeFileAtomically(o.addrFile, func(w io.Writer) error {
			_, err := io.WriteString(w, ln.Addr().String()+"\n")
			return err
		}); err != nil {
			s.log.Error("writing the address file failed", "error", err)
		}
	}

	sched := &scheduler{
		run: func(ctx context.Context, n int) {
			m.SetInProgress(true)
			defer m.SetInProgress(false)
			s.log.Info("run started", "run", n)
			out := s.run(ctx, run.Options{Delete: o.delete})
			err := s.publish(ctx, nil, out)
			head := reportHead(out)
			ok := err == nil
			m.Observe(metrics.Run{Report: head, Finished: time.Now(), Duration: out.Took, Success: ok})
			if ctx.Err() != nil {
				s.log.Info("run stopped by shutdown", "run", n)
				return
			}
			reason := ""
			if err != nil {
				reason = err.Error()
			}
			h.set(ok, reason)
			logRun(s, n, head, out.Took, err)
		},
		skipped: func() {
			m.SkippedTick()
			s.log.Warn("the previous run is still going: this one is skipped")
		},
	}
	ticker := time.NewTicker(time.Duration(o.every))
	defer ticker.Stop()
	if err := sched.loop(ctx, ticker.C, served); err != nil {
		return err
	}
	shutCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutCtx); err != nil {
		s.log.Error("HTTP server shutdown", "error", err)
	}
	markCleanShutdown(ctx)
	s.log.Info("stopped")
	return nil
}

// reportHead returns the report head of a run, nil if it failed before any repository.
func reportHead(out *run.Result) *prune.Report {
	if out.Err != nil {
		return nil
	}
	return prune.NewReportHead(out.DryRun, out.Plans, out.Applied, prune.WithSkippedRepositories(out.Skipped))
}

// logRun logs the outcome of a scheduled run: the log is serve's report.
func logRun(s *session, n int, head *prune.Report, took time.Duration, err error) {
	if head == nil {
		s.log.Error("run failed", "run", n, "error", err, "took", took.Round(time.Millisecond))
		return
	}
	t := head.Totals
	attrs := []any{"run", n, "repositories", t.Repositories, "failed_repositories", t.FailedRepositories,
		"digest_folders", t.DigestFolders, "kept", t.Kept.Total, "deletions", t.Deletions, "deleted", t.Outcomes.Deleted,
		"failed", t.Outcomes.Failed + t.Outcomes.Forbidden, "took", took.Round(time.Millisecond)}
	if err != nil {
		s.log.Error("run finished with failures", append(attrs, "error", err)...)
		return
	}
	s.log.Info("run finished", attrs...)
}

// cleanShutdownKey is the context key of the flag by which a command tells runProcess that a signal ended it
// cleanly (serve exits 0 on SIGTERM).
type cleanShutdownKey struct{}

// withCleanShutdownFlag returns a context carrying flag.
func withCleanShutdownFlag(ctx context.Context, flag *atomic.Bool) context.Context {
	return context.WithValue(ctx, cleanShutdownKey{}, flag)
}

// markCleanShutdown records that the command shut down cleanly after a signal.
func markCleanShutdown(ctx context.Context) {
	if f, ok := ctx.Value(cleanShutdownKey{}).(*atomic.Bool); ok {
		f.Store(true)
	}
}

// scheduler runs one run at start and one per tick, never two at once: a tick while a run goes is skipped.
type scheduler struct {
	run     func(ctx context.Context, n int)
	skipped func()

	running atomic.Bool
	wg      sync.WaitGroup
	runs    int
}

// start starts a run unless one is going.
func (sc *scheduler) start(ctx context.Context) {
	if !sc.running.CompareAndSwap(false, true) {
		sc.skipped()
		return
	}
	sc.runs++
	n := sc.runs
	sc.wg.Go(func() {
		defer sc.running.Store(false)
		sc.run(ctx, n)
	})
}

// loop runs at once and on every tick until ctx ends or the HTTP server fails, then waits for the current run
// (which stops as prune does on cancellation: no new deletion starts, those in flight finish).
func (sc *scheduler) loop(ctx context.Context, ticks <-chan time.Time, served <-chan error) error {
	sc.start(ctx)
	for {
		select {
		case <-ctx.Done():
			sc.wg.Wait()
			return nil
		case <-ticks:
			sc.start(ctx)
		case err := <-served:
			if err != nil && !errors.Is(err, http.ErrServerClosed) {
				sc.wg.Wait()
				return fmt.Errorf("the HTTP server stopped: %w", err)
			}
		}
	}
}
