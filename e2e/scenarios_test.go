//go:build e2e

package e2e

// The eight scenarios, pushed once with the real clients into one emulator, and the oracle: every manifest folder
// they create, under a stable symbolic name, with whether a correct pruner must keep it and why.

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// Kinds of folders.
const (
	kindTag         = "tag"         // <image>/<tag>/
	kindIndex       = "index"       // a digest folder holding list.manifest.json
	kindImage       = "image"       // a digest folder holding an image manifest
	kindAttestation = "attestation" // a digest folder holding a buildx-style attestation manifest
	kindReferrer    = "referrer"    // a digest folder holding an OCI referrer (a manifest with subject)
)

// folder is one manifest folder the scenarios create, and the oracle's verdict on it.
type folder struct {
	Sym      string // stable name: "<image>@<role>" for a digest folder, "<image>:<tag>" for a tag folder
	Scenario int
	Repo     string
	Image    string
	Name     string // the folder's name: the tag, or "sha256:<hex>"
	Digest   string // the digest of its manifest file
	Kind     string
	Keep     bool   // a correct pruner of pruneRepo must keep it
	Why      string // why it must be kept, or why it dangles
	Reason   string // for a kept digest folder of pruneRepo: the reason artprune's report must give
}

func (f *folder) path() string { return f.Image + "/" + f.Name }
func (f *folder) key() string  { return f.Repo + "/" + f.path() }
func (f *folder) isTag() bool  { return f.Kind == kindTag }

// referrer is an SBOM attached with regctl artifact put --subject.
type referrer struct {
	Sym      string // the referrer's folder
	Subject  string // the subject's folder
	Repo     string
	Image    string
	Digest   string
	SubjDg   string
	Content  string
	Fallback bool // attached with the referrers API off: listed by the referrers-tag-schema fallback tag
	Live     bool // its subject is live
}

// world is the pushed state: the emulator the clients pushed to, its snapshot (a --fixture file), and the oracle.
type world struct {
	p           *emulator
	pc          *clients
	fixturePath string
	fixture     *snapshot
	folders     []*folder
	bySym       map[string]*folder
	referrers   []*referrer
	scenarios   []string // one line per scenario, for docs/comparison.md
	buildTime   time.Duration
}

var (
	worldOnce sync.Once
	theWorld  *world
)

// sharedWorld pushes the scenarios once per run; the tests that need them share it (and its emulator, which
// TestArtprune prunes). A failure fails the test that built it and every later one.
func sharedWorld(t *testing.T) *world {
	t.Helper()
	worldOnce.Do(func() {
		began := time.Now()
		w := buildWorld(t)
		w.buildTime = time.Since(began)
		t.Logf("scenarios pushed in %s: %d manifest folders, fixture %s (%d bytes)", w.buildTime.Round(time.Millisecond),
			len(w.folders), w.fixturePath, len(w.fixture.raw))
		theWorld = w
	})
	if theWorld == nil {
		t.Fatal("pushing the scenarios failed (see the first test's log)")
	}
	return theWorld
}

func buildWorld(t *testing.T) *world {
	t.Helper()
	dir := suiteTemp(t, "world")
	w := &world{bySym: map[string]*folder{}, fixturePath: filepath.Join(dir, "fixture.json")}
	w.p = startEmulator(t, "pushed", addGlobalCleanup, "--repo", pruneRepo, "--repo", otherRepo)
	w.pc = newClients(t, w.p, filepath.Join(dir, "clients"))

	// Everything but the young index is pushed, then 48h pass: with the default --min-age 24h it is old.
	w.scenario1(t)
	w.scenario2(t)
	w.scenario3(t)
	w.scenario4Old(t)
	w.scenario5(t)
	w.scenario6(t)
	w.scenario7(t)
	w.scenario8(t)
	w.p.advanceClock(t, "48h")
	w.scenario4Young(t)

	w.fixture = w.p.snapshot(t)
	if err := os.WriteFile(w.fixturePath, w.fixture.raw, 0o644); err != nil {
		t.Fatal(err)
	}
	w.checkOracle(t, w.fixture)
	return w
}

