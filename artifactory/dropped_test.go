package artifactory_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/artprune/artprune/artifactory"
	"github.com/artprune/artprune/artifactory/artifactorytest"
	"github.com/artprune/artprune/prune"
)

// TestFinalServerErrorsReleaseTheirPlace: with a cap of two requests in flight, many more requests than that end
// on a final 503 (every retry used up) on each kind of call; once the server recovers, every call succeeds. Before
// the bodies of those final answers were closed, each kept its place under the cap forever and the third call
// waited for good (the watchdog context below then ends it, and the test fails).
func TestFinalServerErrorsReleaseTheirPlace(t *testing.T) {
	srv := newServer(t)
	if _, err := artifactorytest.SeedStory(srv.Store(), "docker-local", srv.Clock().Now()); err != nil {
		t.Fatal(err)
	}
	c := newClient(t, srv, artifactory.WithMaxInFlight(2),
		artifactory.WithBackoff(artifactory.Backoff{Attempts: 2, Base: time.Millisecond, Max: 2 * time.Millisecond, MaxRetryAfter: time.Millisecond}))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second) // a watchdog against a wedged cap, not a timing assertion
	defer cancel()
	calls := map[string]func() error{
		"ping":       func() error { _, err := c.Now(ctx); return err },
		"repository": func() error { _, err := c.Repository(ctx, "docker-local"); return err },
		"aql":        func() error { return c.Manifests(ctx, "docker-local", func(prune.ManifestFile) error { return nil }) },
		"read": func() error {
			_, err := c.ReadFile(ctx, "docker-local", "my-image/latest/list.manifest.json", 1<<20)
			return err
		},
		"delete": func() error { return c.DeleteFolder(ctx, "docker-local", redirectFolder) },
	}
	srv.SetFaults(artifactorytest.FaultConfig{Rate: 1, Kinds: []artifactorytest.Fault{artifactorytest.Fault503}})
	for name, call := range calls {
		for range 5 {
			err := call()
			if err == nil {
				t.Fatalf("%s succeeded against a server that answers 503 to everything", name)
			}
			if ctx.Err() != nil {
				t.Fatalf("%s: the cap on requests in flight is wedged: %v", name, err)
			}
			if !strings.Contains(err.Error(), "503") {
				t.Errorf("%s: the error should say the server answered 503: %v", name, err)
			}
		}
	}
	srv.SetFaults(artifactorytest.FaultConfig{})
	for name, call := range calls {
		err := call()
		if name == "delete" && errors.Is(err, prune.ErrNotFound) {
			err = nil
		}
		if err != nil {
			t.Errorf("%s after the server recovered: %v", name, err)
		}
	}
}
