package prune

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/opencontainers/go-digest"
)

// Reason says why a digest folder is kept. The constants are listed in precedence order: a folder kept for several
// reasons gets the first.
type Reason string

// Reasons for keeping a digest folder, in precedence order.
const (
	// ReasonImageSkipped: the image could not be evaluated (fail closed); Folder.Err says why.
	ReasonImageSkipped Reason = "image-skipped"
	// ReasonTagDigest: one of the folder's digests is the digest of a tag's own manifest file.
	ReasonTagDigest Reason = "tag-digest"
	// ReasonTagged: reachable from a tag through index entries and subjects.
	ReasonTagged Reason = "tagged"
	// ReasonReferrer: its subject, directly or through other referrers, is kept by a tag.
	ReasonReferrer Reason = "referrer"
	// ReasonProtected: carries Options.KeepProperty, or is reachable only from such a folder.
	ReasonProtected Reason = "protected"
	// ReasonPulled: its manifest file was downloaded recently (ManifestFile.Pulled, --keep-pulled-within), or it is
	// reachable only from such a folder: a deployment pinned to its digest still pulls it.
	ReasonPulled Reason = "pulled"
	// ReasonYoung: younger than Options.MinAge, or reachable only from such a folder.
	ReasonYoung Reason = "young"
	// ReasonChanged: was to be deleted, but [Recheck] found its image changed during the run; Folder.Err says how.
	ReasonChanged Reason = "changed-during-run"
)

// Reasons returns every reason in precedence order.
func Reasons() []Reason {
	return []Reason{ReasonImageSkipped, ReasonTagDigest, ReasonTagged, ReasonReferrer, ReasonProtected, ReasonPulled, ReasonYoung, ReasonChanged}
}

// rank orders reasons by precedence; lower wins.
func (r Reason) rank() int {
	if i := slices.Index(Reasons(), r); i >= 0 {
		return i
	}
	return len(Reasons())
}

// Folder is one digest folder "<image>/sha256:<hex>" and the decision about it.
type Folder struct {
	// Path is the folder relative to the repository.
	Path string
	// Image is the folder's image, the parent of Path.
	Image string
	// Digest is the digest in the folder's name.
	Digest digest.Digest
	// MediaType is the media type of the document in the folder; empty when the document was not parsed.
	MediaType string
	// Age is the plan's server time minus the newest of the created, modified and updated times of the folder's
	// manifest file(s).
	Age time.Duration
	// Delete is true when the folder is to be deleted.
	Delete bool
	// Reason says why a kept folder is kept; empty when Delete is true.
	Reason Reason
	// Err says why the image was skipped (ReasonImageSkipped) or how it changed (ReasonChanged).
	Err error
	// Bytes is the sum of the sizes of the files in the folder. It is measured for folders to be deleted only,
	// and valid only when RepoPlan.BytesKnown.
	Bytes int64
}

// ImagePlan holds the decisions for one image.
type ImagePlan struct {
	// Name is the image's folder path in the repository, such as "app" or "team/app".
	Name string
	// Tags lists the names of the tag folders, sorted.
	Tags []string
	// Indexes and Manifests count the list.manifest.json and manifest.json files of the image (tag and digest folders).
	Indexes, Manifests int
	// Folders lists the digest folders, sorted by path.
	Folders []Folder
	// MissingRefs lists the digests referenced (as index entries or subjects) by documents of the image that
	// resolve to no folder of the image, sorted. They are not errors.
	MissingRefs []digest.Digest
	// Err is non-nil when the image was skipped: nothing in it is deleted.
	Err error
	// Changed lists the manifest files ("<folder>/<name>") that [Recheck] found new or changed, sorted.
	Changed []string

	deleteTags []string // the named tags (PlanTagDeletion), in order; nil when the image is skipped
	// otherDigests holds the sha256 of every manifest file of the image that is not its digest folder's own digest
	// (tag files, a second file in a folder): with the folders' digests, every digest live in the image.
	// [PurgeTrash] keeps a trashed referrer whose subject is one. Unset when the image is skipped.
	otherDigests [][32]byte
}

