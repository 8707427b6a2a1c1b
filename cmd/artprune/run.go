package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/artprune/artprune/artifactory"
	"github.com/artprune/artprune/internal/metrics"
	"github.com/artprune/artprune/progress"
	"github.com/artprune/artprune/prune"
	"github.com/artprune/artprune/run"
)

// session is a configured artprune: the flags, the logger, the progress display and the Artifactory client. One
// session runs once (prune, plan, apply) or many times (serve).
type session struct {
	flags  *runFlags
	sel    selection
	log    *slog.Logger
	prog   progress.Reporter
	bars   *progress.Bars
	client *artifactory.Client
}

// open applies --config, validates, and connects: refused credentials or an untrusted certificate give one
// message before any repository is looked at.
func (o *runFlags) open(cmd *cobra.Command, getenv func(string) string, sel selection) (*session, error) {
	return o.openWith(cmd, getenv, sel, true)
}

func (o *runFlags) openWith(cmd *cobra.Command, getenv func(string) string, sel selection, allowBars bool) (*session, error) {
	if err := o.applyConfig(cmd); err != nil {
		return nil, err
	}
	if o.hasSelection {
		sel = o.selection() // the config file may have set them
	}
	if err := o.validate(); err != nil {
		return nil, err
	}
	if _, err := run.NewImageFilter(sel.includes, sel.excludes); err != nil {
		return nil, usageError{err}
	}
	ctx := cmd.Context()
	stderr := cmd.ErrOrStderr()
	prog, logw, bars := o.progressFor(stderr, allowBars)
	log := o.logger(logw)
	if prog == nil {
		prog = progress.NewLog(log)
	}
	s := &session{flags: o, sel: sel, log: log, prog: prog, bars: bars}
	copts := append([]artifactory.Option{artifactory.WithPageSize(o.pageSize)}, o.perf.clientOptions(o.concurrency)...)
	client, err := o.conn.client(ctx, getenv, log, append(copts, clientOptions(ctx)...)...)
	if err != nil {
		s.closeProgress()
		return nil, err
	}
	s.client = client
	if sel.plan != nil {
		if err := sel.plan.CheckURL(client.BaseURL()); err != nil {
			s.closeProgress()
			return nil, usageError{err}
		}
	}
	if sel.minAge < minAgeWarning {
		log.Warn("the grace period is short: a multi-arch push writes its children before its index, and a push-by-digest "+
			"index may come minutes later; children of a push in progress could look dangling", "min_age", prune.HumanDuration(sel.minAge))
	}
	return s, nil
}

// closeProgress ends the progress bars, if any; logs go to stderr again.
func (s *session) closeProgress() {
	if s.bars != nil {
		s.bars.Close()
		s.bars = nil
		s.log = s.flags.logger(os.Stderr)
	}
}

// run runs the library once (run.Repositories): what spec says to do beyond planning (Delete, Approved, Tags,
// Evidence), with the session's selection and flags for the rest.
func (s *session) run(ctx context.Context, spec run.Options) *run.Result {
	if s.sel.pulledWithin > 0 && s.flags.perf.cacheDir == "" {
		s.log.Warn("--keep-pulled-within without --cache-dir: Artifactory counts artprune's own reads of manifests as "+
			"downloads, so every manifest read in a run within the window is kept as pulled in the next; "+
			"give --cache-dir so that each manifest is read once", "keep_pulled_within", prune.HumanDuration(s.sel.pulledWithin))
	}
	opts := run.Options{
		Repositories: s.sel.repos, AllRepositories: s.sel.allRepos,
		IncludeImages: s.sel.includes, ExcludeImages: s.sel.excludes,
		KeepProperty: s.sel.keepProperty, MinAge: s.sel.minAge, KeepPulledWithin: s.sel.pulledWithin,
		Concurrency: s.flags.concurrency, Delete: spec.Delete, PurgeTrashAfter: time.Duration(s.flags.purgeTrashAfter),
		Approved: spec.Approved, Tags: spec.Tags, Evidence: spec.Evidence, Logger: s.log, Progress: s.prog,
	}
	s.flags.perf.runOptions(&opts)
	return run.Repositories(ctx, s.client, opts)
}

// publish writes what a run produced: the report on stdout and to --report, the Markdown summary, the metrics
// file and the Pushgateway. It returns errFailed for a run with failures, and an error for an interrupted one.
func (s *session) publish(ctx context.Context, stdout io.Writer, out *run.Result) error {
	if out.Err != nil {
		s.publishMetrics(ctx, out, nil, false)
		return cliError(out.Err)
	}
	opts := out.ReportOptions()
	o := s.flags
	if o.reportFile != "" {
		err := writeFileAtomically(o.reportFile, func(w io.Writer) error {
			_, err := prune.WriteReportJSON(w, out.DryRun, out.Plans, out.Applied, opts...)
			return err
		})
		if err != nil {
			return fmt.Errorf("write the report: %w", err)
		}
	}
	var err error
	if stdout != nil {
		if o.output == "json" {
			_, err = prune.WriteReportJSON(stdout, out.DryRun, out.Plans, out.Applied, opts...)
		} else {
			_, err = prune.WriteReportText(stdout, out.DryRun, out.Plans, out.Applied, opts...)
		}
		if err != nil {
			return err
		}
	}
	head := prune.NewReportHead(out.DryRun, out.Plans, out.Applied, opts...)
	ok := ctx.Err() == nil && !run.Failed(head)
	if o.summaryMarkdown != "" {
		if err := appendMarkdown(o.summaryMarkdown, head, out.Took); err != nil {
			s.log.Error("writing the Markdown summary failed", "file", o.summaryMarkdown, "error", err)
		}
	}
	s.publishMetrics(ctx, out, head, ok)
	if ctx.Err() != nil {
		return fmt.Errorf("interrupted (%w): the report says what was deleted and what remains", context.Cause(ctx))
	}
	if !ok {
		return errFailed
	}
	return nil
}

// publishMetrics writes --metrics-file and pushes to --pushgateway; failures are logged, not fatal: the run's
// outcome is the report's.
func (s *session) publishMetrics(ctx context.Context, out *run.Result, head *prune.Report, ok bool) {
	m := metrics.Run{Report: head, Finished: time.Now(), Duration: out.Took, Success: ok}
	if f := s.flags.metricsFile; f != "" {
		if err := metrics.WriteTextfile(f, m); err != nil {
			s.log.Error("writing the metrics file failed", "file", f, "error", err)
		}
	}
	if u := s.flags.pushgateway; u != "" {
		pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		if err := metrics.Push(pctx, u, "artprune", m, nil); err != nil {
			s.log.Error("pushing metrics failed", "error", err)
		}
	}
}

// appendMarkdown appends the summary to path: $GITHUB_STEP_SUMMARY is shared by the steps of a job.
func appendMarkdown(path string, r *prune.Report, took time.Duration) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	if err := r.WriteMarkdown(f, took); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// cliError is a library error as the command reports it: options that cannot run are a usage error (exit 2).
func cliError(err error) error {
	var oe *run.OptionsError
	if errors.As(err, &oe) {
		return usageError{err}
	}
	return err
}
