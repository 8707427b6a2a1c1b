package artifactorytest_test

import (
	"io"
	"slices"
	"strings"
	"testing"

	jfartifactory "github.com/jfrog/jfrog-client-go/artifactory"
	"github.com/jfrog/jfrog-client-go/artifactory/auth"
	"github.com/jfrog/jfrog-client-go/artifactory/services"
	"github.com/jfrog/jfrog-client-go/artifactory/services/utils"
	"github.com/jfrog/jfrog-client-go/config"
	"github.com/jfrog/jfrog-client-go/utils/io/content"
	"github.com/jfrog/jfrog-client-go/utils/log"

	"github.com/artprune/artprune/artifactory/artifactorytest"
)

const jfToken = "jfrog-conformance-token"

// newJFrog starts an emulator holding the seed story and returns jfrog-client-go v1.55.0's services manager for it,
// unmodified.
func newJFrog(t *testing.T) (*artifactorytest.Server, jfartifactory.ArtifactoryServicesManager, *artifactorytest.Scenario) {
	t.Helper()
	log.SetLogger(log.NewLogger(log.ERROR, io.Discard))
	srv, err := artifactorytest.NewServer(artifactorytest.WithAdminToken(jfToken),
		artifactorytest.WithRepo(artifactorytest.Repo{Key: "docker-local", Type: "local", PackageType: "docker"}),
		artifactorytest.WithRepo(artifactorytest.Repo{Key: "docker-remote", Type: "remote", PackageType: "docker"}),
		artifactorytest.WithRepo(artifactorytest.Repo{Key: "files", Type: "local", PackageType: "generic"}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	sc, err := artifactorytest.SeedStory(srv.Store(), "docker-local", srv.Clock().Now())
	if err != nil {
		t.Fatal(err)
	}
	d := auth.NewArtifactoryDetails()
	d.SetUrl(srv.ArtifactoryURL())
	d.SetAccessToken(jfToken)
	cfg, err := config.NewConfigBuilder().SetServiceDetails(d).SetThreads(2).Build()
	if err != nil {
		t.Fatal(err)
	}
	sm, err := jfartifactory.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return srv, sm, sc
}

func readAll(t *testing.T, r *content.ContentReader) []utils.ResultItem {
	t.Helper()
	defer r.Close()
	var out []utils.ResultItem
	for item := new(utils.ResultItem); r.NextRecord(item) == nil; item = new(utils.ResultItem) {
		out = append(out, *item)
	}
	if err := r.GetError(); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestJFrogClientPingVersionRepositories(t *testing.T) {
	_, sm, _ := newJFrog(t)
	body, err := sm.Ping()
	if err != nil || string(body) != "OK" {
		t.Fatalf("Ping: %q, %v", body, err)
	}
	v, err := sm.GetVersion()
	if err != nil || v != artifactorytest.Version {
		t.Fatalf("GetVersion: %q, %v", v, err)
	}
	repos, err := sm.GetAllRepositoriesFiltered(services.RepositoriesFilterParams{RepoType: "local", PackageType: "docker"})
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, r := range *repos {
		keys = append(keys, r.Key)
	}
	if !slices.Equal(keys, []string{"docker-local"}) {
		t.Errorf("local docker repositories %v, want [docker-local]", keys)
	}
}

func TestJFrogClientSearchFiles(t *testing.T) {
	_, sm, _ := newJFrog(t)
	params := services.NewSearchParams()
	params.CommonParams = &utils.CommonParams{Pattern: "docker-local/my-image/*/list.manifest.json", Recursive: true}
	items := readAll(t, mustReader(t)(sm.SearchFiles(params)))
	var got []string
	for _, it := range items {
		got = append(got, it.Path+"/"+it.Name)
	}
	slices.Sort(got)
	// latest's index, the untagged push-by-digest index and the young one.
	if len(got) != 3 || got[0] != "my-image/latest/list.manifest.json" {
		t.Errorf("SearchFiles found %v", got)
	}
	for _, it := range items {
		if it.Sha256 == "" || it.Actual_Sha1 == "" || it.Size == 0 || it.Modified == "" {
			t.Errorf("%s/%s lacks fields the client reads: %+v", it.Path, it.Name, it)
		}
	}
}

func mustReader(t *testing.T) func(*content.ContentReader, error) *content.ContentReader {
	return func(r *content.ContentReader, err error) *content.ContentReader {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
}

func TestJFrogClientAqlAndReadRemoteFile(t *testing.T) {
	_, sm, _ := newJFrog(t)
	rc, err := sm.Aql(`items.find({"repo":"docker-local","name":"list.manifest.json","path":{"$match":"my-image/latest"}}).include("repo","path","name","sha256")`)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(rc)
	rc.Close()
	if !strings.Contains(string(body), `"path":"my-image/latest"`) || !strings.Contains(string(body), `"range"`) {
		t.Fatalf("Aql answer: %s", body)
	}
	doc, err := sm.ReadRemoteFile("docker-local/my-image/latest/list.manifest.json")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(doc)
	doc.Close()
	if !strings.Contains(string(b), `"application/vnd.oci.image.index.v1+json"`) {
		t.Errorf("ReadRemoteFile returned %s", b)
	}
	info, err := sm.FileInfo("docker-local/my-image/latest/list.manifest.json")
	if err != nil || info.Checksums.Sha256 == "" {
		t.Errorf("FileInfo: %+v, %v", info, err)
	}
	folder, err := sm.FolderInfo("docker-local/my-image")
	if err != nil || len(folder.Children) == 0 {
		t.Errorf("FolderInfo: %+v, %v", folder, err)
	}
}

func TestJFrogClientDeletesDigestFolders(t *testing.T) {
	srv, sm, sc := newJFrog(t)
	deleteByPattern := func(pattern string) int {
		t.Helper()
		params := services.NewDeleteParams()
		params.CommonParams = &utils.CommonParams{Pattern: pattern, Recursive: true}
		paths := mustReader(t)(sm.GetPathsToDelete(params))
		defer paths.Close()
		n, err := sm.DeleteFiles(paths)
		if err != nil {
			t.Fatalf("DeleteFiles(%s): %v", pattern, err)
		}
		return n
	}
	// "folder/" selects the folder's content: the files go, the (empty) folder stays, as in Artifactory.
	first := sc.Dangling[0]
	if n := deleteByPattern("docker-local/" + first + "/"); n == 0 {
		t.Fatalf("nothing deleted under %s/", first)
	}
	if kids, err := srv.Store().Children("docker-local", first); err != nil || len(kids) != 0 {
		t.Errorf("%s/: children %v, %v; want an empty folder", first, kids, err)
	}
	// "folder" (no slash) selects the folder itself, deleted recursively with a trailing slash.
	second := sc.Dangling[1]
	if n := deleteByPattern("docker-local/" + second); n != 1 {
		t.Errorf("deleting %s counted %d items, want the folder alone", second, n)
	}
	if _, ok := srv.Store().Get("docker-local", second); ok {
		t.Errorf("%s survived DeleteFiles", second)
	}
	for live := range sc.Live {
		if _, ok := srv.Store().Get("docker-local", live+"/manifest.json"); !ok {
			if _, ok := srv.Store().Get("docker-local", live+"/list.manifest.json"); !ok {
				t.Errorf("DeleteFiles removed the manifest of live folder %s", live)
			}
		}
	}
}
