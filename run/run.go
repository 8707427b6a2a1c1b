package run

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"time"

	"github.com/artprune/artprune/artifactory"
	"github.com/artprune/artprune/planfile"
	"github.com/artprune/artprune/progress"
	"github.com/artprune/artprune/prune"
)

// DefaultKeepProperty is the property that protects a folder (and what it references) from deletion: artprune's
// --keep-property default. [Options.KeepProperty] has no default: empty turns protection by property off.
const DefaultKeepProperty = "artprune.keep=true"

// DefaultConcurrency is the number of requests a run keeps in flight when [Options.Concurrency] is zero.
const DefaultConcurrency = 8

// Options say what a run judges, with which settings, and what it does beyond planning. The zero value, with
// Repositories set, is a dry run with the default grace period and no keep property.
type Options struct {
	// Repositories are the local Docker repositories to judge: keys, or globs of keys such as "docker-*" (matched
	// as path.Match does against the server's repositories). Ignored when Approved or Tags say which.
	Repositories []string
	// AllRepositories judges every local Docker repository this user sees; remote, virtual and federated ones are
	// reported in Result.Skipped.
	AllRepositories bool
	// IncludeImages, when not empty, limits the run to the images matching one of these globs ("team/app",
	// "team/*", "team/**"); ExcludeImages leaves the images matching one of them alone: neither read, judged nor
	// deleted. See [NewImageFilter].
	IncludeImages, ExcludeImages []string
	// KeepProperty protects a folder carrying this property ("key=value", or "key" for any value) and what it
	// references; empty disables. artprune's default is [DefaultKeepProperty].
	KeepProperty string
	// MinAge is the grace period; zero means [prune.DefaultMinAge]. The clocks of the client and the server must
	// agree within a tenth of it, or nothing is deleted.
	MinAge time.Duration
	// KeepPulledWithin keeps the digest folders whose manifest was downloaded within this long, with what they
	// reference; zero turns it off. Give Documents too: Artifactory counts the run's own reads as downloads.
	KeepPulledWithin time.Duration
	// Concurrency is the number of requests in flight at once (document reads, deletes, Trash Can marks); zero means
	// [DefaultConcurrency].
	Concurrency int
	// MeasureLimit is prune.Options.MeasureLimit: the most folders to delete whose sizes are measured; zero means
	// [prune.DefaultMeasureLimit], negative never measures.
	MeasureLimit int
	// Documents, when not nil, keeps parsed documents between runs (the doccache package is one).
	Documents prune.DocumentCache

	// Delete deletes; without it the run is a dry run and deletes nothing.
	Delete bool
	// PurgeTrashAfter, when positive, permanently deletes from the Trash Can the folders artprune moved there at
	// least this long ago and that nothing references again (in a dry run it only says which).
	PurgeTrashAfter time.Duration
	// Approved, with Delete, is a plan file whose folders alone may be deleted: the run judges its repositories
	// again with the settings given here (the caller takes them from the plan: see [OptionsFromPlan]) and deletes
	// only the approved folders whose evidence still holds. The plan must have been made against the client's URL.
	Approved *planfile.Plan
	// Tags, when not nil, are the tags to delete per repository (artprune delete): the run deletes them and the
	// digest folders only they kept, instead of pruning. The repositories are the map's keys.
	Tags map[string][]prune.TagPattern
	// Evidence records the manifest files of every folder judged in Result.Evidence: a plan file needs them
	// ([Result.PlanFile]). It is on whenever Approved is set.
	Evidence bool

	// Logger receives the run's log; nil discards it.
	Logger *slog.Logger
	// Progress shows the run's phases (inventory, document reads, deletes) as they go; nil shows nothing.
	Progress progress.Reporter
}

// OptionsFromPlan returns the options that apply the approved plan pl: its repositories, judged again with its
// grace period, keep property, --keep-pulled-within window and image filters, deleting only what it approved (and,
// for a plan of artprune delete, with exactly its tags). The caller adds Concurrency, Logger and the like.
//
// Nothing authenticates a plan file, and OptionsFromPlan does not judge it: artprune apply refuses a plan whose
// pl.Weakenings(prune.DefaultMinAge, DefaultKeepProperty) are not confirmed on its command line, and a plan of
// artprune delete whose pl.DeleteTags are not given again; an embedding program should decide the same before
// it runs these options.
func OptionsFromPlan(pl *planfile.Plan) Options {
	o := Options{KeepProperty: pl.KeepProperty, IncludeImages: pl.IncludeImages, ExcludeImages: pl.ExcludeImages,
		MinAge: pl.MinAge(), KeepPulledWithin: pl.KeepPulledWithin(), Delete: true, Approved: pl}
	if len(pl.DeleteTags) > 0 { // a plan of artprune delete
		o.Tags, o.Evidence = pl.TagPatterns(), true
	}
	return o
}

