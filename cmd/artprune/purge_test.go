package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"
	v1 "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/artprune/artprune/artifactory"
	"github.com/artprune/artprune/artifactory/artifactorytest"
	"github.com/artprune/artprune/prune"
)

// trashFolders lists the digest folders of repo in the Trash Can (auto-trashcan/<repo>/<image>/sha256:<hex>) and
// every file below auto-trashcan/<other>, sorted.
func trashContents(t *testing.T, srv *artifactorytest.Server) (folders []string, files []string) {
	t.Helper()
	if err := srv.Store().Walk(artifactorytest.TrashRepo, "", func(it *artifactorytest.Item) bool {
		switch {
		case it.Folder && strings.HasPrefix(it.Name, "sha256:"):
			folders = append(folders, it.FullPath())
		case !it.Folder:
			files = append(files, it.FullPath())
		}
		return true
	}); err != nil {
		t.Fatal(err)
	}
	slices.Sort(folders)
	slices.Sort(files)
	return folders, files
}

func readReportFile(t *testing.T, path string) prune.Report {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var r prune.Report
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatal(err)
	}
	return r
}

// TestPurgeTrashAfter: --purge-trash-after removes from the Trash Can only the folders artprune put there, only
// once they have been there that long, never one a live manifest references again; the bytes it reports freed are
// the bytes the emulator frees.
func TestPurgeTrashAfter(t *testing.T) {
	srv, _ := newSeedServer(t)
	// docker-other holds the same story, byte for byte: without it, the seed's binaries are docker-local's alone.
	if _, err := srv.Store().Delete("docker-other", ""); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	first := filepath.Join(dir, "first.json")
	if res := runCLI(t, env(srv), "prune", "--repo", "docker-local", "--delete", "--purge-trash-after", "7d", "--report", first); res.code != ExitOK {
		t.Fatalf("first run: exit %d\n%s", res.code, res.stderr)
	}
	var deleted []string
	for _, d := range readReportFile(t, first).Repositories[0].Deletions {
		deleted = append(deleted, d.Path)
	}
	if len(deleted) < 3 {
		t.Fatalf("the seed story deleted %d folders", len(deleted))
	}
	// Someone deletes a file of generic-local by hand: it is in the Trash Can, but not artprune's.
	if status, body, _ := callAPIBody(t, srv, "PUT", "/artifactory/generic-local/tools/sha256:"+strings.Repeat("e", 64)+"/tool.bin", []byte("a tool")); status != 201 {
		t.Fatalf("PUT: %d %s", status, body)
	}
	other := "tools/sha256:" + strings.Repeat("e", 64)
	if status, body, _ := callAPI(t, srv, "DELETE", "/artifactory/generic-local/"+other); status != 204 {
		t.Fatalf("DELETE by hand: %d %s", status, body)
	}
	// A tag pushed later references one of the folders artprune deleted: it must stay in the Trash Can.
	referenced := deleted[0]
	image, leaf, _ := strings.Cut(referenced, "/sha256:")
	p := artifactorytest.NewPusher(srv.Store(), "docker-local", 7)
	if _, err := p.PushIndex(image, "pinned", "", v1.Descriptor{MediaType: v1.MediaTypeImageManifest,
		Digest: digest.NewDigestFromEncoded(digest.SHA256, leaf), Size: 100}); err != nil {
		t.Fatal(err)
	}
	wantAll := []string{"generic-local/" + other}
	for _, d := range deleted {
		wantAll = append(wantAll, "docker-local/"+d)
	}
	slices.Sort(wantAll)
	if got, _ := trashContents(t, srv); !slices.Equal(got, wantAll) {
		t.Fatalf("Trash Can before purging: %q, want %q", got, wantAll)
	}

	// Three days later, with 7d: everything is too young.
	ageTrash(t, srv, 3*24*time.Hour)
	young := filepath.Join(dir, "young.json")
	if res := runCLI(t, env(srv), "prune", "--repo", "docker-local", "--delete", "--purge-trash-after", "7d", "--report", young); res.code != ExitOK {
		t.Fatalf("run after 3 days: exit %d\n%s", res.code, res.stderr)
	}
	tp := readReportFile(t, young).Repositories[0].TrashPurge
	if tp == nil || len(tp.Folders) != 0 || tp.KeptYoung != len(deleted) || tp.FreedBytes != 0 {
		t.Errorf("after 3 days: %+v", tp)
	}
	if got, _ := trashContents(t, srv); !slices.Equal(got, wantAll) {
		t.Errorf("the Trash Can changed after 3 days: %q", got)
	}

	// Five more days: a dry run says what it would purge, and purges nothing.
	ageTrash(t, srv, 8*24*time.Hour)
	dry := filepath.Join(dir, "dry.json")
	if res := runCLI(t, env(srv), "prune", "--repo", "docker-local", "--purge-trash-after", "7d", "--report", dry); res.code != ExitOK {
		t.Fatalf("dry run: exit %d\n%s", res.code, res.stderr)
	}
	dtp := readReportFile(t, dry).Repositories[0].TrashPurge
	if got, _ := trashContents(t, srv); !slices.Equal(got, wantAll) {
		t.Errorf("the dry run changed the Trash Can: %q", got)
	}

	// Another repository gets a copy of one of the layers: purging does not free that binary.
	var shared *artifactorytest.Item
	_ = srv.Store().Walk(artifactorytest.TrashRepo, "docker-local/"+deleted[1], func(it *artifactorytest.Item) bool {
		if !it.Folder && strings.HasPrefix(it.Name, "sha256__") && shared == nil {
			shared = it
		}
		return true
	})
	if shared == nil {
		t.Fatalf("no layer in %s", deleted[1])
	}
	if _, err := srv.Store().PutFile(artifactorytest.FileSpec{Repo: "generic-local", Path: "copies/layer", Blob: shared.SHA256()}); err != nil {
		t.Fatal(err)
	}
	t.Logf("generic-local/copies/layer holds %s (%d bytes)", shared.FullPath(), shared.Size())

	// Then the purge: every folder artprune deleted but the referenced one; the hand-deleted one stays.
	_, bytesBefore := srv.Store().BlobBytes()
	purge := filepath.Join(dir, "purge.json")
	res := runCLI(t, env(srv), "prune", "--repo", "docker-local", "--delete", "--purge-trash-after", "7d", "--report", purge)
	if res.code != ExitOK {
		t.Fatalf("purge run: exit %d\n%s", res.code, res.stderr)
	}
	_, bytesAfter := srv.Store().BlobBytes()
	tp = readReportFile(t, purge).Repositories[0].TrashPurge
	var purged, wouldPurge []string
	for _, f := range tp.Folders {
		if f.Outcome != "purged" {
			t.Errorf("%s: %s %s", f.Path, f.Outcome, f.Error)
		}
		purged = append(purged, f.Path)
	}
	for _, f := range dtp.Folders {
		wouldPurge = append(wouldPurge, f.Path)
	}
	want := slices.DeleteFunc(slices.Clone(deleted), func(p string) bool { return p == referenced })
	slices.Sort(want)
	if !slices.Equal(purged, want) || !slices.Equal(wouldPurge, want) {
		t.Errorf("purged %q, the dry run would purge %q; want %q", purged, wouldPurge, want)
	}
	if tp.KeptReferenced != 1 || tp.KeptYoung != 0 {
		t.Errorf("kept referenced %d, young %d; want 1, 0", tp.KeptReferenced, tp.KeptYoung)
	}
	left, files := trashContents(t, srv)
	if wantLeft := []string{"docker-local/" + referenced, "generic-local/" + other}; !slices.Equal(left, wantLeft) {
		t.Errorf("the Trash Can after the purge holds %q, want %q", left, wantLeft)
	}
	for _, f := range files {
		if !strings.HasPrefix(f, "docker-local/"+referenced+"/") && !strings.HasPrefix(f, "generic-local/"+other+"/") {
			t.Errorf("a purged folder left %s", f)
		}
	}
	t.Logf("purged %d folders; the emulator freed %d bytes, the report says %d", len(purged), bytesBefore-bytesAfter, tp.FreedBytes)
	if freed := bytesBefore - bytesAfter; tp.FreedBytes != freed || freed == 0 || dtp.FreedBytes != freed+shared.Size() {
		t.Errorf("the report says %d bytes freed (the dry run %d), the emulator freed %d", tp.FreedBytes, dtp.FreedBytes, freed)
	}
}

