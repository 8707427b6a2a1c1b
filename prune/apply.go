package prune

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"golang.org/x/sync/semaphore"
)

// Outcome is what happened to one planned deletion.
type Outcome string

// Outcomes of a deletion.
const (
	// OutcomeDeleted: the folder was deleted.
	OutcomeDeleted Outcome = "deleted"
	// OutcomeAlreadyGone: the server answered not found; counted as a success.
	OutcomeAlreadyGone Outcome = "already-gone"
	// OutcomeForbidden: the server refused for lack of the Delete permission.
	OutcomeForbidden Outcome = "forbidden"
	// OutcomeFailed: the guard refused the path, or the deletion failed otherwise.
	OutcomeFailed Outcome = "failed"
	// OutcomeNotAttempted: the deletion was not started (cancelled, or the plan failed or was not rechecked).
	OutcomeNotAttempted Outcome = "not-attempted"
)

// Deletion is the outcome of one planned deletion.
type Deletion struct {
	// Path is the folder relative to the repository.
	Path    string
	Outcome Outcome
	// Err is the error of a deletion that was refused or failed, or of one already gone.
	Err error
}

// ApplyResult is the outcome of [Apply] for one repository.
type ApplyResult struct {
	Repo string
	// Deletions has one entry per planned deletion, in the order of RepoPlan.Deletions.
	Deletions []Deletion
	// Err says why some or all deletions were not attempted: a failed plan, a plan not rechecked, cancellation.
	Err error
}

// Apply deletes the folders that plan marks for deletion, up to concurrency at once (zero or less means
// [DefaultConcurrency]), and never anything else: each path is checked by [ValidateFolderPath] and must match the
// folder's image and digest. It deletes nothing when plan.Err is set or [Recheck] has not confirmed the plan. One
// failure never stops the others. When ctx is cancelled, Apply starts no new deletion, lets those in flight finish
// (they run under a context that is not cancelled with ctx) and returns; the rest are [OutcomeNotAttempted].
func Apply(ctx context.Context, d Deleter, plan *RepoPlan, concurrency int) *ApplyResult {
	folders := plan.Deletions()
	res := &ApplyResult{Repo: plan.Repo, Deletions: make([]Deletion, len(folders))}
	for i, f := range folders {
		res.Deletions[i] = Deletion{Path: f.Path, Outcome: OutcomeNotAttempted}
	}
	switch {
	case plan.Err != nil:
		res.Err = fmt.Errorf("not deleting in repository %s: %w", plan.Repo, plan.Err)
		return res
	case !plan.rechecked:
		res.Err = fmt.Errorf("not deleting in repository %s: %w", plan.Repo, ErrNotRechecked)
		return res
	}
	if concurrency <= 0 {
		concurrency = DefaultConcurrency
	}

	sem := semaphore.NewWeighted(int64(concurrency))
	inflight := context.WithoutCancel(ctx)
	var wg sync.WaitGroup
	for i, f := range folders {
		if ctx.Err() != nil || sem.Acquire(ctx, 1) != nil {
			break
		}
		if ctx.Err() != nil { // Acquire may succeed on a cancelled context
			sem.Release(1)
			break
		}
		wg.Go(func() {
			defer sem.Release(1)
			res.Deletions[i] = deleteFolder(inflight, d, plan.Repo, f)
		})
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		res.Err = fmt.Errorf("deleting in repository %s: stopped: %w", plan.Repo, err)
	}
	return res
}

// deleteFolder guards and deletes one folder.
func deleteFolder(ctx context.Context, d Deleter, repo string, f Folder) Deletion {
	del := Deletion{Path: f.Path}
	err := ValidateFolderPath(repo, f.Path)
	if err == nil && f.Path != f.Image+"/"+string(f.Digest) {
		err = fmt.Errorf("folder %q in %s does not match image %q and digest %s: %w", f.Path, repo, f.Image, f.Digest, ErrUnsafePath)
	}
	if err != nil {
		del.Outcome, del.Err = OutcomeFailed, fmt.Errorf("refusing to delete: %w", err)
		return del
	}
	return deleteFolderAt(ctx, d, repo, f.Path)
}

// deleteFolderAt deletes one folder that a guard accepted, and classifies the outcome.
func deleteFolderAt(ctx context.Context, d Deleter, repo, folder string) Deletion {
	del := Deletion{Path: folder}
	err := d.DeleteFolder(ctx, repo, folder)
	switch {
	case err == nil:
		del.Outcome = OutcomeDeleted
	case errors.Is(err, ErrNotFound):
		del.Outcome, del.Err = OutcomeAlreadyGone, err
	case errors.Is(err, ErrForbidden):
		del.Outcome, del.Err = OutcomeForbidden, fmt.Errorf("deleting %s/%s: missing Delete permission: %w", repo, folder, err)
	default:
		del.Outcome, del.Err = OutcomeFailed, fmt.Errorf("deleting %s/%s: %w", repo, folder, err)
	}
	return del
}