// RepoPlan is the plan for one repository: every digest folder with its decision.
type RepoPlan struct {
	// Repo is the repository key.
	Repo string
	// ServerTime is the server's time when planning started; ages are measured from it.
	ServerTime time.Time
	// MinAge is the grace period used.
	MinAge time.Duration
	// Images lists the images, sorted by name.
	Images []ImagePlan
	// Malformed lists manifest files ("<folder>/<name>") outside any image: in the repository root or one level
	// deep. They never lead to deletions.
	Malformed []string
	// Ignored counts the files that were skipped: under an _uploads folder, or not named like a manifest file.
	Ignored int
	// BytesKnown says whether Bytes, FreedBytes and Folder.Bytes were measured. When false, BytesErr says why;
	// the plan stands regardless.
	BytesKnown bool
	// Bytes is the sum of the sizes of the files in the folders to be deleted.
	Bytes int64
	// FreedBytes estimates the storage freed: the sizes of the distinct checksums all of whose holders in the
	// repository are in folders to be deleted. Artifactory frees it only after the Trash Can is emptied and binary
	// garbage collection runs, and not at all if other repositories hold the same checksums.
	FreedBytes int64
	// BytesErr says why the bytes are unknown.
	BytesErr error
	// Err is non-nil when the repository failed: nothing in it is deleted.
	Err error
	// ExcludedImages lists, sorted, the images the caller left out of the inventory (artprune's --include-image and
	// --exclude-image); the planner never sees them. The report lists them.
	ExcludedImages []string
	// NotApplied lists the entries of an approved plan (artprune apply) not deleted, with why; the report lists them.
	NotApplied []NotAppliedReport
	// TagDeletions lists the tag folders to delete, for a plan of [Planner.PlanTagDeletion] (nil otherwise), in
	// image and tag order; [ApplyTagDeletion] fills in their outcomes.
	TagDeletions []TagDeletion

	// named, for PlanTagDeletion, reports whether a tag folder is one to delete.
	named func(image, tag string) bool

	rechecked bool
	// inventory holds how the files that Recheck may list again unchanged were listed: "<folder>/<name>" -> stamp;
	// every tag manifest file is there.
	inventory map[string]stamp
	// nested maps each digest folder above a listed file's folder to the first such file.
	nested      map[string]string
	folderFiles map[string][]File   // folder to delete -> its files
	holders     map[string][]string // checksum -> folders holding it; "" for a holder outside the repository
}

// stamp is what [Recheck] compares to tell a changed manifest file from one already planned with.
type stamp struct {
	sha256                     string
	created, modified, updated time.Time
}

func stampOf(f ManifestFile) stamp {
	return stamp{sha256: f.SHA256, created: f.Created, modified: f.Modified, updated: f.Updated}
}

func (s stamp) equal(o stamp) bool {
	return s.sha256 == o.sha256 && s.created.Equal(o.created) && s.modified.Equal(o.modified) && s.updated.Equal(o.updated)
}

// Deletions returns the folders to be deleted, in image and path order.
func (p *RepoPlan) Deletions() []Folder {
	var out []Folder
	for _, img := range p.Images {
		for _, f := range img.Folders {
			if f.Delete {
				out = append(out, f)
			}
		}
	}
	return out
}

// DeletionCount returns the number of folders to be deleted, without copying them as Deletions does.
func (p *RepoPlan) DeletionCount() int {
	n := 0
	for _, img := range p.Images {
		for i := range img.Folders {
			if img.Folders[i].Delete {
				n++
			}
		}
	}
	return n
}

// Rechecked reports whether [Recheck] confirmed the plan, which [Apply] requires.
func (p *RepoPlan) Rechecked() bool { return p.rechecked }