// ageTrash sets trash.time of every folder in the Trash Can to d before the emulator's now, as if the deletes had
// happened d ago, and moves artprune's marks bound to the old trash.time along (a mark bound to another deletion
// stays as it was). (Moving the emulator's clock instead would make artprune refuse to delete: its clock check
// compares the server's Date with the local clock.)
func ageTrash(t *testing.T, srv *artifactorytest.Server, d time.Duration) {
	t.Helper()
	ms := strconv.FormatInt(srv.Clock().Now().Add(-d).UnixMilli(), 10)
	type folder struct{ path, mark string }
	var folders []folder
	_ = srv.Store().Walk(artifactorytest.TrashRepo, "", func(it *artifactorytest.Item) bool {
		if at := it.Props[artifactorytest.PropTrashTime]; it.Folder && len(at) > 0 {
			f := folder{path: it.FullPath()}
			repo, _, _ := strings.Cut(f.path, "/")
			if m := it.Props[artifactory.PropTrashed]; len(m) == 1 && m[0] == repo+"@"+at[0] {
				f.mark = repo + "@" + ms
			}
			folders = append(folders, f)
		}
		return true
	})
	for _, f := range folders {
		if err := srv.Store().SetProps(artifactorytest.TrashRepo, f.path, map[string][]string{artifactorytest.PropTrashTime: {ms}}, true); err != nil {
			t.Fatal(err)
		}
		if f.mark == "" {
			continue
		}
		if err := srv.Store().SetProps(artifactorytest.TrashRepo, f.path, map[string][]string{artifactory.PropTrashed: {f.mark}}, true); err != nil {
			t.Fatal(err)
		}
	}
}

