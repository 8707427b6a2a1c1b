package prune_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/artprune/artprune/prune"
)

// danglingStore returns a store with n old dangling manifests in image app, and their folders in plan order.
func danglingStore(t *testing.T, n int) (*fakeStore, []string) {
	t.Helper()
	s := newStore(t)
	var folders []string
	for i := range n {
		d := ociManifest(t, fmt.Sprint("dangling", i))
		s.put(at("app", d), d, old)
		folders = append(folders, at("app", d))
	}
	slices.Sort(folders)
	return s, folders
}

// rechecked plans and rechecks the default repository.
func rechecked(t *testing.T, s *fakeStore, opts prune.Options) *prune.RepoPlan {
	t.Helper()
	ctx := context.Background()
	plan, err := newPlanner(t, s, opts).Plan(ctx, repo)
	if err != nil {
		t.Fatal(err)
	}
	if err := prune.Recheck(ctx, s, plan); err != nil {
		t.Fatal(err)
	}
	return plan
}

func outcomes(res *prune.ApplyResult) map[string]prune.Outcome {
	out := make(map[string]prune.Outcome)
	for _, d := range res.Deletions {
		out[d.Path] = d.Outcome
	}
	return out
}

func TestApplyOutcomes(t *testing.T) {
	s, f := danglingStore(t, 5)
	plan := rechecked(t, s, prune.Options{})
	s.deleteErr[repo+"/"+f[0]] = fmt.Errorf("HTTP 404: %w", prune.ErrNotFound)
	s.deleteErr[repo+"/"+f[1]] = fmt.Errorf("HTTP 403: %w", prune.ErrForbidden)
	s.deleteErr[repo+"/"+f[2]] = errBoom

	res := prune.Apply(context.Background(), s, plan, 2)
	if res.Err != nil {
		t.Errorf("Apply: %v", res.Err)
	}
	want := map[string]prune.Outcome{
		f[0]: prune.OutcomeAlreadyGone, f[1]: prune.OutcomeForbidden, f[2]: prune.OutcomeFailed,
		f[3]: prune.OutcomeDeleted, f[4]: prune.OutcomeDeleted,
	}
	if got := outcomes(res); !maps.Equal(got, want) {
		t.Errorf("outcomes %v, want %v", got, want)
	}
	for _, d := range res.Deletions {
		wantErr := map[prune.Outcome]error{prune.OutcomeAlreadyGone: prune.ErrNotFound, prune.OutcomeForbidden: prune.ErrForbidden, prune.OutcomeFailed: errBoom}[d.Outcome]
		if (wantErr == nil) != (d.Err == nil) || (wantErr != nil && !errors.Is(d.Err, wantErr)) {
			t.Errorf("%s: error %v, want %v", d.Path, d.Err, wantErr)
		}
	}
	if got := s.snapshot(); slices.ContainsFunc(got, func(k string) bool {
		return strings.HasPrefix(k, repo+"/"+f[3]+"/") || strings.HasPrefix(k, repo+"/"+f[4]+"/")
	}) {
		t.Errorf("deleted folders still stored: %v", got)
	}
}

func TestApplyCancellationStopsNewDeletes(t *testing.T) {
	s, f := danglingStore(t, 6)
	plan := rechecked(t, s, prune.Options{})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	var mu sync.Mutex
	var started []string
	running := make(chan struct{}, 2)
	release := make(chan struct{})
	s.beforeDelete = func(folder string) {
		mu.Lock()
		started = append(started, folder)
		mu.Unlock()
		running <- struct{}{}
		<-release // in flight while the run is cancelled
	}
	go func() {
		<-running
		<-running
		cancel()
		close(release)
	}()

	res := prune.Apply(ctx, s, plan, 2)
	if !errors.Is(res.Err, context.Canceled) {
		t.Errorf("Apply error %v, want context.Canceled", res.Err)
	}
	want := make(map[string]prune.Outcome)
	for _, p := range f {
		want[p] = prune.OutcomeNotAttempted
	}
	for _, p := range started {
		want[p] = prune.OutcomeDeleted // finished although cancelled during the call
	}
	if len(started) != 2 {
		t.Errorf("started %v, want the first 2", started)
	}
	if got := outcomes(res); !maps.Equal(got, want) {
		t.Errorf("outcomes %v, want %v", got, want)
	}
}

