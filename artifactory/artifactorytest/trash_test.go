package artifactorytest_test

import (
	"maps"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/artprune/artprune/artifactory/artifactorytest"
)

const trashFolder = "img/sha256:" + "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"

// seedTrashFolder deploys a digest folder with two files, properties on a file and on the folder.
func seedTrashFolder(t *testing.T, srv *artifactorytest.Server) {
	t.Helper()
	for _, p := range []string{trashFolder + "/manifest.json;docker.manifest.type=x;sha256=abc", trashFolder + "/sha256__layer"} {
		if status, body, _ := call(t, srv, "PUT", "/artifactory/docker-local/"+p, restToken, []byte("bytes of "+p)); status != 201 {
			t.Fatalf("PUT %s: %d %s", p, status, body)
		}
	}
	if status, body, _ := call(t, srv, "PUT", "/artifactory/api/storage/docker-local/"+trashFolder+"?properties=team=core", restToken, nil); status != 204 {
		t.Fatalf("set folder property: %d %s", status, body)
	}
}

// paths returns every path of repo, folders with a trailing slash.
func paths(t *testing.T, srv *artifactorytest.Server, repo string) []string {
	t.Helper()
	var out []string
	if err := srv.Store().Walk(repo, "", func(it *artifactorytest.Item) bool {
		p := it.FullPath()
		if it.Folder {
			p += "/"
		}
		out = append(out, p)
		return true
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

func props(t *testing.T, srv *artifactorytest.Server, repo, path string) map[string][]string {
	t.Helper()
	it, ok := srv.Store().Get(repo, path)
	if !ok {
		t.Fatalf("%s/%s: not found", repo, path)
	}
	return it.Props
}

// takeTime removes the millisecond timestamp property key from p and checks it lies within [from, to] (the
// emulator's clock follows real time, so the exact millisecond is not known in advance).
func takeTime(t *testing.T, p map[string][]string, key string, from, to time.Time) map[string][]string {
	t.Helper()
	p = maps.Clone(p)
	v := p[key]
	delete(p, key)
	if len(v) != 1 {
		t.Errorf("%s: %q, want one value", key, v)
		return p
	}
	ms, err := strconv.ParseInt(v[0], 10, 64)
	if err != nil || ms < from.UnixMilli() || ms > to.UnixMilli() {
		t.Errorf("%s = %q, want milliseconds between %d and %d", key, v[0], from.UnixMilli(), to.UnixMilli())
	}
	return p
}

func TestTrashDeleteMovesToTrashCan(t *testing.T) {
	srv := newREST(t)
	seedTrashFolder(t, srv)
	before := srv.Clock().Now()
	if status, body, _ := call(t, srv, "DELETE", "/artifactory/docker-local/"+trashFolder+"/", restToken, nil); status != 204 {
		t.Fatalf("DELETE: %d %s", status, body)
	}
	after := srv.Clock().Now()
	if got := paths(t, srv, "docker-local"); !slices.Equal(got, []string{"img/"}) {
		t.Errorf("docker-local after the delete: %q", got)
	}
	wantTrash := []string{"docker-local/", "docker-local/img/", "docker-local/" + trashFolder + "/",
		"docker-local/" + trashFolder + "/manifest.json", "docker-local/" + trashFolder + "/sha256__layer"}
	if got := paths(t, srv, artifactorytest.TrashRepo); !slices.Equal(got, wantTrash) {
		t.Errorf("Trash Can:\n got %q\nwant %q", got, wantTrash)
	}
	wantFile := map[string][]string{"docker.manifest.type": {"x"}, "sha256": {"abc"},
		"trash.deletedBy": {"admin"}, "trash.originalRepository": {"docker-local"},
		"trash.originalRepositoryType": {"docker"}, "trash.originalPath": {trashFolder + "/manifest.json"}}
	if got := takeTime(t, props(t, srv, artifactorytest.TrashRepo, "docker-local/"+trashFolder+"/manifest.json"), "trash.time", before, after); !maps.EqualFunc(got, wantFile, slices.Equal) {
		t.Errorf("trashed file's properties: %v, want %v", got, wantFile)
	}
	wantFolder := map[string][]string{"team": {"core"},
		"trash.deletedBy": {"admin"}, "trash.originalRepository": {"docker-local"},
		"trash.originalRepositoryType": {"docker"}, "trash.originalPath": {trashFolder}}
	if got := takeTime(t, props(t, srv, artifactorytest.TrashRepo, "docker-local/"+trashFolder), "trash.time", before, after); !maps.EqualFunc(got, wantFolder, slices.Equal) {
		t.Errorf("trashed folder's properties: %v, want %v", got, wantFolder)
	}
	// The storage API and a download see it; repository lists do not.
	if status, body, _ := call(t, srv, "GET", "/artifactory/api/storage/auto-trashcan/docker-local/"+trashFolder+"/manifest.json", restToken, nil); status != 200 || !strings.Contains(body, `"repo": "auto-trashcan"`) {
		t.Errorf("storage API: %d %s", status, body)
	}
	if _, body, _ := call(t, srv, "GET", "/artifactory/api/repositories", restToken, nil); strings.Contains(body, "auto-trashcan") {
		t.Errorf("the repository list shows the Trash Can: %s", body)
	}
	// A reader sees neither the Trash Can nor its items.
	if status, _, _ := call(t, srv, "GET", "/artifactory/api/storage/auto-trashcan/docker-local/"+trashFolder, "reader-token", nil); status != 404 {
		t.Errorf("a reader reads the Trash Can: %d", status)
	}
}

func TestTrashAQL(t *testing.T) {
	srv := newREST(t)
	seedTrashFolder(t, srv)
	call(t, srv, "DELETE", "/artifactory/docker-local/"+trashFolder, restToken, nil)
	// Artifactory leaves the Trash Can out of queries without a repo equality.
	queries := []struct {
		name, query, token string
		want               int
	}{
		{"repo equality", `items.find({"repo":"auto-trashcan","name":"manifest.json"})`, restToken, 1},
		{"repo $eq in an $or", `items.find({"$or":[{"repo":{"$eq":"auto-trashcan"}},{"repo":"files"}],"name":"manifest.json"})`, restToken, 1},
		{"no repo criterion", `items.find({"name":"manifest.json"})`, restToken, 0},
		{"repo $match", `items.find({"repo":{"$match":"auto-*"},"name":"manifest.json"})`, restToken, 0},
		{"property of trashed items", `items.find({"@trash.originalRepository":"docker-local"})`, restToken, 0},
		{"a reader", `items.find({"repo":"auto-trashcan","name":"manifest.json"}).include("repo","path","name")`, "reader-token", 0},
	}
	for _, q := range queries {
		t.Run(q.name, func(t *testing.T) {
			status, body, _ := call(t, srv, "POST", "/artifactory/api/search/aql", q.token, []byte(q.query))
			if status != 200 {
				t.Fatalf("%d %s", status, body)
			}
			if got := strings.Count(body, `"repo" : "auto-trashcan"`) + strings.Count(body, `"repo":"auto-trashcan"`); got != q.want {
				t.Errorf("%d Trash Can rows, want %d: %s", got, q.want, body)
			}
		})
	}
}

func TestTrashRestore(t *testing.T) {
	srv := newREST(t)
	seedTrashFolder(t, srv)
	orig := map[string]string{}
	for _, p := range []string{"manifest.json", "sha256__layer"} {
		it, _ := srv.Store().Get("docker-local", trashFolder+"/"+p)
		orig[p] = it.SHA256()
	}
	call(t, srv, "DELETE", "/artifactory/docker-local/"+trashFolder, restToken, nil)
	srv.Clock().Advance(time.Hour)
	restoredFrom := srv.Clock().Now()

	for _, c := range []struct{ name, token, path string }{{"reader", "reader-token", ""}, {"no such repo", restToken, "?to=nope/x"}} {
		if status, _, _ := call(t, srv, "POST", "/artifactory/api/trash/restore/docker-local/"+trashFolder+c.path, c.token, nil); status != 403 && status != 400 {
			t.Errorf("%s: restore answered %d", c.name, status)
		}
	}
	if got := paths(t, srv, "docker-local"); !slices.Equal(got, []string{"img/"}) {
		t.Fatalf("a refused restore changed docker-local: %q", got)
	}
	if status, body, _ := call(t, srv, "POST", "/artifactory/api/trash/restore/docker-local/"+trashFolder+"?to=docker-local/"+trashFolder, restToken, nil); status != 202 {
		t.Fatalf("restore: %d %s", status, body)
	}
	restoredTo := srv.Clock().Now()
	want := []string{"img/", trashFolder + "/", trashFolder + "/manifest.json", trashFolder + "/sha256__layer"}
	if got := paths(t, srv, "docker-local"); !slices.Equal(got, want) {
		t.Errorf("docker-local after the restore: %q, want %q", got, want)
	}
	for p, sum := range orig {
		if it, _ := srv.Store().Get("docker-local", trashFolder+"/"+p); it.SHA256() != sum {
			t.Errorf("%s: checksum %s, want %s", p, it.SHA256(), sum)
		}
	}
	// Artifactory's restore leaves trash.originalRepository and adds trash.restoredTime.
	wantProps := map[string][]string{"docker.manifest.type": {"x"}, "sha256": {"abc"},
		"trash.originalRepository": {"docker-local"}}
	if got := takeTime(t, props(t, srv, "docker-local", trashFolder+"/manifest.json"), "trash.restoredTime", restoredFrom, restoredTo); !maps.EqualFunc(got, wantProps, slices.Equal) {
		t.Errorf("restored file's properties: %v, want %v", got, wantProps)
	}
	if got := props(t, srv, "docker-local", trashFolder); !slices.Equal(got["team"], []string{"core"}) {
		t.Errorf("restored folder's properties: %v", got)
	}
	if got := paths(t, srv, artifactorytest.TrashRepo); !slices.Equal(got, []string{"docker-local/", "docker-local/img/"}) {
		t.Errorf("the Trash Can after the restore: %q", got)
	}
	// Restoring again: the item is no longer there.
	if status, body, _ := call(t, srv, "POST", "/artifactory/api/trash/restore/docker-local/"+trashFolder, restToken, nil); status != 400 || !strings.Contains(body, "auto-trashcan:docker-local/"+trashFolder) {
		t.Errorf("second restore: %d %s", status, body)
	}
}

func TestTrashCleanEmptyAndEditions(t *testing.T) {
	srv := newREST(t)
	seedTrashFolder(t, srv)
	call(t, srv, "DELETE", "/artifactory/docker-local/"+trashFolder, restToken, nil)
	if status, _, _ := call(t, srv, "DELETE", "/artifactory/api/trash/clean/docker-local/"+trashFolder+"/manifest.json", "reader-token", nil); status != 403 {
		t.Errorf("a reader cleans the Trash Can: %d", status)
	}
	if status, body, _ := call(t, srv, "DELETE", "/artifactory/api/trash/clean/docker-local/"+trashFolder+"/manifest.json", restToken, nil); status != 204 {
		t.Fatalf("clean: %d %s", status, body)
	}
	if status, body, _ := call(t, srv, "DELETE", "/artifactory/api/trash/clean/docker-local/"+trashFolder+"/manifest.json", restToken, nil); status != 400 || !strings.Contains(body, "Nothing to delete") {
		t.Errorf("clean again: %d %s", status, body)
	}
	want := []string{"docker-local/", "docker-local/img/", "docker-local/" + trashFolder + "/", "docker-local/" + trashFolder + "/sha256__layer"}
	if got := paths(t, srv, artifactorytest.TrashRepo); !slices.Equal(got, want) {
		t.Errorf("after clean: %q", got)
	}
	srv.SetTrash(artifactorytest.TrashConfig{Enabled: true, RetentionDays: 14, NoAPI: true})
	if status, body, _ := call(t, srv, "POST", "/artifactory/api/trash/empty", restToken, nil); status != 400 || !strings.Contains(body, "available only in Artifactory Pro") {
		t.Errorf("empty without the API: %d %s", status, body)
	}
	srv.SetTrash(artifactorytest.DefaultTrashConfig)
	if status, body, _ := call(t, srv, "POST", "/artifactory/api/trash/empty", restToken, nil); status != 202 {
		t.Fatalf("empty: %d %s", status, body)
	}
	if got := paths(t, srv, artifactorytest.TrashRepo); len(got) != 0 {
		t.Errorf("after empty: %q", got)
	}
}

func TestTrashConfigurationAndDisabled(t *testing.T) {
	srv := newREST(t, artifactorytest.WithTrash(artifactorytest.TrashConfig{Enabled: false, RetentionDays: 3}))
	status, body, _ := call(t, srv, "GET", "/artifactory/api/system/configuration", restToken, nil)
	if status != 200 || !strings.Contains(body, "<trashcanConfig>") || !strings.Contains(body, "<enabled>false</enabled>") || !strings.Contains(body, "<retentionPeriodDays>3</retentionPeriodDays>") {
		t.Errorf("configuration: %d %s", status, body)
	}
	if status, _, _ := call(t, srv, "GET", "/artifactory/api/system/configuration", "reader-token", nil); status != 403 {
		t.Errorf("a reader reads the configuration: %d", status)
	}
	seedTrashFolder(t, srv)
	it, _ := srv.Store().Get("docker-local", trashFolder+"/sha256__layer")
	call(t, srv, "DELETE", "/artifactory/docker-local/"+trashFolder, restToken, nil)
	if got := paths(t, srv, artifactorytest.TrashRepo); len(got) != 0 {
		t.Errorf("the disabled Trash Can holds %q", got)
	}
	if srv.Store().HasBlob(it.SHA256()) {
		t.Errorf("a deleted binary outlived its last holder with the Trash Can disabled")
	}
}

func TestTrashRetention(t *testing.T) {
	srv := newREST(t)
	seedTrashFolder(t, srv)
	// The same layer bytes elsewhere: that binary must survive the purge.
	layer := []byte("bytes of " + trashFolder + "/sha256__layer")
	if status, _, _ := call(t, srv, "PUT", "/artifactory/files/copy-of-layer", restToken, layer); status != 201 {
		t.Fatal("PUT copy")
	}
	manifest, _ := srv.Store().Get("docker-local", trashFolder+"/manifest.json")
	call(t, srv, "DELETE", "/artifactory/docker-local/"+trashFolder, restToken, nil)
	srv.Clock().Advance(13 * 24 * time.Hour)
	if got := srv.CollectGarbage(); len(got) != 0 {
		t.Errorf("garbage collection before the retention period purged %q", got)
	}
	srv.Clock().Advance(24*time.Hour + time.Minute)
	status, body, _ := call(t, srv, "POST", "/_emulator/gc", restToken, nil)
	want := `"docker-local/` + trashFolder + `/manifest.json"`
	if status != 200 || !strings.Contains(body, want) || !strings.Contains(body, "sha256__layer") {
		t.Errorf("gc: %d %s", status, body)
	}
	// Folders stay (Artifactory purges files), binaries go unless another path holds them.
	wantTrash := []string{"docker-local/", "docker-local/img/", "docker-local/" + trashFolder + "/"}
	if got := paths(t, srv, artifactorytest.TrashRepo); !slices.Equal(got, wantTrash) {
		t.Errorf("after the purge: %q", got)
	}
	if srv.Store().HasBlob(manifest.SHA256()) {
		t.Errorf("the purged manifest's binary was not freed")
	}
	if !srv.Store().HasBlob(artifactorytest.ChecksumsOf(layer).SHA256) {
		t.Errorf("a binary another path holds was freed")
	}
}

// TestTrashRestoreOntoExistingPath: Artifactory's restore is a move, so a folder that exists again is merged into:
// the Trash Can's files replace files of the same name, other files stay. artprune never restores onto an
// existing path; the emulator answers as Artifactory would if something did.
func TestTrashRestoreOntoExistingPath(t *testing.T) {
	srv := newREST(t)
	seedTrashFolder(t, srv)
	call(t, srv, "DELETE", "/artifactory/docker-local/"+trashFolder, restToken, nil)
	for _, p := range []string{"manifest.json", "other-file"} {
		if status, _, _ := call(t, srv, "PUT", "/artifactory/docker-local/"+trashFolder+"/"+p, restToken, []byte("pushed again: "+p)); status != 201 {
			t.Fatal("PUT")
		}
	}
	if status, body, _ := call(t, srv, "POST", "/artifactory/api/trash/restore/docker-local/"+trashFolder, restToken, nil); status != 202 {
		t.Fatalf("restore: %d %s", status, body)
	}
	want := []string{"img/", trashFolder + "/", trashFolder + "/manifest.json", trashFolder + "/other-file", trashFolder + "/sha256__layer"}
	if got := paths(t, srv, "docker-local"); !slices.Equal(got, want) {
		t.Errorf("after restoring onto an existing folder: %q, want %q", got, want)
	}
	if _, body, _ := call(t, srv, "GET", "/artifactory/docker-local/"+trashFolder+"/manifest.json", restToken, nil); body != "bytes of "+trashFolder+"/manifest.json;docker.manifest.type=x;sha256=abc" {
		t.Errorf("manifest.json after the restore: %q", body)
	}
	if _, body, _ := call(t, srv, "GET", "/artifactory/docker-local/"+trashFolder+"/other-file", restToken, nil); body != "pushed again: other-file" {
		t.Errorf("other-file after the restore: %q", body)
	}
}
