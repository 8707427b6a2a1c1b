package prune

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/semaphore"
)

// Outcome is what happened to one planned deletion.
type Outcome string

// Outcomes of a deletion.
const (
	// OutcomeDeleted: the folder was deleted (by this run: a verified retry that finds the folder gone after an
	// attempt whose answer was lost counts here, not as already gone).
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
	// Err is the error of a deletion that was refused or failed, or of one already gone; for [OutcomeDeleted], a
	// note when the folder was deleted by an attempt whose answer was lost (a verified retry found it gone).
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
//
// Deletions go in the plan's order, image by image. With [WithImageRecheck], each batch of them is preceded by a
// re-check of its images, and the deletions of an image found changed are withdrawn from plan (kept as
// [ReasonChanged]) and left out of the result.
func Apply(ctx context.Context, d Deleter, plan *RepoPlan, concurrency int, opts ...ApplyOption) *ApplyResult {
	var cfg applyConfig
	for _, o := range opts {
		o(&cfg)
	}
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
	since := plan.ServerTime.Add(-RecheckSkew)
	dropped := make([]bool, len(folders)) // deletions withdrawn before they started
	var wg sync.WaitGroup
batches:
	for start := 0; start < len(folders); {
		if dropped[start] { // withdrawn by the re-check of an earlier batch
			start++
			continue
		}
		end := len(folders)
		if cfg.src != nil {
			end = cfg.batchEnd(folders, start)
			if ctx.Err() != nil {
				break
			}
			if err := cfg.recheckBatch(ctx, plan, folders, start, end, since, dropped); err != nil {
				if ctx.Err() != nil {
					break // stopped, not failed: said below
				}
				res.Err = fmt.Errorf("%w; the %d deletions left in repository %s were not attempted", err, len(folders)-start, plan.Repo)
				break
			}
		}
		for i := start; i < end; i++ {
			f := folders[i]
			if dropped[i] {
				continue
			}
			if ctx.Err() != nil || sem.Acquire(ctx, 1) != nil {
				break batches
			}
			if ctx.Err() != nil { // Acquire may succeed on a cancelled context
				sem.Release(1)
				break batches
			}
			wg.Go(func() {
				defer sem.Release(1)
				res.Deletions[i] = cfg.deleteFolder(ctx, inflight, d, plan, f, since)
			})
		}
		start = end
	}
	wg.Wait()
	if slices.Contains(dropped, true) {
		kept := res.Deletions[:0]
		for i, del := range res.Deletions {
			if !dropped[i] {
				kept = append(kept, del)
			}
		}
		res.Deletions = kept
	}
	if err := ctx.Err(); err != nil && res.Err == nil {
		res.Err = fmt.Errorf("deleting in repository %s: stopped: %w", plan.Repo, err)
	}
	return res
}

// recheckBatch re-checks the images of folders[start:end] and withdraws the deletions not started yet (from start
// on) of every image that changed, marking them in dropped.
func (c *applyConfig) recheckBatch(ctx context.Context, plan *RepoPlan, folders []Folder, start, end int, since time.Time, dropped []bool) error {
	changed, err := recheckImages(ctx, c.src, plan, imagesOf(folders[start:end], dropped[start:end]), since)
	if err != nil || len(changed) == 0 {
		return err
	}
	for image, files := range changed {
		// An image's deletions are contiguous: from its first in the batch to its last, maybe in later batches.
		pending := make(map[string]bool)
		i := start
		for i < end && folders[i].Image != image {
			i++
		}
		for ; i < len(folders) && folders[i].Image == image; i++ {
			pending[folders[i].Path] = true
			dropped[i] = true
		}
		plan.withdrawPending(image, files, pending)
	}
	plan.updateBytes()
	return nil
}

// deleteFolder guards and deletes one folder, under ctx, and retries a deletion whose outcome is unknown as
// [WithDeleteRetries] says, unless run (the run's context) is done.
func (c *applyConfig) deleteFolder(run, ctx context.Context, d Deleter, plan *RepoPlan, f Folder, since time.Time) Deletion {
	repo := plan.Repo
	del := Deletion{Path: f.Path}
	err := ValidateFolderPath(repo, f.Path)
	if err == nil && f.Path != f.Image+"/"+string(f.Digest) {
		err = fmt.Errorf("folder %q in %s does not match image %q and digest %s: %w", f.Path, repo, f.Image, f.Digest, ErrUnsafePath)
	}
	if err != nil {
		del.Outcome, del.Err = OutcomeFailed, fmt.Errorf("refusing to delete: %w", err)
		return del
	}
	err = c.deleteVerified(run, ctx, d, plan, f, since)
	var earlier *deletedEarlier
	if errors.As(err, &earlier) {
		// Deleted by this run all the same: restore, the final check and the Trash Can's mark must see it.
		del.Outcome, del.Err = OutcomeDeleted, earlier
		return del
	}
	return classifyDeletion(repo, f.Path, err)
}

// deletedEarlier is what [applyConfig.deleteVerified] returns when a verified retry of a deletion whose outcome
// was unknown answered not found: the earlier attempt deleted the folder. The deletion is [OutcomeDeleted], with
// this as its note.
type deletedEarlier struct {
	repo, folder string
	lost         error // the attempt whose answer was lost
	retry        error // the retry's not found
}

func (e *deletedEarlier) Error() string {
	lost := strings.TrimPrefix(e.lost.Error(), "delete "+e.repo+"/"+e.folder+": ")
	return fmt.Sprintf("deleted %s/%s by its first DELETE, whose answer was lost (%s): a retry, after a re-check found the image unchanged, answered not found", e.repo, e.folder, lost)
}

func (e *deletedEarlier) Unwrap() []error { return []error{e.lost, e.retry} }

// deleteFolderAt deletes one folder that a guard accepted, once, and classifies the outcome.
func deleteFolderAt(ctx context.Context, d Deleter, repo, folder string) Deletion {
	return classifyDeletion(repo, folder, d.DeleteFolder(ctx, repo, folder))
}

// classifyDeletion turns the error of deleting repo/folder into its outcome.
func classifyDeletion(repo, folder string, err error) Deletion {
	del := Deletion{Path: folder}
	switch {
	case err == nil:
		del.Outcome = OutcomeDeleted
	case errors.Is(err, ErrNotFound):
		del.Outcome, del.Err = OutcomeAlreadyGone, err
	case errors.Is(err, ErrForbidden):
		del.Outcome, del.Err = OutcomeForbidden, fmt.Errorf("deleting %s/%s: missing Delete permission: %w", repo, folder, err)
	case strings.Contains(err.Error(), repo+"/"+folder): // it names the folder already
		del.Outcome, del.Err = OutcomeFailed, err
	default:
		del.Outcome, del.Err = OutcomeFailed, fmt.Errorf("deleting %s/%s: %w", repo, folder, err)
	}
	return del
}

// deleteVerified deletes f and, while the outcome is unknown and attempts are left, re-checks f's image and, if it
// is unchanged, tries again. A retry answered 404 means an earlier attempt deleted the folder: a *deletedEarlier.
func (c *applyConfig) deleteVerified(run, ctx context.Context, d Deleter, plan *RepoPlan, f Folder, since time.Time) error {
	var unknown error // the first attempt whose outcome was unknown
	// again says how an attempt after the first ended, without naming the folder again.
	again := func(err error) string {
		return strings.TrimPrefix(err.Error(), "delete "+plan.Repo+"/"+f.Path+": ")
	}
	for attempt := 1; ; attempt++ {
		err := d.DeleteFolder(ctx, plan.Repo, f.Path)
		switch {
		case err != nil && unknown != nil && errors.Is(err, ErrNotFound):
			return &deletedEarlier{repo: plan.Repo, folder: f.Path, lost: unknown, retry: err}
		case err != nil && unknown != nil && !errors.Is(err, ErrOutcomeUnknown):
			return fmt.Errorf("%w; retried after a re-check found image %s unchanged: %s: %w", unknown, f.Image, again(err), err)
		case err == nil || !errors.Is(err, ErrOutcomeUnknown):
			return err
		}
		if unknown == nil {
			unknown = err
		}
		switch {
		case c.src == nil:
			return fmt.Errorf("%w; not retried: nothing re-checks its image here", err)
		case attempt >= c.attempts && attempt == 1:
			return fmt.Errorf("%w; not retried: no attempts left", err)
		case attempt >= c.attempts && again(err) == again(unknown):
			return fmt.Errorf("%w; tried %d times in all, each retry after a re-check found image %s unchanged, each answered the same",
				unknown, attempt, f.Image)
		case attempt >= c.attempts:
			return fmt.Errorf("%w; tried %d times in all, each retry after a re-check found image %s unchanged, the last: %s",
				unknown, attempt, f.Image, again(err))
		}
		if c.wait != nil {
			if werr := sleepCtx(run, c.wait(attempt)); werr != nil {
				return fmt.Errorf("%w; not retried: %w", unknown, werr)
			}
		}
		if run.Err() != nil {
			return fmt.Errorf("%w; not retried: %w", unknown, run.Err())
		}
		changed, verr := recheckImages(ctx, c.src, plan, []string{f.Image}, since)
		if verr != nil {
			return fmt.Errorf("%w; not retried, since whether the folder is still the one planned is unknown: %w", unknown, verr)
		}
		if files := changed[f.Image]; len(files) > 0 {
			return fmt.Errorf("%w; not retried: image %s changed since the plan (%s): %w", unknown, f.Image, strings.Join(files, ", "), ErrChanged)
		}
	}
}

// sleepCtx waits for d or until ctx is done.
func sleepCtx(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
