package prune

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// ErrOutcomeUnknown means a deletion may or may not have happened: the answer was lost (a timeout, a connection
// reset, a body cut short) or came from a gateway after Artifactory may have acted (500, 502, 503, 504). [Apply]
// retries such a deletion only after checking that the folder's image is still as planned
// ([WithImageRecheck]); [Deleter] implementations must not retry it themselves.
var ErrOutcomeUnknown = errors.New("outcome of the deletion unknown")

// RecheckSource is what the re-check of a few images, just before their deletions, needs: see [WithImageRecheck].
type RecheckSource interface {
	// RecheckImages calls fn for every manifest file in a tag folder ("<image>/<tag>") of one of images, whatever
	// its times, and for every manifest file in a digest folder ("<image>/sha256:<hex>") of one of images created,
	// modified or updated after since. It may call fn for other manifest files of repo too; they are ignored. Like
	// every listing of [Source], it returns an error, never a partial success, when the listing is incomplete.
	RecheckImages(ctx context.Context, repo string, images []string, since time.Time, fn func(ManifestFile) error) error
}

// Limits of one batch of the re-check that [Apply] makes before each batch of deletions (see [WithImageRecheck]).
const (
	// DefaultRecheckBatch is the largest number of deletions that one re-check covers.
	DefaultRecheckBatch = 256
	// RecheckBatchImages is the largest number of images that one re-check covers.
	RecheckBatchImages = 32
	// recheckBatchNameBytes bounds the sum of the image names of one batch, so that a query naming them stays
	// short (Artifactory limits an AQL query to 6,000 characters).
	recheckBatchNameBytes = 1500
)

// ApplyOption configures [Apply].
type ApplyOption func(*applyConfig)

type applyConfig struct {
	src      RecheckSource
	batch    int
	attempts int
	wait     func(retry int) time.Duration
}

// WithImageRecheck makes [Apply] re-check the images of each batch of deletions just before deleting them, so that a
// push made while the repository's deletions run is seen unless it lands during its own image's batch: the
// batches follow the plan's order (image by image), and each holds at most [DefaultRecheckBatch] deletions (see
// [WithRecheckBatch]) of at most [RecheckBatchImages] images. The re-check lists every tag manifest file of those
// images, whatever its timestamps (a tag copied, moved, imported or replicated keeps the source's times), and
// their digest folders' manifest files changed since the plan's server time minus [RecheckSkew], and compares
// them with the inventory. The deletions of every image with a new or changed file are withdrawn, as [Recheck]
// does (kept as [ReasonChanged]). It also lets Apply retry a deletion whose outcome is unknown: see
// [WithDeleteRetries].
//
// A re-check that fails stops the repository's deletions: the rest are [OutcomeNotAttempted] and
// ApplyResult.Err says why.
func WithImageRecheck(src RecheckSource) ApplyOption {
	return func(c *applyConfig) { c.src = src }
}

// WithRecheckBatch sets the largest number of deletions one re-check of [WithImageRecheck] covers (zero or less:
// [DefaultRecheckBatch]). Smaller batches narrow the window a push can slip through, at the cost of more queries.
func WithRecheckBatch(n int) ApplyOption {
	return func(c *applyConfig) { c.batch = n }
}

// WithDeleteRetries lets [Apply] try a deletion up to attempts times in all when its outcome is unknown
// ([ErrOutcomeUnknown]), waiting wait(n) before retry n (nil: no wait). Before each retry it re-checks the
// folder's image as [WithImageRecheck] does: the folder's manifest files must be unchanged (a folder re-pushed
// since the plan has new times, and a different manifest a different checksum) and so must the image's tags;
// otherwise the folder is not deleted again, and the deletion is [OutcomeFailed] with an error wrapping
// [ErrChanged]. Without [WithImageRecheck], such deletions are never retried. Other errors are never retried here:
// the [Deleter] retries what is safe to retry.
func WithDeleteRetries(attempts int, wait func(retry int) time.Duration) ApplyOption {
	return func(c *applyConfig) { c.attempts, c.wait = attempts, wait }
}

