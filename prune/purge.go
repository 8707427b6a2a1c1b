package prune

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/opencontainers/go-digest"
)

// TrashedFolder is a digest folder in the Trash Can that carries artprune's mark.
type TrashedFolder struct {
	// Path is the folder's path in its repository, "<image>/sha256:<hex>".
	Path string
	// TrashedAt is when Artifactory moved it to the Trash Can (trash.time); zero when unknown.
	TrashedAt time.Time
	// MarkedAt is the trash.time that the mark records: the deletion artprune marked. Zero when the mark records
	// none (an older artprune's). Artifactory carries an item's properties through a restore and into the Trash Can
	// on the next delete, so a mark can sit on someone else's deletion: the copy is artprune's only when MarkedAt is
	// set and equals TrashedAt.
	MarkedAt time.Time
}

// ours reports whether the mark binds the folder's current copy to the deletion artprune marked.
func (tf TrashedFolder) ours() bool {
	return !tf.MarkedAt.IsZero() && !tf.TrashedAt.IsZero() && tf.MarkedAt.Equal(tf.TrashedAt)
}

// TrashPurger is the port to the Trash Can that [PurgeTrash] needs.
type TrashPurger interface {
	// TrashedFolders calls fn for every folder of repo in the Trash Can that carries artprune's mark, bound to its
	// deletion or not (see [TrashedFolder.MarkedAt]).
	TrashedFolders(ctx context.Context, repo string, fn func(TrashedFolder) error) error
	// TrashedFiles calls fn for every file of the Trash Can's copies of repo's folders.
	TrashedFiles(ctx context.Context, repo string, folders []string, fn func(File) error) error
	// ChecksumHoldersAnywhere calls fn for every file holding one of sums, in any repository or in the Trash Can.
	ChecksumHoldersAnywhere(ctx context.Context, sums []string, fn func(File) error) error
	// DeleteFromTrash permanently deletes the Trash Can's copy of repo/path.
	DeleteFromTrash(ctx context.Context, repo, path string) error
}

// PurgeOutcome is what happened to one folder in the Trash Can.
type PurgeOutcome string

// Outcomes of a purge.
const (
	PurgePurged     PurgeOutcome = "purged"
	PurgeWouldPurge PurgeOutcome = "would-purge"
	PurgeFailed     PurgeOutcome = "failed"
)

// PurgedFolder is one folder purged (or to be purged) from the Trash Can.
type PurgedFolder struct {
	Path      string
	TrashedAt time.Time
	Outcome   PurgeOutcome
	Err       error
}

// PurgeResult is the outcome of [PurgeTrash] for one repository.
type PurgeResult struct {
	Repo  string
	After time.Duration
	// Folders lists the folders old enough and unreferenced, sorted by path, with their outcomes.
	Folders []PurgedFolder
	// KeptYoung counts the marked folders trashed less than After ago; KeptReferenced those a live manifest of the
	// repository references again, or whose image could not be judged, or that exist again.
	KeptYoung, KeptReferenced int
	// KeptNotOurs counts the folders whose mark is not bound to their current copy (TrashedFolder.MarkedAt): a
	// deletion someone else made of a folder that carried the mark, or a mark of an older artprune. Never purged.
	KeptNotOurs int
	// FreedBytes is the size of the binaries the purged folders alone held: no other path, in any repository or
	// elsewhere in the Trash Can, holds them. Garbage collection frees them. In a dry run, what purging would free.
	FreedBytes int64
	// Err says why the purge was not done, or not completely (then FreedBytes counts what is known).
	Err error
}

