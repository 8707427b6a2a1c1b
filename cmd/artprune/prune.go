package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/artprune/artprune/artifactory"
	"github.com/artprune/artprune/prune"
)

// pruneOptions are the flags of "artprune prune".
type pruneOptions struct {
	conn        connFlags
	repos       []string
	minAge      durationValue
	delete      bool
	concurrency int
	output      string
	reportFile  string
	pageSize    int
	verbose     bool
	quiet       bool
	perf        perfFlags
}

// minAgeWarning is the grace period below which artprune warns: a multi-arch push writes children before the index.
const minAgeWarning = 10 * time.Minute

func newPruneCmd(getenv func(string) string) *cobra.Command {
	o := &pruneOptions{minAge: durationValue(prune.DefaultMinAge)}
	cmd := &cobra.Command{
		Use:   "prune --url URL --repo KEY [--repo KEY]... [--delete]",
		Short: "Find (and with --delete, remove) dangling manifest folders",
		Long: `prune lists every manifest of each repository with AQL, reads every index and manifest once, marks what tags,
nested indexes, OCI referrers and the grace period keep alive, and plans to delete the other digest folders
(<image>/sha256:<hex>). Without --delete it only reports. With --delete it re-checks for new pushes, then deletes.

Credentials come from the flags, else from the JFrog CLI environment variables JF_URL, JF_ACCESS_TOKEN, JF_USER and
JF_PASSWORD. Flags win over the environment.

Exit codes: 0 success; 1 a failure happened (nothing unsafe was done); 2 usage error; 130/143 interrupted.`,
		Example: `  # What would be freed in docker-local? (dry run)
  artprune prune --url https://example.jfrog.io/artifactory --access-token-file token.txt --repo docker-local

  # Delete, keeping anything younger than 7 days, and keep a JSON report
  artprune prune --url https://example.jfrog.io/artifactory --repo docker-local --min-age 7d --delete --report report.json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return o.run(cmd.Context(), cmd.OutOrStdout(), cmd.ErrOrStderr(), getenv)
		},
	}
	f := cmd.Flags()
	o.conn.register(f)
	f.StringArrayVar(&o.repos, "repo", nil, "local Docker repository to prune (repeatable)")
	f.Var(&o.minAge, "min-age", "grace period: manifests younger than this are kept with everything they reference (Go duration or days: 36h, 7d)")
	f.BoolVar(&o.delete, "delete", false, "delete; without it artprune only reports what it would delete (dry run)")
	f.IntVar(&o.concurrency, "concurrency", 8, "requests in flight at once (document reads, deletes)")
	f.StringVarP(&o.output, "output", "o", "text", "output format on stdout: text or json")
	f.StringVar(&o.reportFile, "report", "", "also write the JSON report to this file")
	f.IntVar(&o.pageSize, "page-size", artifactory.DefaultPageSize, "AQL rows per page")
	o.perf.register(f)
	f.BoolVarP(&o.verbose, "verbose", "v", false, "log details to stderr")
	f.BoolVarP(&o.quiet, "quiet", "q", false, "log only errors to stderr")
	return cmd
}

func (o *pruneOptions) validate() error {
	if len(o.repos) == 0 {
		return usageErrorf("--repo is required: name the local Docker repository to prune")
	}
	for _, r := range o.repos {
		if r == "" || strings.ContainsAny(r, "/\\ *?") {
			return usageErrorf("--repo %q: want a repository key such as docker-local", r)
		}
	}
	if o.minAge <= 0 {
		return usageErrorf("--min-age must be positive: a grace period of zero could delete the children of a push in progress")
	}
	if o.output != "text" && o.output != "json" {
		return usageErrorf("--output %q: want text or json", o.output)
	}
	if o.concurrency < 1 || o.concurrency > 256 {
		return usageErrorf("--concurrency %d: want 1 to 256", o.concurrency)
	}
	if o.pageSize < 1 {
		return usageErrorf("--page-size %d: must be at least 1", o.pageSize)
	}
	if o.verbose && o.quiet {
		return usageErrorf("--verbose and --quiet contradict each other")
	}
	return o.perf.validate()
}

func (o *pruneOptions) logger(stderr io.Writer) *slog.Logger {
	level := slog.LevelInfo
	switch {
	case o.verbose:
		level = slog.LevelDebug
	case o.quiet:
		level = slog.LevelError
	}
	return slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
}

func (o *pruneOptions) run(ctx context.Context, stdout, stderr io.Writer, getenv func(string) string) error {
	if err := o.validate(); err != nil {
		return err
	}
	log := o.logger(stderr)
	client, err := o.conn.client(getenv, log, append([]artifactory.Option{artifactory.WithPageSize(o.pageSize)}, clientOptions(ctx)...)...)
	if err != nil {
		return err
	}
	// Refused credentials or an untrusted certificate: one message, before any repository is looked at.
	if err := client.CheckCredentials(ctx); err != nil {
		return err
	}
	if time.Duration(o.minAge) < minAgeWarning {
		log.Warn("the grace period is short: a multi-arch push writes its children before its index, and a push-by-digest "+
			"index may come minutes later; children of a push in progress could look dangling", "min_age", o.minAge.String())
	}
	popts := prune.Options{MinAge: time.Duration(o.minAge), Concurrency: o.concurrency, Logger: log}
	o.perf.plannerOptions(&popts)
	planner, err := prune.NewPlanner(client, popts)
	if err != nil {
		return usageError{err}
	}
	plans, results := o.pruneAll(ctx, client, planner, log)
	totals, err := o.writeReport(stdout, plans, results)
	if err != nil {
		return err
	}
	if ctx.Err() != nil {
		return fmt.Errorf("interrupted (%w): the report says what was deleted and what remains", context.Cause(ctx))
	}
	if failedTotals(totals) {
		return errFailed
	}
	return nil
}

// pruneAll plans every repository and, with --delete, re-checks and applies each plan.
func (o *pruneOptions) pruneAll(ctx context.Context, client *artifactory.Client, planner *prune.Planner, log *slog.Logger) ([]*prune.RepoPlan, []*prune.ApplyResult) {
	var plans []*prune.RepoPlan
	var results []*prune.ApplyResult
	for _, repo := range o.repos {
		if ctx.Err() != nil {
			plans = append(plans, failedPlan(repo, fmt.Errorf("not planned: %w", ctx.Err())))
			continue
		}
		plan := o.planRepo(ctx, client, planner, repo, log)
		plans = append(plans, plan)
		if !o.delete || plan.Err != nil {
			continue
		}
		if err := prune.Recheck(ctx, client, plan); err != nil {
			log.Error("re-check failed: nothing is deleted in this repository", "repo", repo, "error", err)
		}
		log.Info("deleting", "repo", repo, "folders", plan.DeletionCount())
		res := prune.Apply(ctx, client, plan, o.concurrency)
		results = append(results, res)
	}
	return plans, results
}

func (o *pruneOptions) planRepo(ctx context.Context, client *artifactory.Client, planner *prune.Planner, repo string, log *slog.Logger) *prune.RepoPlan {
	if err := client.CheckDockerLocal(ctx, repo); err != nil {
		log.Error("repository refused", "repo", repo, "error", err)
		return failedPlan(repo, err)
	}
	log.Info("planning", "repo", repo)
	began := time.Now()
	plan, err := planner.Plan(ctx, repo)
	if err != nil {
		log.Error("planning failed: nothing is deleted in this repository", "repo", repo, "error", err)
		if plan == nil {
			return failedPlan(repo, err)
		}
		if plan.Err == nil {
			plan.Err = err
		}
		return plan
	}
	log.Info("planned", "repo", repo, "images", len(plan.Images), "to_delete", plan.DeletionCount(),
		"took", time.Since(began).Round(time.Millisecond))
	return plan
}

// writeReport writes the report to stdout and to --report, streaming it: a report of a million folders is written
// as it is made, never held whole.
func (o *pruneOptions) writeReport(stdout io.Writer, plans []*prune.RepoPlan, results []*prune.ApplyResult) (prune.Summary, error) {
	dryRun := !o.delete
	if o.reportFile != "" {
		err := writeFileAtomically(o.reportFile, func(w io.Writer) error {
			_, err := prune.WriteReportJSON(w, dryRun, plans, results)
			return err
		})
		if err != nil {
			return prune.Summary{}, fmt.Errorf("write the report: %w", err)
		}
	}
	if o.output == "json" {
		return prune.WriteReportJSON(stdout, dryRun, plans, results)
	}
	return prune.WriteReportText(stdout, dryRun, plans, results)
}

// writeFileAtomically writes path through a temporary file renamed over it: a reader never sees half of it.
func writeFileAtomically(path string, write func(io.Writer) error) error {
	tmp, err := os.CreateTemp(dirOf(path), ".artprune-report-*")
	if err != nil {
		return err
	}
	if err := write(tmp); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return err
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	return os.Rename(tmp.Name(), path)
}

func dirOf(path string) string {
	if i := strings.LastIndexAny(path, `/\`); i >= 0 {
		return path[:i+1]
	}
	return "."
}

// failed reports whether the run had a failure worth exit code 1: a repository or an image that could not be
// evaluated, or a deletion that was refused, failed or not attempted.
func failed(r *prune.Report) bool { return failedTotals(r.Totals) }

// failedTotals is failed on a report's totals.
func failedTotals(t prune.Summary) bool {
	return t.FailedRepositories > 0 || t.FailedImages > 0 ||
		t.Outcomes.Forbidden > 0 || t.Outcomes.Failed > 0 || t.Outcomes.NotAttempted > 0
}

// failedPlan is the plan of a repository that could not be planned: it deletes nothing, so it frees nothing.
func failedPlan(repo string, err error) *prune.RepoPlan {
	return &prune.RepoPlan{Repo: repo, Err: err, BytesKnown: true}
}