// Result is what a run produced, in the order the repositories were judged.
type Result struct {
	// DryRun is true for a run without Options.Delete.
	DryRun bool
	// Plans holds the plan of every repository, a failed one included (its Err says why).
	Plans []*prune.RepoPlan
	// Applied holds the outcome of every deletion, per repository applied.
	Applied []*prune.ApplyResult
	// Skipped are the repositories a glob or AllRepositories named that are not local Docker repositories.
	Skipped []prune.SkippedRepository
	// Evidence maps each repository to its folders' manifest files (with Options.Evidence or Approved).
	Evidence map[string]map[string][]planfile.Manifest
	// Began is when the run started, Took how long it took.
	Began time.Time
	Took  time.Duration
	// Trash says where deletions go; nil when the run stopped before reading it.
	Trash *prune.TrashCan
	// Heals are the final checks after each repository's deletes.
	Heals []*prune.HealResult
	// Purges are the Trash Can purges of Options.PurgeTrashAfter.
	Purges []*prune.PurgeResult
	// Server describes the Artifactory as the client knows it at the end of the run.
	Server prune.ServerReport
	// Err is a failure before any repository was looked at (the repository list could not be read, the options
	// are invalid: an [*OptionsError]); there are no plans then.
	Err error

	url  string
	opts Options
	log  *slog.Logger
}

// OptionsError is Result.Err for options that cannot run (a bad image glob or keep property, an approved plan
// made against another Artifactory, or a plan of artprune delete without its tags, or the other way round).
type OptionsError struct{ Err error }

func (e *OptionsError) Error() string { return e.Err.Error() }
func (e *OptionsError) Unwrap() error { return e.Err }

// ReportOptions returns the options of [prune.WriteReportJSON], [prune.WriteReportText] and [prune.NewReportHead]
// that put the rest of the run in its report: the server's URL (which artprune restore checks), skipped
// repositories, the server, the Trash Can, heals and purges.
func (r *Result) ReportOptions() []prune.ReportOption {
	opts := []prune.ReportOption{prune.WithURL(r.url), prune.WithSkippedRepositories(r.Skipped), prune.WithServer(r.Server)}
	if r.Trash != nil {
		opts = append(opts, prune.WithTrashCan(*r.Trash))
	}
	return append(opts, prune.WithHeal(r.Heals), prune.WithPurge(r.Purges))
}

// Failed reports whether a report head shows a failure: a repository or an image that could not be evaluated, a
// deletion that was refused, failed or not attempted, a failed heal or purge. artprune exits 1 then.
func Failed(head *prune.Report) bool {
	t := head.Totals
	return t.FailedRepositories > 0 || t.FailedImages > 0 ||
		t.Outcomes.Forbidden > 0 || t.Outcomes.Failed > 0 || t.Outcomes.NotAttempted > 0 ||
		t.TagOutcomes.Forbidden > 0 || t.TagOutcomes.Failed > 0 || t.TagOutcomes.NotAttempted > 0 ||
		t.HealFailures > 0 || t.PurgeFailures > 0
}

// runner is one run: its options with the defaults filled in, and what it reads through.
type runner struct {
	opts   Options
	client *artifactory.Client
	log    *slog.Logger
	prog   progress.Reporter
	images ImageFilter
}

// Repositories runs artprune once over the repositories opts names, through client: it plans every repository
// and, with opts.Delete, re-checks and applies each plan. It never stops early on a repository's failure: that
// failure is in the repository's plan, and the others go on. A failure before any repository is in Result.Err.
func Repositories(ctx context.Context, client *artifactory.Client, opts Options) *Result {
	r := &runner{opts: opts, client: client, log: opts.Logger, prog: opts.Progress}
	if r.log == nil {
		r.log = slog.New(slog.DiscardHandler)
	}
	if r.prog == nil {
		r.prog = progress.Nop{}
	}
	r.opts.MinAge = cmp.Or(opts.MinAge, prune.DefaultMinAge)
	r.opts.Concurrency = cmp.Or(opts.Concurrency, DefaultConcurrency)
	out := &Result{DryRun: !opts.Delete, Began: time.Now(), Evidence: map[string]map[string][]planfile.Manifest{},
		url: client.BaseURL(), opts: r.opts, log: r.log}
	defer func() { out.Took = time.Since(out.Began) }()
	if err := r.prepare(ctx); err != nil {
		out.Err = err
		return out
	}
	r.run(ctx, out)
	info, _ := client.KnownServer()
	out.Server = prune.ServerReport{Edition: info.Edition, Version: info.Version, AQLSort: info.Sorts, Admin: info.Admin, DetectedBy: info.How}
	return out
}

