package prune_test

import (
	"context"
	"errors"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/artprune/artprune/prune"
)

// tagStory is the situation artprune delete is for. In image app:
//
//   - pr-1 is a multi-arch tag: an index of a1, shared (also in main's index), att1 (an attestation), yc (a child
//     pushed an hour ago), yshared (also a child of a young untagged index, a push in progress), prot (carries the
//     keep property) and pulled (downloaded recently); sig1 is a referrer of pr-1's index;
//   - pr-2 is a single-platform tag whose manifest was also pushed by digest;
//   - main is a multi-arch tag: an index of a2 and shared, with a signature sigMain;
//   - prod is a tag that no pattern names; x is an old dangling folder that no tag reaches.
type tagStory struct {
	s                                                   *fakeStore
	i1, a1, shared, att1, yc, yshared, prot, pull, sig1 doc
	m2, i2, a2, sigMain, yIdx, x, prodM                 doc
}

func newTagStory(t *testing.T) *tagStory {
	t.Helper()
	m := func(seed string, subject ...doc) doc { return ociManifest(t, seed, subject...) }
	ts := &tagStory{s: newStore(t)}
	ts.a1, ts.shared, ts.att1, ts.yc, ts.yshared, ts.prot, ts.pull = m("a1"), m("shared"), m("att1"), m("yc"), m("yshared"), m("prot"), m("pull")
	ts.i1 = ociIndex(t, ts.a1, ts.shared, ts.att1, ts.yc, ts.yshared, ts.prot, ts.pull)
	ts.sig1 = m("sig1", ts.i1)
	ts.m2 = m("m2")
	ts.a2 = m("a2")
	ts.i2 = ociIndex(t, ts.a2, ts.shared)
	ts.sigMain = m("sig-main", ts.i2)
	ts.yIdx = ociIndex(t, ts.yshared)
	ts.x, ts.prodM = m("x"), m("prod")
	s := ts.s
	s.put("app/pr-1", ts.i1, old)
	s.put("app/pr-2", ts.m2, old)
	s.put("app/main", ts.i2, old)
	s.put("app/prod", ts.prodM, old)
	for _, d := range []doc{ts.i1, ts.a1, ts.shared, ts.att1, ts.sig1, ts.m2, ts.i2, ts.a2, ts.sigMain, ts.x} {
		s.put(at("app", d), d, old)
	}
	s.put(at("app", ts.yc), ts.yc, young)
	s.put(at("app", ts.yshared), ts.yshared, old)
	s.put(at("app", ts.yIdx), ts.yIdx, young)
	s.put(at("app", ts.prot), ts.prot, old, withProps("artprune.keep", "true"))
	s.put(at("app", ts.pull), ts.pull, old, pulled)
	return ts
}

func folderSets(plan *prune.RepoPlan) (deleted []string, kept map[string]prune.Reason) {
	kept = map[string]prune.Reason{}
	for _, img := range plan.Images {
		for _, fo := range img.Folders {
			if fo.Delete {
				deleted = append(deleted, fo.Path)
			} else {
				kept[fo.Path] = fo.Reason
			}
		}
	}
	slices.Sort(deleted)
	return deleted, kept
}

func tagPaths(plan *prune.RepoPlan) []string {
	var out []string
	for _, td := range plan.TagDeletions {
		out = append(out, td.Path)
	}
	return out
}

