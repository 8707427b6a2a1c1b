package prune

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// Healer is what the final check after a repository's deletes needs beyond a [Source]: the Trash Can.
type Healer interface {
	Restorer
	// ReadTrashed returns the content of the Trash Can's copy of repo/path; an error wrapping ErrTooLarge if it
	// exceeds limit bytes.
	ReadTrashed(ctx context.Context, repo, path string, limit int64) ([]byte, error)
}

// OutcomeRestored: the folder was deleted, then brought back from the Trash Can by [Heal], because a manifest
// pushed while the repository's deletes ran references it. The deletion's Err says why.
const OutcomeRestored Outcome = "restored"

// HealOutcome is what [Heal] did about one deleted folder that is live again.
type HealOutcome string

// Outcomes of healing.
const (
	// HealRestored: restored from the Trash Can.
	HealRestored HealOutcome = "restored"
	// HealPushedAgain: the push wrote the folder again itself; nothing to restore.
	HealPushedAgain HealOutcome = "pushed-again"
	// HealFailed: it could not be restored (not in the Trash Can, the Trash Can disabled, the API refused): the
	// pushed manifest that references it does not pull. A failure.
	HealFailed HealOutcome = "failed"
)

// Healed is one deleted folder found live again by [Heal].
type Healed struct {
	Path string
	// Why names the pushed manifest file that makes the folder live, and how.
	Why     string
	Outcome HealOutcome
	// Err says why a restore failed.
	Err error
}

// HealResult is the outcome of [Heal] for one repository.
type HealResult struct {
	Repo string
	// Folders lists the deleted folders found live again, sorted by path.
	Folders []Healed
	// Err says why the check could not be completed: what was pushed during the deletes is unknown, and deleted
	// folders it references may not have been restored. A failure.
	Err error
}

// Failed reports whether healing left something broken or unknown.
func (h *HealResult) Failed() bool {
	if h == nil {
		return false
	}
	if h.Err != nil {
		return true
	}
	return slices.ContainsFunc(h.Folders, func(f Healed) bool { return f.Outcome == HealFailed })
}

// HealSource is what [Heal] reads live files through: the per-image listing of the re-check, and documents.
type HealSource interface {
	RecheckSource
	// ReadFile returns the content of repo/path; it returns an error wrapping ErrTooLarge if it exceeds limit bytes.
	ReadFile(ctx context.Context, repo, path string, limit int64) ([]byte, error)
}

