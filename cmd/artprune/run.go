package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"os"
	"slices"
	"time"

	"github.com/spf13/cobra"

	"github.com/artprune/artprune/artifactory"
	"github.com/artprune/artprune/internal/metrics"
	"github.com/artprune/artprune/internal/planfile"
	"github.com/artprune/artprune/internal/progress"
	"github.com/artprune/artprune/prune"
)

// session is a configured artprune: the flags, the logger, the progress display and the Artifactory client. One
// session runs once (prune, plan, apply) or many times (serve).
type session struct {
	flags  *runFlags
	sel    selection
	images imageFilter
	log    *slog.Logger
	prog   progress.Reporter
	bars   *progress.Bars
	client *artifactory.Client
	server artifactory.ServerInfo // the edition, found once when the session opens
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
	images, err := newImageFilter(sel.includes, sel.excludes)
	if err != nil {
		return nil, usageError{err}
	}
	ctx := cmd.Context()
	stderr := cmd.ErrOrStderr()
	prog, logw, bars := o.progressFor(stderr, allowBars)
	log := o.logger(logw)
	if prog == nil {
		prog = progress.NewLog(log)
	}
	s := &session{flags: o, sel: sel, images: images, log: log, prog: prog, bars: bars}
	copts := append([]artifactory.Option{artifactory.WithPageSize(o.pageSize)}, o.perf.clientOptions(o.concurrency)...)
	client, err := o.conn.client(ctx, getenv, log, append(copts, clientOptions(ctx)...)...)
	if err != nil {
		s.closeProgress()
		return nil, err
	}
	s.client = client
	if sel.planURL != "" && sel.planURL != client.BaseURL() {
		s.closeProgress()
		return nil, usageErrorf("the plan was made against %s, not %s: apply it to the same Artifactory", sel.planURL, client.BaseURL())
	}
	if s.server, err = client.Server(ctx); err != nil && ctx.Err() == nil {
		// Not cached: every repository's listing detects again (a serve run too), and fails closed while the
		// edition cannot be found out.
		log.Warn("could not find out the Artifactory edition; each repository will try again", "error", err)
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

// runSpec says what one run does beyond planning.
type runSpec struct {
	delete bool
	// approved, for apply, is the plan whose folders alone may be deleted.
	approved *planfile.Plan
	// capture records the evidence a plan file needs.
	capture bool
	// tags, for artprune delete, names the tags to delete per repository; the run deletes them and what only
	// they kept, instead of pruning.
	tags map[string][]prune.TagPattern
}

// runOutput is what one run produced.
type runOutput struct {
	dryRun   bool
	plans    []*prune.RepoPlan
	results  []*prune.ApplyResult
	skipped  []prune.SkippedRepository
	evidence map[string]map[string][]planfile.Manifest // repo -> digest folder -> manifests
	began    time.Time
	took     time.Duration
	trash    *prune.TrashCan // where deletions go; nil when not read
	heals    []*prune.HealResult
	purges   []*prune.PurgeResult
	// err is a failure before any repository was looked at (the repository list could not be read).
	err error
}

// run plans every repository and, when spec says so, re-checks and applies each plan. It never returns early on
// a repository's failure: that failure is in the repository's plan, and the others go on.
func (s *session) run(ctx context.Context, spec runSpec) *runOutput {
	out := &runOutput{dryRun: !spec.delete, began: time.Now(), evidence: map[string]map[string][]planfile.Manifest{}}
	defer func() { out.took = time.Since(out.began) }()
	repos := s.sel.repos
	if spec.tags != nil {
		repos = slices.Sorted(maps.Keys(spec.tags))
	} else if spec.approved != nil {
		repos = nil
		for _, r := range spec.approved.Repositories {
			if r.Error == "" {
				repos = append(repos, r.Repo)
			}
		}
	} else {
		res, err := s.resolveRepos(ctx)
		if err != nil {
			out.err = err
			return out
		}
		repos = res.Repos
		for _, sk := range res.Skipped {
			s.log.Warn("repository skipped", "repo", sk.Repo, "reason", sk.Reason)
			out.skipped = append(out.skipped, prune.SkippedRepository{Repo: sk.Repo, Reason: sk.Reason})
		}
	}
	tc := s.trashCan(ctx, spec.delete)
	out.trash = &tc

	var base prune.Source = s.client
	if s.sel.keepProperty != "" {
		base = artifactory.KeepSource{Client: s.client, Property: s.sel.keepProperty}
	}
	if s.sel.pulledWithin > 0 {
		base = artifactory.PulledSource{Source: base, Client: s.client, Within: s.sel.pulledWithin}
		if s.flags.perf.cacheDir == "" {
			s.log.Warn("--keep-pulled-within without --cache-dir: Artifactory counts artprune's own reads of manifests as "+
				"downloads, so every manifest read in a run within the window is kept as pulled in the next; "+
				"give --cache-dir so that each manifest is read once", "keep_pulled_within", prune.HumanDuration(s.sel.pulledWithin))
		}
	}
	src := newRunSource(base, s.images, s.prog, spec.capture || spec.approved != nil)
	popts := prune.Options{MinAge: s.sel.minAge, Concurrency: s.flags.concurrency, KeepProperty: s.sel.keepProperty, Logger: s.log}
	s.flags.perf.plannerOptions(&popts)
	planner, err := prune.NewPlanner(src, popts)
	if err != nil {
		out.err = usageError{err}
		return out
	}
	s.client.ResetClock()
	clockWarned := false
	for _, repo := range repos {
		if ctx.Err() != nil {
			out.plans = append(out.plans, s.failedPlan(repo, fmt.Errorf("not planned: %w", ctx.Err())))
			continue
		}
		plan := s.planRepo(ctx, planner, src, repo, spec.tags[repo])
		s.checkClock(plan, &clockWarned)
		plan.ExcludedImages = src.excludedImages(repo)
		out.evidence[repo] = src.evidenceOf(repo)
		out.plans = append(out.plans, plan)
		if p := s.purgeTrash(ctx, plan, !spec.delete); p != nil {
			out.purges = append(out.purges, p)
		}
		if !spec.delete {
			continue
		}
		if plan.Err != nil {
			if spec.approved != nil {
				approve(plan, spec.approved, out.evidence[repo])
				if spec.tags != nil {
					approveTags(plan, spec.approved, out.evidence[repo])
				}
			}
			continue
		}
		if err := prune.Recheck(ctx, src, plan); err != nil {
			s.log.Error("re-check failed: nothing is deleted in this repository", "repo", repo, "error", err)
		}
		s.checkClock(plan, &clockWarned)
		if spec.approved != nil {
			approve(plan, spec.approved, out.evidence[repo])
			if spec.tags != nil {
				approveTags(plan, spec.approved, out.evidence[repo])
			}
		}
		n := plan.DeletionCount()
		if plan.Err == nil {
			s.log.Info("deleting", "repo", repo, "folders", n)
		}
		ph := s.prog.Start(repo, progress.PhaseDeletes, int64(n))
		var res *prune.ApplyResult
		if spec.tags != nil {
			res = prune.ApplyTagDeletion(ctx, countingDeleter{Deleter: s.client, phase: ph}, plan, s.flags.concurrency, s.applyOptions(src)...)
		} else {
			res = prune.Apply(ctx, countingDeleter{Deleter: s.client, phase: ph}, plan, s.flags.concurrency, s.applyOptions(src)...)
		}
		ph.Done()
		out.heals = append(out.heals, s.heal(ctx, plan, res))
		s.observeTrash(ctx, out.trash, res)
		s.markTrashed(ctx, out.trash, res)
		out.results = append(out.results, res)
	}
	return out
}

// resolveRepos turns --repo patterns and --all-repos into repositories, listing the server's repositories only
// when a glob or --all-repos needs them.
func (s *session) resolveRepos(ctx context.Context) (artifactory.Resolution, error) {
	needList := s.sel.allRepos
	for _, r := range s.sel.repos {
		needList = needList || artifactory.IsGlob(r)
	}
	var list []artifactory.RepoSummary
	if needList {
		var err error
		if list, err = s.client.Repositories(ctx); err != nil {
			return artifactory.Resolution{}, err
		}
	}
	res, err := artifactory.ResolveRepositories(s.sel.repos, s.sel.allRepos, list)
	if err != nil {
		return res, err
	}
	if len(res.Repos) == 0 {
		return res, errors.New("no local Docker repository to prune: --all-repos found none visible to this user")
	}
	s.log.Debug("repositories", "prune", res.Repos, "skipped", len(res.Skipped))
	return res, nil
}

func (s *session) planRepo(ctx context.Context, planner *prune.Planner, src *runSource, repo string, tags []prune.TagPattern) *prune.RepoPlan {
	if err := s.client.CheckDockerLocal(ctx, repo); err != nil {
		s.log.Error("repository refused", "repo", repo, "error", err)
		return s.failedPlan(repo, err)
	}
	s.log.Info("planning", "repo", repo)
	began := time.Now()
	var plan *prune.RepoPlan
	var err error
	if tags != nil {
		plan, err = planner.PlanTagDeletion(ctx, repo, tags)
	} else {
		plan, err = planner.Plan(ctx, repo)
	}
	src.endDocuments(repo)
	if err != nil {
		s.log.Error("planning failed: nothing is deleted in this repository", "repo", repo, "error", err)
		if plan == nil {
			return s.failedPlan(repo, err)
		}
		if plan.Err == nil {
			plan.Err = err
		}
		return plan
	}
	s.log.Info("planned", "repo", repo, "images", len(plan.Images), "to_delete", plan.DeletionCount(),
		"excluded_images", len(src.excludedImages(repo)), "took", time.Since(began).Round(time.Millisecond))
	return plan
}

// publish writes what a run produced: the report on stdout and to --report, the Markdown summary, the metrics
// file and the Pushgateway. It returns errFailed for a run with failures, and an error for an interrupted one.
func (s *session) publish(ctx context.Context, stdout io.Writer, out *runOutput) error {
	if out.err != nil {
		s.publishMetrics(ctx, out, nil, false)
		return out.err
	}
	opts := []prune.ReportOption{prune.WithSkippedRepositories(out.skipped), prune.WithServer(s.serverReport())}
	if out.trash != nil {
		opts = append(opts, prune.WithTrashCan(*out.trash))
	}
	opts = append(opts, prune.WithHeal(out.heals), prune.WithPurge(out.purges))
	o := s.flags
	if o.reportFile != "" {
		err := writeFileAtomically(o.reportFile, func(w io.Writer) error {
			_, err := prune.WriteReportJSON(w, out.dryRun, out.plans, out.results, opts...)
			return err
		})
		if err != nil {
			return fmt.Errorf("write the report: %w", err)
		}
	}
	var err error
	if stdout != nil {
		if o.output == "json" {
			_, err = prune.WriteReportJSON(stdout, out.dryRun, out.plans, out.results, opts...)
		} else {
			_, err = prune.WriteReportText(stdout, out.dryRun, out.plans, out.results, opts...)
		}
		if err != nil {
			return err
		}
	}
	head := prune.NewReportHead(out.dryRun, out.plans, out.results, opts...)
	ok := ctx.Err() == nil && !failed(head)
	if o.summaryMarkdown != "" {
		if err := appendMarkdown(o.summaryMarkdown, head, out.took); err != nil {
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
func (s *session) publishMetrics(ctx context.Context, out *runOutput, head *prune.Report, ok bool) {
	run := metrics.Run{Report: head, Finished: time.Now(), Duration: out.took, Success: ok}
	if f := s.flags.metricsFile; f != "" {
		if err := metrics.WriteTextfile(f, run); err != nil {
			s.log.Error("writing the metrics file failed", "file", f, "error", err)
		}
	}
	if u := s.flags.pushgateway; u != "" {
		pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		if err := metrics.Push(pctx, u, "artprune", run, nil); err != nil {
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

// serverReport is the report's "server": the edition as the client knows it now (a refused sort may have changed
// it since the session opened).
func (s *session) serverReport() prune.ServerReport {
	info, ok := s.client.KnownServer()
	if !ok {
		info = s.server
	}
	return prune.ServerReport{Edition: info.Edition, Version: info.Version, AQLSort: info.Sorts, Admin: info.Admin, DetectedBy: info.How}
}