func TestPlanTagDeletion(t *testing.T) {
	ts := newTagStory(t)
	planner := newPlanner(t, ts.s, prune.Options{KeepProperty: "artprune.keep=true"})
	plan, err := planner.PlanTagDeletion(context.Background(), repo, []prune.TagPattern{{Image: "app", Tag: "pr-*"}, {Image: "other", Tag: "*"}})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := tagPaths(plan), []string{"app/pr-1", "app/pr-2"}; !slices.Equal(got, want) {
		t.Errorf("tag folders to delete: %q, want %q", got, want)
	}
	deleted, kept := folderSets(plan)
	wantDeleted := []string{at("app", ts.i1), at("app", ts.a1), at("app", ts.att1), at("app", ts.yc), at("app", ts.sig1), at("app", ts.m2)}
	slices.Sort(wantDeleted)
	if !slices.Equal(deleted, wantDeleted) {
		t.Errorf("digest folders to delete:\n  %q\nwant\n  %q", deleted, wantDeleted)
	}
	// Kept: only what the named tags reach and something else keeps. main's index, a2, sigMain, the young index,
	// prod's manifest and the old dangling x are not this plan's business.
	wantKept := map[string]prune.Reason{
		at("app", ts.shared):  prune.ReasonTagged,
		at("app", ts.prot):    prune.ReasonProtected,
		at("app", ts.pull):    prune.ReasonPulled,
		at("app", ts.yshared): prune.ReasonYoung,
	}
	if !maps.Equal(kept, wantKept) {
		t.Errorf("kept:\n  %v\nwant\n  %v", kept, wantKept)
	}

	// The same repository pruned instead: the named tags are roots, x goes.
	pplan, err := planner.Plan(context.Background(), repo)
	if err != nil {
		t.Fatal(err)
	}
	if d, _ := folderSets(pplan); !slices.Equal(d, []string{at("app", ts.x)}) || len(pplan.TagDeletions) != 0 {
		t.Errorf("prune of the same repository deletes %q and tags %q, want only %s", d, tagPaths(pplan), at("app", ts.x))
	}
}

func TestApplyTagDeletion(t *testing.T) {
	ctx := context.Background()
	ts := newTagStory(t)
	planner := newPlanner(t, ts.s, prune.Options{KeepProperty: "artprune.keep=true"})
	plan, err := planner.PlanTagDeletion(ctx, repo, []prune.TagPattern{{Image: "app", Tag: "pr-1"}})
	if err != nil {
		t.Fatal(err)
	}
	// Not re-checked: nothing is deleted.
	if res := prune.ApplyTagDeletion(ctx, ts.s, plan, 4); !errors.Is(res.Err, prune.ErrNotRechecked) || len(ts.s.deletes) != 0 {
		t.Fatalf("apply before the re-check: err %v, deletes %q", res.Err, ts.s.deletes)
	}
	if err := prune.Recheck(ctx, ts.s, plan); err != nil {
		t.Fatal(err)
	}
	res := prune.ApplyTagDeletion(ctx, ts.s, plan, 4)
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	if plan.TagDeletions[0].Outcome != prune.OutcomeDeleted {
		t.Errorf("tag outcome %s: %v", plan.TagDeletions[0].Outcome, plan.TagDeletions[0].Err)
	}
	// The tag folder goes first, then exactly the digest folders only it kept.
	if len(ts.s.deletes) == 0 || ts.s.deletes[0] != repo+"/app/pr-1" {
		t.Fatalf("deletes %q, want the tag folder first", ts.s.deletes)
	}
	got := slices.Sorted(slices.Values(ts.s.deletes[1:]))
	want := []string{}
	for _, d := range []doc{ts.i1, ts.a1, ts.att1, ts.yc, ts.sig1} {
		want = append(want, repo+"/"+at("app", d))
	}
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("digest folders deleted:\n  %q\nwant\n  %q", got, want)
	}
	for _, d := range []doc{ts.shared, ts.prot, ts.pull, ts.yshared, ts.i2, ts.a2, ts.sigMain, ts.m2, ts.x} {
		if !ts.s.has(at("app", d)) {
			t.Errorf("%s was deleted", at("app", d))
		}
	}
	for _, tag := range []string{"app/pr-2", "app/main", "app/prod"} {
		if !ts.s.has(tag) {
			t.Errorf("tag %s was deleted", tag)
		}
	}
}

