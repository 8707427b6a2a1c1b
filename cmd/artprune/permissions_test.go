package main

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/artprune/artprune/artifactory/artifactorytest"
	"github.com/artprune/artprune/prune"
)

// TestFilteredViewFailsClosed runs artprune as a user who may read and delete in docker-local but may not see the tag
// my-image/latest, while its digest folders stay visible. Trusting that view would delete latest's live children.
// artprune must notice that its AQL view is filtered and delete nothing, in a dry run as with --delete.
func TestFilteredViewFailsClosed(t *testing.T) {
	partial := artifactorytest.User{
		Name: "team", Token: "team-token",
		Perms:   []artifactorytest.Permission{artifactorytest.PermRead, artifactorytest.PermDelete},
		Exclude: []string{"docker-local/my-image/latest"},
	}
	srv, sc := newSeedServer(t, artifactorytest.WithUser(partial))
	before := digestFolders(t, srv, "docker-local")

	// The view is dangerous: the tag is invisible, the folders it keeps are readable.
	get := func(path string) int {
		req, _ := http.NewRequest(http.MethodGet, srv.ArtifactoryURL()+path, nil)
		req.Header.Set("Authorization", "Bearer team-token")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	var live string
	for f, why := range sc.Live {
		if why == "tagged" && strings.HasPrefix(f, "my-image/") {
			live = f
		}
	}
	if get("docker-local/my-image/latest/list.manifest.json") != http.StatusForbidden || get("docker-local/"+live+"/manifest.json") != http.StatusOK {
		t.Fatalf("the emulator does not hide the tag but show its children")
	}

	e := map[string]string{"JF_URL": srv.ArtifactoryURL(), "JF_ACCESS_TOKEN": "team-token"}
	for _, pageSize := range []string{"2", "10000"} {
		dry := runCLI(t, e, "prune", "--repo", "docker-local", "--page-size", pageSize, "-o", "json")
		var rep prune.Report
		if err := json.Unmarshal([]byte(dry.stdout), &rep); err != nil {
			t.Fatalf("dry run: %v\n%s", err, dry.stderr)
		}
		if dry.code != ExitFailure || !strings.Contains(rep.Repositories[0].Error, "filtered by permissions") || len(rep.Repositories[0].Deletions) != 0 {
			t.Errorf("page size %s, dry run: exit %d, error %q, %d deletions; want exit 1 naming the filtered view, no deletion",
				pageSize, dry.code, rep.Repositories[0].Error, len(rep.Repositories[0].Deletions))
		}
		srv.Stats().Reset()
		del := runCLI(t, e, "prune", "--repo", "docker-local", "--page-size", pageSize, "--delete")
		if del.code != ExitFailure || !strings.Contains(del.stdout, "filtered by permissions") {
			t.Errorf("page size %s, --delete: exit %d\n%s", pageSize, del.code, del.stdout)
		}
		if counts, _ := srv.Stats().Snapshot(); counts["delete"] != 0 {
			t.Errorf("page size %s: %d DELETE requests from a filtered view", pageSize, counts["delete"])
		}
		if got := digestFolders(t, srv, "docker-local"); !slices.Equal(got, before) {
			t.Errorf("page size %s: folders were deleted from a filtered view", pageSize)
		}
	}
}