func (w *world) declare(t *testing.T, f *folder) *folder {
	t.Helper()
	if _, dup := w.bySym[f.Sym]; dup {
		t.Fatalf("folder %s declared twice", f.Sym)
	}
	if f.isTag() {
		f.Name = strings.TrimPrefix(f.Sym, f.Image+":")
		if f.Name == f.Sym {
			t.Fatalf("tag folder %s: name it <image>:<tag>", f.Sym)
		}
	} else {
		f.Name = f.Digest
	}
	if !strings.HasPrefix(f.Digest, "sha256:") {
		t.Fatalf("folder %s: digest %q", f.Sym, f.Digest)
	}
	w.folders = append(w.folders, f)
	w.bySym[f.Sym] = f
	return f
}

// digestFolder declares <image>@<role>.
func (w *world) digestFolder(t *testing.T, sc int, repo, image, role, digest, kind string, keep bool, reason, why string) *folder {
	t.Helper()
	return w.declare(t, &folder{Sym: image + "@" + role, Scenario: sc, Repo: repo, Image: image, Digest: digest, Kind: kind,
		Keep: keep, Reason: reason, Why: why})
}

// tagFolder declares <image>:<tag>.
func (w *world) tagFolder(t *testing.T, sc int, repo, image, tag, digest, why string) *folder {
	t.Helper()
	return w.declare(t, &folder{Sym: image + ":" + tag, Scenario: sc, Repo: repo, Image: image, Digest: digest, Kind: kindTag,
		Keep: true, Why: why})
}

func (w *world) describe(sc int, text string) {
	w.scenarios = append(w.scenarios, fmt.Sprintf("%d. %s", sc, text))
}

func roleKind(role string) string {
	if strings.HasPrefix(role, "att-") {
		return kindAttestation
	}
	return kindImage
}

// Scenario 1: a multi-arch OCI index like the seed's (two platforms, buildx-style attestation entries), tagged
// latest, then latest overwritten by a new build.
func (w *world) scenario1(t *testing.T) {
	const image = "s1/app"
	w.describe(1, "`s1/app:latest`: an OCI index of linux/amd64 and linux/arm64 with buildx-style attestation manifests "+
		"(regctl), overwritten by a new build.")
	l := w.pc.newLayout(t, "s1")
	for _, gen := range []string{"old", "new"} {
		idx, kids := l.multiArch(t, gen, []string{"amd64", "arm64"}, true)
		w.pc.run(t, "regctl", "image", "copy", l.tag(gen), w.pc.ref(pruneRepo, image, "latest"))
		for _, role := range []string{"amd64", "att-amd64", "arm64", "att-arm64"} {
			if gen == "old" {
				w.digestFolder(t, 1, pruneRepo, image, role+"-old", kids[role], roleKind(role), false, "",
					"its index was `latest` until the new build overwrote it")
			} else {
				w.digestFolder(t, 1, pruneRepo, image, role+"-new", kids[role], roleKind(role), true, "tagged", "in `latest`")
			}
		}
		if gen == "new" {
			w.tagFolder(t, 1, pruneRepo, image, "latest", idx, "tag")
		}
	}
}

// Scenario 2: a Docker manifest list (schema 2), overwritten the same way.
func (w *world) scenario2(t *testing.T) {
	const image = "s2/dlist"
	w.describe(2, "`s2/dlist:latest`: a Docker manifest list (schema 2) of two Docker images (regctl), overwritten by a new build.")
	l := w.pc.newLayout(t, "s2")
	for _, gen := range []string{"old", "new"} {
		idx, kids := l.dockerList(t, gen, []string{"amd64", "arm64"})
		w.pc.run(t, "regctl", "image", "copy", l.tag(gen), w.pc.ref(pruneRepo, image, "latest"))
		for _, role := range []string{"amd64", "arm64"} {
			if gen == "old" {
				w.digestFolder(t, 2, pruneRepo, image, role+"-old", kids[role], kindImage, false, "",
					"its manifest list was `latest` until the new build overwrote it")
			} else {
				w.digestFolder(t, 2, pruneRepo, image, role+"-new", kids[role], kindImage, true, "tagged", "in `latest`")
			}
		}
		if gen == "new" {
			w.tagFolder(t, 2, pruneRepo, image, "latest", idx, "tag")
		}
	}
}