// prepare checks the options and finds the server's edition (once per client: no request when known). Only bad
// options are an error.
func (r *runner) prepare(ctx context.Context) error {
	var err error
	if r.images, err = NewImageFilter(r.opts.IncludeImages, r.opts.ExcludeImages); err != nil {
		return &OptionsError{err}
	}
	if a := r.opts.Approved; a != nil {
		if err := a.CheckURL(r.client.BaseURL()); err != nil {
			return &OptionsError{err}
		}
		switch {
		case len(a.DeleteTags) > 0 && r.opts.Tags == nil:
			return &OptionsError{errors.New("the approved plan deletes tags (a plan of artprune delete): apply it with its tags (run.OptionsFromPlan)")}
		case len(a.DeleteTags) == 0 && r.opts.Tags != nil:
			return &OptionsError{errors.New("the approved plan deletes no tags (a plan of artprune plan): apply it without Tags")}
		}
	}
	if _, err := r.client.Server(ctx); err != nil && ctx.Err() == nil {
		// A failed detection is not cached: every repository's listing detects again, and fails closed while the
		// edition cannot be found out. (A cancelled ctx fails every repository as not planned.)
		r.log.Warn("could not find out the Artifactory edition; each repository will try again", "error", err)
	}
	return nil
}

func (r *runner) run(ctx context.Context, out *Result) {
	spec := r.opts
	repos := spec.Repositories
	if spec.Tags != nil {
		repos = slices.Sorted(maps.Keys(spec.Tags))
	} else if spec.Approved != nil {
		repos = nil
		for _, rp := range spec.Approved.Repositories {
			if rp.Error == "" {
				repos = append(repos, rp.Repo)
			}
		}
	} else {
		res, err := r.resolveRepos(ctx)
		if err != nil {
			out.Err = err
			return
		}
		repos = res.Repos
		for _, sk := range res.Skipped {
			r.log.Warn("repository skipped", "repo", sk.Repo, "reason", sk.Reason)
			out.Skipped = append(out.Skipped, prune.SkippedRepository{Repo: sk.Repo, Reason: sk.Reason})
		}
	}
	tc := r.trashCan(ctx, spec.Delete)
	out.Trash = &tc

	var base prune.Source = r.client
	if spec.KeepProperty != "" {
		base = artifactory.KeepSource{Client: r.client, Property: spec.KeepProperty}
	}
	if spec.KeepPulledWithin > 0 {
		base = artifactory.PulledSource{Source: base, Client: r.client, Within: spec.KeepPulledWithin}
	}
	src := newRunSource(base, r.images, r.prog, spec.Evidence || spec.Approved != nil)
	popts := prune.Options{MinAge: spec.MinAge, Concurrency: spec.Concurrency, KeepProperty: spec.KeepProperty, Logger: r.log,
		MeasureLimit: spec.MeasureLimit, Documents: spec.Documents}
	planner, err := prune.NewPlanner(src, popts)
	if err != nil {
		out.Err = &OptionsError{err}
		return
	}
	r.client.ResetClock()
	clockWarned := false
	for _, repo := range repos {
		if ctx.Err() != nil {
			out.Plans = append(out.Plans, r.failedPlan(repo, fmt.Errorf("not planned: %w", ctx.Err())))
			continue
		}
		plan := r.planRepo(ctx, planner, src, repo, spec.Tags[repo])
		r.checkClock(plan, &clockWarned)
		plan.ExcludedImages = src.excludedImages(repo)
		out.Evidence[repo] = src.evidenceOf(repo)
		out.Plans = append(out.Plans, plan)
		if p := r.purgeTrash(ctx, plan, !spec.Delete); p != nil {
			out.Purges = append(out.Purges, p)
		}
		if !spec.Delete {
			continue
		}
		if plan.Err != nil {
			r.approve(plan, out.Evidence[repo])
			continue
		}
		if err := prune.Recheck(ctx, src, plan); err != nil {
			r.log.Error("re-check failed: nothing is deleted in this repository", "repo", repo, "error", err)
		}
		r.checkClock(plan, &clockWarned)
		r.approve(plan, out.Evidence[repo])
		n := plan.DeletionCount()
		if plan.Err == nil {
			r.log.Info("deleting", "repo", repo, "folders", n)
		}
		ph := r.prog.Start(repo, progress.PhaseDeletes, int64(n))
		var res *prune.ApplyResult
		if spec.Tags != nil {
			res = prune.ApplyTagDeletion(ctx, countingDeleter{Deleter: r.client, phase: ph}, plan, spec.Concurrency, r.applyOptions(src)...)
		} else {
			res = prune.Apply(ctx, countingDeleter{Deleter: r.client, phase: ph}, plan, spec.Concurrency, r.applyOptions(src)...)
		}
		ph.Done()
		out.Heals = append(out.Heals, r.heal(ctx, plan, res))
		r.observeTrash(ctx, out.Trash, res)
		r.markTrashed(ctx, out.Trash, res)
		out.Applied = append(out.Applied, res)
	}
	if spec.Tags != nil && spec.Approved == nil {
		r.warnUnmatched(out.Plans)
	}
}

