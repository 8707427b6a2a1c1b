package main

import (
	"context"

	"github.com/artprune/artprune/prune"
)

// trashCan reads where deletions go. A failure to read it is logged, not fatal: the report says "unknown". With
// --delete and the Trash Can disabled it warns before anything is deleted (the text report says so too, at its
// top and bottom).
func (s *session) trashCan(ctx context.Context, del bool) prune.TrashCan {
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
func (s *session) heal(ctx context.Context, plan *prune.RepoPlan, res *prune.ApplyResult) *prune.HealResult {
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
