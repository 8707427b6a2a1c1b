package artifactorytest_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/artprune/artprune/artifactory/artifactorytest"
)

const restToken = "rest-test-token"

func newREST(t *testing.T, opts ...artifactorytest.Option) *artifactorytest.Server {
	t.Helper()
	opts = append([]artifactorytest.Option{
		artifactorytest.WithAdminToken(restToken),
		artifactorytest.WithRepo(artifactorytest.Repo{Key: "docker-local", Type: "local", PackageType: "docker"}),
		artifactorytest.WithRepo(artifactorytest.Repo{Key: "docker-remote", Type: "remote", PackageType: "docker"}),
		artifactorytest.WithRepo(artifactorytest.Repo{Key: "files", Type: "local", PackageType: "generic"}),
		artifactorytest.WithUser(artifactorytest.User{Name: "reader", Token: "reader-token", Perms: []artifactorytest.Permission{artifactorytest.PermRead}}),
		artifactorytest.WithUser(artifactorytest.User{Name: "deployer", Token: "deployer-token", Perms: []artifactorytest.Permission{artifactorytest.PermRead, artifactorytest.PermDeploy}}),
		artifactorytest.WithUser(artifactorytest.User{Name: "filesonly", Token: "files-token", Perms: []artifactorytest.Permission{artifactorytest.PermRead}, Repos: []string{"files"}}),
	}, opts...)
	srv, err := artifactorytest.NewServer(opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	return srv
}

// call sends one request with a bearer token ("" for none) and returns the status and body.
func call(t *testing.T, srv *artifactorytest.Server, method, path, tok string, body []byte) (int, string, http.Header) {
	t.Helper()
	req, err := http.NewRequest(method, srv.URL+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header
}

func TestRESTStatusesAndMessages(t *testing.T) {
	srv := newREST(t)
	tests := []struct {
		name, method, path, token string
		body                      string
		status                    int
		contains                  string
	}{
		{"ping is anonymous", "GET", "/artifactory/api/system/ping", "", "", 200, "OK"},
		{"anonymous is refused", "GET", "/artifactory/api/system/version", "", "", 401, "Authentication is required"},
		{"bad token", "GET", "/artifactory/api/system/version", "nope", "", 401, "Bad credentials"},
		{"version", "GET", "/artifactory/api/system/version", restToken, "", 200, `"version": "` + artifactorytest.Version},
		{"deploy", "PUT", "/artifactory/files/a/b/c.txt;team=x", restToken, "hello", 201, `"sha256": "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"`},
		{"download", "GET", "/artifactory/files/a/b/c.txt", restToken, "", 200, "hello"},
		{"reader downloads", "GET", "/artifactory/files/a/b/c.txt", "reader-token", "", 200, "hello"},
		{"missing file", "GET", "/artifactory/files/a/nope.txt", restToken, "", 404, "File not found."},
		{"reader cannot deploy", "PUT", "/artifactory/files/x.txt", "reader-token", "x", 403, "needs DEPLOY permission"},
		{"deploy to a remote repository", "PUT", "/artifactory/docker-remote/x.txt", restToken, "x", 400, "remote repository"},
		{"storage file info", "GET", "/artifactory/api/storage/files/a/b/c.txt", restToken, "", 200, `"size": "5"`},
		{"storage folder info", "GET", "/artifactory/api/storage/files/a/b", restToken, "", 200, `"uri": "/c.txt"`},
		{"storage properties", "GET", "/artifactory/api/storage/files/a/b/c.txt?properties", restToken, "", 200, `"team"`},
		{"storage missing", "GET", "/artifactory/api/storage/files/zzz", restToken, "", 404, "Unable to find item"},
		{"reader cannot delete", "DELETE", "/artifactory/files/a", "reader-token", "", 403, "Not enough permissions to delete/overwrite artifact 'files:a' (user: 'reader' needs DELETE permission)."},
		{"deployer cannot delete", "DELETE", "/artifactory/files/a", "deployer-token", "", 403, "needs DELETE permission"},
		{"delete a folder recursively", "DELETE", "/artifactory/files/a", restToken, "", 204, ""},
		{"deleted for good", "GET", "/artifactory/files/a/b/c.txt", restToken, "", 404, "File not found."},
		{"delete what is gone", "DELETE", "/artifactory/files/a", restToken, "", 404, "Could not locate artifact 'files:a' (Nothing to delete)."},
		{"dot-dot is refused", "GET", "/artifactory/files/a/../../etc/passwd", restToken, "", 400, "invalid path"},
		{"repository config", "GET", "/artifactory/api/repositories/docker-local", restToken, "", 200, `"dockerApiVersion": "V2"`},
		{"unknown repository config", "GET", "/artifactory/api/repositories/nope", restToken, "", 400, "Bad Request"},
		{"hidden repository", "GET", "/artifactory/api/repositories/docker-local", "files-token", "", 400, "Bad Request"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body, _ := call(t, srv, tt.method, tt.path, tt.token, []byte(tt.body))
			if status != tt.status || !strings.Contains(body, tt.contains) {
				t.Errorf("%s %s: %d %s\nwant %d containing %q", tt.method, tt.path, status, body, tt.status, tt.contains)
			}
		})
	}
}

func TestRepositoryListFilters(t *testing.T) {
	srv := newREST(t)
	keys := func(path, tok string) []string {
		t.Helper()
		status, body, _ := call(t, srv, "GET", path, tok, nil)
		if status != 200 {
			t.Fatalf("%s: %d %s", path, status, body)
		}
		var list []struct{ Key, Type, PackageType string }
		if err := json.Unmarshal([]byte(body), &list); err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, r := range list {
			out = append(out, r.Key+":"+r.Type+":"+r.PackageType)
		}
		return out
	}
	if got := keys("/artifactory/api/repositories", restToken); !slices.Equal(got, []string{"docker-local:LOCAL:Docker", "docker-remote:REMOTE:Docker", "files:LOCAL:Generic"}) {
		t.Errorf("all: %v", got)
	}
	if got := keys("/artifactory/api/repositories?type=LOCAL&packageType=docker", restToken); !slices.Equal(got, []string{"docker-local:LOCAL:Docker"}) {
		t.Errorf("local docker: %v", got)
	}
	if got := keys("/artifactory/api/repositories", "files-token"); !slices.Equal(got, []string{"files:LOCAL:Generic"}) {
		t.Errorf("a user limited to files sees %v", got)
	}
}

func TestDedupAndDeleteKeepSharedBlobs(t *testing.T) {
	srv := newREST(t)
	for _, p := range []string{"/artifactory/files/one/blob", "/artifactory/files/two/blob"} {
		if status, body, _ := call(t, srv, "PUT", p, restToken, []byte("same bytes")); status != 201 {
			t.Fatalf("PUT %s: %d %s", p, status, body)
		}
	}
	// Overwriting a file with itself keeps its content (it is the same binary).
	if status, _, _ := call(t, srv, "PUT", "/artifactory/files/one/blob", restToken, []byte("same bytes")); status != 201 {
		t.Fatal("overwrite failed")
	}
	sum := artifactorytest.ChecksumsOf([]byte("same bytes")).SHA256
	if !srv.Store().HasBlob(sum) {
		t.Fatalf("the content store lost the blob after an overwrite")
	}
	call(t, srv, "DELETE", "/artifactory/files/one", restToken, nil)
	if status, body, _ := call(t, srv, "GET", "/artifactory/files/two/blob", restToken, nil); status != 200 || body != "same bytes" {
		t.Errorf("the other holder of the blob: %d %q", status, body)
	}
	call(t, srv, "DELETE", "/artifactory/files/two", restToken, nil)
	// Both deleted files sit in the Trash Can, which holds the binary until it is emptied.
	if !srv.Store().HasBlob(sum) {
		t.Errorf("the blob was freed while the Trash Can holds it")
	}
	if status, body, _ := call(t, srv, "POST", "/artifactory/api/trash/empty", restToken, nil); status != 202 {
		t.Fatalf("empty the Trash Can: %d %s", status, body)
	}
	if srv.Store().HasBlob(sum) {
		t.Errorf("the blob outlived its last holder")
	}
}

func TestClockAdminAndDateHeader(t *testing.T) {
	start := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	srv := newREST(t, artifactorytest.WithClock(start, nil))
	_, _, h := call(t, srv, "GET", "/artifactory/api/system/ping", "", nil)
	date, err := http.ParseTime(h.Get("Date"))
	if err != nil || date.Sub(start) > 5*time.Second || date.Before(start.Add(-time.Second)) {
		t.Fatalf("Date %q, want about %v", h.Get("Date"), start)
	}
	if status, _, _ := call(t, srv, "POST", "/_emulator/clock?advance=48h", "reader-token", nil); status != 401 {
		t.Errorf("a non-admin moved the clock: %d", status)
	}
	if status, body, _ := call(t, srv, "POST", "/_emulator/clock?advance=2d", restToken, nil); status != 200 {
		t.Fatalf("advance: %d %s", status, body)
	}
	if d := srv.Clock().Now().Sub(start); d < 48*time.Hour || d > 48*time.Hour+10*time.Second {
		t.Errorf("clock moved by %v, want 48h", d)
	}
	if status, _, _ := call(t, srv, "POST", "/_emulator/clock?advance=-1h", restToken, nil); status != 400 {
		t.Errorf("a negative advance was accepted")
	}
	// Files deployed now carry the emulator's time.
	call(t, srv, "PUT", "/artifactory/files/stamp.txt", restToken, []byte("x"))
	it, _ := srv.Store().Get("files", "stamp.txt")
	if it.Created.Sub(start) < 48*time.Hour {
		t.Errorf("created %v does not follow the emulator's clock", it.Created)
	}
}

func TestFaultsStatsAndAdmin(t *testing.T) {
	srv := newREST(t, artifactorytest.WithSeed(3))
	call(t, srv, "POST", "/_emulator/stats/reset", restToken, nil)
	if status, body, _ := call(t, srv, "POST", "/_emulator/faults?rate=1&classes=download&kinds=503", restToken, nil); status != 204 {
		t.Fatalf("faults: %d %s", status, body)
	}
	status, _, h := call(t, srv, "GET", "/artifactory/files/x", restToken, nil)
	if status != 503 || h.Get("Retry-After") == "" {
		t.Errorf("download under 503 faults: %d Retry-After=%q", status, h.Get("Retry-After"))
	}
	if status, _, _ := call(t, srv, "GET", "/artifactory/api/system/version", restToken, nil); status != 200 {
		t.Errorf("another class was faulted: %d", status)
	}
	call(t, srv, "POST", "/_emulator/faults?rate=1&classes=aql&kinds=429", restToken, nil)
	if status, _, h := call(t, srv, "POST", "/artifactory/api/search/aql", restToken, []byte(`items.find()`)); status != 429 || h.Get("Retry-After") != "1" {
		t.Errorf("aql under 429 faults: %d Retry-After=%q", status, h.Get("Retry-After"))
	}
	call(t, srv, "POST", "/_emulator/faults?rate=0&latency=30ms", restToken, nil)
	began := time.Now()
	if status, _, _ := call(t, srv, "GET", "/artifactory/api/system/ping", "", nil); status != 200 || time.Since(began) < 30*time.Millisecond {
		t.Errorf("latency not applied")
	}
	status, body, _ := call(t, srv, "GET", "/_emulator/stats", restToken, nil)
	var stats struct {
		Requests map[string]int64
		Total    int64
	}
	if err := json.Unmarshal([]byte(body), &stats); status != 200 || err != nil {
		t.Fatalf("stats: %d %s", status, body)
	}
	want := map[string]int64{"aql": 1, "download": 1, "delete": 0, "docker": 0, "other": 2}
	for k, v := range want {
		if stats.Requests[k] != v {
			t.Errorf("stats[%s] = %d, want %d (all: %v)", k, stats.Requests[k], v, stats.Requests)
		}
	}
	if stats.Total != 4 {
		t.Errorf("total %d, want 4", stats.Total)
	}
	for _, bad := range []string{"rate=2", "latency=-1s", "classes=nope", "kinds=418"} {
		if status, _, _ := call(t, srv, "POST", "/_emulator/faults?"+bad, restToken, nil); status != 400 {
			t.Errorf("faults?%s accepted", bad)
		}
	}
}

func TestSnapshotRoundTrip(t *testing.T) {
	srv := newREST(t)
	if _, err := artifactorytest.SeedStory(srv.Store(), "docker-local", srv.Clock().Now()); err != nil {
		t.Fatal(err)
	}
	status, body, _ := call(t, srv, "GET", "/_emulator/snapshot", restToken, nil)
	if status != 200 {
		t.Fatalf("snapshot: %d", status)
	}
	f, err := artifactorytest.DecodeFixture(strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	copySrv, err := artifactorytest.NewServer(artifactorytest.WithAdminToken(restToken), artifactorytest.WithFixture(f))
	if err != nil {
		t.Fatal(err)
	}
	defer copySrv.Close()
	_, again, _ := call(t, &artifactorytest.Server{URL: copySrv.URL}, "GET", "/_emulator/snapshot", restToken, nil)
	g, err := artifactorytest.DecodeFixture(strings.NewReader(again))
	if err != nil {
		t.Fatal(err)
	}
	if len(g.Items) != len(f.Items) {
		t.Fatalf("reloaded snapshot has %d items, want %d", len(g.Items), len(f.Items))
	}
	index := map[string]artifactorytest.FixtureItem{}
	for _, it := range f.Items {
		index[it.Repo+"/"+it.Path+"/"+it.Name] = it
	}
	for _, it := range g.Items {
		orig, ok := index[it.Repo+"/"+it.Path+"/"+it.Name]
		if !ok || !orig.Created.Equal(it.Created) || orig.SHA256 != it.SHA256 || orig.Size != it.Size || !bytes.Equal(orig.Content, it.Content) {
			t.Errorf("%s/%s/%s changed in the round trip", it.Repo, it.Path, it.Name)
		}
	}
	if _, err := artifactorytest.DecodeFixture(strings.NewReader(`{"repositories":[],"items":[],"typo":1}`)); err == nil {
		t.Errorf("a fixture with an unknown field was accepted")
	}
}

func TestGenerateIsDeterministicAndSized(t *testing.T) {
	spec, err := artifactorytest.ParseGenerateSpec("images=3,tags=2,generations=3,platforms=2,attestations=1,referrers=0.5")
	if err != nil {
		t.Fatal(err)
	}
	run := func() ([]string, artifactorytest.GenerateStats) {
		srv := newREST(t)
		now := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
		stats, err := artifactorytest.Generate(srv.Store(), "docker-local", spec, 42, now)
		if err != nil {
			t.Fatal(err)
		}
		var paths []string
		_ = srv.Store().Walk("docker-local", "", func(it *artifactorytest.Item) bool {
			paths = append(paths, it.FullPath()+"@"+it.SHA256()+"@"+it.Created.Format(time.RFC3339Nano))
			if !it.Folder && (it.Created.After(now) || it.Created.Before(now.Add(-91*24*time.Hour))) {
				t.Errorf("%s created %v, outside the 90 days before %v", it.FullPath(), it.Created, now)
			}
			return true
		})
		return paths, stats
	}
	a, stats := run()
	b, _ := run()
	if !slices.Equal(a, b) {
		t.Errorf("two generations with one seed differ")
	}
	if want := spec.ManifestFolders() + stats.Referrers; stats.DigestFolders != want {
		t.Errorf("digest folders %d, want %d", stats.DigestFolders, want)
	}
	if stats.Tags != 3*2 || stats.Indexes != 6 {
		t.Errorf("tags %d indexes %d, want 6 and 6", stats.Tags, stats.Indexes)
	}
	for _, bad := range []string{"images=x", "colors=2", "referrers=2", "platforms=0"} {
		if _, err := artifactorytest.ParseGenerateSpec(bad); err == nil {
			t.Errorf("ParseGenerateSpec(%q) accepted", bad)
		}
	}
}

func TestAQLThroughHTTP(t *testing.T) {
	srv := newREST(t, artifactorytest.WithAQLMaxResults(3))
	for _, p := range []string{"a/1.txt", "a/2.txt", "b/3.txt", "b/4.txt"} {
		call(t, srv, "PUT", "/artifactory/files/"+p, restToken, []byte(p))
	}
	call(t, srv, "PUT", "/artifactory/docker-local/x/y.txt", restToken, []byte("y"))
	status, body, h := call(t, srv, "POST", "/artifactory/api/search/aql", restToken,
		[]byte(`items.find({"repo":"files","path":{"$match":"a*"}}).include("repo","path","name").sort({"$asc":["name"]})`))
	if status != 200 || h.Get("Content-Type") != "application/json" || !strings.Contains(body, `"name":"2.txt"`) || strings.Contains(body, "3.txt") {
		t.Errorf("AQL: %d %s", status, body)
	}
	// Past the hard limit, the answer is trimmed and says so.
	_, body, _ = call(t, srv, "POST", "/artifactory/api/search/aql", restToken, []byte(`items.find({"repo":"files"})`))
	if !strings.Contains(body, `"notification"`) {
		t.Errorf("4 results over a limit of 3 were not trimmed: %s", body)
	}
	// Errors are plain text.
	status, body, _ = call(t, srv, "POST", "/artifactory/api/search/aql", restToken, []byte(`items.find({"modified":{"$before":"2hours"}})`))
	if status != 400 || strings.HasPrefix(body, "{") || !strings.Contains(body, "hours") {
		t.Errorf("unknown unit: %d %s", status, body)
	}
	// A user limited to one repository gets the other repository's rows filtered after the limit.
	_, body, _ = call(t, srv, "POST", "/artifactory/api/search/aql", "files-token",
		[]byte(`items.find({"name":{"$match":"*"}}).include("repo","path","name").sort({"$asc":["repo","path","name"]}).limit(3)`))
	if strings.Contains(body, "docker-local") || !strings.Contains(body, `"a/1.txt"`) && !strings.Contains(body, `"1.txt"`) {
		t.Errorf("filtered AQL: %s", body)
	}
	// Non-admin users must include repo, path and name.
	status, _, _ = call(t, srv, "POST", "/artifactory/api/search/aql", "reader-token", []byte(`items.find({"repo":"files"}).include("name")`))
	if status != 400 {
		t.Errorf("a non-admin query without repo and path answered %d", status)
	}
}
