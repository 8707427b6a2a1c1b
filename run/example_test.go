package run_test

import (
	"context"
	"fmt"
	"log"
	"slices"

	"github.com/artprune/artprune/artifactory"
	"github.com/artprune/artprune/artifactory/artifactorytest"
	"github.com/artprune/artprune/prune"
	"github.com/artprune/artprune/run"
)

// Example embeds artprune in a Go program: against the in-process Artifactory emulator holding the seed story
// (the situation of skopeo#2497), a dry run says what would go, then a run with Delete deletes it.
func Example() {
	ctx := context.Background()
	srv, err := artifactorytest.NewServer(
		artifactorytest.WithAdminToken("admin-token"),
		artifactorytest.WithRepo(artifactorytest.Repo{Key: "docker-local", Type: "local", PackageType: "docker"}))
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Close()
	if _, err := artifactorytest.SeedStory(srv.Store(), "docker-local", srv.Clock().Now()); err != nil {
		log.Fatal(err)
	}

	// The embedding program connects with its own credentials and settings.
	conn, err := artifactory.Connect(ctx, srv.ArtifactoryURL(), artifactory.WithAccessToken("admin-token"))
	if err != nil {
		log.Fatal(err)
	}
	opts := run.Options{Repositories: []string{"docker-local"}, KeepProperty: run.DefaultKeepProperty}

	dry := run.Repositories(ctx, conn.Client, opts)
	if dry.Err != nil {
		log.Fatal(dry.Err)
	}
	for _, plan := range dry.Plans {
		fmt.Printf("dry run: %s: %d of %d digest folders would be deleted\n", plan.Repo, plan.DeletionCount(), countFolders(plan))
	}

	opts.Delete = true
	res := run.Repositories(ctx, conn.Client, opts)
	if res.Err != nil {
		log.Fatal(res.Err)
	}
	for _, applied := range res.Applied {
		var deleted []string
		for _, d := range applied.Deletions {
			if d.Outcome == prune.OutcomeDeleted {
				deleted = append(deleted, d.Path)
			}
		}
		slices.Sort(deleted)
		for _, path := range deleted {
			fmt.Printf("deleted: %s/%s\n", applied.Repo, path)
		}
	}
	head := prune.NewReportHead(res.DryRun, res.Plans, res.Applied, res.ReportOptions()...)
	fmt.Println("failures:", run.Failed(head))
	// Output:
	// dry run: docker-local: 5 of 16 digest folders would be deleted
	// deleted: docker-local/my-image/sha256:04759c80573453c1eb7f03f60d3b361f06dc9bb91ccba8d8bc136771571f2f46
	// deleted: docker-local/my-image/sha256:1d34262cac99637d280dfa47ba2d546be770b03157c4077f5824117128dcdaca
	// deleted: docker-local/my-image/sha256:40d71c0f029fa85e7167b76c28c8d45538231310ef649cb4c04dd368391fb7e6
	// deleted: docker-local/my-image/sha256:79105724c01f2647798e7879d3285cfaecb2c18998716c157ae11e1e3c492e95
	// deleted: docker-local/my-image/sha256:b7049b812efed3d082fa979e09d93b4d706679249d266032a304c9e02cb9e562
	// failures: false
}

func countFolders(plan *prune.RepoPlan) int {
	n := 0
	for _, img := range plan.Images {
		n += len(img.Folders)
	}
	return n
}
