package prune_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/artprune/artprune/prune"
)

// recheckStore is the fake's prune.RecheckSource: it lists the manifest files of the images' tag folders, and
// those of their digest folders changed after since, and counts the calls.
type recheckStore struct {
	*fakeStore
	mu    sync.Mutex
	calls [][]string // the images of each call
	fail  func(call int) error
}

var _ prune.RecheckSource = (*recheckStore)(nil)

func (r *recheckStore) RecheckImages(ctx context.Context, repoKey string, images []string, since time.Time, fn func(prune.ManifestFile) error) error {
	r.mu.Lock()
	r.calls = append(r.calls, slices.Clone(images))
	n := len(r.calls)
	r.mu.Unlock()
	if r.fail != nil {
		if err := r.fail(n); err != nil {
			return err
		}
	}
	want := map[string]bool{}
	for _, img := range images {
		want[img] = true
	}
	s := r.fakeStore
	s.mu.Lock()
	var out []prune.ManifestFile
	for _, f := range s.sorted() {
		if f.repo != repoKey || !f.isManifest() {
			continue
		}
		i := strings.LastIndexByte(f.path, '/')
		if i < 0 || !want[f.path[:i]] {
			continue
		}
		tag := !strings.HasPrefix(f.path[i+1:], "sha256:")
		if tag || f.created.After(since) || f.modified.After(since) || f.updated.After(since) {
			out = append(out, f.manifest())
		}
	}
	s.mu.Unlock()
	for _, m := range out {
		if err := fn(m); err != nil {
			return err
		}
	}
	return nil
}

func (r *recheckStore) callCount() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.calls)
}

// imagesStore returns a store with n images img00, img01, ... of per old dangling manifests each, and each
// image's manifests in plan order.
func imagesStore(t *testing.T, n, per int) (*fakeStore, map[string][]doc) {
	t.Helper()
	s := newStore(t)
	docs := map[string][]doc{}
	for i := range n {
		img := fmt.Sprintf("img%02d", i)
		for j := range per {
			d := ociManifest(t, fmt.Sprintf("%s-%d", img, j))
			s.put(at(img, d), d, old)
			docs[img] = append(docs[img], d)
		}
		slices.SortFunc(docs[img], func(a, b doc) int { return strings.Compare(at(img, a), at(img, b)) })
	}
	return s, docs
}

// digestFolders returns the digest folders left in the store, sorted.
func digestFolders(s *fakeStore) []string {
	seen := map[string]bool{}
	for _, k := range s.snapshot() {
		if i := strings.Index(k, "/sha256:"); i >= 0 {
			rest := k[i+1:]
			if j := strings.IndexByte(rest, '/'); j >= 0 {
				seen[strings.TrimPrefix(k[:i+1+j], repo+"/")] = true
			}
		}
	}
	return slices.Sorted(maps.Keys(seen))
}

