//go:build e2e

package e2e

// --keep-pulled-within and artprune delete, with the real clients: pulls by digest, a remote download through the
// emulator's admin endpoint, a multi-arch tag deleted with what only it kept.

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/artprune/artprune/prune"
)

// runArtpruneArgs runs bin/artprune with args (a JSON report is asked for) and returns the report; an exit code
// other than 0 fails the test.
func runArtpruneArgs(t *testing.T, e *emulator, dir, label string, args ...string) *prune.Report {
	t.Helper()
	home := filepath.Join(dir, label+".home")
	env := append(isolatedEnv(t, home), "JF_URL="+e.artifactoryURL(), "JF_ACCESS_TOKEN="+e.token)
	args = append(args, "--output", "json", "--quiet")
	out, errOut, err := runCmd(cmdTimeout, env, dir, nil, binary(t, "artprune"), args...)
	if err != nil {
		t.Fatalf("artprune %s (%s): %v\nstderr: %s\nstdout: %s", strings.Join(args, " "), label, err, errOut, out)
	}
	var r prune.Report
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("artprune %s: stdout is not a JSON report: %v\n%s", label, err, out)
	}
	if r.SchemaVersion != prune.ReportSchemaVersion || len(r.Repositories) != 1 || r.Repositories[0].Error != "" {
		t.Fatalf("artprune %s: report schema %d, %d repositories, error %q", label, r.SchemaVersion, len(r.Repositories), r.Repositories[0].Error)
	}
	return &r
}

// digestFoldersOf returns the digest folders of image in pruneRepo, from a snapshot.
func digestFoldersOf(t *testing.T, e *emulator, image string) []string {
	t.Helper()
	var out []string
	for _, k := range e.snapshot(t).under(pruneRepo, image) {
		p := strings.TrimPrefix(k, pruneRepo+"/")
		rest := strings.TrimPrefix(p, image+"/")
		if strings.HasPrefix(rest, "sha256:") && !strings.Contains(rest, "/") {
			out = append(out, p)
		}
	}
	slices.Sort(out)
	return out
}

// pullsEverywhere pulls ref with crane, regctl and skopeo (every platform) and fails the test if one cannot.
func pullsEverywhere(t *testing.T, c *clients, ref, wantDigest string) {
	t.Helper()
	dir := c.tempDir(t, "pull")
	if _, errOut, err := c.try(t, "crane", "pull", "--format", "oci", ref, dir+"/crane", "--insecure"); err != nil {
		t.Errorf("crane pull %s: %v: %s", ref, err, lastLine(errOut))
	} else if got := layoutTop(dir + "/crane"); got != wantDigest {
		t.Errorf("crane pull %s: got %s, want %s", ref, got, wantDigest)
	}
	if _, errOut, err := c.try(t, "regctl", "image", "copy", ref, "ocidir://"+dir+"/regctl:x"); err != nil {
		t.Errorf("regctl image copy %s: %v: %s", ref, err, lastLine(errOut))
	}
	if _, errOut, err := c.try(t, "skopeo", "--insecure-policy", "copy", "-q", "--all", "--src-tls-verify=false",
		"docker://"+ref, "oci:"+dir+"/skopeo:x"); err != nil {
		t.Errorf("skopeo copy --all %s: %v: %s", ref, err, lastLine(errOut))
	}
}

