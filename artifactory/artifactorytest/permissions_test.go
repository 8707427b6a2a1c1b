package artifactorytest_test

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/artprune/artprune/artifactory/artifactorytest"
)

func TestParseUserExcludes(t *testing.T) {
	u, err := artifactorytest.ParseUser("team:tok:read,delete:docker-*:docker-local/app/latest,docker-local/app/sha256:*")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(u.Repos, []string{"docker-*"}) || !slices.Equal(u.Exclude, []string{"docker-local/app/latest", "docker-local/app/sha256:*"}) {
		t.Errorf("parsed %+v", u)
	}
	for _, bad := range []string{"team:tok:read::noslash", "team:tok:read::docker-local/[", "team:tok"} {
		if _, err := artifactorytest.ParseUser(bad); err == nil {
			t.Errorf("ParseUser(%q) accepted", bad)
		} else if strings.Contains(err.Error(), "tok") && !strings.Contains(bad, "[") {
			t.Errorf("ParseUser(%q) error shows the token: %v", bad, err)
		}
	}
}

// TestPathExcludes checks that excluded paths are hidden as Artifactory's permission targets hide them: left out of
// AQL results after the limit (short pages), of listings, and refused (403) to read and delete.
func TestPathExcludes(t *testing.T) {
	srv := newREST(t, artifactorytest.WithUser(artifactorytest.User{
		Name: "partial", Token: "partial-token",
		Perms:   []artifactorytest.Permission{artifactorytest.PermRead, artifactorytest.PermDelete},
		Exclude: []string{"files/a/hidden", "files/**/*.secret"},
	}))
	for _, p := range []string{"a/hidden/x.txt", "a/shown/y.txt", "a/z.secret", "b/c/w.secret", "b/v.txt"} {
		if _, err := srv.Store().PutFile(artifactorytest.FileSpec{Repo: "files", Path: p, Data: []byte(p)}); err != nil {
			t.Fatal(err)
		}
	}
	aql := func(tok, query string) []string {
		status, body, _ := call(t, srv, "POST", "/artifactory/api/search/aql", tok, []byte(query))
		if status != 200 {
			t.Fatalf("AQL %s: %d %s", query, status, body)
		}
		var ans struct {
			Results []struct{ Path, Name string } `json:"results"`
		}
		if err := json.Unmarshal([]byte(body), &ans); err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, r := range ans.Results {
			out = append(out, r.Path+"/"+r.Name)
		}
		return out
	}
	const all = `items.find({"repo":"files","type":"file"}).include("repo","path","name").sort({"$asc":["path","name"]})`
	if got, want := aql("partial-token", all), []string{"a/shown/y.txt", "b/v.txt"}; !slices.Equal(got, want) {
		t.Errorf("partial view %v, want %v", got, want)
	}
	if got := aql(restToken, all); len(got) != 5 {
		t.Errorf("admin sees %v, want all 5 files", got)
	}
	// The limit applies before the filter: the first two rows are hidden, so the page is empty.
	if got := aql("partial-token", all+`.limit(2)`); len(got) != 0 {
		t.Errorf("limit 2 gave %v, want an empty (filtered) page", got)
	}
	// So does the offset: position 2 onward holds a hidden row, then two visible ones.
	if got, want := aql("partial-token", all+`.offset(2)`), []string{"a/shown/y.txt", "b/v.txt"}; !slices.Equal(got, want) {
		t.Errorf("offset 2 gave %v, want %v", got, want)
	}

	for _, tc := range []struct {
		method, path string
		status       int
	}{
		{"GET", "/artifactory/files/a/hidden/x.txt", 403},
		{"GET", "/artifactory/files/a/z.secret", 403},
		{"GET", "/artifactory/api/storage/files/a/hidden", 403},
		{"GET", "/artifactory/files/a/shown/y.txt", 200},
		{"DELETE", "/artifactory/files/a/hidden", 403},
		{"DELETE", "/artifactory/files/b/c/w.secret", 403},
	} {
		if status, body, _ := call(t, srv, tc.method, tc.path, "partial-token", nil); status != tc.status {
			t.Errorf("%s %s: %d %s, want %d", tc.method, tc.path, status, body, tc.status)
		}
	}
	_, body, _ := call(t, srv, "GET", "/artifactory/api/storage/files/a", "partial-token", nil)
	if strings.Contains(body, "hidden") || strings.Contains(body, "z.secret") || !strings.Contains(body, "/shown") {
		t.Errorf("folder info shows hidden children:\n%s", body)
	}
	if _, ok := srv.Store().Get("files", "a/hidden/x.txt"); !ok {
		t.Errorf("a refused delete deleted")
	}
}

func TestLatencyClassesAndSlowFault(t *testing.T) {
	srv := newREST(t)
	if _, err := srv.Store().PutFile(artifactorytest.FileSpec{Repo: "files", Path: "f.txt", Data: []byte("x")}); err != nil {
		t.Fatal(err)
	}
	timed := func(method, path string) (int, time.Duration) {
		began := time.Now()
		status, _, _ := call(t, srv, method, path, restToken, nil)
		return status, time.Since(began)
	}
	srv.SetFaults(artifactorytest.FaultConfig{Latency: 300 * time.Millisecond, LatencyClasses: []artifactorytest.Class{artifactorytest.ClassDelete}})
	if _, d := timed("GET", "/artifactory/files/f.txt"); d > 250*time.Millisecond {
		t.Errorf("a download took %v with latency on deletes only", d)
	}
	if status, d := timed("DELETE", "/artifactory/files/nope"); status != 404 || d < 300*time.Millisecond {
		t.Errorf("a delete answered %d after %v, want 404 after the 300ms latency", status, d)
	}

	srv.SetFaults(artifactorytest.FaultConfig{Rate: 1, Kinds: []artifactorytest.Fault{artifactorytest.FaultSlow}, Slow: 200 * time.Millisecond})
	if status, d := timed("GET", "/artifactory/files/f.txt"); status != 200 || d < 200*time.Millisecond {
		t.Errorf("a slow answer: %d after %v, want 200 after 200ms", status, d)
	}

	// Set through the admin endpoint.
	status, body, _ := call(t, srv, "POST", "/_emulator/faults?latency=250ms&latency_classes=aql&rate=0", restToken, nil)
	if status != 204 {
		t.Fatalf("faults endpoint: %d %s", status, body)
	}
	if _, d := timed("GET", "/artifactory/files/f.txt"); d > 200*time.Millisecond {
		t.Errorf("a download took %v with latency on AQL only", d)
	}
	if status, body, _ := call(t, srv, "POST", "/_emulator/faults?kinds=slow&slow=-1s", restToken, nil); status != 400 {
		t.Errorf("a negative slow delay: %d %s", status, body)
	}
}
