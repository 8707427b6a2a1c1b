package prune_test

import (
	"context"
	"slices"
	"testing"

	"github.com/artprune/artprune/prune"
)

// TestTagFolderHoldingBothFiles: Docker's containerd image store pushes a tag twice, as an index and as the
// platform manifest, and Artifactory keeps both list.manifest.json and manifest.json in the tag folder (JFrog KB
// "Artifactory duplicate Docker pushes with containerd image store enabled"). Each file is a root: what either
// reaches is kept, whichever a pull serves.
func TestTagFolderHoldingBothFiles(t *testing.T) {
	tests := []struct {
		name  string
		setup func(t *testing.T, s *fakeStore) want
	}{
		{"index and its own platform manifest", func(t *testing.T, s *fakeStore) want {
			amd, att, stale := ociManifest(t, "amd64"), ociManifest(t, "attestation"), ociManifest(t, "stale")
			s.put("app/latest", seedIndex(t, amd, att), old)
			s.put("app/latest", amd, old) // the second push of the tag
			for _, d := range []doc{amd, att, stale} {
				s.put(at("app", d), d, old)
			}
			return want{
				deleted: []string{at("app", stale)},
				kept:    map[string]prune.Reason{at("app", amd): prune.ReasonTagDigest, at("app", att): prune.ReasonTagged},
			}
		}},
		{"index and a manifest it does not list", func(t *testing.T, s *fakeStore) want {
			// A single-architecture push that did not replace the list: the tag folder holds an index of one
			// platform and the manifest of another; both stay live, with the attestation of the first.
			amd, att, arm, stale := ociManifest(t, "amd64"), ociManifest(t, "attestation"), ociManifest(t, "arm64"), ociManifest(t, "stale")
			s.put("app/1.0", seedIndex(t, amd, att), old)
			s.put("app/1.0", arm, old)
			for _, d := range []doc{amd, att, arm, stale} {
				s.put(at("app", d), d, old)
			}
			return want{
				deleted: []string{at("app", stale)},
				kept: map[string]prune.Reason{at("app", amd): prune.ReasonTagged, at("app", att): prune.ReasonTagged,
					at("app", arm): prune.ReasonTagDigest},
			}
		}},
		{"manifest file reaching through a subject", func(t *testing.T, s *fakeStore) want {
			// The tag's manifest.json is a referrer of a digest folder the index does not list: its subject is
			// reached from the tag, so it is kept too.
			base, child, stale := ociManifest(t, "base"), ociManifest(t, "child"), ociManifest(t, "stale")
			sig := ociManifest(t, "signature", base)
			s.put("app/signed", ociIndex(t, child), old)
			s.put("app/signed", sig, old)
			for _, d := range []doc{base, child, sig, stale} {
				s.put(at("app", d), d, old)
			}
			return want{
				deleted: []string{at("app", stale)},
				kept: map[string]prune.Reason{at("app", base): prune.ReasonTagged, at("app", child): prune.ReasonTagged,
					at("app", sig): prune.ReasonTagDigest},
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newStore(t)
			w := tt.setup(t, s)
			plan, err := newPlanner(t, s, w.opts).Plan(context.Background(), repo)
			checkPlan(t, plan, err, w)
			var tags []string
			for _, img := range plan.Images {
				tags = append(tags, img.Tags...)
			}
			if len(tags) != 1 || slices.Contains(tags, "") {
				t.Errorf("tags %q: want the one tag folder once", tags)
			}
		})
	}
}