// warnUnmatched warns of each tag pattern of a tag deletion that matched no tag of its repository (a repository
// that failed says why itself).
func (r *runner) warnUnmatched(plans []*prune.RepoPlan) {
	for _, plan := range plans {
		if plan.Err != nil {
			continue
		}
		for _, p := range r.opts.Tags[plan.Repo] {
			matched := false
			for _, td := range plan.TagDeletions {
				matched = matched || p.Match(td.Image, td.Tag)
			}
			if !matched {
				r.log.Warn("no tag matches", "repo", plan.Repo, "tag", p.String())
			}
		}
	}
}

// approve restricts plan to the approved plan, if any (planfile.Approve, and planfile.ApproveTags for a plan of
// artprune delete).
func (r *runner) approve(plan *prune.RepoPlan, evidence map[string][]planfile.Manifest) {
	if r.opts.Approved == nil {
		return
	}
	planfile.Approve(plan, r.opts.Approved, evidence)
	if r.opts.Tags != nil {
		planfile.ApproveTags(plan, r.opts.Approved, evidence)
	}
}

// resolveRepos turns the repository keys and globs, or AllRepositories, into repositories, listing the server's
// repositories only when a glob or AllRepositories needs them.
func (r *runner) resolveRepos(ctx context.Context) (artifactory.Resolution, error) {
	needList := r.opts.AllRepositories
	for _, repo := range r.opts.Repositories {
		needList = needList || artifactory.IsGlob(repo)
	}
	var list []artifactory.RepoSummary
	if needList {
		var err error
		if list, err = r.client.Repositories(ctx); err != nil {
			return artifactory.Resolution{}, err
		}
	}
	res, err := artifactory.ResolveRepositories(r.opts.Repositories, r.opts.AllRepositories, list)
	if err != nil {
		return res, err
	}
	if len(res.Repos) == 0 {
		return res, errors.New("no local Docker repository to prune: --all-repos found none visible to this user")
	}
	r.log.Debug("repositories", "prune", res.Repos, "skipped", len(res.Skipped))
	return res, nil
}

func (r *runner) planRepo(ctx context.Context, planner *prune.Planner, src *runSource, repo string, tags []prune.TagPattern) *prune.RepoPlan {
	if err := r.client.CheckDockerLocal(ctx, repo); err != nil {
		r.log.Error("repository refused", "repo", repo, "error", err)
		return r.failedPlan(repo, err)
	}
	r.log.Info("planning", "repo", repo)
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
		r.log.Error("planning failed: nothing is deleted in this repository", "repo", repo, "error", err)
		if plan == nil {
			return r.failedPlan(repo, err)
		}
		if plan.Err == nil {
			plan.Err = err
		}
		return plan
	}
	r.log.Info("planned", "repo", repo, "images", len(plan.Images), "to_delete", plan.DeletionCount(),
		"excluded_images", len(src.excludedImages(repo)), "took", time.Since(began).Round(time.Millisecond))
	return plan
}

// failedPlan is the plan of a repository that could not be planned: it deletes nothing, so it frees nothing. It
// carries the run's grace period, so that the report shows the settings the repository was judged with.
func (r *runner) failedPlan(repo string, err error) *prune.RepoPlan {
	return &prune.RepoPlan{Repo: repo, Err: err, BytesKnown: true, MinAge: cmp.Or(r.opts.MinAge, prune.DefaultMinAge)}
}

// applyOptions are the options of prune.Apply for a run: re-check each batch of images just before deleting it,
// and retry a deletion whose outcome is unknown only after that re-check, with the client's retry policy.
func (r *runner) applyOptions(src prune.RecheckSource) []prune.ApplyOption {
	b := r.client.Backoff()
	return []prune.ApplyOption{prune.WithImageRecheck(src), prune.WithDeleteRetries(b.Attempts, b.Wait)}
}
