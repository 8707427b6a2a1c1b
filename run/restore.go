package run

import (
	"cmp"
	"context"
	"log/slog"

	"github.com/artprune/artprune/artifactory"
	"github.com/artprune/artprune/prune"
)

// RestoreOptions configure [Restore].
type RestoreOptions struct {
	// DryRun says what would be restored, and why anything would not, without restoring.
	DryRun bool
	// Concurrency is the number of restores in flight at once; zero means [DefaultConcurrency].
	Concurrency int
	// Report, when not empty, names the report file, for the log.
	Report string
	// ReportWithoutURL restores a report that names no Artifactory URL (written before artprune recorded it), which
	// is refused otherwise: the caller has checked that it is of a run against the client's Artifactory. A report
	// that names another URL is refused whatever this says.
	ReportWithoutURL bool
	// Logger receives the log; nil discards it.
	Logger *slog.Logger
}

// Restore moves every folder of rep (a run's deletions, read from its JSON report with [prune.ReadDeletedReport]:
// digest folders, and the tag folders of a tag deletion, which come back after them) back from the Trash Can to
// where it was. It never overwrites a folder that exists again; every folder that does not come back is in the
// report with why. It needs an admin and Artifactory Pro or above.
//
// It restores nothing, and returns an error wrapping [prune.ErrReportServer], when the report is of a run against
// another Artifactory than client's, or names none and opts.ReportWithoutURL is not set
// ([prune.DeletedReport.CheckURL]).
func Restore(ctx context.Context, client *artifactory.Client, rep *prune.DeletedReport, opts RestoreOptions) (*prune.RestoreReport, error) {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if err := rep.CheckURL(client.BaseURL(), opts.ReportWithoutURL); err != nil {
		return nil, err
	}
	if rep.URL == "" {
		log.Warn("the report names no Artifactory URL: restoring it through this one, as --report-without-url says", "url", client.BaseURL())
	}
	items := rep.Folders
	if st, err := client.TrashStatus(ctx); err == nil && st.Known && !st.Enabled {
		log.Warn("the Trash Can is disabled on this Artifactory: folders deleted while it was disabled cannot be restored")
	}
	attrs := []any{"folders", len(items), "dry_run", opts.DryRun}
	if opts.Report != "" {
		attrs = append([]any{"report", opts.Report}, attrs...)
	}
	log.Info("restoring", attrs...)
	out := prune.RestoreFolders(ctx, client, items, opts.DryRun, cmp.Or(opts.Concurrency, DefaultConcurrency))
	for _, it := range out.Folders {
		if it.Outcome != prune.RestoreRestored && it.Outcome != prune.RestoreWouldRestore {
			log.Error("not restored", "repo", it.Repo, "path", it.Path, "outcome", it.Outcome, "why", it.Error)
		}
	}
	return out, nil
}
