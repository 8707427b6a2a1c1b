package artifactory_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/artprune/artprune/artifactory"
	"github.com/artprune/artprune/artifactory/artifactorytest"
	"github.com/artprune/artprune/prune"
)

func TestResolveRepositories(t *testing.T) {
	list := []artifactory.RepoSummary{
		{Key: "docker-local", Type: "LOCAL", PackageType: "Docker"},
		{Key: "docker-dev", Type: "LOCAL", PackageType: "Docker"},
		{Key: "docker-remote", Type: "REMOTE", PackageType: "Docker"},
		{Key: "docker-virtual", Type: "VIRTUAL", PackageType: "Docker"},
		{Key: "docker-fed", Type: "FEDERATED", PackageType: "Docker"},
		{Key: "docker-generic", Type: "LOCAL", PackageType: "Generic"},
		{Key: "libs-local", Type: "LOCAL", PackageType: "Maven"},
	}
	tests := []struct {
		name     string
		patterns []string
		all      bool
		repos    []string
		skipped  []string
		err      string
	}{
		{name: "literal keys pass through", patterns: []string{"b", "a", "b"}, repos: []string{"b", "a"}},
		{name: "glob", patterns: []string{"docker-*"}, repos: []string{"docker-dev", "docker-local"},
			skipped: []string{"docker-fed", "docker-generic", "docker-remote", "docker-virtual"}},
		{name: "glob and literal", patterns: []string{"docker-l*", "other"}, repos: []string{"docker-local", "other"}},
		{name: "question mark", patterns: []string{"docker-de?"}, repos: []string{"docker-dev"}},
		{name: "all", all: true, repos: []string{"docker-dev", "docker-local"},
			skipped: []string{"docker-fed", "docker-remote", "docker-virtual"}},
		{name: "all and a literal first", patterns: []string{"docker-local"}, all: true, repos: []string{"docker-local", "docker-dev"},
			skipped: []string{"docker-fed", "docker-remote", "docker-virtual"}},
		{name: "literal beats a skip", patterns: []string{"docker-*", "docker-remote"}, repos: []string{"docker-dev", "docker-local", "docker-remote"},
			skipped: []string{"docker-fed", "docker-generic", "docker-virtual"}},
		{name: "glob matching nothing", patterns: []string{"nope-*"}, err: "matches no repository"},
		{name: "bad glob", patterns: []string{"docker-["}, err: "syntax"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := artifactory.ResolveRepositories(tt.patterns, tt.all, list)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(res.Repos, tt.repos) {
				t.Errorf("repos = %v, want %v", res.Repos, tt.repos)
			}
			var skipped []string
			for _, s := range res.Skipped {
				skipped = append(skipped, s.Repo)
				if s.Reason == "" {
					t.Errorf("%s skipped without a reason", s.Repo)
				}
			}
			slices.Sort(skipped)
			if !slices.Equal(skipped, tt.skipped) {
				t.Errorf("skipped = %v, want %v", skipped, tt.skipped)
			}
		})
	}
}

func TestRepositoriesFromServer(t *testing.T) {
	srv := newServer(t,
		artifactorytest.WithRepo(artifactorytest.Repo{Key: "docker-remote", Type: "remote", PackageType: "docker"}),
		artifactorytest.WithRepo(artifactorytest.Repo{Key: "generic-local", Type: "local", PackageType: "generic"}))
	list, err := newClient(t, srv).Repositories(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	res, err := artifactory.ResolveRepositories([]string{"*"}, false, list)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(res.Repos, []string{"docker-local"}) || len(res.Skipped) != 2 {
		t.Errorf("resolution = %+v", res)
	}
}

// TestKeepSource protects a digest folder by a property on the folder, and another by a property on a layer file
// inside it, and checks that the planner keeps both and what they reference.
func TestKeepSource(t *testing.T) {
	srv := newServer(t)
	sc, err := artifactorytest.SeedStory(srv.Store(), "docker-local", srv.Clock().Now())
	if err != nil {
		t.Fatal(err)
	}
	if len(sc.Dangling) < 3 {
		t.Fatalf("seed story has %d dangling folders", len(sc.Dangling))
	}
	byFolder, byFile := sc.Dangling[0], sc.Dangling[1]
	if err := srv.Store().SetProps("docker-local", byFolder, map[string][]string{"artprune.keep": {"true"}}, true); err != nil {
		t.Fatal(err)
	}
	kids, err := srv.Store().Children("docker-local", byFile)
	if err != nil || len(kids) == 0 {
		t.Fatalf("children of %s: %v", byFile, err)
	}
	var layer string
	for _, k := range kids {
		if !k.Folder && k.Name != "manifest.json" && k.Name != "list.manifest.json" {
			layer = k.FullPath()
		}
	}
	if layer == "" {
		layer = kids[0].FullPath()
	}
	if err := srv.Store().SetProps("docker-local", layer, map[string][]string{"artprune.keep": {"true"}}, true); err != nil {
		t.Fatal(err)
	}
	// A property with another value protects nothing.
	if err := srv.Store().SetProps("docker-local", sc.Dangling[2], map[string][]string{"artprune.keep": {"false"}}, true); err != nil {
		t.Fatal(err)
	}
	c := newClient(t, srv, artifactory.WithPageSize(2))
	prot, err := c.ProtectedPaths(context.Background(), "docker-local", "artprune.keep=true")
	if err != nil {
		t.Fatal(err)
	}
	if !prot[byFolder] || !prot[byFile] || len(prot) != 2 {
		t.Errorf("protected paths = %v, want %s and %s", prot, byFolder, byFile)
	}

	for _, tt := range []struct {
		prop string
		kept []string
	}{
		{"artprune.keep=true", []string{byFolder, byFile}},
		{"artprune.keep", []string{byFolder, byFile, sc.Dangling[2]}},
		{"", nil},
	} {
		t.Run(tt.prop, func(t *testing.T) {
			pl, err := prune.NewPlanner(artifactory.KeepSource{Client: c, Property: tt.prop}, prune.Options{KeepProperty: tt.prop})
			if err != nil {
				t.Fatal(err)
			}
			plan, err := pl.Plan(context.Background(), "docker-local")
			if err != nil {
				t.Fatal(err)
			}
			var protected []string
			for _, img := range plan.Images {
				for _, f := range img.Folders {
					if f.Reason == prune.ReasonProtected {
						protected = append(protected, f.Path)
					}
				}
			}
			slices.Sort(protected)
			want := slices.Sorted(slices.Values(tt.kept))
			// A protected index keeps its children too: they are protected as well.
			for _, w := range want {
				if !slices.Contains(protected, w) {
					t.Errorf("%s not kept as protected; protected: %v", w, protected)
				}
			}
			if len(want) == 0 && len(protected) > 0 {
				t.Errorf("protected without a keep property: %v", protected)
			}
			for _, d := range plan.Deletions() {
				if slices.Contains(want, d.Path) {
					t.Errorf("%s planned for deletion", d.Path)
				}
			}
		})
	}
}
