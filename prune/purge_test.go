package prune_test

import (
	"context"
	"errors"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/artprune/artprune/prune"
)

// fakePurger holds the Trash Can's marked folders of one repository, the files and contents of their copies, other
// holders of checksums, and records purges.
type fakePurger struct {
	repo      string
	folders   []prune.TrashedFolder
	files     map[string][]prune.File // folder -> the files of its copy
	contents  map[string][]byte       // "<folder>/<name>" -> content
	readErr   map[string]error        // "<folder>/<name>" -> the error reading it
	others    []prune.File            // holders outside the Trash Can's marked folders
	failPurge map[string]bool
	purged    []string
	listErr   error
}

func newFakePurger(repo string) *fakePurger {
	return &fakePurger{repo: repo, files: map[string][]prune.File{}, contents: map[string][]byte{}, readErr: map[string]error{},
		failPurge: map[string]bool{}}
}

// trash puts the copy of folder, holding d and its blobs, in the Trash Can, marked by artprune at at; a zero d
// (no name) leaves the copy without files.
func (f *fakePurger) trash(folder string, d doc, at time.Time) {
	f.folders = append(f.folders, marked(folder, at))
	if d.name == "" {
		return
	}
	f.files[folder] = append(f.files[folder], f.file(folder, d.name, d.hex(), int64(len(d.body))))
	f.contents[folder+"/"+d.name] = d.body
	for _, b := range d.blobs {
		f.files[folder] = append(f.files[folder], f.file(folder, "sha256__"+b.sha, b.sha, b.size))
	}
}

func (f *fakePurger) file(folder, name, sum string, size int64) prune.File {
	return prune.File{Repo: "auto-trashcan", Path: f.repo + "/" + folder, Name: name, SHA256: sum, Size: size}
}

// left returns the marked folders not purged, sorted.
func (f *fakePurger) left() []string {
	var out []string
	for _, tf := range f.folders {
		if !slices.Contains(f.purged, tf.Path) {
			out = append(out, tf.Path)
		}
	}
	slices.Sort(out)
	return out
}

func (f *fakePurger) TrashedFolders(_ context.Context, _ string, fn func(prune.TrashedFolder) error) error {
	if f.listErr != nil {
		return f.listErr
	}
	for _, tf := range f.folders {
		if err := fn(tf); err != nil {
			return err
		}
	}
	return nil
}

func (f *fakePurger) TrashedFiles(_ context.Context, _ string, folders []string, fn func(prune.File) error) error {
	for _, fo := range folders {
		for _, file := range f.files[fo] {
			if err := fn(file); err != nil {
				return err
			}
		}
	}
	return nil
}

func (f *fakePurger) ReadTrashed(_ context.Context, _, path string, _ int64) ([]byte, error) {
	if err := f.readErr[path]; err != nil {
		return nil, err
	}
	b, ok := f.contents[path]
	if !ok {
		return nil, prune.ErrNotFound
	}
	return b, nil
}

func (f *fakePurger) ChecksumHoldersAnywhere(_ context.Context, sums []string, fn func(prune.File) error) error {
	for _, fo := range slices.Sorted(maps.Keys(f.files)) {
		if slices.Contains(f.purged, fo) {
			continue
		}
		for _, file := range f.files[fo] {
			if slices.Contains(sums, file.SHA256) {
				if err := fn(file); err != nil {
					return err
				}
			}
		}
	}
	for _, file := range f.others {
		if slices.Contains(sums, file.SHA256) {
			if err := fn(file); err != nil {
				return err
			}
		}
	}
	return nil
}

func (f *fakePurger) DeleteFromTrash(_ context.Context, _, path string) error {
	if f.failPurge[path] {
		return errors.New("HTTP 500")
	}
	f.purged = append(f.purged, path)
	return nil
}

// marked is a folder in the Trash Can whose mark is bound to its copy, trashed at at.
func marked(path string, at time.Time) prune.TrashedFolder {
	return prune.TrashedFolder{Path: path, TrashedAt: at, MarkedAt: at}
}

func purgedPaths(res *prune.PurgeResult) []string {
	var got []string
	for _, f := range res.Folders {
		got = append(got, f.Path+":"+string(f.Outcome))
	}
	return got
}