// Heal is the final check after [Apply]: for the images that lost folders in this run, it lists again, as the
// re-check before each batch does ([RecheckSource.RecheckImages]), every tag manifest file whatever its timestamps
// (a tag copied, moved, promoted or replicated keeps the source's times) and the digest folders' manifest files
// created, modified or updated since the plan's server time minus [RecheckSkew], and compares them with the
// inventory. For every image with a new or changed file, it follows what the new files reference as the planner
// would (each new file is a root: it is younger than any grace period, or was brought in during the run; through
// index entries and subjects, nested indexes and the documents of deleted folders, read from the Trash Can once
// each, included, and back from subjects to their referrers, to a fixpoint). Every deleted folder so found live is
// restored at once, never over a folder the push wrote again. Deletions restored get [OutcomeRestored] in res. It
// does nothing when res deleted nothing.
//
// What it cannot heal: a push after this check, and a deleted folder the Trash Can does not hold (disabled,
// emptied). docs/safety.md says more.
func Heal(ctx context.Context, src HealSource, h Healer, plan *RepoPlan, res *ApplyResult, maxDocBytes int64) *HealResult {
	out := &HealResult{Repo: plan.Repo}
	if maxDocBytes <= 0 {
		maxDocBytes = DefaultMaxDocumentBytes
	}
	deleted := map[string]int{} // folder -> index in res.Deletions
	for i, d := range res.Deletions {
		if d.Outcome == OutcomeDeleted {
			deleted[d.Path] = i
		}
	}
	if len(deleted) == 0 {
		return out
	}
	folders := map[string]Folder{}
	for _, img := range plan.Images {
		for _, fo := range img.Folders {
			folders[fo.Path] = fo
		}
	}
	lostImage := map[string]bool{}
	for p := range deleted {
		lostImage[folders[p].Image] = true
	}
	since := plan.ServerTime.Add(-RecheckSkew)
	changed := map[string][]ManifestFile{} // image -> new or changed manifest files
	seen := map[string]bool{}              // a listing split in several queries may return a file twice
	err := src.RecheckImages(ctx, plan.Repo, slices.Sorted(maps.Keys(lostImage)), since, func(f ManifestFile) error {
		key := fileKey(f.Path, f.Name)
		if f.Repo != plan.Repo {
			return fmt.Errorf("got %s from repository %q: %w", key, f.Repo, ErrIncomplete)
		}
		if f.Name != ManifestName && f.Name != ListManifestName {
			return nil
		}
		if st, ok := plan.inventory[key]; (ok && st.equal(stampOf(f))) || seen[key] {
			return nil
		}
		class, image, _, _ := classify(f.Path)
		if (class == classTag || class == classDigest) && lostImage[image] {
			seen[key] = true
			changed[image] = append(changed[image], f)
		}
		return nil
	})
	if err == nil {
		err = ctx.Err()
	}
	if err != nil {
		out.Err = fmt.Errorf("final check of repository %s for pushes made during its deletes, since %s: %w",
			plan.Repo, since.UTC().Format("2006-01-02T15:04:05Z"), err)
		return out
	}
	var errs []error
	for _, image := range slices.Sorted(maps.Keys(changed)) {
		live, err := healImage(ctx, src, h, plan.Repo, image, changed[image], deleted, folders, maxDocBytes)
		out.Folders = append(out.Folders, live...)
		if err != nil {
			errs = append(errs, fmt.Errorf("image %s: %w", image, err))
		}
	}
	for i := range out.Folders {
		f := &out.Folders[i]
		f.Outcome, f.Err = restoreLive(ctx, h, plan.Repo, f.Path)
		if f.Outcome == HealRestored {
			d := &res.Deletions[deleted[f.Path]]
			d.Outcome, d.Err = OutcomeRestored, fmt.Errorf("restored from the Trash Can after its delete: %s", f.Why)
		}
	}
	slices.SortFunc(out.Folders, func(a, b Healed) int { return strings.Compare(a.Path, b.Path) })
	if len(errs) > 0 {
		out.Err = fmt.Errorf("final check of repository %s: %w", plan.Repo, errors.Join(errs...))
	}
	return out
}