// TestApplyRechecksEachImageBeforeItsDeletes is the seeded series of the rollback race: while a repository of
// many images is being pruned, a rollback tag is pushed that references two old dangling manifests of one image
// (with fresh or with old timestamps, as a copy or replication keeps). The push lands during the first deletion
// of some image. With the per-image re-check, the image's deletions are withdrawn whenever its re-check comes
// after the push, that is when it comes after the image being deleted; the window that remains is the push
// landing during its own image's batch (or after it), and the test shows that too. Without it, everything is
// deleted, as before.
func TestApplyRechecksEachImageBeforeItsDeletes(t *testing.T) {
	const images, per = 8, 4
	for seed := range uint64(24) {
		rng := rand.New(rand.NewPCG(seed, 11))
		target, during := rng.IntN(images), rng.IntN(images)
		oldTimes, perImage := rng.IntN(2) == 0, seed%3 != 2
		name := fmt.Sprintf("seed%d/tag-img%02d/during-img%02d/old=%v/per-image=%v", seed, target, during, oldTimes, perImage)
		t.Run(name, func(t *testing.T) {
			s, docs := imagesStore(t, images, per)
			plan := rechecked(t, s, prune.Options{})
			all := digestFolders(s)
			tgt, dur := fmt.Sprintf("img%02d", target), fmt.Sprintf("img%02d", during)
			refs := docs[tgt][1:3]
			rollback := ociIndex(t, refs...)
			pushed := false
			s.beforeDelete = func(folder string) {
				if folder == at(dur, docs[dur][0]) && !pushed {
					pushed = true
					s.now = t0.Add(10 * time.Minute)
					age := time.Duration(0)
					if oldTimes {
						age = 30 * 24 * time.Hour
					}
					s.put(tgt+"/rollback", rollback, age)
				}
			}
			rs := &recheckStore{fakeStore: s}
			var opts []prune.ApplyOption
			if perImage {
				opts = append(opts, prune.WithImageRecheck(rs), prune.WithRecheckBatch(per))
			}
			res := prune.Apply(context.Background(), s, plan, 1, opts...)
			if res.Err != nil {
				t.Fatalf("apply: %v", res.Err)
			}
			if !pushed {
				t.Fatal("the rollback tag was never pushed")
			}

			var wantLeft []string
			if perImage && target > during {
				for _, d := range docs[tgt] {
					wantLeft = append(wantLeft, at(tgt, d))
				}
			}
			if got := digestFolders(s); !slices.Equal(got, wantLeft) {
				t.Errorf("digest folders left %v, want %v", got, wantLeft)
			}
			// Exactly the folders not left were deleted, and the result has an entry for each, and only them.
			wantDeleted := map[string]prune.Outcome{}
			for _, f := range all {
				if !slices.Contains(wantLeft, f) {
					wantDeleted[f] = prune.OutcomeDeleted
				}
			}
			if got := outcomes(res); !maps.Equal(got, wantDeleted) {
				t.Errorf("outcomes %v, want %v", got, wantDeleted)
			}
			for _, img := range plan.Images {
				wantChanged := []string(nil)
				if len(wantLeft) > 0 && img.Name == tgt {
					wantChanged = []string{tgt + "/rollback/list.manifest.json"}
				}
				if !slices.Equal(img.Changed, wantChanged) {
					t.Errorf("image %s changed %v, want %v", img.Name, img.Changed, wantChanged)
				}
				for _, f := range img.Folders {
					if slices.Contains(wantLeft, f.Path) != (f.Reason == prune.ReasonChanged) || f.Delete == slices.Contains(wantLeft, f.Path) {
						t.Errorf("%s: delete %v, reason %q", f.Path, f.Delete, f.Reason)
					}
				}
			}
			if perImage {
				// One re-check per image, each just before the image's own deletions, and none after a withdrawal.
				if got := rs.callCount(); got != images {
					t.Errorf("%d re-checks, want %d (one per image)", got, images)
				}
			}
		})
	}
}

// TestApplyRecheckBatchesSplitLargeImages: an image with more deletions than a batch is re-checked before each
// batch, so a push during its first deletions withdraws the rest of it.
func TestApplyRecheckBatchesSplitLargeImages(t *testing.T) {
	s, docs := imagesStore(t, 1, 6)
	plan := rechecked(t, s, prune.Options{})
	d := docs["img00"]
	s.beforeDelete = func(folder string) {
		if folder == at("img00", d[0]) {
			s.now = t0.Add(time.Minute)
			s.put("img00/rollback", ociIndex(t, d[4], d[5]), 0)
		}
	}
	rs := &recheckStore{fakeStore: s}
	res := prune.Apply(context.Background(), s, plan, 1, prune.WithImageRecheck(rs), prune.WithRecheckBatch(2))
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	want := map[string]prune.Outcome{at("img00", d[0]): prune.OutcomeDeleted, at("img00", d[1]): prune.OutcomeDeleted}
	if got := outcomes(res); !maps.Equal(got, want) {
		t.Errorf("outcomes %v, want %v", got, want)
	}
	wantLeft := []string{at("img00", d[2]), at("img00", d[3]), at("img00", d[4]), at("img00", d[5])}
	if got := digestFolders(s); !slices.Equal(got, wantLeft) {
		t.Errorf("left %v, want %v", got, wantLeft)
	}
	if got := rs.callCount(); got != 2 {
		t.Errorf("%d re-checks, want 2 (the batch of the push, then the next, which withdraws the rest)", got)
	}
}