// Planner plans the pruning of repositories. It caches parsed documents by digest, so that a run reads each
// document once however many folders, images and repositories hold it. It is safe for concurrent use.
type Planner struct {
	src  Source
	opts Options
	keep *keepMatcher
	log  *slog.Logger

	mu     sync.Mutex
	parsed map[[32]byte]*docInfo // sha256 -> parse outcome; read errors are not cached
	plains map[string]*docInfo   // the shared docInfo of documents with neither entries nor subject
}

// NewPlanner returns a planner reading from src. It rejects invalid options.
func NewPlanner(src Source, opts Options) (*Planner, error) {
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	keep, err := parseKeepProperty(opts.KeepProperty)
	if err != nil {
		return nil, fmt.Errorf("invalid options: %w", err)
	}
	return &Planner{src: src, opts: opts, keep: keep, log: opts.Logger, parsed: map[[32]byte]*docInfo{}, plains: map[string]*docInfo{}}, nil
}

// Plan inventories repo and decides, for every digest folder, whether it is deleted or kept and why. It never
// deletes. The error is non-nil only when the whole repository failed (the server time or the inventory could not
// be read, or ctx was cancelled); it is then also in RepoPlan.Err, and the plan, which holds no deletions, still
// carries what is known. Failures of single images are in ImagePlan.Err.
func (p *Planner) Plan(ctx context.Context, repo string) (*RepoPlan, error) {
	return p.plan(ctx, repo, nil)
}

// plan is Plan, or PlanTagDeletion when named is not nil.
func (p *Planner) plan(ctx context.Context, repo string, named func(image, tag string) bool) (*RepoPlan, error) {
	plan := &RepoPlan{Repo: repo, MinAge: p.opts.MinAge, named: named}
	if err := checkRepo(repo); err != nil {
		return p.failRepo(plan, fmt.Errorf("planning repository %q: %w", repo, err))
	}
	now, err := p.src.Now(ctx)
	if err != nil {
		return p.failRepo(plan, fmt.Errorf("reading the server time for repository %s: %w", repo, err))
	}
	plan.ServerTime = now

	inv, err := p.inventory(ctx, plan)
	if err != nil {
		return p.failRepo(plan, fmt.Errorf("listing manifests in repository %s: %w", repo, err))
	}
	stats := p.readDocuments(ctx, repo, inv)
	if err := ctx.Err(); err != nil {
		return p.failRepo(plan, fmt.Errorf("planning repository %s: %w", repo, err))
	}
	plan.Images = make([]ImagePlan, 0, len(inv.images))
	inv.split()
	for _, img := range inv.images {
		plan.Images = append(plan.Images, p.decide(plan, inv, img))
		img.files = nil
	}
	excluded := inv.excludedImages
	inv = nil // the plan holds what is left to know; a million files' records can go
	p.skipNesting(plan)
	if named != nil {
		p.collectTagDeletions(plan, excluded)
	}
	p.measure(ctx, plan)

	p.log.Info("planned repository", "repo", repo, "images", len(plan.Images), "deletions", plan.DeletionCount(),
		"documents_read", stats.read.Load(), "documents_from_cache", stats.cached.Load(),
		"bytes_known", plan.BytesKnown, "bytes", plan.Bytes, "freed_bytes", plan.FreedBytes)
	return plan, nil
}

func (p *Planner) failRepo(plan *RepoPlan, err error) (*RepoPlan, error) {
	plan.Err = err
	plan.Images = nil // a plan that failed holds no decisions, so it can hold no deletion
	plan.BytesKnown, plan.Bytes, plan.FreedBytes = true, 0, 0
	p.log.Warn("repository failed, nothing will be deleted in it", "repo", plan.Repo, "error", err)
	return plan, err
}

