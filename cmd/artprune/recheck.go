package main

import (
	"context"
	"fmt"
	"time"

	"github.com/artprune/artprune/prune"
)

// RecheckImages implements prune.RecheckSource with the run's source, which must provide it: without it, the
// re-check before each batch of deletions fails, and so the repository's remaining deletions are not attempted.
func (s *runSource) RecheckImages(ctx context.Context, repo string, images []string, since time.Time, fn func(prune.ManifestFile) error) error {
	rs, ok := s.Source.(prune.RecheckSource)
	if !ok {
		return fmt.Errorf("the source of repository %s cannot re-check images: %w", repo, prune.ErrIncomplete)
	}
	return rs.RecheckImages(ctx, repo, images, since, fn)
}

// applyOptions are the options of prune.Apply for a run: re-check each batch of images just before deleting it,
// and retry a deletion whose outcome is unknown only after that re-check, with the client's retry policy.
func (s *session) applyOptions(src prune.RecheckSource) []prune.ApplyOption {
	b := s.client.Backoff()
	return []prune.ApplyOption{prune.WithImageRecheck(src), prune.WithDeleteRetries(b.Attempts, b.Wait)}
}