// TestRecheckSeesTagsWithOldTimestamps: a tag that arrives between the plan and the deletions with timestamps older
// than the run (copied, moved, imported or replicated) is not a change for the repository's re-check, which lists
// rows changed since the plan's start, but the re-check before the image's deletions compares every tag file of
// the image with the inventory, and withdraws its deletions. A tag overwritten with old timestamps is caught by its
// checksum.
func TestRecheckSeesTagsWithOldTimestamps(t *testing.T) {
	tests := []struct {
		name string
		push func(s *fakeStore, a []doc)
		file string
	}{
		{"new tag with old times", func(s *fakeStore, a []doc) { s.put("a/restored", a[0], 40*24*time.Hour) }, "a/restored/manifest.json"},
		{"tag overwritten with old times", func(s *fakeStore, a []doc) { s.put("a/v1", a[1], 40*24*time.Hour) }, "a/v1/manifest.json"},
		{"new index tag with fresh times", func(s *fakeStore, a []doc) { s.put("a/rollback", ociIndex(t, a[0], a[1]), 0) }, "a/rollback/list.manifest.json"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			s := newStore(t)
			live, b0 := ociManifest(t, "live"), ociManifest(t, "b0")
			s.put("a/v1", live, old)
			s.put(at("a", live), live, old)
			var a []doc
			for i := range 2 {
				d := ociManifest(t, fmt.Sprint("a", i))
				s.put(at("a", d), d, old)
				a = append(a, d)
			}
			s.put(at("b", b0), b0, old)
			plan, err := newPlanner(t, s, prune.Options{}).Plan(ctx, repo)
			if err != nil {
				t.Fatal(err)
			}
			s.now = t0.Add(2 * time.Minute)
			tt.push(s, a)
			if err := prune.Recheck(ctx, s, plan); err != nil {
				t.Fatal(err)
			}
			rs := &recheckStore{fakeStore: s}
			res := prune.Apply(ctx, s, plan, 2, prune.WithImageRecheck(rs))
			if res.Err != nil {
				t.Fatal(res.Err)
			}
			if want := map[string]prune.Outcome{at("b", b0): prune.OutcomeDeleted}; !maps.Equal(outcomes(res), want) {
				t.Errorf("outcomes %v, want %v", outcomes(res), want)
			}
			wantLeft := []string{at("a", live), at("a", a[0]), at("a", a[1])}
			slices.Sort(wantLeft)
			if got := digestFolders(s); !slices.Equal(got, wantLeft) {
				t.Errorf("left %v, want %v", got, wantLeft)
			}
			for _, img := range plan.Images {
				if img.Name == "a" && !slices.Equal(img.Changed, []string{tt.file}) {
					t.Errorf("image a changed %v, want [%s]", img.Changed, tt.file)
				}
			}
		})
	}
}

