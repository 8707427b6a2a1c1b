package prune

import (
	"context"
	"errors"
	"fmt"
	"path"
	"slices"
	"strings"
	"sync"

	"golang.org/x/sync/semaphore"
)

// Deleting tags (artprune delete REPO/IMAGE:TAG...). JFrog documents deleting a Docker tag as deleting its folder,
// DELETE <repo>/<image>/<tag>; the Docker API's delete by digest also removes every other tag with that digest,
// and deleting a multi-arch tag's folder alone leaves its children dangling (skopeo#2497). [Planner.PlanTagDeletion]
// plans both: the named tag folders, and exactly the digest folders that only they kept.
//
// The marking is the planner's (see the package documentation), with two sets:
//
//   - N, what the named tags reach: their digests, through index entries, nested indexes and subjects, then the
//     referrers of all of that;
//   - K, what everything else keeps: the other tags (with the referrers of what they keep), folders carrying the
//     keep property, pulled folders, and young folders outside N, each closed as usual.
//
// The digest folders of N that are not in K are deleted; the folders of K keep their reasons; digest folders in
// neither (already dangling) are left out of the plan: they are artprune prune's business. The grace period does
// not protect a folder of N, since the user named the tags that reach it; it still protects a young push the named
// tags do not reach, and everything such a push reaches.

// TagPattern names the tags of one image to delete: Tag is a tag or a glob ("*" any run of characters, "?" one).
type TagPattern struct {
	Image string
	Tag   string
}

// String returns "image:tag".
func (p TagPattern) String() string { return p.Image + ":" + p.Tag }

// Match reports whether tag folder image/tag is named by p.
func (p TagPattern) Match(image, tag string) bool {
	if image != p.Image {
		return false
	}
	ok, err := path.Match(p.Tag, tag)
	return err == nil && ok
}

// ParseTagRef parses "REPO/IMAGE:TAG" (TAG may be a glob of '*' and '?'): the repository key, then the image (one or
// more Docker repository name components), then the tag after the last ':'. Digests are refused: a digest is not a
// tag, and deleting by digest is what this avoids.
func ParseTagRef(s string) (repo string, p TagPattern, err error) {
	bad := func(why string) (string, TagPattern, error) {
		return "", TagPattern{}, fmt.Errorf("%q: %s; want REPO/IMAGE:TAG, such as docker-local/app:pr-*", s, why)
	}
	repo, rest, ok := strings.Cut(s, "/")
	if !ok || repo == "" {
		return bad("no repository")
	}
	if err := checkRepo(repo); err != nil {
		return bad(err.Error())
	}
	i := strings.LastIndexByte(rest, ':')
	if i < 0 || strings.Contains(rest[i:], "/") {
		return bad("no tag")
	}
	image, tag := rest[:i], rest[i+1:]
	if strings.Contains(rest, "@") {
		return bad("a digest is not a tag")
	}
	if err := checkImage(image); err != nil {
		return bad(err.Error())
	}
	if !isTagGlob(tag) {
		return bad("the tag is not a Docker tag or a glob of one ([A-Za-z0-9_.-] and '*', '?'; 128 characters at most)")
	}
	if tag == uploadsSegment {
		return bad("_uploads holds blob uploads, it is not a tag")
	}
	return repo, TagPattern{Image: image, Tag: tag}, nil
}