func TestApplyAfterCancellationDeletesNothing(t *testing.T) {
	s, _ := danglingStore(t, 3)
	plan := rechecked(t, s, prune.Options{})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	res := prune.Apply(ctx, s, plan, 1)
	if len(s.deletes) != 0 || !errors.Is(res.Err, context.Canceled) {
		t.Errorf("deletes %v, error %v", s.deletes, res.Err)
	}
}

func TestApplyRefusesUncheckedPlans(t *testing.T) {
	ctx := context.Background()
	s, _ := danglingStore(t, 2)
	plan, err := newPlanner(t, s, prune.Options{}).Plan(ctx, repo)
	if err != nil {
		t.Fatal(err)
	}
	if res := prune.Apply(ctx, s, plan, 1); !errors.Is(res.Err, prune.ErrNotRechecked) || len(s.deletes) != 0 {
		t.Errorf("Apply without Recheck: error %v, deletes %v", res.Err, s.deletes)
	}

	s.changedErr = fmt.Errorf("page 2: %w", prune.ErrIncomplete)
	if err := prune.Recheck(ctx, s, plan); !errors.Is(err, prune.ErrIncomplete) {
		t.Errorf("Recheck error %v, want ErrIncomplete", err)
	}
	res := prune.Apply(ctx, s, plan, 1)
	if !errors.Is(res.Err, prune.ErrIncomplete) || len(s.deletes) != 0 {
		t.Errorf("Apply after failed Recheck: error %v, deletes %v", res.Err, s.deletes)
	}
	for _, d := range res.Deletions {
		if d.Outcome != prune.OutcomeNotAttempted {
			t.Errorf("%s: %s", d.Path, d.Outcome)
		}
	}
}

func TestApplyGuardsTamperedPlans(t *testing.T) {
	s, f := danglingStore(t, 3)
	plan := rechecked(t, s, prune.Options{})
	fo := &plan.Images[0].Folders
	(*fo)[0].Path = "app/../" + (*fo)[0].Path          // unsafe
	(*fo)[1].Path = "other/" + string((*fo)[1].Digest) // safe, but not the folder's image
	res := prune.Apply(context.Background(), s, plan, 1)
	for i, d := range res.Deletions[:2] {
		if d.Outcome != prune.OutcomeFailed || !errors.Is(d.Err, prune.ErrUnsafePath) {
			t.Errorf("deletion %d %s: %s %v, want refused", i, d.Path, d.Outcome, d.Err)
		}
	}
	if want := []string{repo + "/" + f[2]}; !slices.Equal(s.deletes, want) {
		t.Errorf("deleter called for %v, want %v", s.deletes, want)
	}
}

func TestRecheckWithdrawsChangedImages(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	a1, a2, b1, recent := ociManifest(t, "a1"), ociManifest(t, "a2"), ociManifest(t, "b1"), ociManifest(t, "recent")
	s.put(at("a", a1), a1, old)
	s.put(at("a", a2), a2, old)
	s.put(at("b", b1), b1, old)
	s.put(at("b", recent), recent, 30*time.Second) // within the skew but unchanged: not a change
	plan, err := newPlanner(t, s, prune.Options{}).Plan(ctx, repo)
	if err != nil {
		t.Fatal(err)
	}
	if want := 3*1100 + int64(len(a1.body)+len(a2.body)+len(b1.body)); !plan.BytesKnown || plan.Bytes != want {
		t.Errorf("bytes before Recheck: known %v, %d; want %d", plan.BytesKnown, plan.Bytes, want)
	}

	// A push to image a while the run goes on.
	s.now = t0.Add(time.Minute)
	pushed := ociManifest(t, "pushed")
	s.put("a/v2", pushed, 0)

	if err := prune.Recheck(ctx, s, plan); err != nil {
		t.Fatal(err)
	}
	got := map[string]prune.Reason{}
	var deleted []string
	for _, img := range plan.Images {
		for _, f := range img.Folders {
			if f.Delete {
				deleted = append(deleted, f.Path)
				continue
			}
			got[f.Path] = f.Reason
			if f.Reason == prune.ReasonChanged && !errors.Is(f.Err, prune.ErrChanged) {
				t.Errorf("%s: error %v, want ErrChanged", f.Path, f.Err)
			}
		}
		switch img.Name {
		case "a":
			if want := []string{"a/v2/manifest.json"}; !slices.Equal(img.Changed, want) {
				t.Errorf("image a changed %v, want %v", img.Changed, want)
			}
		default:
			if len(img.Changed) > 0 {
				t.Errorf("image %s changed %v", img.Name, img.Changed)
			}
		}
	}
	want := map[string]prune.Reason{at("a", a1): prune.ReasonChanged, at("a", a2): prune.ReasonChanged, at("b", recent): prune.ReasonYoung}
	if !maps.Equal(got, want) {
		t.Errorf("kept %v, want %v", got, want)
	}
	if want := []string{at("b", b1)}; !slices.Equal(deleted, want) {
		t.Errorf("deleted %v, want %v", deleted, want)
	}
	if want := 1100 + int64(len(b1.body)); !plan.BytesKnown || plan.Bytes != want || plan.FreedBytes != want {
		t.Errorf("bytes known %v, %d, freed %d; want %d", plan.BytesKnown, plan.Bytes, plan.FreedBytes, want)
	}

	res := prune.Apply(ctx, s, plan, 1)
	if want := map[string]prune.Outcome{at("b", b1): prune.OutcomeDeleted}; !maps.Equal(outcomes(res), want) {
		t.Errorf("outcomes %v, want %v", outcomes(res), want)
	}
}