// TestApplyTagDeletionKeepsWhatAFailedTagReaches: a tag folder that could not be deleted still reaches its digest
// folders, so none of its image's digest folders is deleted.
func TestApplyTagDeletionKeepsWhatAFailedTagReaches(t *testing.T) {
	ctx := context.Background()
	ts := newTagStory(t)
	ts.s.deleteErr[repo+"/app/pr-2"] = prune.ErrForbidden
	planner := newPlanner(t, ts.s, prune.Options{})
	plan, err := planner.PlanTagDeletion(ctx, repo, []prune.TagPattern{{Image: "app", Tag: "pr-?"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := prune.Recheck(ctx, ts.s, plan); err != nil {
		t.Fatal(err)
	}
	prune.ApplyTagDeletion(ctx, ts.s, plan, 1)
	if got := slices.Sorted(slices.Values(ts.s.deletes)); !slices.Equal(got, []string{repo + "/app/pr-1", repo + "/app/pr-2"}) {
		t.Fatalf("deletes %q, want the two tag folders only", got)
	}
	if o := plan.TagDeletions[1].Outcome; o != prune.OutcomeForbidden {
		t.Errorf("pr-2 outcome %s", o)
	}
	for _, img := range plan.Images {
		for _, fo := range img.Folders {
			if fo.Delete || (fo.Reason == prune.ReasonImageSkipped && !errors.Is(fo.Err, prune.ErrTagNotDeleted)) {
				t.Errorf("%s: delete %v, reason %s, err %v", fo.Path, fo.Delete, fo.Reason, fo.Err)
			}
		}
	}
}

// TestPlanTagDeletionRefusesATagFolderHoldingAnImage: image app/pr-1 lives below tag folder app/pr-1, which a
// recursive delete would take along: image app is skipped, its tag included.
func TestPlanTagDeletionRefusesATagFolderHoldingAnImage(t *testing.T) {
	ts := newTagStory(t)
	nested := ociManifest(t, "nested")
	ts.s.put("app/pr-1/latest", nested, old)
	plan, err := newPlanner(t, ts.s, prune.Options{}).PlanTagDeletion(context.Background(), repo, []prune.TagPattern{{Image: "app", Tag: "pr-1"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(plan.TagDeletions) != 0 || plan.DeletionCount() != 0 {
		t.Fatalf("tags %q and %d folders to delete, want none", tagPaths(plan), plan.DeletionCount())
	}
	for _, img := range plan.Images {
		if img.Name == "app" && !errors.Is(img.Err, prune.ErrUnsafePath) {
			t.Fatalf("image app: err %v, want ErrUnsafePath", img.Err)
		}
	}
}

func TestParseTagRef(t *testing.T) {
	good := []struct {
		in, repo, image, tag string
	}{
		{"docker-local/app:pr-*", "docker-local", "app", "pr-*"},
		{"docker-local/team/app:v1.2_3", "docker-local", "team/app", "v1.2_3"},
		{"r/a:?", "r", "a", "?"},
	}
	for _, g := range good {
		repoKey, p, err := prune.ParseTagRef(g.in)
		if err != nil || repoKey != g.repo || p.Image != g.image || p.Tag != g.tag {
			t.Errorf("ParseTagRef(%q) = %q, %+v, %v", g.in, repoKey, p, err)
		}
	}
	for _, bad := range []string{"app:latest", "docker-local/app", "docker-local/app@sha256:" + strings.Repeat("a", 64),
		"docker-local/App:v1", "docker-local/app:-x", "docker-local/app:a/b", "docker-local/_uploads:x", "docker-local/app:", "/app:v1",
		"docker-local/app:sha256:" + strings.Repeat("a", 64), "docker-local/app:" + strings.Repeat("a", 129), "docker-local/app:_uploads"} {
		if _, _, err := prune.ParseTagRef(bad); err == nil {
			t.Errorf("ParseTagRef(%q) accepted", bad)
		}
	}
}

func TestValidateTagFolderPath(t *testing.T) {
	for _, ok := range []string{"app/latest", "team/app/v1.0", "app/sha256-" + strings.Repeat("a", 64) + ".sig"} {
		if err := prune.ValidateTagFolderPath(repo, ok); err != nil {
			t.Errorf("%s refused: %v", ok, err)
		}
	}
	for _, bad := range []string{"app", "app/_uploads", "app/sha256:" + strings.Repeat("a", 64), "app/*", "app/../x", "App/v1", "app/v1/", "_uploads/v1", "app/.hidden"} {
		if err := prune.ValidateTagFolderPath(repo, bad); !errors.Is(err, prune.ErrUnsafePath) {
			t.Errorf("%s: err %v, want ErrUnsafePath", bad, err)
		}
	}
}

// has reports whether the store holds a file in folder (or below it).
func (s *fakeStore) has(folder string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, f := range s.files {
		if f.repo == repo && (f.path == folder || strings.HasPrefix(f.path, folder+"/")) {
			return true
		}
	}
	return false
}

// TestPlanTagDeletionRefusesAProtectedTag: a named tag folder carrying the keep property is not deleted, and its
// image deletes nothing.
func TestPlanTagDeletionRefusesAProtectedTag(t *testing.T) {
	ts := newTagStory(t)
	ts.s.put("app/pr-9", ts.m2, old, withProps("artprune.keep", "true"))
	plan, err := newPlanner(t, ts.s, prune.Options{KeepProperty: "artprune.keep=true"}).PlanTagDeletion(context.Background(), repo,
		[]prune.TagPattern{{Image: "app", Tag: "pr-*"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(plan.TagDeletions) != 0 || plan.DeletionCount() != 0 {
		t.Fatalf("tags %q and %d folders to delete, want none", tagPaths(plan), plan.DeletionCount())
	}
	if !errors.Is(plan.Images[0].Err, prune.ErrProtectedTag) || !strings.Contains(plan.Images[0].Err.Error(), "app/pr-9") {
		t.Fatalf("image error %v, want ErrProtectedTag naming app/pr-9", plan.Images[0].Err)
	}
}

func TestTagDeletionReport(t *testing.T) {
	ts := newTagStory(t)
	plan, err := newPlanner(t, ts.s, prune.Options{}).PlanTagDeletion(context.Background(), repo, []prune.TagPattern{{Image: "app", Tag: "pr-1"}})
	if err != nil {
		t.Fatal(err)
	}
	r := prune.NewReport(true, []*prune.RepoPlan{plan}, nil)
	rr := r.Repositories[0]
	if len(rr.DeletedTags) != 1 || rr.DeletedTags[0] != (prune.TagDeletionReport{Image: "app", Tag: "pr-1", Path: "app/pr-1", Outcome: "would-delete"}) ||
		r.Totals.TagDeletions != 1 || r.Totals.TagOutcomes.WouldDelete != 1 {
		t.Fatalf("deleted_tags %+v, totals %d %+v", rr.DeletedTags, r.Totals.TagDeletions, r.Totals.TagOutcomes)
	}
	var md strings.Builder
	if err := r.WriteMarkdown(&md, 0); err != nil || !strings.Contains(md.String(), "- `app/pr-1`: would-delete") {
		t.Fatalf("markdown (%v):\n%s", err, md.String())
	}
	var text strings.Builder
	if err := r.WriteText(&text); err != nil || !strings.Contains(text.String(), "would delete 1 tags and 6 folders") ||
		!strings.Contains(text.String(), "would-delete  tag app/pr-1") {
		t.Fatalf("text (%v):\n%s", err, text.String())
	}
}

// excludingSource marks the rows of one image excluded, as artprune's image filters do.
type excludingSource struct {
	*fakeStore
	image string
}

func (s excludingSource) Manifests(ctx context.Context, repoKey string, fn func(prune.ManifestFile) error) error {
	return s.fakeStore.Manifests(ctx, repoKey, func(f prune.ManifestFile) error {
		if strings.HasPrefix(f.Path, s.image+"/") { // the image's folders (its own folder is app's tag folder)
			f.Excluded = true
		}
		return fn(f)
	})
}

// TestPlanTagDeletionRefusesATagFolderHoldingAnExcludedImage: the same when the nested image is one the run was
// told to leave alone: the tag folder's recursive delete would take it along, so image app is skipped.
func TestPlanTagDeletionRefusesATagFolderHoldingAnExcludedImage(t *testing.T) {
	ts := newTagStory(t)
	nested := ociManifest(t, "nested")
	ts.s.put("app/pr-1/latest", nested, old)
	ts.s.put(at("app/pr-1", nested), nested, old)
	src := excludingSource{fakeStore: ts.s, image: "app/pr-1"}
	plan, err := newPlanner(t, src, prune.Options{}).PlanTagDeletion(context.Background(), repo, []prune.TagPattern{{Image: "app", Tag: "pr-1"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(plan.TagDeletions) != 0 || plan.DeletionCount() != 0 {
		t.Fatalf("tags %q and %d folders to delete, want none: the tag folder holds the excluded image app/pr-1", tagPaths(plan), plan.DeletionCount())
	}
	for _, img := range plan.Images {
		if img.Name == "app" && (!errors.Is(img.Err, prune.ErrUnsafePath) || !strings.Contains(img.Err.Error(), "holds image app/pr-1")) {
			t.Fatalf("image app: err %v, want ErrUnsafePath naming app/pr-1", img.Err)
		}
	}
}