// TestApplyStopsWhenARecheckFails: a re-check that fails stops the repository's deletions; the batches already
// re-checked went ahead, the rest are not attempted, and the result says why.
func TestApplyStopsWhenARecheckFails(t *testing.T) {
	s, docs := imagesStore(t, 3, 2)
	plan := rechecked(t, s, prune.Options{})
	rs := &recheckStore{fakeStore: s, fail: func(call int) error {
		if call == 2 {
			return fmt.Errorf("AQL page 1: %w", errBoom)
		}
		return nil
	}}
	res := prune.Apply(context.Background(), s, plan, 2, prune.WithImageRecheck(rs), prune.WithRecheckBatch(2))
	if res.Err == nil || !errors.Is(res.Err, errBoom) || !strings.Contains(res.Err.Error(), "img01") {
		t.Errorf("apply error %v, want the failed re-check of img01", res.Err)
	}
	want := map[string]prune.Outcome{}
	for img, ds := range docs {
		for _, d := range ds {
			want[at(img, d)] = prune.OutcomeNotAttempted
			if img == "img00" {
				want[at(img, d)] = prune.OutcomeDeleted
			}
		}
	}
	if got := outcomes(res); !maps.Equal(got, want) {
		t.Errorf("outcomes %v, want %v", got, want)
	}
}

// TestRecheckBatchSizes counts the re-checks: one per batch of at most DefaultRecheckBatch deletions of at most
// RecheckBatchImages images.
func TestRecheckBatchSizes(t *testing.T) {
	tests := []struct{ images, per, want int }{
		{0, 0, 0},     // an empty repository
		{10, 0, 0},    // nothing to delete, nothing re-checked
		{1, 1, 1},     // one deletion
		{31, 1, 1},    // under the image limit
		{33, 1, 2},    // one image over it
		{1000, 1, 32}, // 32 images a batch: 31 full and one of 8
		{100, 3, 4},   // 32 images a batch: 96, 96, 96, 12
		{32, 8, 1},    // exactly both limits
		{32, 9, 2},    // 288 deletions of 32 images: 256 cuts the last image
		{40, 10, 2},   // 256 deletions cut the 26th image, then 144
		{1, 256, 1},   // one image, exactly a batch
		{1, 257, 2},   // one image, one over
		{3, 300, 4},   // 900 deletions: 256, 256, 256, 132
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%dx%d", tt.images, tt.per), func(t *testing.T) {
			s, _ := imagesStore(t, tt.images, tt.per)
			plan := rechecked(t, s, prune.Options{MeasureLimit: -1})
			rs := &recheckStore{fakeStore: s}
			res := prune.Apply(context.Background(), s, plan, 8, prune.WithImageRecheck(rs))
			if res.Err != nil {
				t.Fatal(res.Err)
			}
			if got := rs.callCount(); got != tt.want {
				t.Errorf("%d re-checks, want %d", got, tt.want)
			}
			if left := digestFolders(s); len(left) != 0 {
				t.Errorf("left %v", left)
			}
			for _, images := range rs.calls {
				if len(images) > prune.RecheckBatchImages {
					t.Errorf("a re-check of %d images", len(images))
				}
			}
		})
	}
}

// TestApplyInterruptedDuringARecheck: cancelled while a batch is re-checked, Apply stops (it is not a failure of
// the re-check): the batches before went ahead, the rest are not attempted.
func TestApplyInterruptedDuringARecheck(t *testing.T) {
	s, docs := imagesStore(t, 2, 2)
	plan := rechecked(t, s, prune.Options{})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	rs := &recheckStore{fakeStore: s, fail: func(call int) error {
		if call == 2 {
			cancel()
			return context.Canceled
		}
		return nil
	}}
	res := prune.Apply(ctx, s, plan, 1, prune.WithImageRecheck(rs), prune.WithRecheckBatch(2))
	if !errors.Is(res.Err, context.Canceled) || !strings.Contains(res.Err.Error(), "stopped") {
		t.Errorf("apply error %v, want stopped: context canceled", res.Err)
	}
	want := map[string]prune.Outcome{}
	for img, ds := range docs {
		for _, d := range ds {
			want[at(img, d)] = map[string]prune.Outcome{"img00": prune.OutcomeDeleted, "img01": prune.OutcomeNotAttempted}[img]
		}
	}
	if got := outcomes(res); !maps.Equal(got, want) {
		t.Errorf("outcomes %v, want %v", got, want)
	}
}