// Scenario 3: a nested index: a tagged index whose entry is an index pushed by digest.
func (w *world) scenario3(t *testing.T) {
	const image = "s3/nested"
	w.describe(3, "`s3/nested:stable`: a nested index; its only entry is an index of two platforms pushed by digest first (regctl).")
	l := w.pc.newLayout(t, "s3")
	amd := l.image(t, "amd64", "linux/amd64")
	arm := l.image(t, "arm64", "linux/arm64")
	inner := l.index(t, "inner", "", "amd64", "arm64")
	w.pc.run(t, "regctl", "image", "copy", l.tag("inner"), w.pc.ref(pruneRepo, image, inner))
	outer := l.index(t, "outer", "", "inner")
	w.pc.run(t, "regctl", "image", "copy", l.tag("outer"), w.pc.ref(pruneRepo, image, "stable"))
	w.digestFolder(t, 3, pruneRepo, image, "inner-index", inner, kindIndex, true, "tagged", "in `stable` (a nested index)")
	w.digestFolder(t, 3, pruneRepo, image, "amd64", amd, kindImage, true, "tagged", "in `s3/nested@inner-index`, in `stable`")
	w.digestFolder(t, 3, pruneRepo, image, "arm64", arm, kindImage, true, "tagged", "in `s3/nested@inner-index`, in `stable`")
	w.tagFolder(t, 3, pruneRepo, image, "stable", outer, "tag")
}

// Scenario 4, old part: an index pushed by digest and never tagged (push-by-digest CI).
func (w *world) scenario4Old(t *testing.T) {
	const image = "s4/ci"
	w.describe(4, "`s4/ci`: two indexes of two platforms pushed by digest and never tagged (push-by-digest CI, regctl): "+
		"one 48 hours old, one pushed just before the run.")
	l := w.pc.newLayout(t, "s4-old")
	idx, kids := l.multiArch(t, "old", []string{"amd64", "arm64"}, false)
	w.pc.run(t, "regctl", "image", "copy", l.tag("old"), w.pc.ref(pruneRepo, image, idx))
	w.digestFolder(t, 4, pruneRepo, image, "index-old", idx, kindIndex, false, "", "pushed by digest 48h ago, never tagged")
	for _, role := range []string{"amd64", "arm64"} {
		w.digestFolder(t, 4, pruneRepo, image, role+"-old", kids[role], kindImage, false, "", "only in `s4/ci@index-old`, which dangles")
	}
}

// Scenario 4, young part, pushed after the clock moved.
func (w *world) scenario4Young(t *testing.T) {
	const image = "s4/ci"
	l := w.pc.newLayout(t, "s4-young")
	idx, kids := l.multiArch(t, "young", []string{"amd64", "arm64"}, false)
	w.pc.run(t, "regctl", "image", "copy", l.tag("young"), w.pc.ref(pruneRepo, image, idx))
	w.digestFolder(t, 4, pruneRepo, image, "index-young", idx, kindIndex, true, "young", "young: its tag may be on its way (pushed by digest, untagged)")
	for _, role := range []string{"amd64", "arm64"} {
		w.digestFolder(t, 4, pruneRepo, image, role+"-young", kids[role], kindImage, true, "young", "young (in `s4/ci@index-young`)")
	}
}