// batchEnd returns the end of the batch of deletions that starts at folders[start].
func (c *applyConfig) batchEnd(folders []Folder, start int) int {
	limit := c.batch
	if limit <= 0 {
		limit = DefaultRecheckBatch
	}
	images, names := 0, 0
	end := start
	for ; end < len(folders) && end-start < limit; end++ {
		if end == start || folders[end].Image != folders[end-1].Image {
			if images == RecheckBatchImages || (images > 0 && names+len(folders[end].Image) > recheckBatchNameBytes) {
				break
			}
			images++
			names += len(folders[end].Image)
		}
	}
	return end
}

// imagesOf returns the distinct images of folders that have a deletion not dropped; folders are in image order.
func imagesOf(folders []Folder, dropped []bool) []string {
	var out []string
	for i, f := range folders {
		if !dropped[i] && (len(out) == 0 || f.Image != out[len(out)-1]) {
			out = append(out, f.Image)
		}
	}
	return out
}

// recheckImages lists the manifest files of images that src returns for a re-check and returns, for every image
// with a new or changed file, the files, sorted. It reads plan but never changes it, so that [Apply]'s deletions
// may call it concurrently.
//
// Files are compared with the stamps the inventory kept: every tag manifest file's, and those of the files young
// enough to be listed as changed since the plan's server time minus [RecheckSkew]. A tag file without a stamp is
// new; a digest folder's file listed without one has changed since the inventory (or arrived with old times, which
// the source need not list: an old untagged document keeps nothing alive).
func recheckImages(ctx context.Context, src RecheckSource, plan *RepoPlan, images []string, since time.Time) (map[string][]string, error) {
	want := make(map[string]bool, len(images))
	for _, img := range images {
		want[img] = true
	}
	changed := make(map[string][]string)
	err := src.RecheckImages(ctx, plan.Repo, images, since, func(f ManifestFile) error {
		key := fileKey(f.Path, f.Name)
		if f.Repo != plan.Repo {
			return fmt.Errorf("got %s from repository %q: %w", key, f.Repo, ErrIncomplete)
		}
		if f.Name != ManifestName && f.Name != ListManifestName {
			return nil
		}
		class, image, _, _ := classify(f.Path)
		if (class != classTag && class != classDigest) || !want[image] {
			return nil
		}
		if st, ok := plan.inventory[key]; ok && st.equal(stampOf(f)) {
			return nil
		}
		changed[image] = append(changed[image], key)
		return nil
	})
	if err == nil {
		err = ctx.Err()
	}
	if err != nil {
		return nil, fmt.Errorf("re-checking image%s %s of repository %s for changes since %s: %w", plural(len(images)),
			strings.Join(images, ", "), plan.Repo, since.UTC().Format(time.RFC3339), err)
	}
	for img, files := range changed {
		slices.Sort(files)
		changed[img] = slices.Compact(files)
	}
	return changed, nil
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// withdrawPending keeps, as [ReasonChanged], the folders of image that the plan deletes and that are in pending
// (the deletions not started yet), and records the changed files on the image. The caller updates the byte
// figures.
func (p *RepoPlan) withdrawPending(image string, files []string, pending map[string]bool) {
	i, ok := slices.BinarySearchFunc(p.Images, image, func(ip ImagePlan, name string) int { return strings.Compare(ip.Name, name) })
	if !ok {
		return
	}
	img := &p.Images[i]
	img.Changed = slices.Compact(slices.Sorted(slices.Values(append(img.Changed, files...))))
	for j := range img.Folders {
		fo := &img.Folders[j]
		if fo.Delete && pending[fo.Path] {
			fo.Delete, fo.Reason = false, ReasonChanged
			fo.Err = fmt.Errorf("%s changed while the repository's deletions ran: %w", files[0], ErrChanged)
		}
	}
}
