package artifactory_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/artprune/artprune/artifactory"
	"github.com/artprune/artprune/artifactory/artifactorytest"
	"github.com/artprune/artprune/prune"
)

const token = "client-test-token"

func newServer(t *testing.T, opts ...artifactorytest.Option) *artifactorytest.Server {
	t.Helper()
	opts = append([]artifactorytest.Option{
		artifactorytest.WithAdminToken(token),
		artifactorytest.WithRepo(artifactorytest.Repo{Key: "docker-local", Type: "local", PackageType: "docker"}),
	}, opts...)
	srv, err := artifactorytest.NewServer(opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	return srv
}

// fastBackoff keeps retry tests quick.
var fastBackoff = artifactory.Backoff{Attempts: 8, Base: time.Millisecond, Max: 5 * time.Millisecond, MaxRetryAfter: 10 * time.Millisecond}

func newClient(t *testing.T, srv *artifactorytest.Server, opts ...artifactory.Option) *artifactory.Client {
	t.Helper()
	c, err := artifactory.New(srv.ArtifactoryURL(), append([]artifactory.Option{artifactory.WithAccessToken(token), artifactory.WithBackoff(fastBackoff)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func manifestPaths(t *testing.T, c *artifactory.Client) []string {
	t.Helper()
	var got []string
	err := c.Manifests(context.Background(), "docker-local", func(m prune.ManifestFile) error {
		got = append(got, m.Path+"/"+m.Name)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func TestManifestsPagesCompletely(t *testing.T) {
	srv := newServer(t)
	sc, err := artifactorytest.SeedStory(srv.Store(), "docker-local", srv.Clock().Now())
	if err != nil {
		t.Fatal(err)
	}
	_ = sc
	want := manifestPaths(t, newClient(t, srv, artifactory.WithPageSize(10000)))
	if len(want) != 19 {
		t.Fatalf("seed story has %d manifest files, want 19", len(want))
	}
	for _, size := range []int{1, 2, 3, 7, 18, 19, 20} {
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			srv.Stats().Reset()
			got := manifestPaths(t, newClient(t, srv, artifactory.WithPageSize(size)))
			if !slices.Equal(got, want) {
				t.Errorf("page size %d lists\n  %v\nwant\n  %v", size, got, want)
			}
			counts, _ := srv.Stats().Snapshot()
			// Pages until one comes back empty: ceil(19/size) full or short pages, plus the empty one when the last is
			// full, plus the two queries of the completeness probe, plus the one-row sorted query of the edition
			// detection.
			wantPages := (19+size-1)/size + 1 + 2 + 1
			if counts["aql"] != int64(wantPages) {
				t.Errorf("page size %d took %d AQL requests, want %d", size, counts["aql"], wantPages)
			}
		})
	}
}

// TestKeysetPagingSurvivesDeletes deletes listed folders between pages: offset paging would then skip live rows.
func TestKeysetPagingSurvivesDeletes(t *testing.T) {
	srv := newServer(t)
	if _, err := artifactorytest.SeedStory(srv.Store(), "docker-local", srv.Clock().Now()); err != nil {
		t.Fatal(err)
	}
	c := newClient(t, srv, artifactory.WithPageSize(3))
	all := manifestPaths(t, c)
	var got []string
	err := c.Manifests(context.Background(), "docker-local", func(m prune.ManifestFile) error {
		got = append(got, m.Path+"/"+m.Name)
		if len(got) <= 3 { // while reading the first page, delete it
			if _, err := srv.Store().Delete("docker-local", m.Path); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, all) {
		t.Errorf("with deletes between pages the listing is\n  %v\nwant\n  %v", got, all)
	}
}

func TestTrimmedAnswerIsIncomplete(t *testing.T) {
	srv := newServer(t, artifactorytest.WithAQLMaxResults(4))
	if _, err := artifactorytest.SeedStory(srv.Store(), "docker-local", srv.Clock().Now()); err != nil {
		t.Fatal(err)
	}
	err := newClient(t, srv).Manifests(context.Background(), "docker-local", func(prune.ManifestFile) error { return nil })
	if !errors.Is(err, prune.ErrIncomplete) {
		t.Errorf("got %v, want ErrIncomplete", err)
	}
}

func TestRetriesTransientFaults(t *testing.T) {
	for _, kind := range []artifactorytest.Fault{artifactorytest.Fault500, artifactorytest.Fault503, artifactorytest.Fault429, artifactorytest.FaultReset, artifactorytest.FaultCut} {
		t.Run(string(kind), func(t *testing.T) {
			srv := newServer(t, artifactorytest.WithSeed(7))
			if _, err := artifactorytest.SeedStory(srv.Store(), "docker-local", srv.Clock().Now()); err != nil {
				t.Fatal(err)
			}
			clean := manifestPaths(t, newClient(t, srv, artifactory.WithPageSize(4)))
			srv.SetFaults(artifactorytest.FaultConfig{Rate: 0.3, Kinds: []artifactorytest.Fault{kind}})
			c := newClient(t, srv, artifactory.WithPageSize(4))
			got := manifestPaths(t, c)
			if !slices.Equal(got, clean) {
				t.Errorf("with %s faults the listing differs", kind)
			}
			doc := "my-image/latest/list.manifest.json"
			for range 10 {
				if _, err := c.ReadFile(context.Background(), "docker-local", doc, 1<<20); err != nil {
					t.Fatalf("read with %s faults: %v", kind, err)
				}
			}
		})
	}
}

func TestRetryAfterIsHonoured(t *testing.T) {
	srv := newServer(t)
	var calls atomic.Int32
	var gap atomic.Int64
	var first time.Time
	rt := roundTripFunc(func(r *http.Request) (*http.Response, error) {
		n := calls.Add(1)
		if n == 1 {
			first = time.Now()
			return &http.Response{StatusCode: http.StatusTooManyRequests, Header: http.Header{"Retry-After": {"1"}},
				Body: http.NoBody, Request: r}, nil
		}
		gap.Store(int64(time.Since(first)))
		return http.DefaultTransport.RoundTrip(r)
	})
	c := newClient(t, srv, artifactory.WithTransport(rt),
		artifactory.WithBackoff(artifactory.Backoff{Attempts: 3, Base: time.Millisecond, Max: time.Millisecond, MaxRetryAfter: 5 * time.Second}))
	if _, err := c.Now(context.Background()); err != nil {
		t.Fatal(err)
	}
	if calls.Load() != 2 || time.Duration(gap.Load()) < 900*time.Millisecond {
		t.Errorf("calls %d, wait %v: want a retry after the server's Retry-After of 1s", calls.Load(), time.Duration(gap.Load()))
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func TestDeleteFolderMapsStatuses(t *testing.T) {
	srv := newServer(t, artifactorytest.WithUser(artifactorytest.User{Name: "reader", Token: "rt", Perms: []artifactorytest.Permission{artifactorytest.PermRead}}))
	if _, err := srv.Store().PutFile(artifactorytest.FileSpec{Repo: "docker-local", Path: "img/sha256:" + fmt.Sprintf("%064x", 1) + "/manifest.json", Data: []byte("{}")}); err != nil {
		t.Fatal(err)
	}
	folder := "img/sha256:" + fmt.Sprintf("%064x", 1)
	reader, err := artifactory.New(srv.ArtifactoryURL(), artifactory.WithAccessToken("rt"), artifactory.WithBackoff(fastBackoff))
	if err != nil {
		t.Fatal(err)
	}
	if err := reader.DeleteFolder(context.Background(), "docker-local", folder); !errors.Is(err, prune.ErrForbidden) {
		t.Errorf("read-only delete: got %v, want ErrForbidden", err)
	}
	c := newClient(t, srv)
	if err := c.DeleteFolder(context.Background(), "docker-local", folder); err != nil {
		t.Errorf("delete: %v", err)
	}
	if _, ok := srv.Store().Get("docker-local", folder); ok {
		t.Errorf("%s still exists", folder)
	}
	if err := c.DeleteFolder(context.Background(), "docker-local", folder); !errors.Is(err, prune.ErrNotFound) {
		t.Errorf("second delete: got %v, want ErrNotFound", err)
	}
}

func TestNowReadsTheServerClock(t *testing.T) {
	srv := newServer(t)
	srv.Clock().Advance(72 * time.Hour)
	got, err := newClient(t, srv).Now(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if d := got.Sub(srv.Clock().Now()); d < -2*time.Second || d > 2*time.Second {
		t.Errorf("server time %v, emulator clock %v", got, srv.Clock().Now())
	}
}

func TestReadFileLimit(t *testing.T) {
	srv := newServer(t)
	big := make([]byte, 5000)
	if _, err := srv.Store().PutFile(artifactorytest.FileSpec{Repo: "docker-local", Path: "img/tag/list.manifest.json", Data: big}); err != nil {
		t.Fatal(err)
	}
	_, err := newClient(t, srv).ReadFile(context.Background(), "docker-local", "img/tag/list.manifest.json", 4096)
	if !errors.Is(err, prune.ErrTooLarge) {
		t.Errorf("got %v, want ErrTooLarge", err)
	}
}

func TestCheckDockerLocal(t *testing.T) {
	srv := newServer(t, artifactorytest.WithRepo(artifactorytest.Repo{Key: "docker-virtual", Type: "virtual", PackageType: "docker"}))
	c := newClient(t, srv)
	if err := c.CheckDockerLocal(context.Background(), "docker-local"); err != nil {
		t.Errorf("docker-local: %v", err)
	}
	if err := c.CheckDockerLocal(context.Background(), "docker-virtual"); !errors.Is(err, artifactory.ErrNotDockerLocal) {
		t.Errorf("docker-virtual: got %v, want ErrNotDockerLocal", err)
	}
	if err := c.CheckDockerLocal(context.Background(), "nope"); !errors.Is(err, prune.ErrNotFound) {
		t.Errorf("nope: got %v, want ErrNotFound", err)
	}
}

func TestNewRejectsBadConfiguration(t *testing.T) {
	tests := []struct {
		name string
		url  string
		opts []artifactory.Option
	}{
		{"no scheme", "example.com/artifactory", nil},
		{"ftp", "ftp://example.com/artifactory", nil},
		{"credentials in URL", "https://u:p@example.com/artifactory", nil},
		{"token and basic", "https://example.com/artifactory", []artifactory.Option{artifactory.WithAccessToken("t"), artifactory.WithBasicAuth("u", "p")}},
		{"user without password", "https://example.com/artifactory", []artifactory.Option{artifactory.WithBasicAuth("u", "")}},
		{"zero page size", "https://example.com/artifactory", []artifactory.Option{artifactory.WithPageSize(0)}},
		{"missing CA file", "https://example.com/artifactory", []artifactory.Option{artifactory.WithCACert("/nonexistent.pem")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := artifactory.New(tt.url, tt.opts...); err == nil {
				t.Errorf("New(%q) accepted a bad configuration", tt.url)
			}
		})
	}
}
