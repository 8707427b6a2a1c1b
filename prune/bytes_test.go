package prune_test

import (
	"context"
	"errors"
	"testing"

	"github.com/artprune/artprune/prune"
)

func TestBytes(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	live, dead1, dead2 := ociManifest(t, "live"), ociManifest(t, "dead1"), ociManifest(t, "dead2")
	s.put("app/latest", live, old)
	s.put(at("app", dead1), dead1, old)
	s.put(at("app", dead2), dead2, old)
	shared := blob{sha: sha("shared by both dead folders"), size: 5000}
	alive := blob{sha: sha("also in a live folder"), size: 7000}
	s.putBlob(at("app", dead1), shared)
	s.putBlob(at("app", dead2), shared)
	s.putBlob(at("app", dead2), alive)
	s.putBlob("app/latest", alive)

	plan, err := newPlanner(t, s, prune.Options{}).Plan(ctx, repo)
	if err != nil {
		t.Fatal(err)
	}
	own1 := int64(len(dead1.body)) + 1100 // manifest, config, layer
	own2 := int64(len(dead2.body)) + 1100
	wantBytes := map[string]int64{at("app", dead1): own1 + 5000, at("app", dead2): own2 + 5000 + 7000}
	for _, f := range plan.Deletions() {
		if f.Bytes != wantBytes[f.Path] {
			t.Errorf("%s: %d bytes, want %d", f.Path, f.Bytes, wantBytes[f.Path])
		}
	}
	if len(plan.Deletions()) != 2 {
		t.Fatalf("deletions %v", plan.Deletions())
	}
	if want := own1 + own2 + 2*5000 + 7000; !plan.BytesKnown || plan.Bytes != want {
		t.Errorf("bytes known %v, %d; want %d", plan.BytesKnown, plan.Bytes, want)
	}
	// The shared blob counts once; the blob also held by the tag folder is not freed.
	if want := own1 + own2 + 5000; plan.FreedBytes != want {
		t.Errorf("freed %d, want %d", plan.FreedBytes, want)
	}
}

func TestBytesUnknownKeepsThePlan(t *testing.T) {
	for _, tt := range []struct {
		name string
		set  func(*fakeStore)
	}{
		{"folder files fail", func(s *fakeStore) { s.folderFilesErr = errBoom }},
		{"checksum holders fail", func(s *fakeStore) { s.holdersErr = errBoom }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s, folders := danglingStore(t, 2)
			tt.set(s)
			plan, err := newPlanner(t, s, prune.Options{}).Plan(context.Background(), repo)
			if err != nil {
				t.Fatal(err)
			}
			if plan.BytesKnown || !errors.Is(plan.BytesErr, errBoom) || plan.Bytes != 0 || plan.FreedBytes != 0 {
				t.Errorf("bytes known %v, error %v, bytes %d, freed %d", plan.BytesKnown, plan.BytesErr, plan.Bytes, plan.FreedBytes)
			}
			var got []string
			for _, f := range plan.Deletions() {
				got = append(got, f.Path)
			}
			if len(got) != 2 || got[0] != folders[0] || got[1] != folders[1] {
				t.Errorf("deletions %v, want %v", got, folders)
			}
		})
	}
}

func TestDocumentsReadOncePerDigest(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	m1, m2 := ociManifest(t, "m1"), ociManifest(t, "m2")
	index := ociIndex(t, m1, m2)
	for _, image := range []string{"a", "b", "team/c"} {
		s.put(image+"/latest", index, old)
		s.put(image+"/stable", index, old)
		s.put(at(image, m1), m1, old)
		s.put(at(image, m2), m2, old)
	}
	s.putIn("docker-other", "a/latest", index, old)
	p := newPlanner(t, s, prune.Options{Concurrency: 8})
	for _, r := range []string{repo, "docker-other"} {
		if _, err := p.Plan(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := p.Plan(ctx, repo); err != nil { // the planner's cache serves a second plan
		t.Fatal(err)
	}
	total := 0
	for _, n := range s.reads {
		total += n
	}
	if total != 3 {
		t.Errorf("%d reads for 3 distinct documents: %v", total, s.reads)
	}
}

func TestNewPlannerRejectsInvalidOptions(t *testing.T) {
	for _, o := range []prune.Options{
		{MinAge: -1}, {Concurrency: -1}, {MaxDocumentBytes: -1}, {KeepProperty: "=true"},
	} {
		if _, err := prune.NewPlanner(newStore(t), o); err == nil {
			t.Errorf("NewPlanner(%+v) succeeded", o)
		}
	}
}

func TestPlanRefusesUnsafeRepository(t *testing.T) {
	plan, err := newPlanner(t, newStore(t), prune.Options{}).Plan(context.Background(), "a/b")
	if !errors.Is(err, prune.ErrUnsafePath) || !errors.Is(plan.Err, prune.ErrUnsafePath) {
		t.Errorf("Plan error %v, plan error %v", err, plan.Err)
	}
}
