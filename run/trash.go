package run

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/artprune/artprune/prune"
)

// trashCan reads where deletions go. A failure to read it is logged, not fatal: the report says "unknown". With
// Delete and the Trash Can disabled it warns before anything is deleted (the text report says so too, at its
// top and bottom).
func (s *runner) trashCan(ctx context.Context, del bool) prune.TrashCan {
	st, err := s.client.TrashStatus(ctx)
	if err != nil {
		s.log.Warn("the Trash Can's configuration could not be read: the report cannot say whether deletions can be undone", "error", err)
	}
	tc := st.TrashCan()
	switch {
	case del && tc.State == prune.TrashDisabled:
		s.log.Warn("THE TRASH CAN IS DISABLED: every deletion of this run is permanent and cannot be undone with artprune restore")
	case del && tc.State == prune.TrashUnknown:
		s.log.Info("the Trash Can's configuration is not readable by this user (it needs an admin): whether deletions can be undone is unknown")
	}
	return tc
}

// heal runs the final check after a repository's deletes (prune.Heal) and logs what it did.
func (s *runner) heal(ctx context.Context, plan *prune.RepoPlan, res *prune.ApplyResult) *prune.HealResult {
	h := prune.Heal(ctx, s.client, s.client, plan, res, 0)
	for _, f := range h.Folders {
		switch f.Outcome {
		case prune.HealFailed:
			s.log.Error("a deleted folder is referenced by a manifest pushed during the deletes and could not be restored",
				"repo", plan.Repo, "folder", f.Path, "why", f.Why, "error", f.Err)
		default:
			s.log.Warn("a deleted folder is referenced by a manifest pushed during the deletes", "repo", plan.Repo,
				"folder", f.Path, "outcome", f.Outcome, "why", f.Why)
		}
	}
	if h.Err != nil {
		s.log.Error("the final check for pushes made during the deletes failed", "repo", plan.Repo, "error", h.Err)
	}
	return h
}

// observeTrash settles an unknown Trash Can state (the configuration API needs an admin, and SaaS does not serve it)
// by looking for a folder this run deleted in the Trash Can: there, the Trash Can is enabled, retention unknown.
func (s *runner) observeTrash(ctx context.Context, tc *prune.TrashCan, res *prune.ApplyResult) {
	if tc == nil || tc.State != prune.TrashUnknown {
		return
	}
	for _, d := range res.Deletions {
		if d.Outcome != prune.OutcomeDeleted {
			continue
		}
		if in, err := s.client.InTrash(ctx, res.Repo, d.Path); err == nil && in {
			*tc = prune.TrashCan{State: prune.TrashEnabled}
			s.log.Info("deleted folders are in the Trash Can: it is enabled (its retention could not be read)", "repo", res.Repo)
		}
		return
	}
}

// markTrashed marks the Trash Can's copies of the folders this run deleted as artprune's, so that a later
// run with PurgeTrashAfter may purge them, and only them; Concurrency at a time. It costs two requests per deleted
// folder (read the copy's trash.time, set the mark), so only runs with PurgeTrashAfter mark: a schedule that purges
// gives the flag to every run. A failure is logged: an unmarked folder is never purged.
func (s *runner) markTrashed(ctx context.Context, tc *prune.TrashCan, res *prune.ApplyResult) {
	if !tc.Undoable() || s.opts.PurgeTrashAfter <= 0 {
		return
	}
	sem := make(chan struct{}, max(s.opts.Concurrency, 1))
	var wg sync.WaitGroup
	var failed atomic.Int64
	for _, d := range res.Deletions {
		if d.Outcome != prune.OutcomeDeleted || ctx.Err() != nil {
			continue
		}
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			if err := s.client.MarkTrashed(ctx, res.Repo, d.Path); err != nil {
				if failed.Add(1) == 1 {
					s.log.Warn("marking a deleted folder in the Trash Can failed: --purge-trash-after will leave it there",
						"repo", res.Repo, "folder", d.Path, "error", err)
				}
			}
		}()
	}
	wg.Wait()
	if n := failed.Load(); n > 1 {
		s.log.Warn("folders left unmarked in the Trash Can", "repo", res.Repo, "count", n)
	}
}

// purgeTrash runs PurgeTrashAfter for one repository after its plan (nil when it is off).
func (s *runner) purgeTrash(ctx context.Context, plan *prune.RepoPlan, dryRun bool) *prune.PurgeResult {
	after := s.opts.PurgeTrashAfter
	if after <= 0 {
		return nil
	}
	now, err := s.client.Now(ctx)
	if err != nil {
		return &prune.PurgeResult{Repo: plan.Repo, After: after, Err: fmt.Errorf("read the server's time: %w", err)}
	}
	// The image filter, not only plan.ExcludedImages: an excluded image with no file left is in neither the plan
	// nor that list.
	p := prune.PurgeTrash(ctx, s.client, plan, s.images.Judges, now, after, dryRun)
	if p.Err != nil {
		s.log.Error("purging the Trash Can failed", "repo", plan.Repo, "error", p.Err)
	}
	for _, sk := range p.Skipped {
		s.log.Error("a copy in the Trash Can could not be followed: nothing of its image is purged", "repo", plan.Repo,
			"image", sk.Image, "folders", sk.Folders, "error", sk.Err)
	}
	s.log.Info("trash can purge", "repo", plan.Repo, "folders", len(p.Folders), "freed_bytes", p.FreedBytes, "dry_run", dryRun)
	return p
}
