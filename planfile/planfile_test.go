package planfile

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const hexA = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"

func validPlan() *Plan {
	return &Plan{
		SchemaVersion: SchemaVersion, Kind: Kind, ArtpruneVersion: "test", CreatedAt: "2026-01-01T00:00:00Z",
		URL: "http://127.0.0.1:8081/artifactory/", MinAgeSeconds: 86400,
		Repositories: []Repo{{Repo: "docker-local", ServerTime: "2026-01-01T00:00:00Z", Folders: []Folder{{
			Path: "app/sha256:" + hexA, Image: "app", Digest: "sha256:" + hexA, MediaType: "application/vnd.oci.image.manifest.v1+json",
			Manifests: []Manifest{{Name: "manifest.json", SHA256: hexA}}, AgeSeconds: 90000, Reason: ReasonDangling,
		}}}},
	}
}

func TestRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "plan.json")
	if err := WriteFile(path, validPlan()); err != nil {
		t.Fatal(err)
	}
	p, err := ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if f := p.Index("docker-local"); len(f) != 1 {
		t.Errorf("index = %v", f)
	}
}

func TestReadIsStrict(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(p *Plan)
		raw    func(s string) string
		err    string
	}{
		{name: "schema version", mutate: func(p *Plan) { p.SchemaVersion = 2 }, err: "schema_version 2"},
		{name: "kind", mutate: func(p *Plan) { p.Kind = "report" }, err: "kind"},
		{name: "no url", mutate: func(p *Plan) { p.URL = "" }, err: "url is empty"},
		{name: "zero min age", mutate: func(p *Plan) { p.MinAgeSeconds = 0 }, err: "min_age_seconds"},
		{name: "traversal", mutate: func(p *Plan) { p.Repositories[0].Folders[0].Path = "app/../x/sha256:" + hexA }, err: "invalid plan"},
		{name: "tag folder", mutate: func(p *Plan) { p.Repositories[0].Folders[0].Path = "app/latest" }, err: "invalid plan"},
		{name: "path and digest differ", mutate: func(p *Plan) { p.Repositories[0].Folders[0].Image = "other" }, err: "does not match"},
		{name: "bad checksum", mutate: func(p *Plan) { p.Repositories[0].Folders[0].Manifests[0].SHA256 = "ABC" }, err: "manifest evidence"},
		{name: "no evidence", mutate: func(p *Plan) { p.Repositories[0].Folders[0].Manifests = nil }, err: "no manifest evidence"},
		{name: "too young", mutate: func(p *Plan) { p.Repositories[0].Folders[0].AgeSeconds = 10 }, err: "below the plan's grace period"},
		{name: "duplicate folder", mutate: func(p *Plan) {
			p.Repositories[0].Folders = append(p.Repositories[0].Folders, p.Repositories[0].Folders[0])
		}, err: "listed twice"},
		{name: "duplicate repo", mutate: func(p *Plan) { p.Repositories = append(p.Repositories, p.Repositories[0]) }, err: "listed twice"},
		{name: "unknown field", raw: func(s string) string { return strings.Replace(s, `"kind"`, `"delete_everything": true, "kind"`, 1) }, err: "unknown field"},
		{name: "trailing data", raw: func(s string) string { return s + "{}" }, err: "data after the plan"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := validPlan()
			if tt.mutate != nil {
				tt.mutate(p)
			}
			dir := t.TempDir()
			path := filepath.Join(dir, "plan.json")
			if tt.raw != nil {
				if err := WriteFile(path, p); err != nil {
					t.Fatal(err)
				}
				b, _ := os.ReadFile(path)
				os.WriteFile(path, []byte(tt.raw(string(b))), 0o600)
			} else if err := WriteFile(path, p); err == nil {
				t.Fatalf("WriteFile accepted an invalid plan")
			} else {
				// Write it unchecked to test Read.
				os.WriteFile(path, mustJSON(t, p), 0o600)
			}
			_, err := ReadFile(path)
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("err = %v, want %q", err, tt.err)
			}
		})
	}
}
