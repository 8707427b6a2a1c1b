package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/artprune/artprune/artifactory/artifactorytest"
)

// TestDoctorCommandOnEveryEdition: artprune doctor exits 0 on every edition for an admin, with a scratch
// repository, and names the edition; a reader who cannot prove listings on jcr and oss gets exit 1.
func TestDoctorCommandOnEveryEdition(t *testing.T) {
	for _, ed := range artifactorytest.Editions {
		t.Run(string(ed), func(t *testing.T) {
			srv, _ := newSeedServer(t, artifactorytest.WithEdition(ed),
				artifactorytest.WithRepo(artifactorytest.Repo{Key: "docker-scratch", Type: "local", PackageType: "docker"}))
			res := runCLI(t, env(srv), "doctor", "--repo", "docker-local", "--scratch-repo", "docker-scratch", "-o", "json")
			var rep struct {
				OK     bool `json:"ok"`
				Server struct {
					Edition string `json:"edition"`
					Sort    bool   `json:"aql_sort"`
				} `json:"server"`
				Checks []struct{ Name, Status string } `json:"checks"`
			}
			if err := json.Unmarshal([]byte(res.stdout), &rep); err != nil || res.code != ExitOK || !rep.OK {
				t.Fatalf("doctor: exit %d (%v)\n%s\n%s", res.code, err, res.stdout, res.stderr)
			}
			wantSort := ed == artifactorytest.EditionPro || ed == artifactorytest.EditionSaaS
			if rep.Server.Sort != wantSort || rep.Server.Edition == "" {
				t.Errorf("server %+v: want aql_sort %v", rep.Server, wantSort)
			}
			reader := map[string]string{"JF_URL": srv.ArtifactoryURL(), "JF_ACCESS_TOKEN": "reader-token"}
			text := runCLI(t, reader, "doctor", "--repo", "docker-local")
			if oss := !wantSort; (text.code == ExitFailure) != oss || (oss && !strings.Contains(text.stdout, "run artprune (and doctor) as an admin")) {
				t.Errorf("doctor as a reader: exit %d\n%s", text.code, text.stdout)
			}
		})
	}
}
