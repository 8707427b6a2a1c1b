package main

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	v1 "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/artprune/artprune/artifactory/artifactorytest"
)

// TestRollbackTagDuringDeletes runs `artprune prune --delete` on 40 images while, at the first DELETE in img00,
// someone pushes to img35 a rollback tag, with the old timestamps a replication keeps, that references two of
// img35's old dangling manifests. The repository's re-check came before, and so did the re-check of the first batch
// (32 images, img00 to img31); the re-check of the second batch comes after, so img35 keeps all its folders, the
// report says why, and every other dangling folder is deleted.
func TestRollbackTagDuringDeletes(t *testing.T) {
	e, err := artifactorytest.New(artifactorytest.WithAdminToken(testToken),
		artifactorytest.WithRepo(artifactorytest.Repo{Key: "docker-local", Type: "local", PackageType: "docker"}))
	if err != nil {
		t.Fatal(err)
	}
	now := e.Clock().Now()
	p := artifactorytest.NewPusher(e.Store(), "docker-local", 5)
	p.At = now.Add(-72 * time.Hour)
	dangling := map[string][]v1.Descriptor{}
	for i := range 40 {
		img := fmt.Sprintf("img%02d", i)
		if _, err := p.PushManifest(img, "latest", p.NewImage(100)); err != nil {
			t.Fatal(err)
		}
		for range 3 {
			d, err := p.PushManifest(img, "", p.NewImage(100))
			if err != nil {
				t.Fatal(err)
			}
			dangling[img] = append(dangling[img], d)
		}
	}
	var once sync.Once
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodDelete && strings.Contains(r.URL.Path, "/docker-local/img00/") {
			once.Do(func() {
				if _, err := p.PushIndex("img35", "rollback", "", dangling["img35"][0], dangling["img35"][2]); err != nil {
					t.Error(err)
				}
			})
		}
		e.ServeHTTP(w, r)
	}))
	t.Cleanup(hs.Close)

	report := filepath.Join(t.TempDir(), "report.json")
	res := runWith(t, fastCtx(fastRetries, 0), map[string]string{"JF_URL": hs.URL + "/artifactory/", "JF_ACCESS_TOKEN": testToken},
		"prune", "--repo", "docker-local", "--delete", "--concurrency", "1", "--report", report)
	if res.code != ExitOK {
		t.Fatalf("exit %d\n%s%s", res.code, res.stdout, res.stderr)
	}
	var left []string
	if err := e.Store().Walk("docker-local", "", func(it *artifactorytest.Item) bool {
		if it.Folder && strings.HasPrefix(it.Name, "sha256:") {
			left = append(left, it.FullPath())
		}
		return true
	}); err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, d := range dangling["img35"] {
		want = append(want, "img35/"+string(d.Digest))
	}
	slices.Sort(want)
	if !slices.Equal(left, want) {
		t.Errorf("digest folders left %v, want img35's %v", left, want)
	}
	rep := readReport(t, report)
	var changed []string
	deleted := 0
	for _, rr := range rep.Repositories {
		for _, img := range rr.Images {
			if len(img.ChangedFiles) > 0 {
				changed = append(changed, img.Image+": "+strings.Join(img.ChangedFiles, ","))
			}
		}
		for _, d := range rr.Deletions {
			if d.Outcome == "deleted" && !strings.HasPrefix(d.Path, "img35/") {
				deleted++
			}
		}
	}
	if want := []string{"img35: img35/rollback/list.manifest.json"}; !slices.Equal(changed, want) {
		t.Errorf("report: changed images %v, want %v", changed, want)
	}
	if deleted != 39*3 || rep.Totals.Kept.ChangedDuringRun != 3 {
		t.Errorf("report: %d deleted, %d kept as changed during the run; want 117 and 3", deleted, rep.Totals.Kept.ChangedDuringRun)
	}
}