func TestPurgeTrash(t *testing.T) {
	now := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	old, young := now.Add(-10*24*time.Hour), now.Add(-2*24*time.Hour)
	h := func(c string) string { return strings.Repeat(c, 64) }
	fo := func(image, c string) string { return image + "/sha256:" + h(c) }
	var (
		purgeA    = fo("app", "a")   // old, unreferenced: purged
		purgeB    = fo("gone", "b")  // old, its image has no manifest left: purged
		youngC    = fo("app", "c")   // too young
		refD      = fo("app", "d")   // a live manifest references it again
		againE    = fo("app", "e")   // exists again
		skippedF  = fo("bad", "f")   // its image could not be judged
		excludedG = fo("other", "1") // its image is left out by the image filters
		failH     = fo("app", "2")   // purge fails
	)
	mA, mB, mH := ociManifest(t, "a"), ociManifest(t, "b"), ociManifest(t, "h")
	plan := &prune.RepoPlan{Repo: "r", Images: []prune.ImagePlan{
		{Name: "app", Folders: []prune.Folder{{Path: againE, Image: "app"}}, MissingRefs: []digest.Digest{digest.Digest("sha256:" + h("d"))}},
		{Name: "bad", Err: errors.New("unreadable index")},
	}, ExcludedImages: []string{"other"}}
	fp := newFakePurger("r")
	for _, p := range []string{youngC, refD, againE, skippedF, excludedG} {
		fp.trash(p, doc{}, old)
	}
	fp.folders[0].TrashedAt, fp.folders[0].MarkedAt = young, young
	fp.trash(purgeA, mA, old)
	fp.trash(purgeB, mB, old)
	fp.trash(failH, mH, old)
	x, s, tt, u := h("x"), h("s"), h("t"), h("u")
	fp.files[purgeA] = append(fp.files[purgeA], fp.file(purgeA, "sha256__"+x, x, 1000), fp.file(purgeA, "sha256__"+s, s, 500))
	fp.files[purgeB] = append(fp.files[purgeB], fp.file(purgeB, "sha256__"+x, x, 1000), fp.file(purgeB, "sha256__"+tt, tt, 300))
	fp.files[failH] = append(fp.files[failH], fp.file(failH, "sha256__"+u, u, 7000), fp.file(failH, "sha256__"+tt, tt, 300))
	fp.folders = append(fp.folders, marked("app/latest", old),
		// Not artprune's: no trash.time; a mark carried onto a later deletion; an older artprune's mark.
		prune.TrashedFolder{Path: fo("app", "9")}, prune.TrashedFolder{Path: fo("app", "8"), TrashedAt: old, MarkedAt: old.Add(-24 * time.Hour)},
		prune.TrashedFolder{Path: fo("app", "7"), TrashedAt: old})
	// sha256__s is also held by a live repository; sha256__t also by failH, whose purge fails.
	fp.others = []prune.File{{Repo: "docker-other", Path: "img/sha256:" + h("9"), Name: "sha256__s", SHA256: s, Size: 500}}
	fp.failPurge[failH] = true
	size := func(ds ...doc) (n int64) {
		for _, d := range ds {
			n += int64(len(d.body))
			for _, b := range d.blobs {
				n += b.size
			}
		}
		return n
	}
	t.Run("purge", func(t *testing.T) {
		res := prune.PurgeTrash(context.Background(), fp, plan, nil, now, 7*24*time.Hour, false)
		want := []string{purgeA + ":purged", failH + ":failed", purgeB + ":purged"}
		slices.Sort(want)
		if got := purgedPaths(res); !slices.Equal(got, want) {
			t.Errorf("folders %q, want %q", got, want)
		}
		if slices.Sort(fp.purged); !slices.Equal(fp.purged, []string{purgeA, purgeB}) {
			t.Errorf("purged %q", fp.purged)
		}
		// Freed: the documents and blobs of A and B, and layer x (held by A and B only). Not s (a live repository
		// holds it), not t (failH still holds it), nothing of failH (not purged).
		if want := size(mA, mB) + 1000; res.FreedBytes != want {
			t.Errorf("freed %d, want %d", res.FreedBytes, want)
		}
		if res.KeptYoung != 1 || res.KeptReferenced != 4 || res.KeptNotOurs != 3 || !res.Failed() {
			t.Errorf("kept young %d, referenced %d, not ours %d, failed %v", res.KeptYoung, res.KeptReferenced, res.KeptNotOurs, res.Failed())
		}
	})
	t.Run("dry run", func(t *testing.T) {
		fp.purged = nil
		res := prune.PurgeTrash(context.Background(), fp, plan, nil, now, 7*24*time.Hour, true)
		if want := size(mA, mB, mH) + 1000 + 7000 + 300; len(fp.purged) != 0 || len(res.Folders) != 3 || res.FreedBytes != want || res.Failed() {
			t.Errorf("dry run: purged %q, %d folders, freed %d, want %d", fp.purged, len(res.Folders), res.FreedBytes, want)
		}
	})
	t.Run("failed plan", func(t *testing.T) {
		fp.purged = nil
		res := prune.PurgeTrash(context.Background(), fp, &prune.RepoPlan{Repo: "r", Err: errors.New("AQL failed")}, nil, now, time.Hour, false)
		if len(fp.purged) != 0 || res.Err == nil {
			t.Errorf("a failed plan purged %q (err %v)", fp.purged, res.Err)
		}
	})
	t.Run("listing fails", func(t *testing.T) {
		fp := &fakePurger{listErr: errors.New("AQL 500")}
		if res := prune.PurgeTrash(context.Background(), fp, plan, nil, now, time.Hour, false); res.Err == nil || len(fp.purged) != 0 {
			t.Errorf("res %+v", res)
		}
	})
}

