package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	v1 "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/artprune/artprune/artifactory/artifactorytest"
	"github.com/artprune/artprune/planfile"
	"github.com/artprune/artprune/prune"
)

// cliTagStory pushes, three days ago, app:pr-1 (an index of amd, shared and att, also pushed by digest, with a
// signature sig) and app:main (an index of arm2 and shared).
type cliTagStory struct {
	p                                      *artifactorytest.Pusher
	amd, shared, att, pr1, sig, arm2, main v1.Descriptor
}

func pushCLITagStory(t *testing.T, srv *artifactorytest.Server) *cliTagStory {
	t.Helper()
	p := artifactorytest.NewPusher(srv.Store(), "docker-local", 31)
	p.At = srv.Clock().Now().Add(-3 * 24 * time.Hour)
	must := func(d v1.Descriptor, err error) v1.Descriptor {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	ts := &cliTagStory{p: p}
	ts.amd = must(p.PushManifest("app", "", p.NewImage(1000)))
	ts.shared = must(p.PushManifest("app", "", p.NewImage(1000)))
	ts.att = must(p.PushManifest("app", "", p.NewAttestation()))
	ts.pr1 = must(p.PushIndex("app", "pr-1", "", ts.amd, ts.shared, ts.att))
	must(p.PushIndex("app", ts.pr1.Digest.String(), "", ts.amd, ts.shared, ts.att))
	ts.sig = must(p.PushManifest("app", "", p.NewReferrer("application/vnd.dev.cosign.artifact.sig.v1+json", ts.pr1)))
	ts.arm2 = must(p.PushManifest("app", "", p.NewImage(1000)))
	ts.main = must(p.PushIndex("app", "main", "", ts.arm2, ts.shared))
	return ts
}

func appFolder(d v1.Descriptor) string { return "app/sha256:" + d.Digest.Encoded() }

func appDigestFolders(t *testing.T, srv *artifactorytest.Server) []string {
	t.Helper()
	var out []string
	for _, f := range digestFolders(t, srv, "docker-local") {
		if strings.HasPrefix(f, "app/") {
			out = append(out, f)
		}
	}
	return out
}

// TestDeletePlanThenApply: artprune delete --out writes a plan of the tags and folders to delete; apply deletes
// the approved ones that are still to be deleted. A tag pushed since the plan that the glob would match is not
// approved: it is a root, so the child it shares stays, and it is not deleted.
func TestDeletePlanThenApply(t *testing.T) {
	srv, _ := newSeedServer(t)
	ts := pushCLITagStory(t, srv)
	dir := t.TempDir()
	planPath := filepath.Join(dir, "plan.json")
	before := allPaths(t, srv, "docker-local")
	res := runCLI(t, env(srv), "delete", "docker-local/app:pr-*", "--out", planPath, "-q")
	if res.code != ExitOK {
		t.Fatalf("delete --out: exit %d\n%s", res.code, res.stderr)
	}
	if got := allPaths(t, srv, "docker-local"); !slices.Equal(got, before) {
		t.Fatalf("writing the plan changed the repository")
	}
	pl, err := planfile.ReadFile(planPath)
	if err != nil {
		t.Fatal(err)
	}
	var repo planfile.Repo
	for _, r := range pl.Repositories {
		if r.Repo == "docker-local" {
			repo = r
		}
	}
	if !slices.Equal(pl.DeleteTags, []string{"docker-local/app:pr-*"}) || len(repo.Tags) != 1 || repo.Tags[0].Path != "app/pr-1" ||
		len(repo.Tags[0].Manifests) != 1 || repo.Tags[0].Manifests[0].SHA256 != ts.pr1.Digest.Encoded() {
		t.Fatalf("plan: delete_tags %q, tags %+v", pl.DeleteTags, repo.Tags)
	}
	var planned []string
	for _, f := range repo.Folders {
		planned = append(planned, f.Path)
	}
	slices.Sort(planned)
	want := []string{appFolder(ts.amd), appFolder(ts.att), appFolder(ts.pr1), appFolder(ts.sig)}
	slices.Sort(want)
	if !slices.Equal(planned, want) {
		t.Fatalf("plan folders %q, want %q", planned, want)
	}

	// Since the plan: pr-2 points at amd too.
	if _, err := ts.p.PushIndex("app", "pr-2", "", ts.amd); err != nil {
		t.Fatal(err)
	}
	// A plan of tag deletions is applied only when its tags are given again.
	res = runCLI(t, env(srv), "apply", planPath, "-o", "json")
	if res.code != ExitUsage || !strings.Contains(res.stderr, "--delete-tag 'docker-local/app:pr-*'") {
		t.Fatalf("apply without --delete-tag: exit %d\n%s", res.code, res.stderr)
	}
	if res := runCLI(t, env(srv), "apply", planPath, "--delete-tag", "docker-local/app:*"); res.code != ExitUsage {
		t.Fatalf("apply with another --delete-tag: exit %d\n%s", res.code, res.stderr)
	}
	if got := allPaths(t, srv, "docker-local"); len(got) == 0 || slices.Contains(got, "app/pr-1") == false {
		t.Fatalf("a refused apply changed the repository")
	}
	res = runCLI(t, env(srv), "apply", planPath, "--delete-tag", "docker-local/app:pr-*", "-o", "json")
	if res.code != ExitOK {
		t.Fatalf("apply: exit %d\n%s\n%s", res.code, res.stdout, res.stderr)
	}
	var rep prune.Report
	if err := json.Unmarshal([]byte(res.stdout), &rep); err != nil {
		t.Fatal(err)
	}
	rr := rep.Repositories[0]
	if len(rr.DeletedTags) != 1 || rr.DeletedTags[0].Path != "app/pr-1" || rr.DeletedTags[0].Outcome != string(prune.OutcomeDeleted) {
		t.Errorf("deleted_tags %+v, want app/pr-1 deleted", rr.DeletedTags)
	}
	keep := []string{appFolder(ts.amd), appFolder(ts.shared), appFolder(ts.arm2)}
	slices.Sort(keep)
	if got := appDigestFolders(t, srv); !slices.Equal(got, keep) {
		t.Errorf("app's digest folders after apply:\n  %q\nwant\n  %q", got, keep)
	}
	for _, tag := range []string{"app/pr-2/list.manifest.json", "app/main/list.manifest.json"} {
		if _, ok := srv.Store().Get("docker-local", tag); !ok {
			t.Errorf("%s was deleted", tag)
		}
	}
	if len(rr.NotApplied) != 1 || rr.NotApplied[0].Path != appFolder(ts.amd) {
		t.Errorf("not_applied %+v, want %s (kept now by pr-2)", rr.NotApplied, appFolder(ts.amd))
	}
}

// TestDeletePlanTagChanged: an approved tag that points elsewhere by the time of apply is not deleted, and neither
// is any digest folder of its image.
func TestDeletePlanTagChanged(t *testing.T) {
	srv, _ := newSeedServer(t)
	ts := pushCLITagStory(t, srv)
	planPath := filepath.Join(t.TempDir(), "plan.json")
	if res := runCLI(t, env(srv), "delete", "docker-local/app:pr-1", "--out", planPath, "-q"); res.code != ExitOK {
		t.Fatalf("delete --out: exit %d\n%s", res.code, res.stderr)
	}
	before := appDigestFolders(t, srv)
	// pr-1 is pushed again: now a single image.
	ts.p.At = srv.Clock().Now()
	if _, err := ts.p.PushManifest("app", "pr-1", ts.p.NewImage(500)); err != nil {
		t.Fatal(err)
	}
	res := runCLI(t, env(srv), "apply", planPath, "--delete-tag", "docker-local/app:pr-1", "-o", "json")
	var rep prune.Report
	if err := json.Unmarshal([]byte(res.stdout), &rep); err != nil {
		t.Fatalf("apply: exit %d, %v\n%s", res.code, err, res.stderr)
	}
	for _, f := range before {
		if !slices.Contains(appDigestFolders(t, srv), f) {
			t.Errorf("%s was deleted", f)
		}
	}
	if _, ok := srv.Store().Get("docker-local", "app/pr-1/manifest.json"); !ok {
		t.Errorf("the re-pushed pr-1 was deleted")
	}
	rr := rep.Repositories[0]
	found := false
	for _, na := range rr.NotApplied {
		found = found || na.Path == "app/pr-1"
	}
	if !found || len(rr.DeletedTags) != 0 {
		t.Errorf("not_applied %+v, deleted_tags %+v: want app/pr-1 not applied", rr.NotApplied, rr.DeletedTags)
	}
	if res := runCLI(t, env(srv), "delete", "docker-local/app:pr-1", "--out", planPath, "--delete"); res.code != ExitUsage {
		t.Errorf("--out with --delete: exit %d, want %d", res.code, ExitUsage)
	}
	_ = os.Remove(planPath)
}