// PurgeTrash permanently deletes from the Trash Can the folders of plan's repository that artprune moved there (their
// mark records their current trash.time: [TrashedFolder.MarkedAt]) at least after ago (on the server's clock now) and that are still unreferenced: the current plan of the repository,
// which must have succeeded, neither has them again nor lists their digest as a missing reference of their image
// (a live manifest would then point at them), and their image was judged (not skipped, not left out by the
// caller's image filters: plan.ExcludedImages). Nothing else in the Trash Can is touched:
// only folders that TrashedFolders names, each checked with [ValidateFolderPath]. With dryRun nothing is deleted.
func PurgeTrash(ctx context.Context, p TrashPurger, plan *RepoPlan, now time.Time, after time.Duration, dryRun bool) *PurgeResult {
	res := &PurgeResult{Repo: plan.Repo, After: after}
	if plan.Err != nil {
		res.Err = fmt.Errorf("not purging the Trash Can of %s: the repository could not be judged: %w", plan.Repo, plan.Err)
		return res
	}
	images := map[string]*ImagePlan{}
	exists := map[string]bool{}
	excluded := map[string]bool{}
	for _, img := range plan.ExcludedImages {
		excluded[img] = true // left out of the inventory: what references what there is unknown
	}
	for i := range plan.Images {
		img := &plan.Images[i]
		images[img.Name] = img
		for _, fo := range img.Folders {
			exists[fo.Path] = true
		}
	}
	var candidates []PurgedFolder
	err := p.TrashedFolders(ctx, plan.Repo, func(tf TrashedFolder) error {
		if err := ValidateFolderPath(plan.Repo, tf.Path); err != nil {
			return nil // not a digest folder: not artprune's to purge
		}
		switch {
		case !tf.ours():
			res.KeptNotOurs++
			return nil
		case now.Sub(tf.TrashedAt) < after:
			res.KeptYoung++
			return nil
		case exists[tf.Path] || referenced(images, tf.Path) || excluded[imageOf(tf.Path)]:
			res.KeptReferenced++
			return nil
		}
		candidates = append(candidates, PurgedFolder{Path: tf.Path, TrashedAt: tf.TrashedAt})
		return nil
	})
	if err == nil {
		err = ctx.Err()
	}
	if err != nil {
		res.Err = fmt.Errorf("list artprune's folders in the Trash Can for %s: %w", plan.Repo, err)
		return res
	}
	slices.SortFunc(candidates, func(a, b PurgedFolder) int { return strings.Compare(a.Path, b.Path) })
	res.Folders = candidates
	if len(candidates) == 0 {
		return res
	}

	// What the candidates hold, and who else holds it.
	paths := make([]string, len(candidates))
	for i, c := range candidates {
		paths[i] = c.Path
	}
	type blob struct {
		size    int64
		folders map[string]bool
	}
	blobs := map[string]*blob{}
	ours := map[string]bool{} // trash file keys of the candidates' files
	err = p.TrashedFiles(ctx, plan.Repo, paths, func(f File) error {
		b := blobs[f.SHA256]
		if b == nil {
			b = &blob{size: f.Size, folders: map[string]bool{}}
			blobs[f.SHA256] = b
		}
		b.folders[folderOfTrashFile(plan.Repo, f.Path)] = true
		ours[f.Repo+"/"+f.Path+"/"+f.Name] = true
		return nil
	})
	var sums []string
	for s := range blobs {
		sums = append(sums, s)
	}
	slices.Sort(sums)
	elsewhere := map[string]bool{}
	if err == nil {
		err = p.ChecksumHoldersAnywhere(ctx, sums, func(f File) error {
			if !ours[f.Repo+"/"+f.Path+"/"+f.Name] {
				elsewhere[f.SHA256] = true
			}
			return nil
		})
	}
	bytesKnown := err == nil
	if err != nil {
		res.Err = fmt.Errorf("measure what purging frees in %s: %w", plan.Repo, err)
	}

	done := map[string]bool{}
	for i := range res.Folders {
		f := &res.Folders[i]
		if dryRun {
			f.Outcome = PurgeWouldPurge
			done[f.Path] = true
			continue
		}
		if ctx.Err() != nil {
			f.Outcome, f.Err = PurgeFailed, fmt.Errorf("not attempted: %w", ctx.Err())
			continue
		}
		if err := p.DeleteFromTrash(ctx, plan.Repo, f.Path); err != nil && !errors.Is(err, ErrNotFound) {
			f.Outcome, f.Err = PurgeFailed, err
			continue
		}
		f.Outcome = PurgePurged
		done[f.Path] = true
	}
	if bytesKnown {
		for s, b := range blobs {
			if elsewhere[s] {
				continue
			}
			all := true
			for fo := range b.folders {
				all = all && done[fo]
			}
			if all {
				res.FreedBytes += b.size
			}
		}
	}
	return res
}

// Failed reports whether the purge failed or left folders it meant to purge.
func (r *PurgeResult) Failed() bool {
	return r != nil && (r.Err != nil || slices.ContainsFunc(r.Folders, func(f PurgedFolder) bool { return f.Outcome == PurgeFailed }))
}

// referenced reports whether a live manifest of the folder's image references its digest, or the image could not
// be judged: both keep the Trash Can's copy.
func referenced(images map[string]*ImagePlan, folder string) bool {
	image, leaf, _ := cutLast(folder)
	img, ok := images[image]
	if !ok {
		return false // no manifest left in the image: nothing references it
	}
	if img.Err != nil {
		return true
	}
	d := strings.TrimPrefix(leaf, "sha256:")
	return slices.ContainsFunc(img.MissingRefs, func(m digest.Digest) bool { return m.Encoded() == d })
}

func imageOf(folder string) string {
	image, _, _ := cutLast(folder)
	return image
}

// folderOfTrashFile turns the Trash Can path of a file's folder ("<repo>/<image>/sha256:<hex>") into the folder's
// path in its repository.
func folderOfTrashFile(repo, trashFolder string) string {
	return strings.TrimPrefix(trashFolder, repo+"/")
}