// TestPurgeTrashFollowsTheTrashCan: a purge keeps what the planner would keep if the Trash Can's copies were live:
// what a live document reaches through them (the children of a kept index, nested), a referrer whose subject is
// live (pushed again, or a tag's own manifest) or kept, and what a folder too young to purge reaches; it purges
// only the rest, and nothing in an image one of whose copies cannot be read or parsed.
func TestPurgeTrashFollowsTheTrashCan(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	now := s.now
	old, young := now.Add(-10*24*time.Hour), now.Add(-2*24*time.Hour)

	c1, c2 := ociManifest(t, "c1"), ociManifest(t, "c2")
	inner := ociIndex(t, c1, c2)     // in the Trash Can, referenced by a live tag's index
	outer := ociIndex(t, inner)      // the live tag app:latest
	d := ociManifest(t, "d")         // in the Trash Can once, pushed again by digest and tagged app:v2
	tagOnly := ociManifest(t, "tag") // app:v3's own manifest, never a digest folder
	sigD := ociManifest(t, "sig-d", d)
	sigTag := ociManifest(t, "sig-tag", tagOnly)
	r1 := ociManifest(t, "r1", c1) // a referrer of a kept child
	r1b := ociManifest(t, "r1b", r1)
	x1 := ociManifest(t, "x1")
	y := ociIndex(t, x1) // too young to purge: what it reaches stays too
	p1 := ociManifest(t, "p1")
	p2 := ociManifest(t, "p2", p1) // a referrer of a purged folder goes with it
	empty := "app/sha256:" + sha("emptied by garbage collection")

	s.put("app/latest", outer, 30*24*time.Hour)
	s.put("app/v2", d, 30*24*time.Hour)
	s.put(at("app", d), d, time.Hour)
	s.put("app/v3", tagOnly, 30*24*time.Hour)
	s.put("broken/v1", ociManifest(t, "live-b"), 30*24*time.Hour)
	plan, err := newPlanner(t, s, prune.Options{}).Plan(ctx, repo)
	if err != nil {
		t.Fatal(err)
	}

	fp := newFakePurger(repo)
	for _, dd := range []doc{inner, c1, c2, sigD, sigTag, r1, r1b, x1, p1, p2} {
		fp.trash(at("app", dd), dd, old)
	}
	fp.trash(at("app", y), y, young)
	fp.trash(empty, doc{}, old)
	// Images whose copies cannot all be followed: nothing in them is purged.
	b1, b2 := rawDoc(prune.ManifestName, `{"schemaVersion":2,"mediaType":`), ociManifest(t, "b2")
	fp.trash(at("broken", b1), b1, old)
	fp.trash(at("broken", b2), b2, old)
	u1, u2 := ociManifest(t, "u1"), ociManifest(t, "u2")
	fp.trash(at("unread", u1), u1, old)
	fp.trash(at("unread", u2), u2, old)
	fp.readErr[at("unread", u1)+"/"+prune.ManifestName] = errors.New("HTTP 500")
	w1, w2 := ociManifest(t, "w1"), ociManifest(t, "w2")
	fp.trash(at("badsum", w1), w1, old)
	fp.trash(at("badsum", w2), w2, old)
	fp.contents[at("badsum", w1)+"/"+prune.ManifestName] = w2.body
	noDoc := "nodoc/sha256:" + sha("no manifest file")
	fp.trash(noDoc, doc{}, old)
	fp.files[noDoc] = []prune.File{fp.file(noDoc, "sha256__"+sha("layer"), sha("layer"), 10)}
	fp.trash("nodoc/sha256:"+sha("other"), ociManifest(t, "nodoc-other"), old)

	res := prune.PurgeTrash(ctx, fp, plan, nil, now, 7*24*time.Hour, false)
	wantPurged := []string{at("app", p1), at("app", p2), empty}
	slices.Sort(wantPurged)
	if slices.Sort(fp.purged); !slices.Equal(fp.purged, wantPurged) {
		t.Errorf("purged\n%s\nwant\n%s", strings.Join(fp.purged, "\n"), strings.Join(wantPurged, "\n"))
	}
	var want []string
	for _, p := range wantPurged {
		want = append(want, p+":purged")
	}
	if got := purgedPaths(res); !slices.Equal(got, want) {
		t.Errorf("result folders %q, want %q", got, want)
	}
	wantKept := []string{at("app", inner), at("app", c1), at("app", c2), at("app", sigD), at("app", sigTag), at("app", r1),
		at("app", r1b), at("app", x1), at("app", y), at("broken", b1), at("broken", b2), at("unread", u1), at("unread", u2),
		at("badsum", w1), at("badsum", w2), noDoc, "nodoc/sha256:" + sha("other")}
	slices.Sort(wantKept)
	if got := fp.left(); !slices.Equal(got, wantKept) {
		t.Errorf("kept\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(wantKept, "\n"))
	}
	if res.KeptReferenced != 8 || res.KeptYoung != 1 {
		t.Errorf("kept referenced %d, young %d; want 8, 1", res.KeptReferenced, res.KeptYoung)
	}
	var skipped []string
	for _, sk := range res.Skipped {
		skipped = append(skipped, sk.Image)
		if sk.Folders != 2 || sk.Err == nil {
			t.Errorf("skipped %s: %d folders, %v", sk.Image, sk.Folders, sk.Err)
		}
	}
	if !slices.Equal(skipped, []string{"badsum", "broken", "nodoc", "unread"}) || !res.Failed() {
		t.Errorf("skipped images %q, failed %v; want badsum, broken, nodoc, unread and a failure", skipped, res.Failed())
	}
	for _, sk := range res.Skipped {
		t.Logf("%s: %v", sk.Image, sk.Err)
	}
}

// TestPurgeTrashImageFilter: a folder whose image the run's image filters do not judge is never purged, even when
// the image has no file left, so that neither the plan's images nor its excluded images name it.
func TestPurgeTrashImageFilter(t *testing.T) {
	now := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	old := now.Add(-10 * 24 * time.Hour)
	fp := newFakePurger("r")
	app, gone, team := ociManifest(t, "app"), ociManifest(t, "gone"), ociManifest(t, "team")
	fp.trash(at("app", app), app, old)           // judged: purged
	fp.trash(at("legacy/gone", gone), gone, old) // excluded, no file left: kept
	fp.trash(at("team/tools", team), team, old)  // not included, no file left: kept
	judges := func(image string) bool { return image != "legacy/gone" && !strings.HasPrefix(image, "team/") }
	plan := &prune.RepoPlan{Repo: "r"}
	res := prune.PurgeTrash(context.Background(), fp, plan, judges, now, 7*24*time.Hour, false)
	if want := []string{at("app", app)}; !slices.Equal(fp.purged, want) {
		t.Errorf("purged %q, want %q", fp.purged, want)
	}
	if want := []string{at("legacy/gone", gone), at("team/tools", team)}; !slices.Equal(fp.left(), want) {
		t.Errorf("kept %q, want %q", fp.left(), want)
	}
	if res.KeptReferenced != 2 || res.Failed() {
		t.Errorf("kept referenced %d, failed %v", res.KeptReferenced, res.Failed())
	}
}

// TestPurgeTrashThroughAnUnmarkedCopy: a live tag's index references an index in the Trash Can that artprune did
// not mark (a run without --purge-trash-after deleted it, or someone else did), whose children are artprune's and
// old enough: what the unmarked copy references cannot be followed, so nothing in the image is purged (the
// children would be needed to restore the index), and the image is reported as skipped.
func TestPurgeTrashThroughAnUnmarkedCopy(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	now := s.now
	old := now.Add(-10 * 24 * time.Hour)
	c1, c2 := ociManifest(t, "c1"), ociManifest(t, "c2")
	inner := ociIndex(t, c1, c2) // in the Trash Can, not marked
	outer := ociIndex(t, inner)  // the live tag app:latest
	s.put("app/latest", outer, 30*24*time.Hour)
	plan, err := newPlanner(t, s, prune.Options{}).Plan(ctx, repo)
	if err != nil {
		t.Fatal(err)
	}
	fp := newFakePurger(repo)
	fp.trash(at("app", c1), c1, old)
	fp.trash(at("app", c2), c2, old)
	res := prune.PurgeTrash(ctx, fp, plan, nil, now, 7*24*time.Hour, false)
	if len(fp.purged) != 0 {
		t.Errorf("purged %v through an unmarked copy, want nothing", fp.purged)
	}
	if len(res.Skipped) != 1 || res.Skipped[0].Image != "app" || res.Skipped[0].Folders != 2 ||
		!strings.Contains(res.Skipped[0].Err.Error(), "sha256:"+inner.digest.Encoded()) {
		t.Errorf("skipped %+v, want image app (2 folders) naming the unmarked index", res.Skipped)
	}
}
