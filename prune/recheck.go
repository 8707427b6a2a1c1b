package prune

import (
	"context"
	"fmt"
	"slices"
	"time"
)

// RecheckSkew is how far before the plan's server time [Recheck] starts looking for changes. It covers a server
// time read with one-second resolution and uploads whose timestamps were taken before their files became visible
// to the inventory. Files found unchanged since the inventory (same checksum and timestamps) are not changes, so a
// generous skew costs nothing but a longer listing.
const RecheckSkew = 5 * time.Minute

// Recheck is the last step before [Apply]: it lists the manifest files of the plan's repository created, modified
// or updated since the plan's server time minus [RecheckSkew], and withdraws every planned deletion of an image
// with a new or changed manifest file: such folders are kept with [ReasonChanged], the image's Changed lists the
// files, and the byte figures are updated. That is not a failure. Any error fails the whole repository: it is
// stored in plan.Err, so that Apply deletes nothing there, and returned. On success the plan is marked rechecked.
//
// Recheck sees only rows newer than the plan: a tag copied, moved, imported or replicated during the run keeps
// the source's older times. [Apply] with [WithImageRecheck] compares every tag manifest file of the images it is
// about to delete from with the inventory, batch by batch, and so catches those too.
func Recheck(ctx context.Context, src Source, plan *RepoPlan) error {
	plan.rechecked = false
	if plan.Err != nil {
		return plan.Err
	}
	since := plan.ServerTime.Add(-RecheckSkew)
	changed := make(map[string][]string) // image -> changed files
	err := src.ManifestsChangedSince(ctx, plan.Repo, since, func(f ManifestFile) error {
		key := fileKey(f.Path, f.Name)
		if f.Repo != plan.Repo {
			return fmt.Errorf("got %s from repository %q: %w", key, f.Repo, ErrIncomplete)
		}
		if st, ok := plan.inventory[key]; ok && st.equal(stampOf(f)) {
			return nil
		}
		class, image, _, _ := classify(f.Path)
		if class == classTag || class == classDigest {
			changed[image] = append(changed[image], key)
		}
		return nil
	})
	if err == nil {
		err = ctx.Err()
	}
	if err != nil {
		plan.Err = fmt.Errorf("rechecking repository %s for changes since %s: %w", plan.Repo, since.UTC().Format(time.RFC3339), err)
		return plan.Err
	}

	withdrawn := false
	for i := range plan.Images {
		img := &plan.Images[i]
		files := changed[img.Name]
		if len(files) == 0 {
			continue
		}
		slices.Sort(files)
		img.Changed = slices.Compact(files)
		for j := range img.Folders {
			fo := &img.Folders[j]
			if fo.Delete {
				fo.Delete = false
				fo.Reason = ReasonChanged
				fo.Err = fmt.Errorf("%s changed: %w", img.Changed[0], ErrChanged)
				withdrawn = true
			}
		}
	}
	if withdrawn {
		plan.updateBytes()
	}
	plan.rechecked = true
	return nil
}