// inventory lists and classifies the manifest files of plan.Repo (see inventory.go) and returns them with the
// images sorted by name and the files by image, folder path and name.
func (p *Planner) inventory(ctx context.Context, plan *RepoPlan) (*inventory, error) {
	plan.inventory = make(map[string]stamp)
	// Recheck lists the files changed since ServerTime-RecheckSkew. A file listed now whose times all precede that
	// (with a minute to spare for timestamps rounded by the query) can only appear there if it changed, so only the
	// stamps of younger files need keeping.
	stampsAfter := plan.ServerTime.Add(-RecheckSkew - time.Minute)
	inv := newInventory()
	err := p.src.Manifests(ctx, plan.Repo, func(f ManifestFile) error { return p.add(plan, inv, f, stampsAfter) })
	if err != nil {
		return nil, err
	}
	slices.Sort(plan.Malformed)
	inv.finish()
	inv.markTagFolderImages()
	return inv, nil
}

// newest returns the newest of the file's created, modified and updated times.
func newest(f ManifestFile) time.Time {
	t := f.Created
	for _, u := range []time.Time{f.Modified, f.Updated} {
		if u.After(t) {
			t = u
		}
	}
	return t
}

// decide marks the image and returns its decisions.
func (p *Planner) decide(plan *RepoPlan, inv *inventory, img *imageState) ImagePlan {
	ip := ImagePlan{Name: img.name}
	files := img.files
	// The folders: runs of files, in path order; a run's files are in name order.
	var runs []int // start of each folder's files; len(runs) folders, the last ending at len(files)
	digestFolders := 0
	for i := range files {
		if i == 0 || !inv.sameFolder(&files[i-1], &files[i]) {
			runs = append(runs, i)
			if files[i].digestFolder() {
				digestFolders++
			}
		}
	}
	runEnd := func(k int) int {
		if k+1 < len(runs) {
			return runs[k+1]
		}
		return len(files)
	}

	errs := img.errs
	for k, start := range runs {
		if !files[start].digestFolder() {
			ip.Tags = append(ip.Tags, inv.tags[files[start].leaf])
		}
		for i := start; i < runEnd(k); i++ {
			f := &files[i]
			if f.flags&fileList != 0 {
				ip.Indexes++
			} else {
				ip.Manifests++
			}
			if len(img.errs) > 0 {
				continue // not read
			}
			switch {
			case f.flags&fileReadFailed != 0:
				errs = append(errs, inv.failed[f.sha])
			case f.doc.checkKind(f.name()) != nil:
				errs = append(errs, fmt.Errorf("manifest file %s: %w", inv.key(f), f.doc.checkKind(f.name())))
			}
		}
	}

	// The folders' decisions, filled in below.
	ip.Folders = make([]Folder, 0, digestFolders)
	for k, start := range runs {
		first := &files[start]
		if !first.digestFolder() {
			continue
		}
		path := inv.folderPath(first)
		fo := Folder{Path: path, Image: img.name, Digest: digest.Digest(path[len(img.name)+1:]), Age: plan.ServerTime.Sub(first.newest())}
		for i := start; i < runEnd(k); i++ {
			f := &files[i]
			fo.Age = min(fo.Age, plan.ServerTime.Sub(f.newest()))
			if f.doc != nil && f.doc.err == nil && fo.MediaType == "" {
				fo.MediaType = f.doc.mediaType
			}
		}
		ip.Folders = append(ip.Folders, fo)
	}

	if len(errs) > 0 {
		p.skip(plan.Repo, &ip, errFirst(errs))
		return ip
	}

	g := &graph{id: make(map[[32]byte]int32)}
	folderIDs := make([][]int32, len(runs))
	var tagIDs, namedIDs, protectedIDs, pulledIDs, youngIDs []int32
	protectedTag := "" // a named tag folder that carries the keep property
	for k, start := range runs {
		var ids []int32
		isDigest := files[start].digestFolder()
		if isDigest {
			ids = append(ids, g.node(inv.leafDigest(&files[start])))
		}
		young, protected, pulled := false, false, false
		for i := start; i < runEnd(k); i++ {
			f := &files[i]
			ids = append(ids, g.node(f.sha))
			if f.flags&fileBadSHA == 0 && (!isDigest || f.sha != inv.leafDigest(&files[start])) {
				ip.otherDigests = append(ip.otherDigests, f.sha)
			}
			young = young || plan.ServerTime.Sub(f.newest()) < p.opts.MinAge
			protected = protected || f.flags&fileProtected != 0
			pulled = pulled || f.flags&filePulled != 0
		}
		slices.Sort(ids)
		ids = slices.Compact(ids)
		// All digests of one folder stand or fall together.
		for j := 1; j < len(ids); j++ {
			g.fwd[ids[j-1]] = append(g.fwd[ids[j-1]], ids[j])
			g.fwd[ids[j]] = append(g.fwd[ids[j]], ids[j-1])
		}
		folderIDs[k] = ids
		if !isDigest && plan.named != nil && plan.named(img.name, inv.tags[files[start].leaf]) {
			if protected && protectedTag == "" {
				protectedTag = img.name + "/" + inv.tags[files[start].leaf]
			}
			// A named tag is no root, young or not: it goes, and keeps nothing.
			namedIDs = append(namedIDs, ids...)
			ip.deleteTags = append(ip.deleteTags, inv.tags[files[start].leaf])
			continue
		}
		switch {
		case !isDigest:
			tagIDs = append(tagIDs, ids...)
		case protected:
			protectedIDs = append(protectedIDs, ids...)
		case pulled:
			pulledIDs = append(pulledIDs, ids...)
		}
		if young {
			youngIDs = append(youngIDs, ids...)
		}
	}

	if protectedTag != "" {
		p.skip(plan.Repo, &ip, fmt.Errorf("tag folder %s carries the keep property %s: %w", protectedTag, p.opts.KeepProperty, ErrProtectedTag))
		return ip
	}

	missing := make(map[[32]byte]bool)
	ref := func(from int32, to [32]byte, subject bool) {
		v, ok := g.id[to]
		if !ok {
			missing[to] = true
			return
		}
		g.fwd[from] = append(g.fwd[from], v)
		if subject {
			g.rev[v] = append(g.rev[v], from)
		}
	}
	done := make(map[[32]byte]bool)
	for i := range files {
		f := &files[i]
		if done[f.sha] {
			continue
		}
		done[f.sha] = true
		u := g.id[f.sha]
		for _, c := range f.doc.children {
			ref(u, c, false)
		}
		if f.doc.hasSubject {
			ref(u, f.doc.subject, true)
		}
	}
	if len(missing) > 0 {
		ip.MissingRefs = make([]digest.Digest, 0, len(missing))
		for d := range missing {
			ip.MissingRefs = append(ip.MissingRefs, digest.NewDigestFromEncoded(digest.SHA256, hex.EncodeToString(d[:])))
		}
		slices.Sort(ip.MissingRefs)
	}

	// For a tag deletion: first N, what the named tags reach (deletetags.go), then the marking starts afresh
	// without them; young folders of N are no roots.
	var inN []bool
	if plan.named != nil {
		g.spread(g.seed(namedIDs, ReasonTagged), ReasonTagged, false)
		g.spread(g.marked(), ReasonTagged, true)
		inN = make([]bool, len(g.label))
		for id, r := range g.label {
			inN[id] = r != ""
			g.label[id] = ""
		}
		youngIDs = slices.DeleteFunc(youngIDs, func(id int32) bool { return inN[id] })
	}

	// Tags first, with referrers of what tags keep; then protected, pulled and young roots, each closed over index
	// entries, subjects and referrers. A node keeps the label of the first phase that reaches it.
	g.spread(g.seed(tagIDs, ReasonTagDigest), ReasonTagged, false)
	g.spread(g.marked(), ReasonReferrer, true)
	g.spread(g.seed(protectedIDs, ReasonProtected), ReasonProtected, true)
	g.spread(g.seed(pulledIDs, ReasonPulled), ReasonPulled, true)
	g.spread(g.seed(youngIDs, ReasonYoung), ReasonYoung, true)

	i := 0
	for k, start := range runs {
		if !files[start].digestFolder() {
			continue
		}
		fo := &ip.Folders[i]
		i++
		for _, id := range folderIDs[k] {
			if r := g.label[id]; r != "" && (fo.Reason == "" || r.rank() < fo.Reason.rank()) {
				fo.Reason = r
			}
		}
		fo.Delete = fo.Reason == ""
		if inN != nil && !slices.ContainsFunc(folderIDs[k], func(id int32) bool { return inN[id] }) {
			fo.Path = "" // already dangling, or kept, without the named tags: not this plan's business
			continue
		}
		p.log.Debug("decided", "repo", plan.Repo, "folder", fo.Path, "delete", fo.Delete, "reason", fo.Reason)
	}
	if inN != nil {
		ip.Folders = slices.DeleteFunc(ip.Folders, func(fo Folder) bool { return fo.Path == "" })
	}
	return ip
}

