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
	"sync"
	"time"
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
	// ReadTrashed returns the content of the Trash Can's copy of repo/path; an error wrapping ErrTooLarge if it
	// exceeds limit bytes.
	ReadTrashed(ctx context.Context, repo, path string, limit int64) ([]byte, error)
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
	// KeptYoung counts the marked folders trashed less than After ago; KeptReferenced those old enough that something
	// live reaches (a live document of the image references them, or a kept or young folder of the Trash Can does, or
	// their subject is live or kept), or whose image could not be judged, or that exist again.
	KeptYoung, KeptReferenced int
	// KeptNotOurs counts the folders whose mark is not bound to their current copy (TrashedFolder.MarkedAt): a
	// deletion someone else made of a folder that carried the mark, or a mark of an older artprune. Never purged.
	KeptNotOurs int
	// FreedBytes is the size of the binaries the purged folders alone held: no other path, in any repository or
	// elsewhere in the Trash Can, holds them. Garbage collection frees them. In a dry run, what purging would free.
	FreedBytes int64
	// Skipped lists the images in which nothing was purged because a Trash Can copy of theirs could not be read or
	// parsed: what it references is unknown. A failure.
	Skipped []PurgeSkipped
	// Err says why the purge was not done, or not completely (then FreedBytes counts what is known).
	Err error
}

// PurgeSkipped is an image whose folders [PurgeTrash] left in the Trash Can, failing closed.
type PurgeSkipped struct {
	Image string
	// Folders counts the folders old enough that were not purged.
	Folders int
	Err     error
}

