package main

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/artprune/artprune/artifactory/artifactorytest"
	"github.com/artprune/artprune/prune"
)

// repoState describes every item of a repository: path, kind, checksum and properties, one line each.
func repoState(t *testing.T, srv *artifactorytest.Server, repo string) []string {
	t.Helper()
	var out []string
	if err := srv.Store().Walk(repo, "", func(it *artifactorytest.Item) bool {
		keys := slices.Sorted(maps.Keys(it.Props))
		var props []string
		for _, k := range keys {
			props = append(props, k+"="+strings.Join(it.Props[k], ","))
		}
		out = append(out, fmt.Sprintf("%s folder=%v sha256=%s props=%s", it.FullPath(), it.Folder, it.SHA256(), strings.Join(props, ";")))
		return true
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

// pruneWithReport deletes docker-local's dangling folders and returns the report file and what it deleted.
func pruneWithReport(t *testing.T, srv *artifactorytest.Server) (string, []string) {
	t.Helper()
	report := filepath.Join(t.TempDir(), "report.json")
	res := runCLI(t, env(srv), "prune", "--repo", "docker-local", "--delete", "--report", report)
	if res.code != ExitOK {
		t.Fatalf("prune --delete: exit %d\n%s", res.code, res.stderr)
	}
	items, err := os.ReadFile(report)
	if err != nil {
		t.Fatal(err)
	}
	deleted, err := prune.DeletedFolders(strings.NewReader(string(items)))
	if err != nil {
		t.Fatal(err)
	}
	var paths []string
	for _, d := range deleted {
		paths = append(paths, d.Path)
	}
	if len(paths) == 0 {
		t.Fatal("the seed story deleted nothing")
	}
	return report, paths
}

func TestRestoreUndoesARun(t *testing.T) {
	srv, _ := newSeedServer(t)
	before := repoState(t, srv, "docker-local")
	report, deleted := pruneWithReport(t, srv)

	dry := runCLI(t, env(srv), "restore", report, "--dry-run")
	if dry.code != ExitOK || !strings.Contains(dry.stdout, "DRY RUN") {
		t.Fatalf("restore --dry-run: exit %d\n%s\n%s", dry.code, dry.stdout, dry.stderr)
	}
	for _, p := range deleted {
		if !strings.Contains(dry.stdout, "would-restore  docker-local/"+p) {
			t.Errorf("the dry run does not name %s:\n%s", p, dry.stdout)
		}
	}
	if got := digestFolders(t, srv, "docker-local"); slices.ContainsFunc(deleted, func(p string) bool { return slices.Contains(got, p) }) {
		t.Fatalf("the dry run restored something")
	}

	res := runCLI(t, env(srv), "restore", report, "-o", "json")
	if res.code != ExitOK {
		t.Fatalf("restore: exit %d\n%s\n%s", res.code, res.stdout, res.stderr)
	}
	var rep prune.RestoreReport
	if err := json.Unmarshal([]byte(res.stdout), &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Counts[prune.RestoreRestored] != len(deleted) || len(rep.Folders) != len(deleted) {
		t.Errorf("restore report counts %v for %d folders", rep.Counts, len(deleted))
	}
	if after := repoState(t, srv, "docker-local"); !slices.Equal(after, before) {
		t.Errorf("after the restore the repository differs from before the run:\n got %q\nwant %q", after, before)
	}
	// Restoring the same report again: every path exists, and nothing is overwritten.
	again := runCLI(t, env(srv), "restore", report)
	if again.code != ExitFailure || strings.Count(again.stdout, "exists-again") != len(deleted) {
		t.Errorf("second restore: exit %d\n%s", again.code, again.stdout)
	}
	if after := repoState(t, srv, "docker-local"); !slices.Equal(after, before) {
		t.Errorf("the second restore changed the repository")
	}
}

func TestRestoreReportsWhatCannotComeBack(t *testing.T) {
	srv, _ := newSeedServer(t)
	report, deleted := pruneWithReport(t, srv)
	// One folder is pushed again (exists), one is purged from the Trash Can; the rest come back.
	exists, purged := deleted[0], deleted[1]
	if err := srv.Store().MkdirAll("docker-local", exists, "admin"); err != nil {
		t.Fatal(err)
	}
	if _, err := srv.Store().DeleteAs(artifactorytest.TrashRepo, "docker-local/"+purged, "admin"); err != nil {
		t.Fatal(err)
	}
	res := runCLI(t, env(srv), "restore", report)
	if res.code != ExitFailure {
		t.Fatalf("restore: exit %d, want 1\n%s", res.code, res.stdout)
	}
	for _, want := range []string{"exists-again   docker-local/" + exists + ": the path exists again",
		"not-in-trash   docker-local/" + purged + ": the Trash Can does not hold it"} {
		if !strings.Contains(res.stdout, want) {
			t.Errorf("output lacks %q:\n%s", want, res.stdout)
		}
	}
	got := digestFolders(t, srv, "docker-local")
	for _, p := range deleted[2:] {
		if !slices.Contains(got, p) {
			t.Errorf("%s not restored", p)
		}
	}
	if slices.Contains(got, purged) {
		t.Errorf("the purged folder came back")
	}
	if kids, _ := srv.Store().Children("docker-local", exists); len(kids) != 0 {
		t.Errorf("the folder that exists again was overwritten: %d children", len(kids))
	}
}

func TestRestoreRefusesBadInput(t *testing.T) {
	srv, _ := newSeedServer(t)
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	hostile := fmt.Sprintf(`{"schema_version":1,"dry_run":false,"repositories":[{"repo":"docker-local","deletions":[{"path":"app/latest","outcome":"deleted"},{"path":"../x/sha256:%s","outcome":"deleted"}]}]}`, strings.Repeat("a", 64))
	tests := []struct {
		name, file string
		code       int
		want       string
		extra      []string
	}{
		{"no argument", "", ExitUsage, "takes one argument", nil},
		{"missing file", filepath.Join(dir, "nope.json"), ExitUsage, "no such file", nil},
		{"not a report", write("plan.json", `{"kind":"artprune-plan"}`), ExitUsage, "not an artprune JSON report", nil},
		{"dry run report", write("dry.json", `{"schema_version":1,"dry_run":true,"repositories":[]}`), ExitUsage, "dry run", nil},
		{"future schema", write("v9.json", `{"schema_version":9,"dry_run":false,"repositories":[]}`), ExitUsage, "schema_version 9", nil},
		{"paths that are not digest folders", write("hostile.json", hostile), ExitFailure, "not a digest folder", []string{"--report-without-url"}},
		{"a report of another server", write("staging.json", `{"schema_version":2,"dry_run":false,"url":"https://staging.example.com/artifactory/","repositories":[]}`),
			ExitUsage, "the report is of a run against https://staging.example.com/artifactory/, not http://", nil},
		{"a report without a URL", write("old.json", `{"schema_version":2,"dry_run":false,"repositories":[]}`), ExitUsage, "--report-without-url", nil},
		{"another server's report even with --report-without-url", write("staging2.json", `{"schema_version":2,"dry_run":false,"url":"https://staging.example.com/artifactory/","repositories":[]}`),
			ExitUsage, "restore it through the same Artifactory", []string{"--report-without-url"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := []string{"restore"}
			if tt.file != "" {
				args = append(args, tt.file)
			}
			args = append(args, tt.extra...)
			res := runCLI(t, env(srv), args...)
			if res.code != tt.code || !strings.Contains(res.stdout+res.stderr, tt.want) {
				t.Errorf("exit %d (want %d), output lacks %q:\n%s\n%s", res.code, tt.code, tt.want, res.stdout, res.stderr)
			}
		})
	}
}

// TestRestoreUndoesADelete: artprune restore on the report of artprune delete brings back the deleted tags and
// the digest folders that went with them, and the repository holds exactly what it held: every path, checksum and
// property.
func TestRestoreUndoesADelete(t *testing.T) {
	srv, _ := newSeedServer(t)
	before := repoState(t, srv, "docker-local")
	report := filepath.Join(t.TempDir(), "report.json")
	del := runCLI(t, env(srv), "delete", "docker-local/my-image:latest", "--delete", "--report", report)
	if del.code != ExitOK {
		t.Fatalf("delete --delete: exit %d\n%s\n%s", del.code, del.stdout, del.stderr)
	}
	if _, ok := srv.Store().Get("docker-local", "my-image/latest/list.manifest.json"); ok {
		t.Fatal("the tag was not deleted")
	}
	items, err := os.ReadFile(report)
	if err != nil {
		t.Fatal(err)
	}
	deleted, err := prune.DeletedFolders(strings.NewReader(string(items)))
	if err != nil {
		t.Fatal(err)
	}
	if len(deleted) < 2 || !deleted[len(deleted)-1].Tag || deleted[len(deleted)-1].Path != "my-image/latest" || deleted[0].Tag {
		t.Fatalf("the report lists %+v, want digest folders first and the tag my-image/latest last", deleted)
	}
	res := runCLI(t, env(srv), "restore", report)
	if res.code != ExitOK {
		t.Fatalf("restore: exit %d\n%s\n%s", res.code, res.stdout, res.stderr)
	}
	if !strings.Contains(res.stdout, "restored       docker-local/my-image/latest") {
		t.Errorf("the restore does not name the tag:\n%s", res.stdout)
	}
	if after := repoState(t, srv, "docker-local"); !slices.Equal(after, before) {
		t.Errorf("after restore the repository differs:\n got %v\nwant %v", after, before)
	}
}

// TestRestoreAfterALostDeleteAnswer is finding 3 of review 11: a proxy lets the emulator delete a folder, then
// answers 502. The verified retry finds it gone: the first DELETE deleted it, so the report says deleted (not
// already-gone), the Trash Can's copy is marked as artprune's, and restore brings back every folder the run
// deleted, that one included.
func TestRestoreAfterALostDeleteAnswer(t *testing.T) {
	srv, _ := newSeedServer(t)
	before := repoState(t, srv, "docker-local")
	dry := runCLI(t, env(srv), "prune", "--repo", "docker-local", "-o", "json")
	var plan prune.Report
	if err := json.Unmarshal([]byte(dry.stdout), &plan); err != nil {
		t.Fatal(err)
	}
	var planned []string
	for _, d := range plan.Repositories[0].Deletions {
		planned = append(planned, d.Path)
	}
	slices.Sort(planned)
	if len(planned) < 2 {
		t.Fatalf("the seed story plans %d deletions", len(planned))
	}
	target := planned[len(planned)/2]
	var lost atomic.Bool
	hooked := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodDelete && strings.TrimSuffix(r.URL.Path, "/") == "/artifactory/docker-local/"+target && !lost.Swap(true) {
			srv.ServeHTTP(httptest.NewRecorder(), r) // Artifactory acts; its answer is lost
			http.Error(w, "upstream connect error", http.StatusBadGateway)
			return
		}
		srv.ServeHTTP(w, r)
	}))
	defer hooked.Close()
	hookedEnv := map[string]string{"JF_URL": hooked.URL + "/artifactory/", "JF_ACCESS_TOKEN": testToken}
	report := filepath.Join(t.TempDir(), "report.json")
	res := runCLI(t, hookedEnv, "prune", "--repo", "docker-local", "--delete", "--purge-trash-after", "7d", "--report", report)
	if res.code != ExitOK || !lost.Load() {
		t.Fatalf("prune --delete: exit %d, answer lost %v\n%s\n%s", res.code, lost.Load(), res.stdout, res.stderr)
	}
	b, err := os.ReadFile(report)
	if err != nil {
		t.Fatal(err)
	}
	var got prune.Report
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	var deleted []string
	for _, d := range got.Repositories[0].Deletions {
		if d.Outcome == string(prune.OutcomeDeleted) {
			deleted = append(deleted, d.Path)
		}
		if d.Path == target && !strings.Contains(d.Error, "answer was lost") {
			t.Errorf("%s: the deletion's note %q does not say how it was deleted", d.Path, d.Error)
		}
	}
	slices.Sort(deleted)
	if !slices.Equal(deleted, planned) {
		t.Errorf("deleted %q, want %q", deleted, planned)
	}
	if it, ok := srv.Store().Get(artifactorytest.TrashRepo, "docker-local/"+target); !ok || it.Props["artprune.trashed"] == nil {
		t.Errorf("the Trash Can's copy of %s is not marked as artprune's (in the Trash Can: %v)", target, ok)
	}
	if r := runCLI(t, hookedEnv, "restore", report); r.code != ExitOK || !strings.Contains(r.stdout, "restored       docker-local/"+target) {
		t.Fatalf("restore: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	if after := repoState(t, srv, "docker-local"); !slices.Equal(after, before) {
		t.Errorf("after the restore the repository differs from before the run:\n got %q\nwant %q", after, before)
	}
}

// TestRestoreChecksTheReportsServer is finding 6 of review 11: the report names the Artifactory the run used, and
// restore refuses it through another (see TestRestoreRefusesBadInput); a report without the URL (an older
// artprune's) restores only with --report-without-url, and then restores everything.
func TestRestoreChecksTheReportsServer(t *testing.T) {
	srv, _ := newSeedServer(t)
	before := repoState(t, srv, "docker-local")
	report, deleted := pruneWithReport(t, srv)
	b, err := os.ReadFile(report)
	if err != nil {
		t.Fatal(err)
	}
	var rep map[string]any
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatal(err)
	}
	url, _ := rep["url"].(string)
	if !strings.HasPrefix(url, "http://127.0.0.1:") || !strings.HasSuffix(url, "/artifactory/") {
		t.Fatalf("the report's url is %q", rep["url"])
	}
	delete(rep, "url")
	old, _ := json.Marshal(rep)
	oldReport := filepath.Join(t.TempDir(), "old.json")
	if err := os.WriteFile(oldReport, old, 0o600); err != nil {
		t.Fatal(err)
	}
	if res := runCLI(t, env(srv), "restore", oldReport); res.code != ExitUsage || !strings.Contains(res.stderr, "names no Artifactory URL") {
		t.Fatalf("restore of a report without url: exit %d\n%s\n%s", res.code, res.stdout, res.stderr)
	}
	if got := digestFolders(t, srv, "docker-local"); slices.ContainsFunc(deleted, func(p string) bool { return slices.Contains(got, p) }) {
		t.Fatal("a refused report restored something")
	}
	res := runCLI(t, env(srv), "restore", oldReport, "--report-without-url")
	if res.code != ExitOK || !strings.Contains(res.stderr, "names no Artifactory URL") {
		t.Fatalf("restore --report-without-url: exit %d\n%s\n%s", res.code, res.stdout, res.stderr)
	}
	if after := repoState(t, srv, "docker-local"); !slices.Equal(after, before) {
		t.Errorf("after the restore the repository differs from before the run:\n got %q\nwant %q", after, before)
	}
}
