package run_test

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/artprune/artprune/artifactory"
	"github.com/artprune/artprune/artifactory/artifactorytest"
	"github.com/artprune/artprune/planfile"
	"github.com/artprune/artprune/prune"
	"github.com/artprune/artprune/run"
)

// seeded starts an emulator holding the seed story in docker-local and returns a client of it.
func seeded(t *testing.T) (*artifactorytest.Server, *artifactorytest.Scenario, *artifactory.Client) {
	t.Helper()
	srv, err := artifactorytest.NewServer(artifactorytest.WithAdminToken("admin-token"),
		artifactorytest.WithRepo(artifactorytest.Repo{Key: "docker-local", Type: "local", PackageType: "docker"}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	sc, err := artifactorytest.SeedStory(srv.Store(), "docker-local", srv.Clock().Now())
	if err != nil {
		t.Fatal(err)
	}
	conn, err := artifactory.Connect(context.Background(), srv.ArtifactoryURL(), artifactory.WithAccessToken("admin-token"))
	if err != nil {
		t.Fatal(err)
	}
	return srv, sc, conn.Client
}

func deletedPaths(res *run.Result) []string {
	var out []string
	for _, a := range res.Applied {
		for _, d := range a.Deletions {
			if d.Outcome == prune.OutcomeDeleted {
				out = append(out, d.Path)
			}
		}
	}
	slices.Sort(out)
	return out
}

// TestPlanFileThenApprovedRun makes a plan file from a dry run and applies it: exactly the seed story's dangling
// folders are deleted, and a dry run before deleted nothing.
func TestPlanFileThenApprovedRun(t *testing.T) {
	ctx := context.Background()
	srv, sc, client := seeded(t)
	dry := run.Repositories(ctx, client, run.Options{Repositories: []string{"docker-local"}, Evidence: true})
	if dry.Err != nil || !dry.DryRun || len(dry.Applied) != 0 {
		t.Fatalf("dry run: err %v, dry %v, applied %d", dry.Err, dry.DryRun, len(dry.Applied))
	}
	if counts, _ := srv.Stats().Snapshot(); counts[string(artifactorytest.ClassDelete)] != 0 {
		n := counts[string(artifactorytest.ClassDelete)]
		t.Fatalf("the dry run sent %d deletes", n)
	}
	pl := dry.PlanFile("test")
	if err := pl.Validate(); err != nil {
		t.Fatal(err)
	}
	var planned []string
	for _, f := range pl.Repositories[0].Folders {
		planned = append(planned, f.Path)
	}
	want := slices.Sorted(slices.Values(sc.Dangling))
	if !slices.Equal(planned, want) {
		t.Fatalf("plan file folders\n%v\nwant\n%v", planned, want)
	}
	res := run.Repositories(ctx, client, run.OptionsFromPlan(pl))
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	if got := deletedPaths(res); !slices.Equal(got, want) {
		t.Errorf("deleted\n%v\nwant\n%v", got, want)
	}
	if run.Failed(prune.NewReportHead(res.DryRun, res.Plans, res.Applied, res.ReportOptions()...)) {
		t.Errorf("the approved run failed")
	}
}

// TestOptionsThatCannotRun checks that a run refuses, before any repository, options that cannot run.
func TestOptionsThatCannotRun(t *testing.T) {
	ctx := context.Background()
	_, _, client := seeded(t)
	prunePlan := &planfile.Plan{URL: client.BaseURL()}
	tagPlan := &planfile.Plan{URL: client.BaseURL(), DeleteTags: []string{"docker-local/my-image:1.0"}}
	for name, o := range map[string]run.Options{
		"bad image glob":            {Repositories: []string{"docker-local"}, ExcludeImages: []string{"/abs"}},
		"bad keep property":         {Repositories: []string{"docker-local"}, KeepProperty: "=x"},
		"plan of another URL":       {Delete: true, Approved: &planfile.Plan{URL: "https://elsewhere.example/artifactory/"}},
		"tag plan without its tags": {Delete: true, Approved: tagPlan},
		"prune plan with tags":      {Delete: true, Approved: prunePlan, Tags: map[string][]prune.TagPattern{}},
	} {
		res := run.Repositories(ctx, client, o)
		var oe *run.OptionsError
		if !errors.As(res.Err, &oe) || len(res.Plans) != 0 {
			t.Errorf("%s: err %v (want an *OptionsError), %d plans", name, res.Err, len(res.Plans))
		}
	}
}

func TestImageFilter(t *testing.T) {
	f, err := run.NewImageFilter([]string{"team/*", "tools/**"}, []string{"team/old", "tools/?x"})
	if err != nil {
		t.Fatal(err)
	}
	for image, want := range map[string]bool{
		"team/app": true, "team/old": false, "team/app/sub": false, "tools/a/b": true, "tools/ax": false,
		"tools/abx": true, "other": false,
	} {
		if got := f.Judges(image); got != want {
			t.Errorf("Judges(%q) = %v, want %v", image, got, want)
		}
	}
	if f, _ := run.NewImageFilter(nil, nil); !f.Judges("anything/at/all") {
		t.Errorf("an empty filter must judge every image")
	}
	for _, bad := range []string{"", "/team", "team/"} {
		if _, err := run.NewImageFilter(nil, []string{bad}); err == nil {
			t.Errorf("glob %q accepted", bad)
		}
	}
}
