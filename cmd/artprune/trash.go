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
