package prune_test

import (
	"context"
	"strconv"
	"strings"
	"testing"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/artprune/artprune/prune"
)

// TestPlanHostileInput feeds the planner paths and documents an attacker or a broken server could produce. None may
// lead to a deletion the guard would refuse or to a deletion of something a parser other than Go's would see as
// referenced; each failure must name the path concerned.
func TestPlanHostileInput(t *testing.T) {
	m := func(seed string) doc { return ociManifest(t, seed) }
	tests := []struct {
		name  string
		setup func(s *fakeStore) want
		// named lists, per image, a text its error must contain.
		named map[string]string
	}{
		{"image names that are not Docker names are skipped", func(s *fakeStore) want {
			kept := map[string]prune.Reason{}
			errs := map[string]error{}
			for i, image := range []string{"my app", "äpp", "app%2e%2e", "App", "app\u202e", "app\u200b", "team/ap p", "a..b", "-app"} {
				d := m("odd" + strconv.Itoa(i))
				s.put(at(image, d), d, old)
				kept[at(image, d)] = prune.ReasonImageSkipped
				errs[image] = prune.ErrUnsafePath
			}
			ok := m("fine")
			s.put(at("app", ok), ok, old)
			return want{deleted: []string{at("app", ok)}, kept: kept, imageErr: errs}
		}, nil},
		{"sha256: in odd places", func(s *fakeStore) want {
			a, b, c := m("a"), m("b"), m("c")
			s.put(string(a.digest)+"/"+string(b.digest), b, old) // an image named like a digest
			s.put("app/"+string(a.digest)+"x/"+string(c.digest), c, old)
			s.put("app/sha256:/"+string(a.digest), a, old)
			return want{
				kept: map[string]prune.Reason{
					string(a.digest) + "/" + string(b.digest):           prune.ReasonImageSkipped,
					"app/" + string(a.digest) + "x/" + string(c.digest): prune.ReasonImageSkipped,
					"app/sha256:/" + string(a.digest):                   prune.ReasonImageSkipped,
				},
				imageErr: map[string]error{
					string(a.digest): prune.ErrUnsafePath, "app/" + string(a.digest) + "x": prune.ErrUnsafePath,
					"app/sha256:": prune.ErrUnsafePath,
				},
			}
		}, nil},
		{"odd tag names are still roots", func(s *fakeStore) want {
			child := m("child")
			s.put("app/my tag", ociIndex(t, child), old)
			s.put(at("app", child), child, old)
			return want{kept: map[string]prune.Reason{at("app", child): prune.ReasonTagged}}
		}, nil},
		{"truncated index skips its image", func(s *fakeStore) want {
			child := m("child")
			full := ociIndex(t, child)
			s.put("app/latest", rawDoc(prune.ListManifestName, string(full.body[:len(full.body)/2])), old)
			s.put(at("app", child), child, old)
			return want{kept: map[string]prune.Reason{at("app", child): prune.ReasonImageSkipped}, imageErr: map[string]error{"app": prune.ErrInvalidDocument}}
		}, map[string]string{"app": "app/latest/list.manifest.json"}},
		{"ambiguous index skips its image", func(s *fakeStore) want {
			child := m("child")
			body := `{"schemaVersion":2,"mediaType":"` + ocispec.MediaTypeImageIndex + `","manifests":[{"mediaType":"` +
				ocispec.MediaTypeImageManifest + `","digest":"` + string(child.digest) + `","size":1}],"Manifests":[]}`
			s.put("app/latest", rawDoc(prune.ListManifestName, body), old)
			s.put(at("app", child), child, old)
			return want{kept: map[string]prune.Reason{at("app", child): prune.ReasonImageSkipped}, imageErr: map[string]error{"app": prune.ErrInvalidDocument}}
		}, map[string]string{"app": "twice"}},
		{"duplicate and self references", func(s *fakeStore) want {
			child := m("child")
			s.put("app/latest", indexOf(t, ocispec.MediaTypeImageIndex, nil, string(child.digest), string(child.digest)), old)
			s.put(at("app", child), child, old)
			return want{kept: map[string]prune.Reason{at("app", child): prune.ReasonTagged}}
		}, nil},
		{"huge index skips its image", func(s *fakeStore) want {
			child := m("child")
			body := `{"schemaVersion":2,"mediaType":"` + ocispec.MediaTypeImageIndex + `","manifests":[{"digest":"` + string(child.digest) +
				`"}],"annotations":{"pad":"` + strings.Repeat("x", int(prune.DefaultMaxDocumentBytes)) + `"}}`
			s.put("app/latest", rawDoc(prune.ListManifestName, body), old)
			s.put(at("app", child), child, old)
			return want{kept: map[string]prune.Reason{at("app", child): prune.ReasonImageSkipped}, imageErr: map[string]error{"app": prune.ErrTooLarge}}
		}, map[string]string{"app": "app/latest/list.manifest.json"}},
		{"not JSON skips its image", func(s *fakeStore) want {
			child := m("child")
			s.put("app/latest", rawDoc(prune.ListManifestName, "<html><body>502 Bad Gateway</body></html>"), old)
			s.put(at("app", child), child, old)
			return want{kept: map[string]prune.Reason{at("app", child): prune.ReasonImageSkipped}, imageErr: map[string]error{"app": prune.ErrInvalidDocument}}
		}, map[string]string{"app": "app/latest/list.manifest.json"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			s := newStore(t)
			w := tt.setup(s)
			plan, err := newPlanner(t, s, w.opts).Plan(ctx, repo)
			checkPlan(t, plan, err, w)
			for _, img := range plan.Images {
				if img.Err == nil {
					continue
				}
				want := tt.named[img.Name]
				if want == "" {
					want = img.Name
				}
				if msg := img.Err.Error(); !strings.Contains(msg, want) && !strings.Contains(msg, strconv.Quote(want)) {
					t.Errorf("image %q: error %q does not say %q", img.Name, msg, want)
				}
			}
			if err := prune.Recheck(ctx, s, plan); err != nil {
				t.Fatal(err)
			}
			res := prune.Apply(ctx, s, plan, 2)
			for _, key := range s.deletes {
				folder := strings.TrimPrefix(key, repo+"/")
				if prune.ValidateFolderPath(repo, folder) != nil {
					t.Errorf("deleted %q, which the guard refuses", key)
				}
			}
			if len(res.Deletions) != len(w.deleted) {
				t.Errorf("applied %d deletions, want %d", len(res.Deletions), len(w.deleted))
			}
		})
	}
}