// TestPurgeNotAnotherUsersDeletion: artprune's mark is bound to the deletion it made. An admin restores a folder
// artprune deleted outside artprune (Artifactory keeps the mark on it), then bob deletes it: the Trash Can's new copy
// carries the mark, but not the trash.time the mark records, so it is bob's deletion and is never purged. Nor is a
// folder carrying an older artprune's mark, which records no trash.time.
func TestPurgeNotAnotherUsersDeletion(t *testing.T) {
	srv, _ := newSeedServer(t)
	dir := t.TempDir()
	first := filepath.Join(dir, "first.json")
	if res := runCLI(t, env(srv), "prune", "--repo", "docker-local", "--delete", "--purge-trash-after", "7d", "--report", first); res.code != ExitOK {
		t.Fatalf("first run: exit %d\n%s", res.code, res.stderr)
	}
	var deleted []string
	for _, d := range readReportFile(t, first).Repositories[0].Deletions {
		deleted = append(deleted, d.Path)
	}
	slices.Sort(deleted)
	if len(deleted) < 2 {
		t.Fatalf("the seed story deleted %d folders", len(deleted))
	}
	bobs := deleted[0]
	time.Sleep(5 * time.Millisecond) // bob's deletion comes later than artprune's, as it would on any server
	if err := srv.Store().RestoreFromTrash("docker-local/"+bobs, "docker-local", bobs); err != nil {
		t.Fatal(err)
	}
	if it, ok := srv.Store().Get("docker-local", bobs); !ok || len(it.Props[artifactory.PropTrashed]) == 0 {
		t.Fatalf("the restore by hand should keep artprune's mark on %s (%v)", bobs, ok)
	}
	if _, err := srv.Store().DeleteAs("docker-local", bobs, "bob"); err != nil {
		t.Fatal(err)
	}
	ageTrash(t, srv, 8*24*time.Hour)
	// An older artprune's mark records no deletion: not purged either.
	oldMark := deleted[1]
	if err := srv.Store().SetProps(artifactorytest.TrashRepo, "docker-local/"+oldMark, map[string][]string{artifactory.PropTrashed: {"docker-local"}}, true); err != nil {
		t.Fatal(err)
	}

	purge := filepath.Join(dir, "purge.json")
	if res := runCLI(t, env(srv), "prune", "--repo", "docker-local", "--delete", "--purge-trash-after", "7d", "--report", purge); res.code != ExitOK {
		t.Fatalf("purge run: exit %d\n%s", res.code, res.stderr)
	}
	tp := readReportFile(t, purge).Repositories[0].TrashPurge
	var purged []string
	for _, f := range tp.Folders {
		if f.Outcome != "purged" {
			t.Errorf("%s: %s %s", f.Path, f.Outcome, f.Error)
		}
		purged = append(purged, f.Path)
	}
	if want := deleted[2:]; !slices.Equal(purged, want) {
		t.Errorf("purged %q, want %q (never bob's %s, nor the old mark's %s)", purged, want, bobs, oldMark)
	}
	if n := readReportFile(t, purge).Repositories[0].TrashPurge.KeptNotArtprunes; n != 2 {
		t.Errorf("kept_not_artprunes %d, want 2", n)
	}
	left, _ := trashContents(t, srv)
	if want := []string{"docker-local/" + bobs, "docker-local/" + oldMark}; !slices.Equal(left, want) {
		t.Errorf("the Trash Can holds %q, want %q", left, want)
	}
	if it, ok := srv.Store().Get(artifactorytest.TrashRepo, "docker-local/"+bobs); !ok || !slices.Equal(it.Props[artifactorytest.PropTrashDeletedBy], []string{"bob"}) {
		t.Errorf("bob's deletion is not in the Trash Can as bob's (%v)", ok)
	}
}

