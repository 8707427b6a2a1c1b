package prune

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"
)

// fakePurger holds the Trash Can's marked folders of repository "r", their files, other holders of checksums, and
// records purges.
type fakePurger struct {
	folders   []TrashedFolder
	files     map[string][]File // folder -> files
	others    []File            // holders outside the candidates
	failPurge map[string]bool
	purged    []string
	listErr   error
}

func (f *fakePurger) TrashedFolders(_ context.Context, _ string, fn func(TrashedFolder) error) error {
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

func (f *fakePurger) TrashedFiles(_ context.Context, _ string, folders []string, fn func(File) error) error {
	for _, fo := range folders {
		for _, file := range f.files[fo] {
			if err := fn(file); err != nil {
				return err
			}
		}
	}
	return nil
}

func (f *fakePurger) ChecksumHoldersAnywhere(_ context.Context, sums []string, fn func(File) error) error {
	for _, files := range f.files {
		for _, file := range files {
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
func marked(path string, at time.Time) TrashedFolder {
	return TrashedFolder{Path: path, TrashedAt: at, MarkedAt: at}
}

func TestPurgeTrash(t *testing.T) {
	now := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	old, young := now.Add(-10*24*time.Hour), now.Add(-2*24*time.Hour)
	h := func(c string) string { return strings.Repeat(c, 64) }
	fo := func(image, c string) string { return image + "/sha256:" + h(c) }
	trashFile := func(folder, name, sum string, size int64) File {
		return File{Repo: "auto-trashcan", Path: "r/" + folder, Name: name, SHA256: sum, Size: size}
	}
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
	plan := &RepoPlan{Repo: "r", Images: []ImagePlan{
		{Name: "app", Folders: []Folder{{Path: againE, Image: "app"}}, MissingRefs: []digest.Digest{digest.Digest("sha256:" + h("d"))}},
		{Name: "bad", Err: errors.New("unreadable index")},
	}, ExcludedImages: []string{"other"}}
	fp := &fakePurger{
		folders: []TrashedFolder{marked(purgeA, old), marked(purgeB, old), marked(youngC, young),
			marked(refD, old), marked(againE, old), marked(skippedF, old),
			marked(excludedG, old), marked(failH, old), marked("app/latest", old),
			// Not artprune's: no trash.time; a mark carried onto a later deletion; an older artprune's mark.
			{Path: fo("app", "9")}, {Path: fo("app", "8"), TrashedAt: old, MarkedAt: old.Add(-24 * time.Hour)},
			{Path: fo("app", "7"), TrashedAt: old}},
		files: map[string][]File{
			purgeA: {trashFile(purgeA, "manifest.json", h("m"), 10), trashFile(purgeA, "sha256__x", h("x"), 1000), trashFile(purgeA, "sha256__s", h("s"), 500)},
			purgeB: {trashFile(purgeB, "manifest.json", h("n"), 20), trashFile(purgeB, "sha256__x", h("x"), 1000), trashFile(purgeB, "sha256__t", h("t"), 300)},
			failH:  {trashFile(failH, "manifest.json", h("o"), 30), trashFile(failH, "sha256__u", h("u"), 7000), trashFile(failH, "sha256__t", h("t"), 300)},
		},
		// sha256__s is also held by a live repository; sha256__t also by failH, whose purge fails.
		others:    []File{{Repo: "docker-other", Path: "img/sha256:" + h("9"), Name: "sha256__s", SHA256: h("s"), Size: 500}},
		failPurge: map[string]bool{failH: true},
	}
	t.Run("purge", func(t *testing.T) {
		res := PurgeTrash(context.Background(), fp, plan, now, 7*24*time.Hour, false)
		var got []string
		for _, f := range res.Folders {
			got = append(got, f.Path+":"+string(f.Outcome))
		}
		want := []string{purgeA + ":purged", failH + ":failed", purgeB + ":purged"}
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Errorf("folders %q, want %q", got, want)
		}
		if slices.Sort(fp.purged); !slices.Equal(fp.purged, []string{purgeA, purgeB}) {
			t.Errorf("purged %q", fp.purged)
		}
		// Freed: manifests m (10) and n (20) and layer x (1000, held by A and B only). Not s (a live repository
		// holds it), not t (failH still holds it), not o and u (failH was not purged).
		if res.FreedBytes != 1030 {
			t.Errorf("freed %d, want 1030", res.FreedBytes)
		}
		if res.KeptYoung != 1 || res.KeptReferenced != 4 || res.KeptNotOurs != 3 || !res.Failed() {
			t.Errorf("kept young %d, referenced %d, not ours %d, failed %v", res.KeptYoung, res.KeptReferenced, res.KeptNotOurs, res.Failed())
		}
	})
	t.Run("dry run", func(t *testing.T) {
		fp.purged = nil
		res := PurgeTrash(context.Background(), fp, plan, now, 7*24*time.Hour, true)
		if len(fp.purged) != 0 || len(res.Folders) != 3 || res.FreedBytes != 1030+30+7000+300 || res.Failed() {
			t.Errorf("dry run: purged %q, %d folders, freed %d", fp.purged, len(res.Folders), res.FreedBytes)
		}
	})
	t.Run("failed plan", func(t *testing.T) {
		fp.purged = nil
		res := PurgeTrash(context.Background(), fp, &RepoPlan{Repo: "r", Err: errors.New("AQL failed")}, now, time.Hour, false)
		if len(fp.purged) != 0 || res.Err == nil {
			t.Errorf("a failed plan purged %q (err %v)", fp.purged, res.Err)
		}
	})
	t.Run("listing fails", func(t *testing.T) {
		fp := &fakePurger{listErr: errors.New("AQL 500")}
		if res := PurgeTrash(context.Background(), fp, plan, now, time.Hour, false); res.Err == nil || len(fp.purged) != 0 {
			t.Errorf("res %+v", res)
		}
	})
}
