package prune_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/artprune/artprune/prune"
)

// want is the exact outcome of a plan.
type want struct {
	deleted   []string                // digest folders to delete
	kept      map[string]prune.Reason // every kept digest folder and its reason
	imageErr  map[string]error        // image -> error it must wrap; other images must have no error
	repoErr   error                   // error the plan must wrap
	malformed []string
	ignored   int
	missing   map[string][]string // image -> missing references; checked when not nil
	opts      prune.Options
}

var errBoom = errors.New("boom: HTTP 500")

func newPlanner(t testing.TB, src prune.Source, opts prune.Options) *prune.Planner {
	t.Helper()
	p, err := prune.NewPlanner(src, opts)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func dockerManifest(t testing.TB, seed string) doc {
	t.Helper()
	cfg := blob{sha: sha(seed + "/config"), size: 100}
	layer := blob{sha: sha(seed + "/layer"), size: 1000}
	return newDoc(t, prune.ManifestName, map[string]any{
		"schemaVersion": 2,
		"mediaType":     "application/vnd.docker.distribution.manifest.v2+json",
		"config":        map[string]any{"mediaType": "application/vnd.docker.container.image.v1+json", "size": cfg.size, "digest": "sha256:" + cfg.sha},
		"layers":        []any{map[string]any{"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip", "size": layer.size, "digest": "sha256:" + layer.sha}},
	}, cfg, layer)
}

func dockerList(t testing.TB, children ...doc) doc {
	t.Helper()
	var refs []string
	for _, c := range children {
		refs = append(refs, string(c.digest))
	}
	return indexOf(t, "application/vnd.docker.distribution.manifest.list.v2+json", nil, refs...)
}

func schema1(t testing.TB, seed string) doc {
	t.Helper()
	return newDoc(t, prune.ManifestName, map[string]any{
		"schemaVersion": 1, "name": "app", "tag": seed, "architecture": "amd64",
		"fsLayers": []any{map[string]any{"blobSum": "sha256:" + sha(seed)}},
	})
}

// bigManifest returns a manifest larger than the default document limit.
func bigManifest(t testing.TB) doc {
	t.Helper()
	m := ocispec.Manifest{
		MediaType:   ocispec.MediaTypeImageManifest,
		Config:      desc(ocispec.MediaTypeImageConfig, digest.FromString("cfg"), 2),
		Layers:      []ocispec.Descriptor{},
		Annotations: map[string]string{"padding": strings.Repeat("x", int(prune.DefaultMaxDocumentBytes))},
	}
	m.SchemaVersion = 2
	return newDoc(t, prune.ManifestName, m)
}

func planScenarios(t *testing.T) []struct {
	name  string
	setup func(s *fakeStore) want
} {
	m := func(seed string, subject ...doc) doc { return ociManifest(t, seed, subject...) }
	idx := func(children ...doc) doc { return ociIndex(t, children...) }
	scenarios := []struct {
		name  string
		setup func(s *fakeStore) want
	}{
		{"seed index keeps amd64 and attestation", func(s *fakeStore) want {
			amd, att := m("amd64"), m("attestation")
			s.put("my-image/latest", seedIndex(t, amd, att), old)
			s.put(at("my-image", amd), amd, old)
			s.put(at("my-image", att), att, old)
			return want{kept: map[string]prune.Reason{at("my-image", amd): prune.ReasonTagged, at("my-image", att): prune.ReasonTagged}}
		}},
		{"overwritten multi-arch tag frees old children", func(s *fakeStore) want {
			old1, old2, new1, new2 := m("old-amd64"), m("old-arm64"), m("new-amd64"), m("new-arm64")
			s.put("app/latest", idx(new1, new2), young)
			for _, d := range []doc{old1, old2} {
				s.put(at("app", d), d, old)
			}
			for _, d := range []doc{new1, new2} {
				s.put(at("app", d), d, old)
			}
			return want{
				deleted: []string{at("app", old1), at("app", old2)},
				kept:    map[string]prune.Reason{at("app", new1): prune.ReasonTagged, at("app", new2): prune.ReasonTagged},
			}
		}},
		{"nested index pushed by digest keeps all", func(s *fakeStore) want {
			m1, m2 := m("m1"), m("m2")
			inner := idx(m1, m2)
			s.put("team/app/v1", idx(inner), old)
			s.put(at("team/app", inner), inner, old)
			s.put(at("team/app", m1), m1, old)
			s.put(at("team/app", m2), m2, old)
			return want{kept: map[string]prune.Reason{
				at("team/app", inner): prune.ReasonTagged, at("team/app", m1): prune.ReasonTagged, at("team/app", m2): prune.ReasonTagged,
			}}
		}},
		{"old dangling index pushed by digest goes with its children", func(s *fakeStore) want {
			m1, m2, tagged := m("m1"), m("m2"), m("tagged")
			dangling := idx(m1, m2)
			s.put(at("app", dangling), dangling, old)
			s.put(at("app", m1), m1, old)
			s.put(at("app", m2), m2, old)
			s.put("app/v1", tagged, old)
			return want{deleted: []string{at("app", dangling), at("app", m1), at("app", m2)}, kept: map[string]prune.Reason{}}
		}},
		{"docker manifest list and schema1", func(s *fakeStore) want {
			d1, d2, gone := dockerManifest(t, "d1"), dockerManifest(t, "d2"), dockerManifest(t, "gone")
			s.put("app/multi", dockerList(t, d1, d2), old)
			s.put("app/legacy", schema1(t, "legacy"), old)
			for _, d := range []doc{d1, d2, gone} {
				s.put(at("app", d), d, old)
			}
			return want{
				deleted: []string{at("app", gone)},
				kept:    map[string]prune.Reason{at("app", d1): prune.ReasonTagged, at("app", d2): prune.ReasonTagged},
			}
		}},
		{"young dangling index keeps its old children", func(s *fakeStore) want {
			m1, m2 := m("m1"), m("m2")
			dangling := idx(m1, m2)
			s.put(at("app", dangling), dangling, young)
			s.put(at("app", m1), m1, old)
			s.put(at("app", m2), m2, old)
			return want{kept: map[string]prune.Reason{
				at("app", dangling): prune.ReasonYoung, at("app", m1): prune.ReasonYoung, at("app", m2): prune.ReasonYoung,
			}}
		}},
		{"tagged precedes young", func(s *fakeStore) want {
			m1 := m("m1")
			s.put("app/latest", idx(m1), young)
			s.put(at("app", m1), m1, young)
			return want{kept: map[string]prune.Reason{at("app", m1): prune.ReasonTagged}}
		}},
		{"referrers of a live image are kept, of a dangling image deleted", func(s *fakeStore) want {
			live, dead := m("live"), m("dead")
			sig := m("sig", live)
			sbomSig := m("sbom-sig", sig) // a referrer of a referrer
			deadSig := m("dead-sig", dead)
			s.put("app/latest", idx(live), old)
			for _, d := range []doc{live, sig, sbomSig, dead, deadSig} {
				s.put(at("app", d), d, old)
			}
			return want{
				deleted: []string{at("app", dead), at("app", deadSig)},
				kept: map[string]prune.Reason{
					at("app", live): prune.ReasonTagged, at("app", sig): prune.ReasonReferrer, at("app", sbomSig): prune.ReasonReferrer,
				},
			}
		}},
		{"index referrer keeps its children as referrer", func(s *fakeStore) want {
			live, part1, part2 := m("live"), m("part1"), m("part2")
			bundle := indexOf(t, ocispec.MediaTypeImageIndex, &live, string(part1.digest), string(part2.digest))
			s.put("app/latest", live, old)
			for _, d := range []doc{bundle, part1, part2} {
				s.put(at("app", d), d, old)
			}
			return want{kept: map[string]prune.Reason{
				at("app", bundle): prune.ReasonReferrer, at("app", part1): prune.ReasonReferrer, at("app", part2): prune.ReasonReferrer,
			}}
		}},
		{"tagged referrer keeps its subject", func(s *fakeStore) want {
			subject := m("subject")
			sig := m("sig", subject)
			s.put("app/sha256-"+subject.hex()+".sig", sig, old) // referrers tag schema: an ordinary tag
			s.put(at("app", subject), subject, old)
			return want{kept: map[string]prune.Reason{at("app", subject): prune.ReasonTagged}}
		}},
		{"digest folder of a tag's own manifest", func(s *fakeStore) want {
			m1, m2 := m("m1"), m("m2")
			top := idx(m2)
			s.put("app/v1", m1, old)
			s.put(at("app", m1), m1, old)
			s.put("app/v2", top, old)
			s.put(at("app", top), top, old)
			s.put(at("app", m2), m2, old)
			return want{kept: map[string]prune.Reason{
				at("app", m1): prune.ReasonTagDigest, at("app", top): prune.ReasonTagDigest, at("app", m2): prune.ReasonTagged,
			}}
		}},
		{"references resolve per image", func(s *fakeStore) want {
			c1, c2, c3 := m("c1"), m("c2"), m("c3")
			s.put("a/latest", idx(c1, c2), old)
			s.put("b/latest", idx(c3), old) // b was overwritten: c1 and c2 are dangling there
			for _, d := range []doc{c1, c2} {
				s.put(at("a", d), d, old)
				s.put(at("b", d), d, old)
			}
			s.put(at("b", c3), c3, old)
			return want{
				deleted: []string{at("b", c1), at("b", c2)},
				kept: map[string]prune.Reason{
					at("a", c1): prune.ReasonTagged, at("a", c2): prune.ReasonTagged, at("b", c3): prune.ReasonTagged,
				},
			}
		}},
		{"unreadable index skips its image only", func(s *fakeStore) want {
			m1, d1, d2 := m("m1"), m("d1"), m("d2")
			s.put("bad/latest", idx(m1), old)
			s.put(at("bad", m1), m1, old)
			s.put(at("bad", d1), d1, old)
			s.put(at("good", d2), d2, old)
			s.readErr[repo+"/bad/latest/list.manifest.json"] = errBoom
			return want{
				deleted:  []string{at("good", d2)},
				kept:     map[string]prune.Reason{at("bad", m1): prune.ReasonImageSkipped, at("bad", d1): prune.ReasonImageSkipped},
				imageErr: map[string]error{"bad": errBoom},
			}
		}},
		{"unparseable document skips its image", func(s *fakeStore) want {
			d1 := m("d1")
			s.put("app/latest", rawDoc(prune.ListManifestName, "<html>502 Bad Gateway</html>"), old)
			s.put(at("app", d1), d1, old)
			return want{kept: map[string]prune.Reason{at("app", d1): prune.ReasonImageSkipped}, imageErr: map[string]error{"app": prune.ErrInvalidDocument}}
		}},
		{"unknown media type skips its image", func(s *fakeStore) want {
			d1 := m("d1")
			art := rawDoc(prune.ManifestName, `{"schemaVersion":2,"mediaType":"application/vnd.oci.artifact.manifest.v1+json","blobs":[]}`)
			s.put(at("app", art), art, old)
			s.put(at("app", d1), d1, old)
			return want{
				kept:     map[string]prune.Reason{at("app", d1): prune.ReasonImageSkipped, at("app", art): prune.ReasonImageSkipped},
				imageErr: map[string]error{"app": prune.ErrInvalidDocument},
			}
		}},
		{"index in manifest.json skips its image", func(s *fakeStore) want {
			d1 := m("d1")
			wrong := idx(d1)
			wrong.name = prune.ManifestName
			s.put(at("app", wrong), wrong, old)
			s.put(at("app", d1), d1, old)
			return want{
				kept:     map[string]prune.Reason{at("app", d1): prune.ReasonImageSkipped, at("app", wrong): prune.ReasonImageSkipped},
				imageErr: map[string]error{"app": prune.ErrInvalidDocument},
			}
		}},
		{"checksum mismatch skips its image", func(s *fakeStore) want {
			d1 := m("d1")
			s.put(at("app", d1), d1, old, withSHA256(sha("something else")))
			return want{kept: map[string]prune.Reason{at("app", d1): prune.ReasonImageSkipped}, imageErr: map[string]error{"app": prune.ErrDigestMismatch}}
		}},
		{"listed size over the limit skips its image", func(s *fakeStore) want {
			big := bigManifest(t)
			s.put(at("app", big), big, old)
			return want{kept: map[string]prune.Reason{at("app", big): prune.ReasonImageSkipped}, imageErr: map[string]error{"app": prune.ErrTooLarge}}
		}},
		{"content over the limit skips its image", func(s *fakeStore) want {
			big := bigManifest(t)
			s.put(at("app", big), big, old, withSize(100))
			return want{kept: map[string]prune.Reason{at("app", big): prune.ReasonImageSkipped}, imageErr: map[string]error{"app": prune.ErrTooLarge}}
		}},
		{"malformed subject digest skips its image", func(s *fakeStore) want {
			bad := rawDoc(prune.ManifestName, `{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",`+
				`"config":{"mediaType":"application/vnd.oci.empty.v1+json","digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a","size":2},`+
				`"layers":[],"subject":{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:abc","size":1}}`)
			s.put(at("app", bad), bad, old)
			return want{kept: map[string]prune.Reason{at("app", bad): prune.ReasonImageSkipped}, imageErr: map[string]error{"app": prune.ErrInvalidDocument}}
		}},
		{"trimmed inventory deletes nothing in the repository", func(s *fakeStore) want {
			d1 := m("d1")
			s.put(at("app", d1), d1, old)
			s.put(at("other", d1), d1, old)
			s.manifestsErr = fmt.Errorf("aql: results trimmed at 500000: %w", prune.ErrIncomplete)
			return want{repoErr: prune.ErrIncomplete, kept: map[string]prune.Reason{}}
		}},
		{"failed server time deletes nothing in the repository", func(s *fakeStore) want {
			d1 := m("d1")
			s.put(at("app", d1), d1, old)
			s.nowErr = errBoom
			return want{repoErr: errBoom, kept: map[string]prune.Reason{}}
		}},
		{"self-referencing index ends", func(s *fakeStore) want {
			self := digest.FromString("self")
			loop := indexOf(t, ocispec.MediaTypeImageIndex, nil, string(self))
			tagged := digest.FromString("tagged-self")
			loop2 := indexOf(t, ocispec.MediaTypeImageIndex, nil, string(tagged))
			s.put("app/"+string(self), loop, old)    // folder named self holds an index listing self
			s.put("app/"+string(tagged), loop2, old) // same, but reachable from a tag
			s.put("app/latest", idx(loop2), old)
			return want{deleted: []string{"app/" + string(self)}, kept: map[string]prune.Reason{"app/" + string(tagged): prune.ReasonTagged}}
		}},
		{"cycles end", func(s *fakeStore) want {
			a, b := digest.FromString("a"), digest.FromString("b")
			s.put("dead/"+string(a), indexOf(t, ocispec.MediaTypeImageIndex, nil, string(b)), old)
			s.put("dead/"+string(b), indexOf(t, ocispec.MediaTypeImageIndex, nil, string(a)), old)
			s.put("live/"+string(a), indexOf(t, ocispec.MediaTypeImageIndex, nil, string(b)), old)
			s.put("live/"+string(b), indexOf(t, ocispec.MediaTypeImageIndex, nil, string(a)), old)
			s.put("live/latest", indexOf(t, ocispec.MediaTypeImageIndex, nil, string(a), string(a)), old)
			return want{
				deleted: []string{"dead/" + string(a), "dead/" + string(b)},
				kept:    map[string]prune.Reason{"live/" + string(a): prune.ReasonTagged, "live/" + string(b): prune.ReasonTagged},
			}
		}},
		{"protected property is a root", func(s *fakeStore) want {
			kept1, child, sig, notKept := m("kept"), m("child"), m("sig-of-kept"), m("not-kept")
			pidx := idx(child)
			sig = m("sig-of-kept", kept1)
			s.put(at("app", kept1), kept1, old, withProps("artprune.keep", "true"))
			s.put(at("app", sig), sig, old)
			s.put(at("app", pidx), pidx, old, withProps("artprune.keep", "true", "other", "x"))
			s.put(at("app", child), child, old)
			s.put(at("app", notKept), notKept, old, withProps("artprune.keep", "false"))
			return want{
				opts:    prune.Options{KeepProperty: "artprune.keep=true"},
				deleted: []string{at("app", notKept)},
				kept: map[string]prune.Reason{
					at("app", kept1): prune.ReasonProtected, at("app", sig): prune.ReasonProtected,
					at("app", pidx): prune.ReasonProtected, at("app", child): prune.ReasonProtected,
				},
			}
		}},
		{"pulled digest is a root: its index children and referrers stay, its siblings go", func(s *fakeStore) want {
			// A deployment pinned app@sha256:<pinned> (an old index whose tag moved on) and pulled it recently.
			a, b, att := m("pinned-amd64"), m("pinned-arm64"), m("pinned-attestation")
			pinned := idx(a, b, att)
			sig := m("sig-of-pinned", pinned)
			single := m("single-pinned")
			sibling, siblingChild := m("sibling"), m("sibling-child")
			siblingIdx := idx(siblingChild)
			s.put("app/latest", idx(m("current")), old)
			s.put(at("app", m("current")), m("current"), old)
			s.put(at("app", pinned), pinned, old, pulled)
			for _, d := range []doc{a, b, att, sig} {
				s.put(at("app", d), d, old)
			}
			s.put(at("app", single), single, old, pulled)
			s.put(at("app", sibling), sibling, old)
			s.put(at("app", siblingIdx), siblingIdx, old)
			s.put(at("app", siblingChild), siblingChild, old)
			// A pulled file in another image keeps nothing here.
			other := m("sibling")
			s.put(at("other", other), other, old, pulled)
			return want{
				deleted: []string{at("app", sibling), at("app", siblingChild), at("app", siblingIdx)},
				kept: map[string]prune.Reason{
					at("app", m("current")): prune.ReasonTagged,
					at("app", pinned):       prune.ReasonPulled, at("app", a): prune.ReasonPulled, at("app", b): prune.ReasonPulled,
					at("app", att): prune.ReasonPulled, at("app", sig): prune.ReasonPulled, at("app", single): prune.ReasonPulled,
					at("other", other): prune.ReasonPulled,
				},
			}
		}},
		{"tagged and protected win over pulled, pulled over young", func(s *fakeStore) want {
			tagged, prot, youngPulled := m("tagged"), m("protected"), m("young-pulled")
			s.put("app/v1", idx(tagged), old)
			s.put(at("app", tagged), tagged, old, pulled)
			s.put(at("app", prot), prot, old, pulled, withProps("artprune.keep", "true"))
			s.put(at("app", youngPulled), youngPulled, young, pulled)
			return want{
				opts: prune.Options{KeepProperty: "artprune.keep=true"},
				kept: map[string]prune.Reason{
					at("app", tagged): prune.ReasonTagged, at("app", prot): prune.ReasonProtected, at("app", youngPulled): prune.ReasonPulled,
				},
			}
		}},
		{"referrer of a young dangling image is young", func(s *fakeStore) want {
			subject := m("subject")
			sig := m("sig", subject)
			s.put(at("app", subject), subject, young)
			s.put(at("app", sig), sig, old)
			return want{kept: map[string]prune.Reason{at("app", subject): prune.ReasonYoung, at("app", sig): prune.ReasonYoung}}
		}},
		{"uploads are ignored", func(s *fakeStore) want {
			d1, d2 := m("d1"), m("d2")
			s.put("app/_uploads/"+string(d1.digest), d1, old)
			s.put("app/_uploads", d2, old)
			s.put(at("app", d2), d2, old)
			return want{deleted: []string{at("app", d2)}, kept: map[string]prune.Reason{}, ignored: 2}
		}},
		{"almost-digest folders are tags", func(s *fakeStore) want {
			m1, m2, m3 := m("m1"), m("m2"), m("m3")
			s.put("app/sha256:"+strings.ToUpper(m1.hex()), idx(m1), old)
			s.put("app/sha256:"+m2.hex()[:12], idx(m2), old)
			s.put("app/sha512:"+m3.hex()+m3.hex(), idx(m3), old)
			for _, d := range []doc{m1, m2, m3} {
				s.put(at("app", d), d, old)
			}
			return want{kept: map[string]prune.Reason{
				at("app", m1): prune.ReasonTagged, at("app", m2): prune.ReasonTagged, at("app", m3): prune.ReasonTagged,
			}}
		}},
		{"manifest files outside any image are malformed", func(s *fakeStore) want {
			d1 := m("d1")
			s.put(".", idx(d1), old)
			s.put("latest", idx(d1), old)
			s.put(string(d1.digest), d1, old)
			s.put(at("app", d1), d1, old)
			return want{
				deleted:   []string{at("app", d1)},
				kept:      map[string]prune.Reason{},
				malformed: []string{"latest/list.manifest.json", "list.manifest.json", string(d1.digest) + "/manifest.json"},
			}
		}},
		{"unsafe image path skips its image", func(s *fakeStore) want {
			d1, d2 := m("d1"), m("d2")
			s.put("app/./x/"+string(d1.digest), d1, old)
			s.put("app/%2e%2e/"+string(d2.digest), d2, old)
			return want{
				kept:     map[string]prune.Reason{"app/./x/" + string(d1.digest): prune.ReasonImageSkipped, "app/%2e%2e/" + string(d2.digest): prune.ReasonImageSkipped},
				imageErr: map[string]error{"app/./x": prune.ErrUnsafePath, "app/%2e%2e": prune.ErrUnsafePath},
			}
		}},
		{"missing references are counted, not errors", func(s *fakeStore) want {
			m1, absent, gone := m("m1"), m("absent"), m("gone")
			sig := m("sig", gone)
			s.put("app/latest", idx(m1, absent), old)
			s.put(at("app", m1), m1, old)
			s.put(at("app", sig), sig, old)
			return want{
				deleted: []string{at("app", sig)},
				kept:    map[string]prune.Reason{at("app", m1): prune.ReasonTagged},
				missing: map[string][]string{"app": sortedStrings(string(absent.digest), string(gone.digest))},
			}
		}},
		{"minimum age is configurable", func(s *fakeStore) want {
			hour, recent := m("an hour old"), m("recent")
			s.put(at("app", hour), hour, young)
			s.put(at("app", recent), recent, 10*time.Minute)
			return want{
				opts:    prune.Options{MinAge: 30 * time.Minute},
				deleted: []string{at("app", hour)},
				kept:    map[string]prune.Reason{at("app", recent): prune.ReasonYoung},
			}
		}},
		{"digest folder holding other manifest files is not deleted", func(s *fakeStore) want {
			outer, inner, d1 := m("outer"), m("inner"), m("d1")
			s.put(at("app", outer), outer, old)
			s.put(at("app", outer)+"/latest", idx(inner), old) // an "image" nested in a digest folder
			s.put(at(at("app", outer), inner), inner, old)
			s.put(at("app", d1), d1, old)
			return want{
				kept: map[string]prune.Reason{
					at("app", outer): prune.ReasonImageSkipped, at("app", d1): prune.ReasonImageSkipped,
					// "sha256:<hex>" is no Docker image name component: the nested "image" is refused too.
					at(at("app", outer), inner): prune.ReasonImageSkipped,
				},
				imageErr: map[string]error{"app": prune.ErrUnsafePath, at("app", outer): prune.ErrUnsafePath},
			}
		}},
		{"manifest file without timestamps skips its image", func(s *fakeStore) want {
			d1 := m("d1")
			s.put(at("app", d1), d1, old, func(f *fakeFile) { f.created, f.modified, f.updated = time.Time{}, time.Time{}, time.Time{} })
			return want{kept: map[string]prune.Reason{at("app", d1): prune.ReasonImageSkipped}, imageErr: map[string]error{"app": prune.ErrIncomplete}}
		}},
		{"listed checksum in uppercase skips its image", func(s *fakeStore) want {
			d1 := m("d1")
			s.put(at("app", d1), d1, old, withSHA256(strings.ToUpper(d1.hex())))
			return want{kept: map[string]prune.Reason{at("app", d1): prune.ReasonImageSkipped}, imageErr: map[string]error{"app": prune.ErrInvalidDocument}}
		}},
	}
	hex := sha("child")
	for _, bad := range []string{
		"sha256:" + strings.ToUpper(hex), // wrong case
		"sha256:" + hex[:63],             // short
		"sha256:" + hex + "0",            // long
		"sha512:" + hex + hex,            // valid, but not sha256
		"md5:d41d8cd98f00b204e9800998ecf8427e",
		hex, // no algorithm
		"",
	} {
		scenarios = append(scenarios, struct {
			name  string
			setup func(s *fakeStore) want
		}{"malformed child digest " + strconv.Quote(bad), func(s *fakeStore) want {
			child := digest.NewDigestFromEncoded(digest.SHA256, hex)
			d1 := m("d1")
			s.put("app/latest", indexOf(t, ocispec.MediaTypeImageIndex, nil, string(d1.digest), bad), old)
			s.put(at("app", d1), d1, old)
			s.put("app/"+string(child), m("child"), old)
			s.put(at("other", d1), d1, old)
			return want{
				deleted:  []string{at("other", d1)},
				kept:     map[string]prune.Reason{at("app", d1): prune.ReasonImageSkipped, "app/" + string(child): prune.ReasonImageSkipped},
				imageErr: map[string]error{"app": prune.ErrInvalidDocument},
			}
		}})
	}
	return scenarios
}

func sortedStrings(s ...string) []string {
	slices.Sort(s)
	return s
}

func TestPlanScenarios(t *testing.T) {
	for _, sc := range planScenarios(t) {
		t.Run(sc.name, func(t *testing.T) {
			ctx := context.Background()
			s := newStore(t)
			w := sc.setup(s)
			before := s.snapshot()

			// Dry run: plan only.
			plan, err := newPlanner(t, s, w.opts).Plan(ctx, repo)
			if got := s.snapshot(); !slices.Equal(got, before) || len(s.deletes) > 0 {
				t.Fatalf("planning changed the store: deletes %v", s.deletes)
			}
			checkPlan(t, plan, err, w)

			// Real run: recheck and apply; exactly the planned folders disappear.
			if err := prune.Recheck(ctx, s, plan); (err != nil) != (w.repoErr != nil) {
				t.Fatalf("Recheck: %v", err)
			}
			res := prune.Apply(ctx, s, plan, 3)
			var wantAfter []string
			for _, k := range before {
				if !slices.ContainsFunc(w.deleted, func(f string) bool { return strings.HasPrefix(k, repo+"/"+f+"/") }) {
					wantAfter = append(wantAfter, k)
				}
			}
			if got := s.snapshot(); !slices.Equal(got, wantAfter) {
				t.Errorf("after Apply the store holds\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(wantAfter, "\n"))
			}
			for _, d := range res.Deletions {
				if d.Outcome != prune.OutcomeDeleted && w.repoErr == nil {
					t.Errorf("deletion %s: %s %v", d.Path, d.Outcome, d.Err)
				}
			}
		})
	}
}

// checkPlan compares a plan with what is wanted, exactly.
func checkPlan(t *testing.T, plan *prune.RepoPlan, err error, w want) {
	t.Helper()
	switch {
	case w.repoErr == nil && err != nil:
		t.Fatalf("Plan: %v", err)
	case w.repoErr != nil && !errors.Is(err, w.repoErr):
		t.Fatalf("Plan error %v, want one wrapping %v", err, w.repoErr)
	case w.repoErr != nil && !errors.Is(plan.Err, w.repoErr):
		t.Errorf("RepoPlan.Err %v, want one wrapping %v", plan.Err, w.repoErr)
	}

	gotDeleted := []string{}
	gotKept := map[string]prune.Reason{}
	for _, img := range plan.Images {
		for _, f := range img.Folders {
			if f.Image != img.Name || f.Path != f.Image+"/"+string(f.Digest) {
				t.Errorf("folder %+v does not fit its image %s", f, img.Name)
			}
			if f.Delete {
				gotDeleted = append(gotDeleted, f.Path)
				if f.Reason != "" {
					t.Errorf("deleted folder %s has reason %s", f.Path, f.Reason)
				}
			} else {
				gotKept[f.Path] = f.Reason
			}
		}
		wantErr := w.imageErr[img.Name]
		switch {
		case wantErr == nil && img.Err != nil:
			t.Errorf("image %s: unexpected error %v", img.Name, img.Err)
		case wantErr != nil && !errors.Is(img.Err, wantErr):
			t.Errorf("image %s: error %v, want one wrapping %v", img.Name, img.Err, wantErr)
		}
		if w.missing != nil {
			got := []string{}
			for _, d := range img.MissingRefs {
				got = append(got, string(d))
			}
			if wantMissing := w.missing[img.Name]; !slices.Equal(got, append([]string{}, wantMissing...)) {
				t.Errorf("image %s: missing references %v, want %v", img.Name, got, wantMissing)
			}
		}
	}
	for name := range w.imageErr {
		if !slices.ContainsFunc(plan.Images, func(i prune.ImagePlan) bool { return i.Name == name }) {
			t.Errorf("no image %s in the plan", name)
		}
	}
	wantDeleted := append([]string{}, w.deleted...)
	slices.Sort(wantDeleted)
	if !slices.Equal(gotDeleted, wantDeleted) {
		t.Errorf("deleted\n%s\nwant\n%s", strings.Join(gotDeleted, "\n"), strings.Join(wantDeleted, "\n"))
	}
	if !maps.Equal(gotKept, w.kept) {
		t.Errorf("kept\n%v\nwant\n%v", gotKept, w.kept)
	}
	if !slices.Equal(plan.Malformed, append([]string(nil), w.malformed...)) && (len(plan.Malformed) > 0 || len(w.malformed) > 0) {
		t.Errorf("malformed %v, want %v", plan.Malformed, w.malformed)
	}
	if plan.Ignored != w.ignored {
		t.Errorf("ignored %d, want %d", plan.Ignored, w.ignored)
	}
	dels := plan.Deletions()
	if len(dels) != len(gotDeleted) {
		t.Errorf("Deletions() returned %d folders, want %d", len(dels), len(gotDeleted))
	}
}