// healImage returns the deleted folders of image that the changed files make live, with why. It reads the Trash
// Can's copy of each deleted folder at most once (the referrers' rounds re-use it). An error means some
// references could not be followed: the folders returned are live, others may be too.
func healImage(ctx context.Context, src HealSource, h Healer, repo, image string, files []ManifestFile, deleted map[string]int,
	folders map[string]Folder, maxDocBytes int64) ([]Healed, error) {
	type ref struct {
		d   digest.Digest
		why string
	}
	var queue []ref
	var errs []error
	visited := map[string]bool{}
	live := map[digest.Digest]bool{}
	var found []Healed
	follow := func(doc *document, from string) {
		for _, c := range doc.children {
			queue = append(queue, ref{c, "an entry of " + from})
		}
		if doc.subject != "" {
			queue = append(queue, ref{doc.subject, "the subject of " + from})
		}
	}
	type trashed struct {
		doc  *document
		name string
		err  error
	}
	trashCache := map[string]trashed{} // folder -> its Trash Can copy, parsed: each is read at most once per run
	readUncached := func(folder string, fromTrash bool) (*document, string, error) {
		var lastErr error
		for _, name := range fileNamesFor(folders[folder].MediaType) {
			var b []byte
			var err error
			if fromTrash {
				b, err = h.ReadTrashed(ctx, repo, folder+"/"+name, maxDocBytes)
			} else {
				b, err = src.ReadFile(ctx, repo, folder+"/"+name, maxDocBytes)
			}
			if err != nil {
				lastErr = err
				continue
			}
			doc, err := parseDocument(b)
			return doc, folder + "/" + name, err
		}
		return nil, "", lastErr
	}
	read := func(folder string, fromTrash bool) (*document, string, error) {
		if !fromTrash {
			return readUncached(folder, false)
		}
		c, ok := trashCache[folder]
		if !ok {
			c.doc, c.name, c.err = readUncached(folder, true)
			trashCache[folder] = c
		}
		return c.doc, c.name, c.err
	}
	slices.SortFunc(files, func(a, b ManifestFile) int { return strings.Compare(fileKey(a.Path, a.Name), fileKey(b.Path, b.Name)) })
	for _, f := range files {
		key := fileKey(f.Path, f.Name)
		b, err := src.ReadFile(ctx, repo, key, maxDocBytes)
		if err != nil {
			errs = append(errs, fmt.Errorf("read %s: %w", key, err))
			continue
		}
		if sum := sha256.Sum256(b); hex.EncodeToString(sum[:]) != f.SHA256 {
			errs = append(errs, fmt.Errorf("read %s: content does not match its sha256 %s (changed again?)", key, f.SHA256))
			continue
		}
		doc, err := parseDocument(b)
		if err != nil {
			errs = append(errs, fmt.Errorf("parse %s: %w", key, err))
			continue
		}
		own := digest.NewDigestFromEncoded(digest.SHA256, f.SHA256)
		queue = append(queue, ref{own, "the digest of " + key})
		follow(doc, key)
	}
	mark := func(r ref) {
		folder := image + "/" + string(r.d.Algorithm()) + ":" + r.d.Encoded()
		if visited[folder] || r.d.Algorithm() != digest.SHA256 {
			return
		}
		visited[folder] = true
		live[r.d] = true
		_, wasDeleted := deleted[folder]
		if wasDeleted {
			found = append(found, Healed{Path: folder, Why: "pushed during the deletes: " + r.why})
		}
		if _, known := folders[folder]; !known {
			return // not a folder of the plan: a new push, already a root, or missing
		}
		doc, name, err := read(folder, wasDeleted)
		if err != nil {
			errs = append(errs, fmt.Errorf("follow the references of %s: %w", folder, err))
			return
		}
		follow(doc, name)
	}
	drain := func() {
		for len(queue) > 0 {
			r := queue[0]
			queue = queue[1:]
			mark(r)
		}
	}
	drain()
	// Referrers of what is live are live: a deleted referrer whose subject is live comes back too.
	for {
		grew := false
		for _, folder := range slices.Sorted(maps.Keys(deleted)) {
			if visited[folder] || folders[folder].Image != image {
				continue
			}
			doc, name, err := read(folder, true)
			if err != nil {
				errs = append(errs, fmt.Errorf("read the Trash Can's copy of %s: %w", folder, err))
				visited[folder] = true
				continue
			}
			if doc.subject != "" && live[doc.subject] {
				queue = append(queue, ref{folders[folder].Digest, "a referrer of " + doc.subject.String() + " (" + name + ")"})
				drain()
				grew = true
			}
		}
		if !grew {
			break
		}
	}
	return found, errors.Join(errs...)
}

// fileNamesFor returns the manifest file names to try for a folder, the likely one first.
func fileNamesFor(mediaType string) []string {
	switch mediaType {
	case ocispec.MediaTypeImageIndex, mediaTypeDockerList:
		return []string{ListManifestName, ManifestName}
	}
	return []string{ManifestName, ListManifestName}
}

// restoreLive restores one live deleted folder, never over one the push wrote again.
func restoreLive(ctx context.Context, h Healer, repo, folder string) (HealOutcome, error) {
	if err := ValidateFolderPath(repo, folder); err != nil {
		return HealFailed, err
	}
	exists, err := h.Exists(ctx, repo, folder)
	if err != nil {
		return HealFailed, fmt.Errorf("look up %s/%s: %w", repo, folder, err)
	}
	if exists {
		return HealPushedAgain, nil
	}
	in, err := h.InTrash(ctx, repo, folder)
	if err != nil {
		return HealFailed, fmt.Errorf("look up %s/%s in the Trash Can: %w", repo, folder, err)
	}
	if !in {
		return HealFailed, fmt.Errorf("%s/%s is not in the Trash Can (is it disabled?): it cannot be restored, and what references it does not pull; push it again", repo, folder)
	}
	if err := h.Restore(ctx, repo, folder); err != nil {
		back, e1 := h.Exists(ctx, repo, folder)
		still, e2 := h.InTrash(ctx, repo, folder)
		if e1 == nil && e2 == nil && back && !still && !errors.Is(err, ErrRestoredIncompletely) {
			return HealRestored, nil
		}
		return HealFailed, fmt.Errorf("restore %s/%s: %w", repo, folder, err)
	}
	return HealRestored, nil
}