// skip keeps every digest folder of the image, failing closed.
func (p *Planner) skip(repo string, ip *ImagePlan, err error) {
	ip.Err = fmt.Errorf("image %s skipped: %w", ip.Name, err)
	ip.deleteTags = nil
	for i := range ip.Folders {
		ip.Folders[i].Delete = false
		ip.Folders[i].Reason = ReasonImageSkipped
		ip.Folders[i].Err = ip.Err
	}
	p.log.Warn("image skipped, nothing will be deleted in it", "repo", repo, "image", ip.Name, "error", ip.Err)
}

// skipNesting skips every image with a deletion that holds other listed files deeper down: a folder is deleted
// recursively, so deleting it would take them along. Docker image names cannot contain "sha256:" segments, so
// this only guards against layouts the planner does not understand.
func (p *Planner) skipNesting(plan *RepoPlan) {
	if len(plan.nested) == 0 {
		return
	}
	for i := range plan.Images {
		ip := &plan.Images[i]
		for _, fo := range ip.Folders {
			below, ok := plan.nested[fo.Path]
			if !fo.Delete || !ok {
				continue
			}
			p.skip(plan.Repo, ip, fmt.Errorf("digest folder %s holds %s in a subfolder: %w", fo.Path, below, ErrUnsafePath))
			break
		}
	}
}

