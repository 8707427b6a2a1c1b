package artifactory_test

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	v1 "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/artprune/artprune/artifactory"
	"github.com/artprune/artprune/artifactory/artifactorytest"
	"github.com/artprune/artprune/prune"
)

// TestHealFollowsWhatAPushReferences runs prune.Heal through the client against the emulator: a push made while
// the deletes ran references a deleted index by digest; its children (read from the Trash Can's copy of the
// index) and a deleted referrer of one of them come back, an unrelated deleted folder does not, and a folder the
// push wrote again is not overwritten.
func TestHealFollowsWhatAPushReferences(t *testing.T) {
	ctx := context.Background()
	srv := newServer(t)
	c := newClient(t, srv)
	p := artifactorytest.NewPusher(srv.Store(), "docker-local", 3)
	p.At = srv.Clock().Now().Add(-30 * 24 * time.Hour)
	push := func(m v1.Manifest) v1.Descriptor {
		t.Helper()
		d, err := p.PushManifest("app", "", m)
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	im4 := p.NewImage(400)
	m1, m2, m3, m4 := push(p.NewImage(100)), push(p.NewImage(200)), push(p.NewImage(300)), push(im4)
	sig := push(p.NewReferrer("application/vnd.dev.cosign.artifact.sig.v1+json", m1))
	idx, err := p.PushIndex("app", "", "", m1, m2)
	if err != nil {
		t.Fatal(err)
	}
	live, _ := p.PushManifest("app", "latest", p.NewImage(50))
	_ = live
	folder := func(d v1.Descriptor) string { return "app/sha256:" + d.Digest.Encoded() }

	planner, err := prune.NewPlanner(c, prune.Options{MinAge: 24 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	plan, err := planner.Plan(ctx, "docker-local")
	if err != nil {
		t.Fatal(err)
	}
	if err := prune.Recheck(ctx, c, plan); err != nil {
		t.Fatal(err)
	}
	var planned []string
	for _, f := range plan.Deletions() {
		planned = append(planned, f.Path)
	}
	wantPlanned := []string{folder(m1), folder(m2), folder(m3), folder(m4), folder(sig), folder(idx)}
	slices.Sort(wantPlanned)
	if !slices.Equal(planned, wantPlanned) {
		t.Fatalf("planned %q, want %q", planned, wantPlanned)
	}
	res := prune.Apply(ctx, c, plan, 2)

	// "During" the deletes: a rollback tag references the deleted index by digest, and m4 both by a second tag
	// and by a push of m4 itself, which writes its folder again.
	p.At = time.Time{}
	if _, err := p.PushIndex("app", "rollback", "", idx); err != nil {
		t.Fatal(err)
	}
	if _, err := p.PushIndex("app", "other", "", m4); err != nil {
		t.Fatal(err)
	}
	push(im4)
	again, _ := srv.Store().Get("docker-local", folder(m4)+"/manifest.json")

	trash := &countingHealer{Client: c, reads: map[string]int{}}
	h := prune.Heal(ctx, c, trash, plan, res, 0)
	if h.Err != nil {
		t.Fatalf("heal: %v", h.Err)
	}
	// Each Trash Can copy is read at most once, however many rounds the referrers take (review 11, finding 8); the
	// unrelated m3 is read (is it a referrer of something live?), once.
	for path, n := range trash.reads {
		if n != 1 {
			t.Errorf("the Trash Can's %s was read %d times", path, n)
		}
	}
	if trash.reads[folder(m3)+"/manifest.json"] != 1 {
		t.Errorf("the Trash Can reads were %v", trash.reads)
	}
	got := map[string]prune.HealOutcome{}
	for _, f := range h.Folders {
		got[f.Path] = f.Outcome
		if f.Err != nil || !strings.Contains(f.Why, "app/") {
			t.Errorf("%s: %s %v (why %q)", f.Path, f.Outcome, f.Err, f.Why)
		}
	}
	want := map[string]prune.HealOutcome{folder(idx): prune.HealRestored, folder(m1): prune.HealRestored,
		folder(m2): prune.HealRestored, folder(sig): prune.HealRestored, folder(m4): prune.HealPushedAgain}
	if len(got) != len(want) {
		t.Errorf("healed %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: %q, want %q", k, got[k], v)
		}
	}
	for _, f := range []v1.Descriptor{idx, m1, m2, sig} {
		if ok, _ := c.Exists(ctx, "docker-local", folder(f)); !ok {
			t.Errorf("%s not back", folder(f))
		}
	}
	if ok, _ := c.Exists(ctx, "docker-local", folder(m3)); ok {
		t.Errorf("the unrelated %s came back", folder(m3))
	}
	if it, _ := srv.Store().Get("docker-local", folder(m4)+"/manifest.json"); it == nil || it != again {
		t.Errorf("the re-pushed %s was overwritten", folder(m4))
	}
	for _, d := range res.Deletions {
		wantOutcome := prune.OutcomeRestored
		if d.Path == folder(m3) || d.Path == folder(m4) {
			wantOutcome = prune.OutcomeDeleted
		}
		if d.Outcome != wantOutcome {
			t.Errorf("%s: outcome %s, want %s", d.Path, d.Outcome, wantOutcome)
		}
	}
}

// TestHealWithoutTrashCan: a live deleted folder that the Trash Can does not hold is a failure, with why.
func TestHealWithoutTrashCan(t *testing.T) {
	ctx := context.Background()
	srv := newServer(t, artifactorytest.WithTrash(artifactorytest.TrashConfig{}))
	c := newClient(t, srv)
	p := artifactorytest.NewPusher(srv.Store(), "docker-local", 4)
	p.At = srv.Clock().Now().Add(-30 * 24 * time.Hour)
	m, err := p.PushManifest("app", "", p.NewImage(10))
	if err != nil {
		t.Fatal(err)
	}
	planner, _ := prune.NewPlanner(c, prune.Options{MinAge: time.Hour})
	plan, err := planner.Plan(ctx, "docker-local")
	if err != nil {
		t.Fatal(err)
	}
	if err := prune.Recheck(ctx, c, plan); err != nil {
		t.Fatal(err)
	}
	res := prune.Apply(ctx, c, plan, 1)
	p.At = time.Time{}
	if _, err := p.PushIndex("app", "rollback", "", m); err != nil {
		t.Fatal(err)
	}
	h := prune.Heal(ctx, c, c, plan, res, 0)
	if len(h.Folders) != 1 || h.Folders[0].Outcome != prune.HealFailed || !strings.Contains(h.Folders[0].Err.Error(), "not in the Trash Can") || !h.Failed() {
		t.Errorf("heal: %+v", h.Folders)
	}
	if _, ok := srv.Store().Get(artifactory.TrashRepo, "docker-local/app"); ok {
		t.Errorf("the disabled Trash Can holds something")
	}
}

// countingHealer counts the reads of the Trash Can's copies, by path.
type countingHealer struct {
	*artifactory.Client
	mu    sync.Mutex
	reads map[string]int
}

func (h *countingHealer) ReadTrashed(ctx context.Context, repo, path string, limit int64) ([]byte, error) {
	h.mu.Lock()
	h.reads[path]++
	h.mu.Unlock()
	return h.Client.ReadTrashed(ctx, repo, path, limit)
}
