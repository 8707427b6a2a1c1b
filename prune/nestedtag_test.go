package prune_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/artprune/artprune/prune"
)

// TestImageInsideATagFolder: an image whose folder (or a folder above it) is a tag folder of another image is
// skipped, fail closed, with every digest folder kept; the parent image and nested images without that clash are
// judged as usual. Each case runs a dry run, then the re-check and Apply, and compares the store with exactly what
// may go.
func TestImageInsideATagFolder(t *testing.T) {
	m := func(seed string) doc { return ociManifest(t, seed) }
	cases := []struct {
		name  string
		setup func(s *fakeStore) want
	}{
		{"image whose folder is a tag of its parent", func(s *fakeStore) want {
			tag, inner, parentDangling := m("tag"), m("inner"), m("parent-dangling")
			s.put("img/v1", tag, old) // the tag v1 of image img, and the folder of image img/v1
			s.put(at("img/v1", inner), inner, old)
			s.put(at("img", parentDangling), parentDangling, old)
			return want{
				deleted:  []string{at("img", parentDangling)},
				kept:     map[string]prune.Reason{at("img/v1", inner): prune.ReasonImageSkipped},
				imageErr: map[string]error{"img/v1": prune.ErrTagFolderImage},
			}
		}},
		{"image below a tag folder of another image", func(s *fakeStore) want {
			tag, deep, taggedDeep := m("tag"), m("deep"), m("tagged-deep")
			s.put("a/b", tag, old)
			s.put(at("a/b/c", deep), deep, old)
			s.put("a/b/c/latest", taggedDeep, old)
			return want{
				kept:     map[string]prune.Reason{at("a/b/c", deep): prune.ReasonImageSkipped},
				imageErr: map[string]error{"a/b/c": prune.ErrTagFolderImage},
			}
		}},
		{"image of tags only below a tag folder is not skipped", func(s *fakeStore) want {
			tag, nested := m("tag"), m("nested")
			s.put("img/v1", tag, old)
			s.put("img/v1/latest", nested, old) // image img/v1, tag latest: nothing to delete, nothing to doubt
			return want{kept: map[string]prune.Reason{}}
		}},
		{"nested image without a tag folder above it is judged", func(s *fakeStore) want {
			inner, tagged, sibling := m("inner"), m("tagged"), m("sibling")
			s.put("img/v2/latest", tagged, old)              // image img/v2 with its tag latest
			s.put(at("img/v2", inner), inner, old)           // dangling in img/v2
			s.put(at("img", sibling), sibling, old)          // dangling in img, which has no tag v2
			s.put("img/v1x", m("other-tag"), old)            // a tag of img whose name only starts like another's
			s.put(at("img/v1xy", m("v1xy")), m("v1xy"), old) // image img/v1xy: not below img/v1x
			return want{deleted: []string{at("img/v2", inner), at("img", sibling), at("img/v1xy", m("v1xy"))}, kept: map[string]prune.Reason{}}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			s := newStore(t)
			w := tc.setup(s)
			before := s.snapshot()
			plan, err := newPlanner(t, s, w.opts).Plan(ctx, repo)
			checkPlan(t, plan, err, w)
			if err := prune.Recheck(ctx, s, plan); err != nil {
				t.Fatalf("Recheck: %v", err)
			}
			prune.Apply(ctx, s, plan, 2)
			var wantAfter []string
			for _, k := range before {
				if !slices.ContainsFunc(w.deleted, func(f string) bool { return strings.HasPrefix(k, repo+"/"+f+"/") }) {
					wantAfter = append(wantAfter, k)
				}
			}
			if got := s.snapshot(); !slices.Equal(got, wantAfter) {
				t.Errorf("after Apply the store holds\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(wantAfter, "\n"))
			}
		})
	}
}