// isTagGlob reports whether s is a Docker tag ([A-Za-z0-9_][A-Za-z0-9_.-]{0,127}) in which '*' and '?' may stand for
// characters.
func isTagGlob(s string) bool {
	if s == "" || len(s) > 128 {
		return false
	}
	for i := range len(s) {
		c := s[i]
		ok := (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '*' || c == '?' ||
			(i > 0 && (c == '.' || c == '-'))
		if !ok {
			return false
		}
	}
	return true
}

// isTag reports whether s is a Docker tag.
func isTag(s string) bool { return isTagGlob(s) && !strings.ContainsAny(s, "*?") }

// TagDeletion is one tag folder to delete and, once applied, what happened.
type TagDeletion struct {
	Image, Tag string
	// Path is the tag folder, "<image>/<tag>".
	Path    string
	Outcome Outcome // empty until applied
	Err     error
}

// ValidateTagFolderPath is the guard of [ApplyTagDeletion]: it returns an error wrapping [ErrUnsafePath] unless
// repo/folder is exactly "<repo>/<image>/<tag>", the image as [ValidateFolderPath] requires it and the tag a Docker
// tag (so never "_uploads" nor a "sha256:" digest folder).
func ValidateTagFolderPath(repo, folder string) error {
	if err := checkRepo(repo); err != nil {
		return err
	}
	image, tag, ok := cutLast(folder)
	if !ok {
		return fmt.Errorf("tag folder %q in %s has no image: %w", folder, repo, ErrUnsafePath)
	}
	if !isTag(tag) || tag == uploadsSegment {
		return fmt.Errorf("folder %q in %s is not a tag folder: %q is not a Docker tag: %w", folder, repo, tag, ErrUnsafePath)
	}
	if err := checkImage(image); err != nil {
		return fmt.Errorf("tag folder %q in %s: %w", folder, repo, err)
	}
	return nil
}

// PlanTagDeletion inventories repo like [Planner.Plan] and plans the deletion of the tag folders that patterns name
// and of the digest folders only they kept (see above). Patterns of other images than those in repo match nothing.
// An image that cannot be evaluated deletes nothing, its tags included. RepoPlan.TagDeletions lists the tag
// folders; RepoPlan.Deletions the digest folders.
func (p *Planner) PlanTagDeletion(ctx context.Context, repo string, patterns []TagPattern) (*RepoPlan, error) {
	sel := slices.Clone(patterns)
	return p.plan(ctx, repo, func(image, tag string) bool {
		return slices.ContainsFunc(sel, func(tp TagPattern) bool { return tp.Match(image, tag) })
	})
}

// collectTagDeletions fills plan.TagDeletions from the images' named tags, after every image is decided, and skips
// an image one of whose named tag folders is the folder of another image or above it: deleting it would delete
// that image's folders too. Images the source left out (excluded) count as well: a tag folder's delete is
// recursive, so it must never reach into an image the run was told not to touch.
func (p *Planner) collectTagDeletions(plan *RepoPlan, excluded map[string]bool) {
	plan.TagDeletions = []TagDeletion{}
	names := make([]string, 0, len(plan.Images)+len(excluded))
	for _, img := range plan.Images {
		names = append(names, img.Name)
	}
	for name := range excluded {
		names = append(names, name)
	}
	slices.Sort(names) // the message names the same image every time
	for i := range plan.Images {
		ip := &plan.Images[i]
		for _, tag := range ip.deleteTags {
			folder := ip.Name + "/" + tag
			if j := slices.IndexFunc(names, func(n string) bool { return n == folder || strings.HasPrefix(n, folder+"/") }); j >= 0 {
				p.skip(plan.Repo, ip, fmt.Errorf("tag folder %s holds image %s: %w", folder, names[j], ErrUnsafePath))
				break
			}
		}
		for _, tag := range ip.deleteTags {
			plan.TagDeletions = append(plan.TagDeletions, TagDeletion{Image: ip.Name, Tag: tag, Path: ip.Name + "/" + tag})
		}
	}
}

// WithdrawTags withdraws the tag deletions of image, and with them the deletions of the image's digest folders,
// which those tags may reach: they are kept with reason r and err. It reports whether the image had tag deletions.
func (p *RepoPlan) WithdrawTags(image string, r Reason, err error) bool {
	n := len(p.TagDeletions)
	p.TagDeletions = slices.DeleteFunc(p.TagDeletions, func(td TagDeletion) bool { return td.Image == image })
	for i := range p.Images {
		ip := &p.Images[i]
		if ip.Name != image {
			continue
		}
		for j := range ip.Folders {
			if fo := &ip.Folders[j]; fo.Delete {
				fo.Delete, fo.Reason, fo.Err = false, r, err
			}
		}
	}
	p.updateBytes()
	return len(p.TagDeletions) != n
}

// ErrProtectedTag is wrapped by the error of an image skipped because a tag folder named for deletion carries the
// keep property: the property protects it, so the image deletes nothing.
var ErrProtectedTag = errors.New("a tag named for deletion is protected")

// ErrTagNotDeleted is wrapped by the error of a digest folder kept because a named tag folder that reaches it was
// not deleted.
var ErrTagNotDeleted = errors.New("a named tag folder was not deleted")

// ApplyTagDeletion deletes what [Planner.PlanTagDeletion] planned, after [Recheck]: first the tag folders, each
// checked by [ValidateTagFolderPath] (an image that changed during the run keeps its tags: they are not
// attempted), then, by [Apply], the digest folders of the images all of whose named tags are gone. A digest folder
// of an image whose tag deletion failed is kept (image-skipped, wrapping [ErrTagNotDeleted]), since the tag still
// reaches it. The outcomes of the tag deletions are in plan.TagDeletions. opts apply to the digest folders' deletes,
// as for Apply (a tag folder's delete whose outcome is unknown is not retried: it fails, and its image keeps its
// digest folders).
func ApplyTagDeletion(ctx context.Context, d Deleter, plan *RepoPlan, concurrency int, opts ...ApplyOption) *ApplyResult {
	for i := range plan.TagDeletions {
		plan.TagDeletions[i].Outcome, plan.TagDeletions[i].Err = OutcomeNotAttempted, nil
	}
	switch {
	case plan.Err != nil:
		return Apply(ctx, d, plan, concurrency, opts...)
	case !plan.rechecked:
		return Apply(ctx, d, plan, concurrency, opts...)
	}
	changed := map[string]bool{}
	for _, img := range plan.Images {
		if len(img.Changed) > 0 || img.Err != nil {
			changed[img.Name] = true
		}
	}
	if concurrency <= 0 {
		concurrency = DefaultConcurrency
	}
	sem := semaphore.NewWeighted(int64(concurrency))
	inflight := context.WithoutCancel(ctx)
	var wg sync.WaitGroup
	for i := range plan.TagDeletions {
		td := &plan.TagDeletions[i]
		if changed[td.Image] {
			td.Err = fmt.Errorf("not deleting tag %s: its image changed during the run or could not be judged", td.Path)
			continue
		}
		if ctx.Err() != nil || sem.Acquire(ctx, 1) != nil {
			break
		}
		if ctx.Err() != nil {
			sem.Release(1)
			break
		}
		wg.Go(func() {
			defer sem.Release(1)
			del := deleteTagFolder(inflight, d, plan.Repo, td.Path)
			td.Outcome, td.Err = del.Outcome, del.Err
		})
	}
	wg.Wait()
	for _, td := range plan.TagDeletions {
		if td.Outcome == OutcomeDeleted || td.Outcome == OutcomeAlreadyGone {
			continue
		}
		err := fmt.Errorf("tag folder %s: %w", td.Path, ErrTagNotDeleted)
		for i := range plan.Images {
			ip := &plan.Images[i]
			if ip.Name != td.Image {
				continue
			}
			for j := range ip.Folders {
				if fo := &ip.Folders[j]; fo.Delete {
					fo.Delete, fo.Reason, fo.Err = false, ReasonImageSkipped, err
				}
			}
		}
	}
	plan.updateBytes()
	return Apply(ctx, d, plan, concurrency, opts...)
}

// deleteTagFolder guards and deletes one tag folder.
func deleteTagFolder(ctx context.Context, d Deleter, repo, folder string) Deletion {
	if err := ValidateTagFolderPath(repo, folder); err != nil {
		return Deletion{Path: folder, Outcome: OutcomeFailed, Err: fmt.Errorf("refusing to delete: %w", err)}
	}
	return deleteFolderAt(ctx, d, repo, folder)
}
