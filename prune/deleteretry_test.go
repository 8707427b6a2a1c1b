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

// lossyDeleter deletes through the fake store, but the answers of some deletions are lost (ErrOutcomeUnknown):
// for a folder in act, the store acts first (as Artifactory may before a gateway answers 502); for one in lose,
// it does not. after runs after a lost answer, before Apply can retry (a push meanwhile).
type lossyDeleter struct {
	s     *fakeStore
	mu    sync.Mutex
	act   map[string]int // folder -> lost answers left, the deletion done
	lose  map[string]int // folder -> lost answers left, nothing done
	after func(folder string)
	calls map[string]int
}

func (d *lossyDeleter) DeleteFolder(ctx context.Context, repoKey, folder string) error {
	d.mu.Lock()
	d.calls[folder]++
	act, lose := d.act[folder] > 0, d.lose[folder] > 0
	if act {
		d.act[folder]--
	}
	if lose {
		d.lose[folder]--
	}
	d.mu.Unlock()
	lost := fmt.Errorf("delete %s/%s: HTTP 502 Bad Gateway: %w", repoKey, folder, prune.ErrOutcomeUnknown)
	switch {
	case act:
		_ = d.s.DeleteFolder(ctx, repoKey, folder)
	case lose:
	default:
		return d.s.DeleteFolder(ctx, repoKey, folder)
	}
	if d.after != nil {
		d.after(folder)
	}
	return lost
}

// TestApplyRetriesUnknownOutcomesOnlyAfterARecheck: a deletion whose answer was lost is tried again only when the
// folder's image is still as planned; a folder pushed again meanwhile, or an image that gained a tag, is left
// alone, and the deletion is a failure that says why.
func TestApplyRetriesUnknownOutcomesOnlyAfterARecheck(t *testing.T) {
	type want struct {
		outcome prune.Outcome
		errs    []error // the deletion's error wraps each
		calls   int     // DELETEs of the folder
		left    bool    // the folder is still there
	}
	tests := []struct {
		name    string
		recheck bool
		act     bool // the lost attempt deleted the folder
		lost    int  // lost answers in a row
		after   func(s *fakeStore, d []doc)
		want    want
	}{
		// The lost attempt deleted it: deleted by this run (restore, the final check and the Trash Can's mark look
		// for deleted), with a note that says how; until review 11 this was already-gone.
		{"deleted, answer lost: the retry finds it gone, and it counts as deleted", true, true, 1, nil,
			want{prune.OutcomeDeleted, []error{prune.ErrNotFound, prune.ErrOutcomeUnknown}, 2, false}},
		{"not deleted, answer lost: the retry deletes it", true, false, 1, nil,
			want{prune.OutcomeDeleted, nil, 2, false}},
		{"deleted, then pushed again: not retried", true, true, 1, func(s *fakeStore, d []doc) {
			s.now = t0.Add(time.Minute)
			s.put(at("app", d[0]), d[0], 0)
		}, want{prune.OutcomeFailed, []error{prune.ErrOutcomeUnknown, prune.ErrChanged}, 1, true}},
		{"not deleted, the image gained a tag with old times: not retried", true, false, 1, func(s *fakeStore, d []doc) {
			s.put("app/restored", d[0], 30*24*time.Hour)
		}, want{prune.OutcomeFailed, []error{prune.ErrOutcomeUnknown, prune.ErrChanged}, 1, true}},
		{"never retried without a re-check", false, false, 1, nil,
			want{prune.OutcomeFailed, []error{prune.ErrOutcomeUnknown}, 1, true}},
		{"lost every time: three attempts, then a failure", true, false, 5, nil,
			want{prune.OutcomeFailed, []error{prune.ErrOutcomeUnknown}, 3, true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, folders := danglingStore(t, 3)
			docs := map[string]doc{}
			for i := range 3 {
				d := ociManifest(t, fmt.Sprint("dangling", i))
				docs[at("app", d)] = d
			}
			first := docs[folders[0]]
			plan := rechecked(t, s, prune.Options{})
			d := &lossyDeleter{s: s, act: map[string]int{}, lose: map[string]int{}, calls: map[string]int{}}
			if tt.act {
				d.act[folders[0]] = tt.lost
			} else {
				d.lose[folders[0]] = tt.lost
			}
			if tt.after != nil {
				d.after = func(string) { tt.after(s, []doc{first}) }
			}
			rs := &recheckStore{fakeStore: s}
			opts := []prune.ApplyOption{prune.WithDeleteRetries(3, nil)}
			if tt.recheck {
				opts = append(opts, prune.WithImageRecheck(rs))
			}
			res := prune.Apply(context.Background(), d, plan, 1, opts...)
			if res.Err != nil {
				t.Fatal(res.Err)
			}
			got := map[string]prune.Outcome{}
			for _, del := range res.Deletions {
				got[del.Path] = del.Outcome
				if del.Path != folders[0] {
					continue
				}
				for _, e := range tt.want.errs {
					if !errors.Is(del.Err, e) {
						t.Errorf("error %v does not wrap %v", del.Err, e)
					}
				}
				if del.Err != nil && !strings.Contains(del.Err.Error(), folders[0]) {
					t.Errorf("error %v does not name the folder", del.Err)
				}
			}
			want := map[string]prune.Outcome{folders[0]: tt.want.outcome, folders[1]: prune.OutcomeDeleted, folders[2]: prune.OutcomeDeleted}
			if !maps.Equal(got, want) {
				t.Errorf("outcomes %v, want %v", got, want)
			}
			if d.calls[folders[0]] != tt.want.calls {
				t.Errorf("%d DELETEs of %s, want %d", d.calls[folders[0]], folders[0], tt.want.calls)
			}
			var wantLeft []string
			if tt.want.left {
				wantLeft = []string{folders[0]}
			}
			if left := digestFolders(s); !slices.Equal(left, wantLeft) {
				t.Errorf("left %v, want %v", left, wantLeft)
			}
		})
	}
}