// callAPI sends one REST request to the emulator as admin.
func callAPI(t *testing.T, srv *artifactorytest.Server, method, path string) (int, string, error) {
	t.Helper()
	return callAPIBody(t, srv, method, path, nil)
}

func callAPIBody(t *testing.T, srv *artifactorytest.Server, method, path string, body []byte) (int, string, error) {
	t.Helper()
	status, b := docker(srv, method, path, "", body)
	return status, string(b), nil
}

// TestPurgeTrashImageFilters: --exclude-image keeps the purge out of an image even when the image has no file left
// (so the inventory never saw it, and it is not among the report's excluded images); without the filter, the same
// folders are purged.
func TestPurgeTrashImageFilters(t *testing.T) {
	srv, _ := newSeedServer(t)
	dir := t.TempDir()
	first := filepath.Join(dir, "first.json")
	if res := runCLI(t, env(srv), "prune", "--repo", "docker-local", "--delete", "--purge-trash-after", "7d", "--report", first); res.code != ExitOK {
		t.Fatalf("first run: exit %d\n%s", res.code, res.stderr)
	}
	var want []string
	for _, d := range readReportFile(t, first).Repositories[0].Deletions {
		want = append(want, d.Path)
	}
	slices.Sort(want)
	if len(want) == 0 || !strings.HasPrefix(want[0], "my-image/") {
		t.Fatalf("the seed story deleted %q", want)
	}
	// Someone deletes what is left of the image: no file of it is live any more.
	if _, err := srv.Store().DeleteAs("docker-local", "my-image", "bob"); err != nil {
		t.Fatal(err)
	}
	ageTrash(t, srv, 8*24*time.Hour)
	// The Trash Can holds artprune's folders, marked, and bob's deletion of the image's live folders, unmarked.
	before, _ := trashContents(t, srv)
	for _, p := range want {
		if !slices.Contains(before, "docker-local/"+p) {
			t.Fatalf("%s is not in the Trash Can", p)
		}
	}

	excluded := filepath.Join(dir, "excluded.json")
	if res := runCLI(t, env(srv), "prune", "--repo", "docker-local", "--delete", "--exclude-image", "my-image",
		"--purge-trash-after", "7d", "--report", excluded); res.code != ExitOK {
		t.Fatalf("run excluding my-image: exit %d\n%s", res.code, res.stderr)
	}
	tp := readReportFile(t, excluded).Repositories[0].TrashPurge
	if len(tp.Folders) != 0 || tp.KeptReferenced != len(want) {
		t.Errorf("excluding my-image: folders %+v, kept referenced %d; want none, %d", tp.Folders, tp.KeptReferenced, len(want))
	}
	if got, _ := trashContents(t, srv); !slices.Equal(got, before) {
		t.Errorf("excluding my-image, the Trash Can holds %q, want %q", got, before)
	}

	purge := filepath.Join(dir, "purge.json")
	if res := runCLI(t, env(srv), "prune", "--repo", "docker-local", "--delete", "--purge-trash-after", "7d", "--report", purge); res.code != ExitOK {
		t.Fatalf("run without filters: exit %d\n%s", res.code, res.stderr)
	}
	var purged []string
	for _, f := range readReportFile(t, purge).Repositories[0].TrashPurge.Folders {
		if f.Outcome == "purged" {
			purged = append(purged, f.Path)
		}
	}
	if !slices.Equal(purged, want) {
		t.Errorf("without filters purged %q, want %q", purged, want)
	}
	left := slices.DeleteFunc(slices.Clone(before), func(p string) bool { return slices.Contains(want, strings.TrimPrefix(p, "docker-local/")) })
	if got, _ := trashContents(t, srv); !slices.Equal(got, left) {
		t.Errorf("without filters, the Trash Can holds %q, want %q (bob's deletion)", got, left)
	}
}