// Scenario 5: referrers. An SBOM attached to a live image through the referrers API, one through the
// referrers-tag-schema fallback (the emulator's referrers API off), and one attached to a dangling image.
func (w *world) scenario5(t *testing.T) {
	const image = "s5/app"
	w.describe(5, "`s5/app:v1` (an OCI index of two platforms) with two SBOMs attached by `regctl artifact put --subject`: "+
		"one through the referrers API, one through the referrers-tag-schema fallback (referrers API off: tag `sha256-<v1 digest>`); "+
		"and an image pushed by digest, never tagged, with an SBOM of its own.")
	l := w.pc.newLayout(t, "s5")
	v1, kids := l.multiArch(t, "v1", []string{"amd64", "arm64"}, false)
	w.pc.run(t, "regctl", "image", "copy", l.tag("v1"), w.pc.ref(pruneRepo, image, "v1"))
	for _, role := range []string{"amd64", "arm64"} {
		w.digestFolder(t, 5, pruneRepo, image, role, kids[role], kindImage, true, "tagged", "in `v1`")
	}
	tagV1 := w.tagFolder(t, 5, pruneRepo, image, "v1", v1, "tag")

	api := w.attach(t, tagV1, "sbom-api", false)
	w.digestFolder(t, 5, pruneRepo, image, "sbom-api", api.Digest, kindReferrer, true, "referrer",
		"a referrer of `s5/app:v1`, attached through the referrers API: no index lists it")

	w.p.setReferrersAPI(t, false)
	fb := w.attach(t, tagV1, "sbom-fallback", true)
	w.p.setReferrersAPI(t, true)
	fallbackTag := "sha256-" + strings.TrimPrefix(v1, "sha256:")
	fbIndex := w.pc.digestOf(t, w.pc.ref(pruneRepo, image, fallbackTag))
	w.digestFolder(t, 5, pruneRepo, image, "sbom-fallback", fb.Digest, kindReferrer, true, "tagged",
		"a referrer of `s5/app:v1`, attached with the referrers API off: listed by the fallback tag")
	f := w.declare(t, &folder{Sym: image + ":sha256-<v1>", Scenario: 5, Repo: pruneRepo, Image: image, Digest: fbIndex,
		Kind: kindTag, Keep: true, Why: "the referrers-tag-schema fallback tag of `v1`"})
	f.Name = fallbackTag

	orphan := l.image(t, "orphan", "linux/amd64")
	w.pc.run(t, "regctl", "image", "copy", l.tag("orphan"), w.pc.ref(pruneRepo, image, orphan))
	of := w.digestFolder(t, 5, pruneRepo, image, "orphan", orphan, kindImage, false, "", "pushed by digest, never tagged")
	so := w.attach(t, of, "sbom-orphan", false)
	w.digestFolder(t, 5, pruneRepo, image, "sbom-orphan", so.Digest, kindReferrer, false, "", "a referrer of `s5/app@orphan`, which dangles")
}