// graph is the reference graph of one image. Nodes are digests; forward edges go from a digest to its index
// entries, its subject and the other digests of its folder; referrer edges go from a subject to its referrers.
type graph struct {
	id    map[[32]byte]int32
	fwd   [][]int32
	rev   [][]int32
	label []Reason // "" while unmarked
}

// node returns the node of d, adding it if needed.
func (g *graph) node(d [32]byte) int32 {
	if id, ok := g.id[d]; ok {
		return id
	}
	id := int32(len(g.label))
	g.id[d] = id
	g.fwd = append(g.fwd, nil)
	g.rev = append(g.rev, nil)
	g.label = append(g.label, "")
	return id
}

// seed marks the unmarked nodes of ids with r and returns them.
func (g *graph) seed(ids []int32, r Reason) []int32 {
	var out []int32
	for _, id := range ids {
		if g.label[id] == "" {
			g.label[id] = r
			out = append(out, id)
		}
	}
	return out
}

// marked returns the marked nodes.
func (g *graph) marked() []int32 {
	var out []int32
	for id, r := range g.label {
		if r != "" {
			out = append(out, int32(id))
		}
	}
	return out
}

// spread marks with r every unmarked node reachable from queue through forward edges, and through referrer edges
// too if referrers is true. Each node enters the queue at most once per call, so a call is linear in the size of the
// graph and cycles end.
func (g *graph) spread(queue []int32, r Reason, referrers bool) {
	for len(queue) > 0 {
		u := queue[0]
		queue = queue[1:]
		next := g.fwd[u]
		if referrers {
			next = append(slices.Clip(next), g.rev[u]...)
		}
		for _, v := range next {
			if g.label[v] == "" {
				g.label[v] = r
				queue = append(queue, v)
			}
		}
	}
}

