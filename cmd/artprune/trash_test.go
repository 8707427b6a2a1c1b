package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/artprune/artprune/artifactory/artifactorytest"
	"github.com/artprune/artprune/prune"
)

// TestReportSaysWhereDeletionsGo: each repository's report says whether its deletions went to the Trash Can, and
// --delete with the Trash Can disabled says so at the top and the bottom of its output.
func TestReportSaysWhereDeletionsGo(t *testing.T) {
	const banner = "*** TRASH CAN DISABLED: deletions are permanent and cannot be undone ***"
	days := 14
	tests := []struct {
		name     string
		trash    artifactorytest.TrashConfig
		token    string
		del      bool
		want     prune.TrashCan
		line     string
		banner   bool
		deletion bool
	}{
		{"enabled", artifactorytest.DefaultTrashConfig, testToken, true, prune.TrashCan{State: prune.TrashEnabled, RetentionDays: &days},
			"deletions go to the Trash Can for 14 days: artprune restore REPORT.json undoes them", false, true},
		{"enabled, dry run", artifactorytest.DefaultTrashConfig, testToken, false, prune.TrashCan{State: prune.TrashEnabled, RetentionDays: &days},
			"deletions would go to the Trash Can for 14 days", false, false},
		{"disabled", artifactorytest.TrashConfig{RetentionDays: 14}, testToken, true, prune.TrashCan{State: prune.TrashDisabled},
			"the Trash Can is disabled: deletions are permanent", true, true},
		{"disabled, dry run", artifactorytest.TrashConfig{RetentionDays: 14}, testToken, false, prune.TrashCan{State: prune.TrashDisabled},
			"the Trash Can is disabled: deletions are permanent", false, false},
		{"not an admin", artifactorytest.DefaultTrashConfig, "deleter-token", true, prune.TrashCan{State: prune.TrashUnknown},
			"the Trash Can's configuration could not be read (it needs an admin)", false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, _ := newSeedServer(t, artifactorytest.WithTrash(tt.trash),
				artifactorytest.WithUser(artifactorytest.User{Name: "deleter", Token: "deleter-token",
					Perms: []artifactorytest.Permission{artifactorytest.PermRead, artifactorytest.PermDelete}}))
			report := filepath.Join(t.TempDir(), "report.json")
			args := []string{"prune", "--repo", "docker-local", "--report", report}
			if tt.del {
				args = append(args, "--delete")
			}
			res := runCLI(t, map[string]string{"JF_URL": srv.ArtifactoryURL(), "JF_ACCESS_TOKEN": tt.token}, args...)
			if res.code != ExitOK {
				t.Fatalf("exit %d\n%s", res.code, res.stderr)
			}
			b, err := os.ReadFile(report)
			if err != nil {
				t.Fatal(err)
			}
			var rep prune.Report
			if err := json.Unmarshal(b, &rep); err != nil {
				t.Fatal(err)
			}
			if rep.SchemaVersion != 2 {
				t.Errorf("schema_version %d, want 2", rep.SchemaVersion)
			}
			got := rep.Repositories[0].TrashCan
			if got == nil || got.State != tt.want.State || (got.RetentionDays == nil) != (tt.want.RetentionDays == nil) ||
				(got.RetentionDays != nil && *got.RetentionDays != *tt.want.RetentionDays) {
				t.Errorf("trash_can = %+v, want %+v", got, tt.want)
			}
			if !strings.Contains(res.stdout, tt.line) {
				t.Errorf("stdout lacks %q:\n%s", tt.line, res.stdout)
			}
			lines := strings.Split(strings.TrimSpace(res.stdout), "\n")
			framed := lines[0] == banner && lines[len(lines)-1] == banner
			if framed != tt.banner || strings.Contains(res.stdout, banner) != tt.banner {
				t.Errorf("banner at top and bottom: %v, want %v:\n%s", framed, tt.banner, res.stdout)
			}
			if tt.banner && !strings.Contains(res.stderr, "THE TRASH CAN IS DISABLED") {
				t.Errorf("no warning before deleting:\n%s", res.stderr)
			}
			if d := rep.Totals.Outcomes.Deleted; (d > 0) != tt.deletion {
				t.Errorf("%d deleted", d)
			}
		})
	}
}

// TestTrashObservedWithoutConfiguration: where the configuration API is not served (Artifactory SaaS), the report
// says the Trash Can is enabled once a deleted folder is found there, retention unknown, and the folders are
// marked for --purge-trash-after.
func TestTrashObservedWithoutConfiguration(t *testing.T) {
	srv, _ := newSeedServer(t)
	saas := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/artifactory/api/system/configuration" {
			http.Error(w, `{"errors":[{"status":404,"message":"Not Found"}]}`, http.StatusNotFound)
			return
		}
		srv.ServeHTTP(w, r)
	}))
	defer saas.Close()
	report := filepath.Join(t.TempDir(), "report.json")
	res := runCLI(t, map[string]string{"JF_URL": saas.URL + "/artifactory/", "JF_ACCESS_TOKEN": testToken},
		"prune", "--repo", "docker-local", "--delete", "--purge-trash-after", "7d", "--report", report)
	if res.code != ExitOK {
		t.Fatalf("exit %d\n%s", res.code, res.stderr)
	}
	rep := readReportFile(t, report)
	if tc := rep.Repositories[0].TrashCan; tc == nil || tc.State != prune.TrashEnabled || tc.RetentionDays != nil {
		t.Errorf("trash_can = %+v, want enabled with retention unknown", tc)
	}
	if !strings.Contains(res.stdout, "deletions go to the Trash Can (retention unknown)") {
		t.Errorf("stdout:\n%s", res.stdout)
	}
	for _, d := range rep.Repositories[0].Deletions {
		it, ok := srv.Store().Get(artifactorytest.TrashRepo, "docker-local/"+d.Path)
		if !ok || len(it.Props["artprune.trashed"]) != 1 || len(it.Props[artifactorytest.PropTrashTime]) != 1 ||
			it.Props["artprune.trashed"][0] != "docker-local@"+it.Props[artifactorytest.PropTrashTime][0] {
			t.Errorf("%s: not marked in the Trash Can (%v)", d.Path, ok)
		}
	}
}

// TestOnlyPurgingRunsMark: marking costs two requests per deleted folder, so a run without --purge-trash-after
// marks nothing (and a later purge leaves its deletions to the Trash Can's retention).
func TestOnlyPurgingRunsMark(t *testing.T) {
	srv, sc := newSeedServer(t)
	srv.Stats().Reset()
	if res := runCLI(t, env(srv), "prune", "--repo", "docker-local", "--delete"); res.code != ExitOK {
		t.Fatalf("exit %d\n%s", res.code, res.stderr)
	}
	marked := 0
	for it := range srv.Store().Items() {
		if it.Repo == artifactorytest.TrashRepo && len(it.Props["artprune.trashed"]) > 0 {
			marked++
		}
	}
	if marked != 0 {
		t.Errorf("%d Trash Can items marked by a run without --purge-trash-after", marked)
	}
	if counts, _ := srv.Stats().Snapshot(); counts["delete"] != int64(len(sc.Dangling)) {
		t.Errorf("%d deletes, want %d", counts["delete"], len(sc.Dangling))
	}
}
