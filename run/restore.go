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
	// Report, when not empty, names the report items were read from, for the log.
	Report string
	// Logger receives the log; nil discards it.
	Logger *slog.Logger
}

// Restore moves every folder of items (a run's deletions, read from its JSON report with [prune.DeletedFolders]:
// digest folders, and the tag folders of a tag deletion, which come back after them) back from the Trash Can to
// where it was. It never overwrites a folder that exists again; every folder that does not come back is in the
// report with why. It needs an admin and Artifactory Pro or above.
func Restore(ctx context.Context, client *artifactory.Client, items []prune.RestoreItem, opts RestoreOptions) *prune.RestoreReport {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if st, err := client.TrashStatus(ctx); err == nil && st.Known && !st.Enabled {
		log.Warn("the Trash Can is disabled on this Artifactory: folders deleted while it was disabled cannot be restored")
	}
	attrs := []any{"folders", len(items), "dry_run", opts.DryRun}
	if opts.Report != "" {
		attrs = append([]any{"report", opts.Report}, attrs...)
	}
	log.Info("restoring", attrs...)
	rep := prune.RestoreFolders(ctx, client, items, opts.DryRun, cmp.Or(opts.Concurrency, DefaultConcurrency))
	for _, it := range rep.Folders {
		if it.Outcome != prune.RestoreRestored && it.Outcome != prune.RestoreWouldRestore {
			log.Error("not restored", "repo", it.Repo, "path", it.Path, "outcome", it.Outcome, "why", it.Error)
		}
	}
	return rep
}