// measure fills in the bytes of the folders to delete. A failure leaves the bytes unknown; the plan stands.
func (p *Planner) measure(ctx context.Context, plan *RepoPlan) {
	n := plan.DeletionCount()
	if n > 0 && (p.opts.MeasureLimit < 0 || n > p.opts.MeasureLimit) {
		plan.BytesErr = fmt.Errorf("the sizes of the %d folders to delete were not measured: %w", n, errNotMeasured(p.opts.MeasureLimit))
		p.log.Info("bytes not measured", "repo", plan.Repo, "folders", n, "measure_limit", max(p.opts.MeasureLimit, 0))
		return
	}
	var folders []string
	want := make(map[string]bool)
	for _, f := range plan.Deletions() {
		folders = append(folders, f.Path)
		want[f.Path] = true
	}
	plan.folderFiles = make(map[string][]File)
	plan.holders = make(map[string][]string)
	if len(folders) == 0 {
		plan.BytesKnown = true
		return
	}
	fail := func(err error) {
		plan.BytesErr = err
		plan.folderFiles, plan.holders = nil, nil
		p.log.Warn("bytes unknown", "repo", plan.Repo, "error", err)
	}
	err := p.src.FolderFiles(ctx, plan.Repo, folders, func(f File) error {
		if f.Repo == plan.Repo && want[f.Path] {
			plan.folderFiles[f.Path] = append(plan.folderFiles[f.Path], f)
		}
		return nil
	})
	if err != nil {
		fail(fmt.Errorf("listing the files of %d folders in repository %s: %w", len(folders), plan.Repo, err))
		return
	}
	sums := make(map[string]bool)
	for _, files := range plan.folderFiles {
		for _, f := range files {
			if f.SHA256 != "" {
				sums[f.SHA256] = true
			}
		}
	}
	if len(sums) > 0 {
		err = p.src.ChecksumHolders(ctx, plan.Repo, slices.Sorted(maps.Keys(sums)), func(f File) error {
			holder := f.Path
			if f.Repo != plan.Repo {
				holder = "" // held elsewhere: never freed
			}
			plan.holders[f.SHA256] = append(plan.holders[f.SHA256], holder)
			return nil
		})
		if err != nil {
			fail(fmt.Errorf("finding the holders of %d checksums in repository %s: %w", len(sums), plan.Repo, err))
			return
		}
	}
	plan.BytesKnown = true
	plan.updateBytes()
}

// errNotMeasured says why sizes were not measured.
func errNotMeasured(limit int) error {
	if limit < 0 {
		return errors.New("measuring is off")
	}
	return fmt.Errorf("more than the limit of %d (listing the files of every folder to delete and the holders of "+
		"their checksums costs AQL rows in proportion)", limit)
}

// updateBytes computes the byte figures of the current deletions from the measured files and holders.
func (p *RepoPlan) updateBytes() {
	if !p.BytesKnown {
		return
	}
	deleted := make(map[string]bool)
	sizes := make(map[string]int64)
	p.Bytes, p.FreedBytes = 0, 0
	for i := range p.Images {
		for j := range p.Images[i].Folders {
			fo := &p.Images[i].Folders[j]
			fo.Bytes = 0
			if !fo.Delete {
				continue
			}
			deleted[fo.Path] = true
			for _, f := range p.folderFiles[fo.Path] {
				fo.Bytes += f.Size
				if f.SHA256 != "" {
					sizes[f.SHA256] = f.Size
				}
			}
			p.Bytes += fo.Bytes
		}
	}
	for sum, size := range sizes {
		holders := p.holders[sum]
		if len(holders) > 0 && !slices.ContainsFunc(holders, func(h string) bool { return !deleted[h] }) {
			p.FreedBytes += size
		}
	}
}
