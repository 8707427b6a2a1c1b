package main

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	v1 "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/artprune/artprune/artifactory/artifactorytest"
	"github.com/artprune/artprune/prune"
)

// TestDeleteCommand: artprune delete of a multi-arch tag frees its children, its attestation and its signature,
// keeps a child that another tag shares and that tag's signature; a dry run changes nothing; the seed story in
// the same repository is untouched (its dangling folders are prune's business).
func TestDeleteCommand(t *testing.T) {
	srv, _ := newSeedServer(t)
	p := artifactorytest.NewPusher(srv.Store(), "docker-local", 13)
	p.At = srv.Clock().Now().Add(-3 * 24 * time.Hour)
	must := func(d v1.Descriptor, err error) v1.Descriptor {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	amd := must(p.PushManifest("app", "", p.NewImage(1000)))
	shared := must(p.PushManifest("app", "", p.NewImage(1000)))
	att := must(p.PushManifest("app", "", p.NewAttestation()))
	pr1 := must(p.PushIndex("app", "pr-1", "", amd, shared, att))
	must(p.PushIndex("app", pr1.Digest.String(), "", amd, shared, att)) // the index by digest too, as buildx does
	sig := must(p.PushManifest("app", "", p.NewReferrer("application/vnd.dev.cosign.artifact.sig.v1+json", pr1)))
	arm2 := must(p.PushManifest("app", "", p.NewImage(1000)))
	main := must(p.PushIndex("app", "main", "", arm2, shared))
	must(p.PushIndex("app", main.Digest.String(), "", arm2, shared))
	sigMain := must(p.PushManifest("app", "", p.NewReferrer("application/vnd.dev.cosign.artifact.sig.v1+json", main)))
	folder := func(d v1.Descriptor) string { return "app/sha256:" + d.Digest.Encoded() }

	before := allPaths(t, srv, "docker-local")
	dry := runCLI(t, env(srv), "delete", "docker-local/app:pr-*", "-o", "json")
	if dry.code != ExitOK {
		t.Fatalf("dry run: exit %d\n%s", dry.code, dry.stderr)
	}
	if got := allPaths(t, srv, "docker-local"); !slices.Equal(got, before) {
		t.Fatalf("the dry run changed the repository")
	}
	var rep prune.Report
	if err := json.Unmarshal([]byte(dry.stdout), &rep); err != nil {
		t.Fatal(err)
	}
	rr := rep.Repositories[0]
	if len(rr.DeletedTags) != 1 || rr.DeletedTags[0].Path != "app/pr-1" || rr.DeletedTags[0].Outcome != string(prune.OutcomeWouldDelete) {
		t.Fatalf("deleted_tags %+v, want app/pr-1 would-delete", rr.DeletedTags)
	}
	var planned []string
	for _, d := range rr.Deletions {
		planned = append(planned, d.Path)
	}
	slices.Sort(planned)
	want := []string{folder(amd), folder(att), folder(pr1), folder(sig)}
	slices.Sort(want)
	if !slices.Equal(planned, want) {
		t.Fatalf("planned\n  %q\nwant\n  %q", planned, want)
	}

	del := runCLI(t, env(srv), "delete", "docker-local/app:pr-*", "--delete", "-q")
	if del.code != ExitOK {
		t.Fatalf("--delete: exit %d\n%s\n%s", del.code, del.stdout, del.stderr)
	}
	var remaining []string
	for _, f := range digestFolders(t, srv, "docker-local") {
		if strings.HasPrefix(f, "app/") {
			remaining = append(remaining, f)
		}
	}
	keep := []string{folder(shared), folder(arm2), folder(main), folder(sigMain)}
	slices.Sort(keep)
	if !slices.Equal(remaining, keep) {
		t.Fatalf("app's digest folders after --delete:\n  %q\nwant\n  %q", remaining, keep)
	}
	if _, ok := srv.Store().Get("docker-local", "app/pr-1"); ok {
		t.Errorf("tag folder app/pr-1 is still there")
	}
	if _, ok := srv.Store().Get("docker-local", "app/main/list.manifest.json"); !ok {
		t.Errorf("tag main was deleted")
	}
	var seedBefore, seedAfter []string
	for _, p := range before {
		if !strings.HasPrefix(p, "app") {
			seedBefore = append(seedBefore, p)
		}
	}
	for _, p := range allPaths(t, srv, "docker-local") {
		if !strings.HasPrefix(p, "app") {
			seedAfter = append(seedAfter, p)
		}
	}
	if !slices.Equal(seedBefore, seedAfter) {
		t.Errorf("the other images changed")
	}
}

func TestDeleteCommandUsage(t *testing.T) {
	srv, _ := newSeedServer(t)
	for _, args := range [][]string{
		{"delete"},
		{"delete", "docker-local/app"},
		{"delete", "docker-local/app@sha256:" + strings.Repeat("a", 64)},
		{"delete", "docker-local/app:v1", "--min-age", "0"},
	} {
		if res := runCLI(t, env(srv), args...); res.code != ExitUsage {
			t.Errorf("%q: exit %d, want %d\n%s", args, res.code, ExitUsage, res.stderr)
		}
	}
	// A tag that does not exist: nothing to do, and a warning.
	res := runCLI(t, env(srv), "delete", "docker-local/my-image:nope", "--delete")
	if res.code != ExitOK || !strings.Contains(res.stderr, "no tag matches") {
		t.Errorf("missing tag: exit %d\n%s", res.code, res.stderr)
	}
}