// TestKeepPulledWithinE2E: app:v1 was a three-platform image whose tag moved to a new build, so its three
// children dangle. A deployment pinned to the amd64 child pulls it by digest (crane), an edge Artifactory pulls the
// s390x child (recorded as a remote download); the arm64 child is not pulled. Within the window the two pulled
// children are kept, the unpulled one goes; once the window has passed (for the pulls and for artprune's own reads),
// both go. The new build pulls with every client throughout.
func TestKeepPulledWithinE2E(t *testing.T) {
	dir := suiteTemp(t, "pulled")
	e := startEmulator(t, "pulled", func(f func()) { t.Cleanup(f) }, "--repo", pruneRepo)
	c := newClients(t, e, filepath.Join(dir, "clients"))
	l := c.newLayout(t, "pulled")
	const image = "pin/app"
	arches := []string{"amd64", "arm64", "s390x"}
	_, old := l.multiArch(t, "old", arches, false)
	c.run(t, "regctl", "image", "copy", l.tag("old"), c.ref(pruneRepo, image, "v1"))
	newIdx, _ := l.multiArch(t, "new", arches, false)
	c.run(t, "regctl", "image", "copy", l.tag("new"), c.ref(pruneRepo, image, "v1"))
	e.advanceClock(t, "48h")
	folder := func(arch string) string { return image + "/" + old[arch] }
	if got := digestFoldersOf(t, e, image); !slices.Contains(got, folder("amd64")) || !slices.Contains(got, folder("arm64")) {
		t.Fatalf("the old build's children are not there: %v", got)
	}

	// The pinned deployment pulls by digest; HEAD (crane digest) would not count, a pull does.
	c.run(t, "crane", "pull", "--format", "oci", c.ref(pruneRepo, image, old["amd64"]), c.tempDir(t, "pin")+"/x", "--insecure")
	// The edge node's pull, through another Artifactory.
	e.admin(t, http.MethodPost, fmt.Sprintf("/_emulator/downloads?repo=%s&path=%s/manifest.json&origin=edge-eu&by=kubelet", pruneRepo, folder("s390x")))
	_, body, _, err := e.do(http.MethodGet, "/artifactory/api/storage/"+pruneRepo+"/"+folder("amd64")+"/manifest.json?stats", "admin", nil)
	if err != nil || !strings.Contains(string(body), `"downloadCount": 1`) {
		t.Fatalf("?stats of the pinned child after its pull: %s (%v)", body, err)
	}

	r := runArtpruneArgs(t, e, dir, "within", "prune", "--repo", pruneRepo, "--keep-pulled-within", "24h", "--delete")
	kept, deleted := keptReasons(r), deletedPaths(r)
	for _, a := range []string{"amd64", "s390x"} {
		if kept[pruneRepo+"/"+folder(a)] != string(prune.ReasonPulled) {
			t.Errorf("the pulled %s child: kept %q, want pulled (deleted: %v)", a, kept[pruneRepo+"/"+folder(a)], deleted)
		}
	}
	if want := map[string]string{pruneRepo + "/" + folder("arm64"): "deleted"}; !mapsEqual(deleted, want) {
		t.Errorf("deleted %v, want %v", deleted, want)
	}
	pullsEverywhere(t, c, c.ref(pruneRepo, image, "v1"), newIdx)
	pullsEverywhere(t, c, c.ref(pruneRepo, image, old["amd64"]), old["amd64"])

	// 25 hours later, the window has passed: both go. (artprune's own reads of run one, and the pulls just above,
	// are 25 hours old too.)
	e.advanceClock(t, "25h")
	r = runArtpruneArgs(t, e, dir, "after", "prune", "--repo", pruneRepo, "--keep-pulled-within", "24h", "--delete")
	if want := map[string]string{pruneRepo + "/" + folder("amd64"): "deleted", pruneRepo + "/" + folder("s390x"): "deleted"}; !mapsEqual(deletedPaths(r), want) {
		t.Errorf("after the window: deleted %v, want %v", deletedPaths(r), want)
	}
	pullsEverywhere(t, c, c.ref(pruneRepo, image, "v1"), newIdx)
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// TestDeleteTagE2E: artprune delete of a multi-arch tag (two platforms with buildx attestations, and a signature
// attached with regctl artifact put) frees its children, attestations and signature; keeps the arm64 child, which
// the main tag shares, and main's signature; every other tag still pulls with crane, regctl and skopeo; the dry
// run changes nothing.
func TestDeleteTagE2E(t *testing.T) {
	dir := suiteTemp(t, "delete")
	e := startEmulator(t, "delete", func(f func()) { t.Cleanup(f) }, "--repo", pruneRepo)
	c := newClients(t, e, filepath.Join(dir, "clients"))
	l := c.newLayout(t, "delete")
	const image = "team/app"
	prIdx, pr := l.multiArch(t, "pr", []string{"amd64", "arm64"}, true)
	mainAmd := l.image(t, "main-amd64", "linux/amd64")
	mainIdx := l.index(t, "main", "", "main-amd64", "pr-arm64") // shares pr's arm64 image
	c.run(t, "regctl", "image", "copy", l.tag("pr"), c.ref(pruneRepo, image, "pr-42"))
	c.run(t, "regctl", "image", "copy", l.tag("main"), c.ref(pruneRepo, image, "main"))
	sign := func(subject, role string) string {
		file := filepath.Join(dir, role+".sig.json")
		if err := os.WriteFile(file, []byte(`{"critical":{"identity":{"docker-reference":"`+role+`"}},"nonce":"`+randomHex(t, 8)+`"}`), 0o644); err != nil {
			t.Fatal(err)
		}
		subjRef := c.ref(pruneRepo, image, subject)
		before, err := listReferrers(t, c, subjRef)
		if err != nil {
			t.Fatal(err)
		}
		c.run(t, "regctl", "artifact", "put", "--subject", subjRef, "--artifact-type", "application/vnd.dev.cosign.artifact.sig.v1+json",
			"-m", "application/vnd.dev.cosign.simplesigning.v1+json", "-f", file)
		after, err := listReferrers(t, c, subjRef)
		if err != nil {
			t.Fatal(err)
		}
		for d := range after {
			if !before[d] {
				return d
			}
		}
		t.Fatalf("no referrer added to %s", subjRef)
		return ""
	}
	prSig, mainSig := sign(prIdx, "pr"), sign(mainIdx, "main")
	c.run(t, "regctl", "image", "copy", l.tag("main"), c.ref(pruneRepo, image, "stable")) // a third tag, same digest as main
	e.advanceClock(t, "48h")
	folder := func(d string) string { return image + "/" + d }

	before := e.snapshot(t)
	dry := runArtpruneArgs(t, e, dir, "dry", "delete", pruneRepo+"/"+image+":pr-*")
	if d := diffSnapshots(before, e.snapshot(t)); !d.empty() {
		t.Errorf("the dry run changed the emulator: removed %v, added %v, changed %v", d.removed, d.added, d.changed)
	}
	wantGone := map[string]string{}
	for _, d := range []string{pr["amd64"], pr["att-amd64"], pr["att-arm64"], prSig} {
		wantGone[pruneRepo+"/"+folder(d)] = "would-delete"
	}
	if _, ok := e.snapshot(t).manifests()[pruneRepo+"/"+folder(prIdx)]; ok {
		wantGone[pruneRepo+"/"+folder(prIdx)] = "would-delete" // the index's own digest folder, if the push made one
	}
	if got := deletedPaths(dry); !mapsEqual(got, wantGone) {
		t.Errorf("dry run plans %v, want %v", got, wantGone)
	}
	if tags := dry.Repositories[0].DeletedTags; len(tags) != 1 || tags[0].Path != image+"/pr-42" || tags[0].Outcome != "would-delete" {
		t.Errorf("dry run deleted_tags %+v, want %s/pr-42 would-delete", tags, image)
	}

	del := runArtpruneArgs(t, e, dir, "delete", "delete", pruneRepo+"/"+image+":pr-*", "--delete")
	for p := range wantGone {
		wantGone[p] = "deleted"
	}
	if got := deletedPaths(del); !mapsEqual(got, wantGone) {
		t.Errorf("--delete deleted %v, want %v", got, wantGone)
	}
	if tags := del.Repositories[0].DeletedTags; len(tags) != 1 || tags[0].Outcome != "deleted" {
		t.Errorf("--delete deleted_tags %+v", tags)
	}
	left := digestFoldersOf(t, e, image)
	for _, d := range []string{pr["arm64"], mainAmd, mainSig} {
		if !slices.Contains(left, folder(d)) {
			t.Errorf("%s was deleted; it is kept by main (left: %v)", folder(d), left)
		}
	}
	for p := range wantGone {
		if slices.Contains(left, strings.TrimPrefix(p, pruneRepo+"/")) {
			t.Errorf("%s is still there", p)
		}
	}
	if status, _, err := e.getManifest(pruneRepo, image, "pr-42"); err != nil || status != http.StatusNotFound {
		t.Errorf("pr-42 still resolves: %d (%v)", status, err)
	}
	for _, tag := range []string{"main", "stable"} {
		pullsEverywhere(t, c, c.ref(pruneRepo, image, tag), mainIdx)
	}
	refs, err := listReferrers(t, c, c.ref(pruneRepo, image, mainIdx))
	if err != nil || !refs[mainSig] {
		t.Errorf("main's signature is no longer listed: %v (%v)", refs, err)
	}
}