// attach attaches an SBOM to subject with regctl artifact put --subject and returns it; its digest is the one new
// entry in the subject's referrers (listed with the referrers API, or the fallback tag when it is off).
func (w *world) attach(t *testing.T, subject *folder, role string, fallback bool) *referrer {
	t.Helper()
	subjRef := w.pc.ref(subject.Repo, subject.Image, subject.Digest)
	content := fmt.Sprintf(`{"spdxVersion":"SPDX-2.3","name":%q,"documentNamespace":"https://example.com/%s"}`,
		subject.Image+"@"+role, randomHex(t, 16))
	file := filepath.Join(w.pc.home, strings.ReplaceAll(subject.Image, "/", "-")+"-"+role+".spdx.json")
	if err := os.WriteFile(file, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	before, err := listReferrers(t, w.pc, subjRef)
	if err != nil {
		t.Fatal(err)
	}
	w.pc.run(t, "regctl", "artifact", "put", "--subject", subjRef, "--artifact-type", "application/spdx+json",
		"-m", "application/spdx+json", "-f", file, "--annotation", "org.example.role="+role)
	after, err := listReferrers(t, w.pc, subjRef)
	if err != nil {
		t.Fatal(err)
	}
	var added []string
	for d := range after {
		if !before[d] {
			added = append(added, d)
		}
	}
	if len(added) != 1 {
		t.Fatalf("regctl artifact put --subject %s (%s): referrers before %v, after %v", subjRef, role, before, after)
	}
	r := &referrer{Sym: subject.Image + "@" + role, Subject: subject.Sym, Repo: subject.Repo, Image: subject.Image,
		Digest: added[0], SubjDg: subject.Digest, Content: content, Fallback: fallback, Live: subject.Keep}
	w.referrers = append(w.referrers, r)
	return r
}

// listReferrers lists the referrers of a subject with regctl artifact list.
func listReferrers(t *testing.T, c *clients, subjRef string) (map[string]bool, error) {
	t.Helper()
	out, errOut, err := c.try(t, "regctl", "artifact", "list", subjRef, "--format", "raw-body")
	if err != nil {
		return nil, fmt.Errorf("regctl artifact list %s: %v: %s", subjRef, err, strings.TrimSpace(errOut))
	}
	var idx struct {
		Manifests []struct {
			Digest string `json:"digest"`
		} `json:"manifests"`
	}
	if err := json.Unmarshal([]byte(out), &idx); err != nil {
		return nil, fmt.Errorf("regctl artifact list %s: %v: %q", subjRef, err, out)
	}
	set := map[string]bool{}
	for _, m := range idx.Manifests {
		set[m.Digest] = true
	}
	return set, nil
}

// Scenario 6: single-platform images, tagged and re-tagged, and a digest folder whose digest a tag also has.
func (w *world) scenario6(t *testing.T) {
	const image = "s6/single"
	w.describe(6, "`s6/single`: single-platform images. `1.0` pushed (crane append), re-tagged `latest` (crane tag), then `1.0` "+
		"pushed again; an image pushed by digest (regctl) then tagged `2.0` (crane tag); and an image pushed by digest, never tagged.")
	a := w.craneAppend(t, image, "1.0", "a")
	w.pc.run(t, "crane", "tag", w.pc.ref(pruneRepo, image, "1.0"), "latest", "--insecure")
	b := w.craneAppend(t, image, "1.0", "b")
	if a == b {
		t.Fatalf("%s: two random images with one digest", image)
	}
	w.tagFolder(t, 6, pruneRepo, image, "1.0", b, "tag (re-pushed)")
	w.tagFolder(t, 6, pruneRepo, image, "latest", a, "tag (the first `1.0`, re-tagged)")

	l := w.pc.newLayout(t, "s6")
	c := l.image(t, "c", "linux/amd64")
	w.pc.run(t, "regctl", "image", "copy", l.tag("c"), w.pc.ref(pruneRepo, image, c))
	w.pc.run(t, "crane", "tag", w.pc.ref(pruneRepo, image, c), "2.0", "--insecure")
	w.digestFolder(t, 6, pruneRepo, image, "2.0-by-digest", c, kindImage, true, "tag-digest", "tag `2.0` has its digest")
	w.tagFolder(t, 6, pruneRepo, image, "2.0", c, "tag")

	d := l.image(t, "orphan", "linux/amd64")
	w.pc.run(t, "regctl", "image", "copy", l.tag("orphan"), w.pc.ref(pruneRepo, image, d))
	w.digestFolder(t, 6, pruneRepo, image, "orphan", d, kindImage, false, "", "pushed by digest, never tagged")
}

// craneAppend pushes, with crane append, an image of one random layer on no base as image:tag; it returns its digest.
func (w *world) craneAppend(t *testing.T, image, tag, name string) string {
	t.Helper()
	tarPath := filepath.Join(w.pc.home, "crane-"+strings.ReplaceAll(image, "/", "-")+"-"+name+".tar")
	writeLayerTar(t, tarPath, "data/"+name+".bin", 3000)
	out := strings.TrimSpace(w.pc.run(t, "crane", "append", "-f", tarPath, "-t", w.pc.ref(pruneRepo, image, tag), "--insecure"))
	_, dg, ok := strings.Cut(out, "@")
	if !ok || !strings.HasPrefix(dg, "sha256:") {
		t.Fatalf("crane append %s:%s printed %q, want a digest reference", image, tag, out)
	}
	return dg
}

// Scenario 7: two images in one repository pushed from the same source (same digests), one of them overwritten.
func (w *world) scenario7(t *testing.T) {
	w.describe(7, "`s7/a:latest` and `s7/b:latest` pushed from the same OCI layout (regctl, then skopeo copy --all "+
		"--preserve-digests): the same digests in two images; then `s7/b:latest` overwritten by a new build.")
	l := w.pc.newLayout(t, "s7")
	idx, kids := l.multiArch(t, "v1", []string{"amd64", "arm64"}, false)
	w.pc.run(t, "regctl", "image", "copy", l.tag("v1"), w.pc.ref(pruneRepo, "s7/a", "latest"))
	w.pc.run(t, "skopeo", "--insecure-policy", "copy", "-q", "--all", "--preserve-digests", "--dest-tls-verify=false",
		"oci:"+l.dir+":v1", "docker://"+w.pc.ref(pruneRepo, "s7/b", "latest"))
	if got := w.pc.digestOf(t, w.pc.ref(pruneRepo, "s7/b", "latest")); got != idx {
		t.Fatalf("skopeo copy of %s:v1 to s7/b:latest: digest %s, want %s", l.dir, got, idx)
	}
	for _, role := range []string{"amd64", "arm64"} {
		w.digestFolder(t, 7, pruneRepo, "s7/a", role, kids[role], kindImage, true, "tagged", "in `s7/a:latest`")
	}
	w.tagFolder(t, 7, pruneRepo, "s7/a", "latest", idx, "tag")
	for _, role := range []string{"amd64", "arm64"} {
		w.digestFolder(t, 7, pruneRepo, "s7/b", role+"-old", kids[role], kindImage, false, "",
			"`s7/b:latest` was overwritten; s7/a holds the same digest in its own folder")
	}
	idx2, kids2 := l.multiArch(t, "v2", []string{"amd64", "arm64"}, false)
	w.pc.run(t, "regctl", "image", "copy", l.tag("v2"), w.pc.ref(pruneRepo, "s7/b", "latest"))
	for _, role := range []string{"amd64", "arm64"} {
		w.digestFolder(t, 7, pruneRepo, "s7/b", role+"-new", kids2[role], kindImage, true, "tagged", "in `s7/b:latest`")
	}
	w.tagFolder(t, 7, pruneRepo, "s7/b", "latest", idx2, "tag")
}

// Scenario 8: a second repository that must be left untouched (it has dangling folders of its own).
func (w *world) scenario8(t *testing.T) {
	const image = "s8/app"
	w.describe(8, "`"+otherRepo+"/s8/app:latest`: a second repository, with a multi-arch tag overwritten like scenario 1; "+
		"neither tool is pointed at it, so nothing in it may change.")
	l := w.pc.newLayout(t, "s8")
	for _, gen := range []string{"old", "new"} {
		idx, kids := l.multiArch(t, gen, []string{"amd64", "arm64"}, false)
		w.pc.run(t, "regctl", "image", "copy", l.tag(gen), w.pc.ref(otherRepo, image, "latest"))
		for _, role := range []string{"amd64", "arm64"} {
			why := "in `latest`"
			if gen == "old" {
				why = "dangling, but in " + otherRepo + ", which is not pruned"
			}
			w.digestFolder(t, 8, otherRepo, image, role+"-"+gen, kids[role], kindImage, true, "", why)
		}
		if gen == "new" {
			w.tagFolder(t, 8, otherRepo, image, "latest", idx, "tag")
		}
	}
}

// checkOracle checks that the snapshot holds exactly the declared folders, each with its manifest of the declared
// digest, so that the oracle covers everything the clients wrote.
func (w *world) checkOracle(t *testing.T, s *snapshot) {
	t.Helper()
	found := s.manifests()
	declared := map[string]*folder{}
	for _, f := range w.folders {
		declared[f.key()] = f
		m, ok := found[f.key()]
		switch {
		case !ok:
			t.Errorf("%s (%s): no manifest file in the emulator after the pushes", f.key(), f.Sym)
		case m.Digest != f.Digest:
			t.Errorf("%s (%s): %s has digest %s, want %s", f.key(), f.Sym, m.Name, m.Digest, f.Digest)
		case (m.Name == "list.manifest.json") != (f.Kind == kindIndex || (f.isTag() && isIndexDoc(m.Content))):
			t.Errorf("%s (%s): a %s folder holds %s", f.key(), f.Sym, f.Kind, m.Name)
		}
	}
	var extra []string
	for k := range found {
		if declared[k] == nil {
			extra = append(extra, k)
		}
	}
	slices.Sort(extra)
	for _, k := range extra {
		t.Errorf("%s: a manifest folder no scenario declared", k)
	}
	if t.Failed() {
		t.FailNow()
	}
}

func isIndexDoc(b []byte) bool {
	var d struct {
		Manifests json.RawMessage `json:"manifests"`
	}
	return json.Unmarshal(b, &d) == nil && d.Manifests != nil
}
