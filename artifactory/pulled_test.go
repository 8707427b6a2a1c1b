package artifactory_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/artprune/artprune/artifactory"
	"github.com/artprune/artprune/artifactory/artifactorytest"
	"github.com/artprune/artprune/prune"
)

// pulledFixture seeds the story and records downloads: one local and one remote within the last week, one local
// 20 days ago. It returns the manifest files downloaded within the week.
func pulledFixture(t *testing.T, srv *artifactorytest.Server) (sc *artifactorytest.Scenario, recent []string) {
	t.Helper()
	sc, err := artifactorytest.SeedStory(srv.Store(), "docker-local", srv.Clock().Now())
	if err != nil {
		t.Fatal(err)
	}
	dangling := slices.Sorted(slices.Values(sc.Dangling))
	file := func(folder string) string {
		for _, n := range []string{"list.manifest.json", "manifest.json"} {
			if _, ok := srv.Store().Get("docker-local", folder+"/"+n); ok {
				return folder + "/" + n
			}
		}
		t.Fatalf("no manifest file in %s", folder)
		return ""
	}
	now, day := srv.Clock().Now(), 24*time.Hour
	local, remote, old := file(dangling[0]), file(dangling[1]), file(dangling[2])
	if err := srv.Store().RecordDownload("docker-local", local, "kubelet", now.Add(-2*day)); err != nil {
		t.Fatal(err)
	}
	if err := srv.Store().RecordRemoteDownload("docker-local", remote, "edge-eu", "docker-local/"+remote, "kubelet", 3, now.Add(-6*day)); err != nil {
		t.Fatal(err)
	}
	if err := srv.Store().RecordDownload("docker-local", old, "kubelet", now.Add(-20*day)); err != nil {
		t.Fatal(err)
	}
	return sc, slices.Sorted(slices.Values([]string{local, remote}))
}

func TestPulledManifests(t *testing.T) {
	for _, ed := range artifactorytest.Editions { // jcr and oss list without AQL sort
		t.Run(string(ed), func(t *testing.T) {
			srv := newServer(t, artifactorytest.WithEdition(ed))
			_, want := pulledFixture(t, srv)
			since := srv.Clock().Now().Add(-7 * 24 * time.Hour)
			for _, size := range []int{1, 2, 10000} {
				got, err := newClient(t, srv, artifactory.WithPageSize(size)).PulledManifests(context.Background(), "docker-local", since)
				if err != nil {
					t.Fatalf("page size %d: %v", size, err)
				}
				if keys := slices.Sorted(maps.Keys(got)); !slices.Equal(keys, want) {
					t.Errorf("page size %d: pulled %q, want %q", size, keys, want)
				}
			}
		})
	}
}

// TestPulledManifestsFilteredView: a user who cannot see a pulled manifest gets an error, never a shorter answer
// (the folder would look unpulled).
func TestPulledManifestsFilteredView(t *testing.T) {
	srv := newServer(t) // the seed story is deterministic: find the folder to hide here
	_, recent := pulledFixture(t, srv)
	folder := recent[0][:strings.LastIndexByte(recent[0], '/')]
	srv2 := newServer(t, artifactorytest.WithUser(artifactorytest.User{Name: "limited", Token: "limited-token",
		Perms: []artifactorytest.Permission{artifactorytest.PermRead}, Exclude: []string{"docker-local/" + folder}}))
	sc2, _ := pulledFixture(t, srv2)
	// A second local download, visible, so that the probe has a row to count. (A user who sees no row of a
	// statistics query at all is caught by the inventory's own check, since the inventory lists the same files.)
	for _, f := range sc2.Dangling {
		if f != folder && !strings.HasPrefix(recent[1], f+"/") {
			if _, ok := srv2.Store().Get("docker-local", f+"/manifest.json"); ok {
				if err := srv2.Store().RecordDownload("docker-local", f+"/manifest.json", "kubelet", time.Time{}); err != nil {
					t.Fatal(err)
				}
				break
			}
		}
	}
	c, err := artifactory.New(srv2.ArtifactoryURL(), artifactory.WithAccessToken("limited-token"), artifactory.WithBackoff(fastBackoff), artifactory.WithPageSize(1))
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.PulledManifests(context.Background(), "docker-local", srv2.Clock().Now().Add(-7*24*time.Hour))
	if !errors.Is(err, prune.ErrIncomplete) {
		t.Fatalf("hidden pulled manifest: err = %v, want ErrIncomplete", err)
	}
	// And the whole run fails closed for this user.
	planner, err := prune.NewPlanner(artifactory.PulledSource{Source: c, Client: c, Within: 7 * 24 * time.Hour}, prune.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if plan, err := planner.Plan(context.Background(), "docker-local"); !errors.Is(err, prune.ErrIncomplete) || plan.DeletionCount() != 0 {
		t.Fatalf("plan for a user with a filtered view: err = %v, deletions %d", err, plan.DeletionCount())
	}
}

// TestPulledSourceFailsClosed: when the statistics query is refused (a server that rejects stat criteria), the
// inventory fails, and so the repository: nothing is planned for deletion.
func TestPulledSourceFailsClosed(t *testing.T) {
	srv := newServer(t)
	pulledFixture(t, srv)
	refuse := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if strings.Contains(string(body), "stat.") {
			w.WriteHeader(http.StatusBadRequest)
			_, _ = io.WriteString(w, "Failed to parse query")
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		srv.Emulator.ServeHTTP(w, r)
	}))
	t.Cleanup(refuse.Close)
	c, err := artifactory.New(refuse.URL+"/artifactory/", artifactory.WithAccessToken(token), artifactory.WithBackoff(fastBackoff))
	if err != nil {
		t.Fatal(err)
	}
	src := artifactory.PulledSource{Source: c, Client: c, Within: 7 * 24 * time.Hour}
	planner, err := prune.NewPlanner(src, prune.Options{})
	if err != nil {
		t.Fatal(err)
	}
	plan, err := planner.Plan(context.Background(), "docker-local")
	if err == nil || plan.Err == nil || plan.DeletionCount() != 0 || !strings.Contains(err.Error(), "stat.downloaded") {
		t.Fatalf("plan with a refused statistics query: err = %v, deletions %d", err, plan.DeletionCount())
	}
	// Without the window the same server plans deletions: the refusal is what stopped them.
	off, err := prune.NewPlanner(artifactory.PulledSource{Source: c, Client: c}, prune.Options{})
	if err != nil {
		t.Fatal(err)
	}
	plan, err = off.Plan(context.Background(), "docker-local")
	if err != nil || plan.DeletionCount() == 0 {
		t.Fatalf("plan without the window: err = %v, deletions %d", err, plan.DeletionCount())
	}
}