// PurgeTrash permanently deletes from the Trash Can the folders of plan's repository that artprune moved there (their
// mark records their current trash.time: [TrashedFolder.MarkedAt]) at least after ago (on the server's clock now)
// and that nothing live reaches. The current plan of the repository must have succeeded; a folder that exists again,
// or whose image was not judged (skipped, or left out by the caller's image filters: judges, plan.ExcludedImages),
// is kept.
// What is live is the plan's (every folder and manifest file of the image, and the references of its documents that
// resolve to no folder, MissingRefs); through the Trash Can's copies of the image's marked folders, read with
// ReadTrashed, PurgeTrash then keeps, to a fixpoint, what the planner would: a marked folder a live document
// references, or too young to purge, and everything a kept one references through index entries and subjects, and
// every trashed referrer whose subject is live or kept. Only the rest is purged. When a copy of an image cannot be
// read or parsed, nothing in that image is purged (Skipped says why). Nothing else in the Trash Can is touched: only
// folders that TrashedFolders names, each checked with [ValidateFolderPath]. With dryRun nothing is deleted.
//
// judges is the caller's image filter (artprune's --include-image and --exclude-image): a folder whose image it
// does not judge is kept, even when the image has no file left and so appears neither in plan.Images nor in
// plan.ExcludedImages. nil judges every image.
func PurgeTrash(ctx context.Context, p TrashPurger, plan *RepoPlan, judges func(image string) bool, now time.Time, after time.Duration,
	dryRun bool) *PurgeResult {
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
	byImage := map[string][]*trashNode{} // the image's marked folders that are artprune's, young or not
	err := p.TrashedFolders(ctx, plan.Repo, func(tf TrashedFolder) error {
		if err := ValidateFolderPath(plan.Repo, tf.Path); err != nil {
			return nil // not a digest folder: not artprune's to purge
		}
		image := imageOf(tf.Path)
		switch img := images[image]; {
		case !tf.ours():
			res.KeptNotOurs++
		case exists[tf.Path] || excluded[image] || (judges != nil && !judges(image)) || (img != nil && img.Err != nil):
			res.KeptReferenced++
		case now.Sub(tf.TrashedAt) < after:
			res.KeptYoung++
			byImage[image] = append(byImage[image], &trashNode{tf: tf})
		default:
			byImage[image] = append(byImage[image], &trashNode{tf: tf, candidate: true})
		}
		return nil
	})
	if err == nil {
		err = ctx.Err()
	}
	if err != nil {
		res.Err = fmt.Errorf("list artprune's folders in the Trash Can for %s: %w", plan.Repo, err)
		return res
	}
	// Only images with a folder to purge need their copies read.
	var nodePaths []string
	for image, nodes := range byImage {
		if !slices.ContainsFunc(nodes, func(n *trashNode) bool { return n.candidate }) {
			delete(byImage, image)
			continue
		}
		for _, n := range nodes {
			nodePaths = append(nodePaths, n.tf.Path)
		}
	}
	if len(nodePaths) == 0 {
		res.Folders = []PurgedFolder{}
		return res
	}
	slices.Sort(nodePaths)
	filesOf := map[string][]File{} // folder -> the files of its copy
	err = p.TrashedFiles(ctx, plan.Repo, nodePaths, func(f File) error {
		fo := folderOfTrashFile(plan.Repo, f.Path)
		filesOf[fo] = append(filesOf[fo], f)
		return nil
	})
	if err == nil {
		err = ctx.Err()
	}
	if err != nil {
		res.Err = fmt.Errorf("list the files of artprune's folders in the Trash Can for %s: %w", plan.Repo, err)
		return res
	}
	var all []*trashNode
	for _, image := range slices.Sorted(maps.Keys(byImage)) {
		slices.SortFunc(byImage[image], func(a, b *trashNode) int { return strings.Compare(a.tf.Path, b.tf.Path) })
		all = append(all, byImage[image]...)
	}
	readNodes(ctx, p, plan.Repo, all, filesOf)
	var candidates []PurgedFolder
	for _, image := range slices.Sorted(maps.Keys(byImage)) {
		nodes := byImage[image]
		purge, kept, err := reachTrashed(images[image], nodes)
		if err != nil {
			n := 0
			for _, nd := range nodes {
				if nd.candidate {
					n++
				}
			}
			res.Skipped = append(res.Skipped, PurgeSkipped{Image: image, Folders: n, Err: err})
			continue
		}
		res.KeptReferenced += kept
		candidates = append(candidates, purge...)
	}
	if err := ctx.Err(); err != nil {
		res.Err = fmt.Errorf("purge the Trash Can of %s: %w", plan.Repo, err)
		return res
	}
	slices.SortFunc(candidates, func(a, b PurgedFolder) int { return strings.Compare(a.Path, b.Path) })
	res.Folders = candidates
	if len(candidates) == 0 {
		res.Folders = []PurgedFolder{}
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
	for _, path := range paths {
		for _, f := range filesOf[path] {
			b := blobs[f.SHA256]
			if b == nil {
				b = &blob{size: f.Size, folders: map[string]bool{}}
				blobs[f.SHA256] = b
			}
			b.folders[path] = true
			ours[f.Repo+"/"+f.Path+"/"+f.Name] = true
		}
	}
	var sums []string
	for s := range blobs {
		sums = append(sums, s)
	}
	slices.Sort(sums)
	elsewhere := map[string]bool{}
	err = p.ChecksumHoldersAnywhere(ctx, sums, func(f File) error {
		if !ours[f.Repo+"/"+f.Path+"/"+f.Name] {
			elsewhere[f.SHA256] = true
		}
		return nil
	})
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

// Failed reports whether the purge failed, left folders it meant to purge, or skipped an image whose copies it
// could not read.
func (r *PurgeResult) Failed() bool {
	return r != nil && (r.Err != nil || len(r.Skipped) > 0 ||
		slices.ContainsFunc(r.Folders, func(f PurgedFolder) bool { return f.Outcome == PurgeFailed }))
}

// trashNode is one of artprune's folders in the Trash Can, with what its copy's documents say.
type trashNode struct {
	tf        TrashedFolder
	candidate bool     // old enough to purge; otherwise kept (too young), and what it reaches with it
	digests   []string // the folder's digest and its manifest files' sha256, hex
	refs      []string // index entries of its documents, hex
	subjects  []string // subjects of its documents, hex
	err       error    // why its copy could not be followed
	kept      bool
}

// purgeReaders is how many Trash Can documents [PurgeTrash] reads at a time (the client's own cap on requests in
// flight still applies).
const purgeReaders = 8

// readNodes reads the documents of the nodes' copies, purgeReaders at a time; each node's err says why its copy
// could not be followed.
func readNodes(ctx context.Context, p TrashPurger, repo string, nodes []*trashNode, filesOf map[string][]File) {
	sem := make(chan struct{}, purgeReaders)
	var wg sync.WaitGroup
	for _, n := range nodes {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			n.err = readNode(ctx, p, repo, n, filesOf[n.tf.Path])
		}()
	}
	wg.Wait()
}

// readNode reads the manifest files of one copy and notes its digests and references.
func readNode(ctx context.Context, p TrashPurger, repo string, n *trashNode, files []File) error {
	_, leaf, _ := cutLast(n.tf.Path)
	n.digests = append(n.digests, strings.TrimPrefix(leaf, "sha256:"))
	docs := 0
	for _, f := range files {
		if f.Name != ManifestName && f.Name != ListManifestName {
			continue
		}
		docs++
		key := n.tf.Path + "/" + f.Name
		b, err := p.ReadTrashed(ctx, repo, key, DefaultMaxDocumentBytes)
		if err != nil {
			return fmt.Errorf("read the Trash Can's copy of %s: %w", key, err)
		}
		if sum := sha256.Sum256(b); hex.EncodeToString(sum[:]) != f.SHA256 {
			return fmt.Errorf("read the Trash Can's copy of %s: its content does not match its sha256 %s", key, f.SHA256)
		}
		doc, err := parseDocument(b)
		if err != nil {
			return fmt.Errorf("parse the Trash Can's copy of %s: %w", key, err)
		}
		n.digests = append(n.digests, f.SHA256)
		for _, c := range doc.children {
			n.refs = append(n.refs, c.Encoded())
		}
		if doc.subject != "" {
			n.subjects = append(n.subjects, doc.subject.Encoded())
		}
	}
	if docs == 0 && len(files) > 0 {
		return fmt.Errorf("the Trash Can's copy of %s holds no %s or %s: what it references is unknown",
			n.tf.Path, ManifestName, ListManifestName)
	}
	// A copy without files (garbage collection removed them past the retention period) references nothing.
	return nil
}

// reachTrashed returns the candidates among one image's marked folders (read by readNodes) that nothing live
// reaches, and how many candidates it keeps. img is the image's plan, nil when the image has no manifest left. An
// error (a copy that could not be read or parsed) means nothing in the image may be purged.
func reachTrashed(img *ImagePlan, nodes []*trashNode) ([]PurgedFolder, int, error) {
	byDigest := map[string][]*trashNode{}
	for _, n := range nodes {
		if n.err != nil {
			return nil, 0, n.err
		}
		for _, d := range n.digests {
			byDigest[d] = append(byDigest[d], n)
		}
	}
	live := map[string]bool{}
	existing := map[string]bool{} // digests of the image's folders and manifest files
	if img != nil {
		for _, fo := range img.Folders {
			_, leaf, _ := cutLast(fo.Path)
			existing[strings.TrimPrefix(leaf, "sha256:")] = true
		}
		for _, d := range img.otherDigests {
			existing[hex.EncodeToString(d[:])] = true
		}
	}
	var unknown []string // digests something live or kept references that are neither here nor marked copies
	var queue []*trashNode
	keep := func(d string) {
		if len(byDigest[d]) == 0 && !existing[d] {
			unknown = append(unknown, d)
			return
		}
		for _, n := range byDigest[d] {
			if !n.kept {
				n.kept = true
				queue = append(queue, n)
			}
		}
	}
	drain := func() {
		for len(queue) > 0 {
			n := queue[0]
			queue = queue[1:]
			for _, d := range n.digests {
				live[d] = true
			}
			for _, d := range n.refs {
				keep(d)
			}
			for _, d := range n.subjects {
				keep(d)
			}
		}
	}
	for d := range existing {
		live[d] = true
	}
	if img != nil {
		for _, d := range img.MissingRefs {
			keep(d.Encoded())
		}
	}
	for _, n := range nodes {
		if !n.candidate && !n.kept {
			n.kept = true
			queue = append(queue, n)
		}
	}
	drain()
	// Referrers of what is live or kept are kept, and what they reach; to a fixpoint.
	for grew := true; grew; {
		grew = false
		for _, n := range nodes {
			if !n.kept && slices.ContainsFunc(n.subjects, func(s string) bool { return live[s] }) {
				n.kept = true
				queue = append(queue, n)
				drain()
				grew = true
			}
		}
	}
	if len(unknown) > 0 {
		// The chain from what is live goes through a copy that is not one of artprune's marked folders (deleted by
		// a run without --purge-trash-after, by someone else, or missing): what it references is unknown.
		slices.Sort(unknown)
		return nil, 0, fmt.Errorf("a live or kept document references sha256:%s, which is neither a folder of the image nor "+
			"a folder artprune marked in the Trash Can (deleted by a run without --purge-trash-after, by someone else, or "+
			"missing): what it references is unknown, so nothing in this image is purged", unknown[0])
	}
	var purge []PurgedFolder
	kept := 0
	for _, n := range nodes {
		switch {
		case !n.candidate:
		case n.kept:
			kept++
		default:
			purge = append(purge, PurgedFolder{Path: n.tf.Path, TrashedAt: n.tf.TrashedAt})
		}
	}
	return purge, kept, nil
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