func TestValidateFolderPath(t *testing.T) {
	hex := sha("x")
	dig := "sha256:" + hex
	tests := []struct {
		repo, folder string
		ok           bool
	}{
		{"docker-local", "app/" + dig, true},
		{"docker-local", "team/sub/app/" + dig, true},
		{"docker-local", "a.b-c_d/" + dig, true},

		{"", "app/" + dig, false},
		{"docker/local", "app/" + dig, false},
		{".", "app/" + dig, false},
		{"..", "app/" + dig, false},
		{"docker-local", dig, false},                // no image
		{"docker-local", "/app/" + dig, false},      // leading slash
		{"docker-local", "app/" + dig + "/", false}, // trailing slash
		{"docker-local", "app//" + dig, false},      // empty segment
		{"docker-local", "app/./" + dig, false},
		{"docker-local", "app/../" + dig, false},
		{"docker-local", "../app/" + dig, false},
		{"docker-local", "app/_uploads/" + dig, false},
		{"docker-local", "_uploads/" + dig, false},
		{"docker-local", `app\x/` + dig, false},       // backslash
		{"docker-local", "app%2F..%2F/" + dig, false}, // escapes
		{"docker-local", "app?x=1/" + dig, false},     // query
		{"docker-local", "app#x/" + dig, false},       // fragment
		{"docker-local", "app;x=1/" + dig, false},     // matrix parameter
		{"docker-local", "app\x00/" + dig, false},     // NUL
		{"docker-local", "app\n/" + dig, false},       // control
		{"docker-local", "app\x7f/" + dig, false},     // DEL
		{"docker-local", "app\u0085/" + dig, false},   // C1 control
		{"docker-local", "app\xff/" + dig, false},     // invalid UTF-8
		{"docker-local", "app/latest", false},         // a tag
		{"docker-local", "app", false},
		{"docker-local", "", false},
		{"docker-local", "app/sha256:" + strings.ToUpper(hex), false},
		{"docker-local", "app/sha256:" + hex[:63], false},
		{"docker-local", "app/sha256:" + hex + "0", false},
		{"docker-local", "app/sha256__" + hex, false},
		{"docker-local", "app/sha512:" + hex + hex, false},
		{"docker-local", "app/" + dig + "/manifest.json", false},
		{"docker-local", "app/" + dig + "/..", false},
		{"docker-local", "app/" + dig + "/../../other", false},
		{"docker\x00", "app/" + dig, false},
		{"docker-local%2f", "app/" + dig, false},
	}
	for _, tt := range tests {
		err := prune.ValidateFolderPath(tt.repo, tt.folder)
		if tt.ok && err != nil {
			t.Errorf("ValidateFolderPath(%q, %q) = %v, want nil", tt.repo, tt.folder, err)
		}
		if !tt.ok && !errors.Is(err, prune.ErrUnsafePath) {
			t.Errorf("ValidateFolderPath(%q, %q) = %v, want ErrUnsafePath", tt.repo, tt.folder, err)
		}
	}
}
