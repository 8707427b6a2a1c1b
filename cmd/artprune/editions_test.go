package main

import (
	"encoding/json"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/artprune/artprune/artifactory/artifactorytest"
	"github.com/artprune/artprune/prune"
)

// TestPruneOnEveryEdition runs the seed story on every emulator edition: the same deletions as on pro, nothing
// live lost, exit 0, the edition named in the report and the logs, and no refused query on jcr and oss. A
// permission-filtered view and a trimmed listing delete nothing there and exit 1 with what to do.
func TestPruneOnEveryEdition(t *testing.T) {
	tests := []struct {
		edition     artifactorytest.Edition
		wantEdition string
		sorts       bool
		filteredMsg string // what the filtered view's error says
	}{
		{artifactorytest.EditionPro, "pro", true, "filtered by permissions"},
		{artifactorytest.EditionJCR, "jcr", false, "run artprune as an admin user"},
		{artifactorytest.EditionOSS, "oss", false, "run artprune as an admin user"},
		{artifactorytest.EditionSaaS, "pro", true, "filtered by permissions"}, // a loopback host is not under jfrog.io
	}
	for _, tt := range tests {
		t.Run(string(tt.edition), func(t *testing.T) {
			partial := artifactorytest.User{Name: "team", Token: "team-token",
				Perms: []artifactorytest.Permission{artifactorytest.PermRead, artifactorytest.PermDelete}, Exclude: []string{"docker-local/my-image/latest"}}
			srv, sc := newSeedServer(t, artifactorytest.WithEdition(tt.edition), artifactorytest.WithUser(partial))
			before := digestFolders(t, srv, "docker-local")

			// A filtered view deletes nothing and says what to do.
			teamEnv := map[string]string{"JF_URL": srv.ArtifactoryURL(), "JF_ACCESS_TOKEN": "team-token"}
			for _, pageSize := range []string{"2", "10000"} {
				res := runCLI(t, teamEnv, "prune", "--repo", "docker-local", "--page-size", pageSize, "--delete")
				if res.code != ExitFailure || !strings.Contains(res.stdout, tt.filteredMsg) {
					t.Errorf("filtered view, page size %s: exit %d, want 1 and %q in\n%s", pageSize, res.code, tt.filteredMsg, res.stdout)
				}
				if got := digestFolders(t, srv, "docker-local"); !slices.Equal(got, before) {
					t.Fatalf("filtered view, page size %s: folders were deleted", pageSize)
				}
			}

			// The same plan as on pro, at several page sizes, then the deletion.
			for _, pageSize := range []string{"1", "3", "10000"} {
				dry := runCLI(t, env(srv), "prune", "--repo", "docker-local", "--page-size", pageSize, "-o", "json", "--keep-property", "artprune.keep")
				var rep prune.Report
				if err := json.Unmarshal([]byte(dry.stdout), &rep); err != nil || dry.code != ExitOK {
					t.Fatalf("dry run, page size %s: exit %d, %v\n%s", pageSize, dry.code, err, dry.stderr)
				}
				var planned []string
				for _, d := range rep.Repositories[0].Deletions {
					planned = append(planned, d.Path)
				}
				slices.Sort(planned)
				if want := slices.Sorted(slices.Values(sc.Dangling)); !slices.Equal(planned, want) {
					t.Errorf("page size %s plans\n  %v\nwant\n  %v", pageSize, planned, want)
				}
				if s := rep.Server; s == nil || s.Edition != tt.wantEdition || s.AQLSort != tt.sorts || !s.Admin {
					t.Errorf("report server %+v: want edition %s, aql_sort %v, admin", s, tt.wantEdition, tt.sorts)
				}
				if !strings.Contains(dry.stderr, "edition="+tt.wantEdition) {
					t.Errorf("the logs do not name the edition %s:\n%s", tt.wantEdition, dry.stderr)
				}
				if strings.Contains(dry.stderr, "Sorting is not supported") || strings.Contains(dry.stdout, "Sorting is not supported") {
					t.Errorf("a refused query shows in the output:\n%s", dry.stderr)
				}
			}
			del := runCLI(t, env(srv), "prune", "--repo", "docker-local", "--delete")
			if del.code != ExitOK {
				t.Fatalf("--delete: exit %d\n%s\n%s", del.code, del.stdout, del.stderr)
			}
			after := digestFolders(t, srv, "docker-local")
			for _, f := range sc.Dangling {
				if slices.Contains(after, "docker-local/"+f) || slices.Contains(after, f) {
					t.Errorf("dangling %s was not deleted", f)
				}
			}
			for _, f := range slices.Sorted(maps.Keys(sc.Live)) {
				if !slices.Contains(after, f) && !slices.Contains(after, "docker-local/"+f) {
					t.Errorf("live %s (%s) was deleted", f, sc.Live[f])
				}
			}
		})
	}
}

// TestTrimmedListingOnEveryEdition: a server that trims AQL answers to one row fails the repository closed on
// every edition. Trimming at five rows fails it where AQL sorts (a trimmed page is an error), while jcr and oss
// split their partitions until the answers fit and prune exactly as untrimmed.
func TestTrimmedListingOnEveryEdition(t *testing.T) {
	for _, ed := range artifactorytest.Editions {
		t.Run(string(ed), func(t *testing.T) {
			for _, limit := range []int{1, 5} {
				srv, sc := newSeedServer(t, artifactorytest.WithEdition(ed), artifactorytest.WithAQLMaxResults(limit))
				before := digestFolders(t, srv, "docker-local")
				res := runCLI(t, env(srv), "prune", "--repo", "docker-local", "--delete", "-o", "json")
				splits := limit > 1 && (ed == artifactorytest.EditionJCR || ed == artifactorytest.EditionOSS)
				if !splits {
					if res.code != ExitFailure || !strings.Contains(res.stdout, "trimmed") {
						t.Errorf("trimmed at %d: exit %d, want 1 naming the trimmed answer:\n%s", limit, res.code, res.stdout)
					}
					if got := digestFolders(t, srv, "docker-local"); !slices.Equal(got, before) {
						t.Errorf("trimmed at %d: folders were deleted from a trimmed listing", limit)
					}
					continue
				}
				var rep prune.Report
				if err := json.Unmarshal([]byte(res.stdout), &rep); err != nil || res.code != ExitOK {
					t.Fatalf("trimmed at %d: exit %d (%v)\n%s", limit, res.code, err, res.stderr)
				}
				var deleted []string
				for _, d := range rep.Repositories[0].Deletions {
					deleted = append(deleted, d.Path)
				}
				slices.Sort(deleted)
				if want := slices.Sorted(slices.Values(sc.Dangling)); !slices.Equal(deleted, want) {
					t.Errorf("trimmed at %d, split partitions: deleted\n  %v\nwant\n  %v", limit, deleted, want)
				}
			}
		})
	}
}
