package artifactory_test

import (
	"context"
	"errors"
	"maps"
	"slices"
	"testing"

	"github.com/artprune/artprune/artifactory"
	"github.com/artprune/artprune/artifactory/artifactorytest"
	"github.com/artprune/artprune/prune"
)

const trashedFolder = "img/sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"

func seedFolder(t *testing.T, srv *artifactorytest.Server) {
	t.Helper()
	for _, name := range []string{"manifest.json", "sha256__layer"} {
		if _, err := srv.Store().PutFile(artifactorytest.FileSpec{Repo: "docker-local", Path: trashedFolder + "/" + name,
			Data: []byte("content of " + name), Props: map[string][]string{"k": {name}}}); err != nil {
			t.Fatal(err)
		}
	}
}

func TestTrashStatus(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name string
		cfg  artifactorytest.TrashConfig
		user *artifactorytest.User
		want artifactory.TrashStatus
	}{
		{"default", artifactorytest.DefaultTrashConfig, nil, artifactory.TrashStatus{Known: true, Enabled: true, RetentionDays: 14}},
		{"disabled", artifactorytest.TrashConfig{RetentionDays: 3}, nil, artifactory.TrashStatus{Known: true, Enabled: false, RetentionDays: 3}},
		{"not an admin", artifactorytest.DefaultTrashConfig,
			&artifactorytest.User{Name: "deleter", Token: "deleter-token", Perms: []artifactorytest.Permission{artifactorytest.PermRead, artifactorytest.PermDelete}},
			artifactory.TrashStatus{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := []artifactorytest.Option{artifactorytest.WithTrash(tt.cfg)}
			if tt.user != nil {
				opts = append(opts, artifactorytest.WithUser(*tt.user))
			}
			srv := newServer(t, opts...)
			c := newClient(t, srv)
			if tt.user != nil {
				var err error
				if c, err = artifactory.New(srv.ArtifactoryURL(), artifactory.WithAccessToken(tt.user.Token), artifactory.WithBackoff(fastBackoff)); err != nil {
					t.Fatal(err)
				}
			}
			got, err := c.TrashStatus(ctx)
			if err != nil || got != tt.want {
				t.Errorf("TrashStatus = %+v, %v; want %+v", got, err, tt.want)
			}
		})
	}
}

func TestRestoreFromTrashRoundTrip(t *testing.T) {
	ctx := context.Background()
	srv := newServer(t)
	seedFolder(t, srv)
	c := newClient(t, srv)
	if err := c.DeleteFolder(ctx, "docker-local", trashedFolder); err != nil {
		t.Fatal(err)
	}
	for _, check := range []struct {
		repo, path string
		want       bool
	}{{"docker-local", trashedFolder, false}, {artifactory.TrashRepo, "docker-local/" + trashedFolder, true}} {
		if got, err := c.Exists(ctx, check.repo, check.path); err != nil || got != check.want {
			t.Errorf("Exists(%s/%s) = %v, %v; want %v", check.repo, check.path, got, err, check.want)
		}
	}
	if in, err := c.InTrash(ctx, "docker-local", trashedFolder); err != nil || !in {
		t.Fatalf("InTrash = %v, %v", in, err)
	}
	if err := c.RestoreFromTrash(ctx, "docker-local", trashedFolder); err != nil {
		t.Fatal(err)
	}
	if err := c.DeleteProperties(ctx, "docker-local", trashedFolder, []string{artifactory.PropTrashOrigRepo, artifactory.PropTrashRestoredTime}); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"manifest.json", "sha256__layer"} {
		it, ok := srv.Store().Get("docker-local", trashedFolder+"/"+name)
		if !ok {
			t.Fatalf("%s not restored", name)
		}
		if want := map[string][]string{"k": {name}}; !maps.EqualFunc(it.Props, want, slices.Equal) {
			t.Errorf("%s: properties %v, want %v", name, it.Props, want)
		}
		if it.SHA256() != artifactorytest.ChecksumsOf([]byte("content of "+name)).SHA256 {
			t.Errorf("%s: checksum changed", name)
		}
	}
	// Restoring again: nothing left in the Trash Can.
	err := c.RestoreFromTrash(ctx, "docker-local", trashedFolder)
	var ae *artifactory.APIError
	if !errors.As(err, &ae) || ae.Status != 400 {
		t.Errorf("second restore: %v", err)
	}
}

func TestDeleteFromTrash(t *testing.T) {
	ctx := context.Background()
	srv := newServer(t)
	seedFolder(t, srv)
	c := newClient(t, srv)
	if err := c.DeleteFolder(ctx, "docker-local", trashedFolder); err != nil {
		t.Fatal(err)
	}
	if err := c.DeleteFromTrash(ctx, "docker-local", trashedFolder); err != nil {
		t.Fatal(err)
	}
	if in, err := c.InTrash(ctx, "docker-local", trashedFolder); err != nil || in {
		t.Errorf("still in the Trash Can: %v, %v", in, err)
	}
	if err := c.DeleteFromTrash(ctx, "docker-local", trashedFolder); !errors.Is(err, prune.ErrNotFound) {
		t.Errorf("deleting it again: %v, want prune.ErrNotFound", err)
	}
}

func TestTrashAPIUnavailable(t *testing.T) {
	ctx := context.Background()
	srv := newServer(t, artifactorytest.WithTrash(artifactorytest.TrashConfig{Enabled: true, RetentionDays: 14, NoAPI: true}))
	seedFolder(t, srv)
	c := newClient(t, srv)
	if err := c.DeleteFolder(ctx, "docker-local", trashedFolder); err != nil {
		t.Fatal(err)
	}
	if err := c.RestoreFromTrash(ctx, "docker-local", trashedFolder); !errors.Is(err, artifactory.ErrTrashAPIUnavailable) {
		t.Errorf("restore: %v, want ErrTrashAPIUnavailable", err)
	}
	if err := c.DeleteFromTrash(ctx, "docker-local", trashedFolder); !errors.Is(err, artifactory.ErrTrashAPIUnavailable) {
		t.Errorf("clean: %v, want ErrTrashAPIUnavailable", err)
	}
}
