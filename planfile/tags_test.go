package planfile

import (
	"path/filepath"
	"strings"
	"testing"
)

// tagPlan is a valid plan of artprune delete: one tag, and a folder younger than the grace period (which does not
// protect what only the named tags reach).
func tagPlan() *Plan {
	p := validPlan()
	p.DeleteTags = []string{"docker-local/app:pr-*"}
	p.Repositories[0].Folders[0].AgeSeconds = 10
	p.Repositories[0].Folders[0].Reason = ReasonOnlyNamedTags
	p.Repositories[0].Tags = []Tag{{Path: "app/pr-1", Manifests: []Manifest{{Name: "list.manifest.json", SHA256: hexA}}}}
	return p
}

func TestTagPlan(t *testing.T) {
	path := filepath.Join(t.TempDir(), "plan.json")
	if err := WriteFile(path, tagPlan()); err != nil {
		t.Fatal(err)
	}
	p, err := ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Repositories[0].Tags) != 1 || p.Repositories[0].Tags[0].Path != "app/pr-1" {
		t.Errorf("tags = %+v", p.Repositories[0].Tags)
	}
	tests := []struct {
		name   string
		mutate func(p *Plan)
		err    string
	}{
		{"tags in a prune plan", func(p *Plan) { p.DeleteTags = nil; p.Repositories[0].Folders[0].AgeSeconds = 90000 }, "tags in a plan without delete_tags"},
		{"bad pattern", func(p *Plan) { p.DeleteTags = []string{"app:latest"} }, "delete_tags[0]"},
		{"digest folder as a tag", func(p *Plan) { p.Repositories[0].Tags[0].Path = "app/sha256:" + hexA }, "not a tag folder"},
		{"uploads as a tag", func(p *Plan) { p.Repositories[0].Tags[0].Path = "app/_uploads" }, "not a tag folder"},
		{"traversal", func(p *Plan) { p.Repositories[0].Tags[0].Path = "app/../x" }, "invalid plan"},
		{"no evidence", func(p *Plan) { p.Repositories[0].Tags[0].Manifests = nil }, "no manifest evidence"},
		{"duplicate tag", func(p *Plan) { p.Repositories[0].Tags = append(p.Repositories[0].Tags, p.Repositories[0].Tags[0]) }, "listed twice"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := tagPlan()
			tt.mutate(p)
			if err := p.Validate(); err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("err = %v, want %q", err, tt.err)
			}
		})
	}
}
