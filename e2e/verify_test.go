//go:build e2e

package e2e

// Verification with the real clients after a prune: every tag pulls completely (crane pull, skopeo copy --all,
// regctl image copy, and a walk of the registry API that names the first missing manifest or blob), every referrer
// of a live image is listed and fetchable, and the state differs from the snapshot before only by whole deleted
// folders.

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/artprune/artprune/artifactory/artifactorytest"
)

// problem is one thing found broken. Sym and Check are stable (for docs/comparison.md); Detail is for the log.
type problem struct {
	Sym    string // the tag or referrer concerned
	Check  string // what failed: "crane pull", "regctl artifact list", ...
	Detail string
}

func (p problem) String() string { return p.Sym + ": " + p.Check + ": " + p.Detail }

// verifier checks one emulator with clients logged in to it.
type verifier struct {
	w *world
	e *emulator
	c *clients
}

// verifyLive runs every check on every tag and every referrer of a live image, and returns what failed.
func (v *verifier) verifyLive(t *testing.T) []problem {
	t.Helper()
	var ps []problem
	for _, f := range v.w.folders {
		if f.isTag() {
			ps = append(ps, v.pullTag(t, f)...)
		}
	}
	return append(ps, v.checkReferrers(t)...)
}

// pullTag pulls one tag with each client, and walks it through the registry API.
func (v *verifier) pullTag(t *testing.T, f *folder) []problem {
	t.Helper()
	ref := v.c.ref(f.Repo, f.Image, f.Name)
	var ps []problem
	fail := func(check, format string, args ...any) {
		ps = append(ps, problem{Sym: f.Sym, Check: check, Detail: ref + ": " + fmt.Sprintf(format, args...)})
	}
	nested, err := v.walk(f.Repo, f.Image, f.Name, f.Digest)
	if err != nil {
		fail("registry walk", "%v", err)
	}
	dir := v.c.tempDir(t, f.Sym)

	// crane pull --format oci pulls the whole tree, nested indexes included.
	if _, errOut, err := v.c.try(t, "crane", "pull", "--format", "oci", ref, dir+"/crane", "--insecure"); err != nil {
		fail("crane pull", "%v: %s", err, lastLine(errOut))
	} else if got := layoutTop(dir + "/crane"); got != f.Digest {
		fail("crane pull", "the pulled layout holds %s, want %s", got, f.Digest)
	}

	// regctl image copy to an OCI layout: every platform and attestation.
	if _, errOut, err := v.c.try(t, "regctl", "image", "copy", ref, "ocidir://"+dir+"/regctl:"+f.Name); err != nil {
		fail("regctl image copy", "%v: %s", err, lastLine(errOut))
	} else if got, _, err := v.c.try(t, "regctl", "image", "digest", "ocidir://"+dir+"/regctl:"+f.Name); err != nil || strings.TrimSpace(got) != f.Digest {
		fail("regctl image copy", "the copy has digest %q (%v), want %s", strings.TrimSpace(got), err, f.Digest)
	}

	// skopeo copy --all (containers/image cannot copy an index of indexes: it copies each nested index instead).
	sources := []string{ref}
	if len(nested) > 0 {
		sources = nil
		for _, d := range nested {
			sources = append(sources, v.c.ref(f.Repo, f.Image, d))
		}
	}
	for i, src := range sources {
		if _, errOut, err := v.c.try(t, "skopeo", "--insecure-policy", "copy", "-q", "--all", "--src-tls-verify=false",
			"docker://"+src, fmt.Sprintf("oci:%s/skopeo-%d:x", dir, i)); err != nil {
			fail("skopeo copy --all", "%s: %v: %s", src, err, lastLine(errOut))
		}
	}
	return ps
}

// layoutTop returns the digest of the one manifest an OCI layout's index.json lists.
func layoutTop(dir string) string {
	var idx struct {
		Manifests []struct {
			Digest string `json:"digest"`
		} `json:"manifests"`
	}
	b, err := os.ReadFile(dir + "/index.json")
	if err != nil || json.Unmarshal(b, &idx) != nil || len(idx.Manifests) != 1 {
		return fmt.Sprintf("(unreadable %s/index.json)", dir)
	}
	return idx.Manifests[0].Digest
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

// walk fetches a tag's manifest and, recursively, every manifest and blob it references through the Docker API,
// verifying digests and sizes. It returns the digests of the nested indexes (indexes below the top).
func (v *verifier) walk(repo, image, tag, want string) ([]string, error) {
	var nested []string
	seen := map[string]bool{}
	var visit func(ref, from string, depth int) error
	visit = func(ref, from string, depth int) error {
		status, body, err := v.e.getManifest(repo, image, ref)
		if err != nil || status != http.StatusOK {
			return fmt.Errorf("manifest %s%s: GET /v2/%s/%s/manifests/%s answers %d %s (%v)", ref, from, repo, image, ref, status, strings.TrimSpace(string(body)), err)
		}
		dg := sha256Digest(body)
		if depth == 0 && dg != want {
			return fmt.Errorf("tag %s has digest %s, want %s", tag, dg, want)
		}
		if depth > 0 && dg != ref {
			return fmt.Errorf("manifest %s%s: the registry answers a document of digest %s", ref, from, dg)
		}
		var doc struct {
			Manifests []descriptor `json:"manifests"`
			Config    *descriptor  `json:"config"`
			Layers    []descriptor `json:"layers"`
		}
		if err := json.Unmarshal(body, &doc); err != nil {
			return fmt.Errorf("manifest %s%s: %v", ref, from, err)
		}
		if doc.Manifests != nil {
			if depth > 0 {
				nested = append(nested, dg)
			}
			for i, m := range doc.Manifests {
				if seen[m.Digest] {
					continue
				}
				seen[m.Digest] = true
				if err := visit(m.Digest, fmt.Sprintf(" (entry %d of %s)", i, dg), depth+1); err != nil {
					return err
				}
			}
			return nil
		}
		blobs := doc.Layers
		if doc.Config != nil {
			blobs = append([]descriptor{*doc.Config}, blobs...)
		}
		for _, b := range blobs {
			status, data, _, err := v.e.do(http.MethodGet, "/v2/"+repo+"/"+image+"/blobs/"+b.Digest, "basic", nil)
			switch {
			case err != nil || status != http.StatusOK:
				return fmt.Errorf("blob %s of manifest %s: GET answers %d (%v)", b.Digest, dg, status, err)
			case sha256Digest(data) != b.Digest || int64(len(data)) != b.Size:
				return fmt.Errorf("blob %s of manifest %s: %d bytes of digest %s, want %d", b.Digest, dg, len(data), sha256Digest(data), b.Size)
			}
		}
		return nil
	}
	return nested, visit(tag, "", 0)
}

type descriptor struct {
	MediaType string `json:"mediaType"`
	Digest    string `json:"digest"`
	Size      int64  `json:"size"`
}

// checkReferrers checks that every referrer of a live image is listed (referrers API on, and for those attached
// through the fallback, with the API off too) and fetchable with its content.
func (v *verifier) checkReferrers(t *testing.T) []problem {
	t.Helper()
	var ps []problem
	list := func(r *referrer, mode string) {
		subj := v.c.ref(r.Repo, r.Image, r.SubjDg)
		got, err := listReferrers(t, v.c, subj)
		switch {
		case err != nil:
			ps = append(ps, problem{Sym: r.Sym, Check: "regctl artifact list" + mode, Detail: err.Error()})
		case !got[r.Digest]:
			ps = append(ps, problem{Sym: r.Sym, Check: "regctl artifact list" + mode,
				Detail: fmt.Sprintf("referrers of %s (%s) lack %s (%s): have %v", r.Subject, subj, r.Sym, r.Digest, slices.Sorted(maps.Keys(got)))})
		}
	}
	for _, r := range v.w.referrers {
		if !r.Live {
			continue
		}
		list(r, "")
		ref := v.c.ref(r.Repo, r.Image, r.Digest)
		out, errOut, err := v.c.try(t, "regctl", "artifact", "get", ref)
		switch {
		case err != nil:
			ps = append(ps, problem{Sym: r.Sym, Check: "regctl artifact get", Detail: fmt.Sprintf("%s: %v: %s", ref, err, lastLine(errOut))})
		case out != r.Content:
			ps = append(ps, problem{Sym: r.Sym, Check: "regctl artifact get", Detail: fmt.Sprintf("%s: content %q, want %q", ref, out, r.Content)})
		}
	}
	v.e.setReferrersAPI(t, false)
	defer v.e.setReferrersAPI(t, true)
	for _, r := range v.w.referrers {
		if r.Live && r.Fallback {
			list(r, " (referrers API off)")
		}
	}
	return ps
}

// folderStates returns, for every declared folder, "kept" (all its items as in before), "deleted" (none left) or
// "damaged: ..." (anything else), and checks that nothing outside deleted folders changed.
func (w *world) folderStates(before, after *snapshot) (map[string]string, []string) {
	d := diffSnapshots(before, after)
	states := map[string]string{}
	var stray []string
	inFolder := map[string]bool{}
	for _, f := range w.folders {
		keys := before.under(f.Repo, f.path())
		left := 0
		for _, k := range keys {
			inFolder[k] = true
			if it, ok := after.items[k]; ok {
				left++
				if !sameItem(before.items[k], it) {
					states[f.Sym] = "damaged: " + k + " changed"
				}
			}
		}
		switch {
		case states[f.Sym] != "":
		case left == len(keys):
			states[f.Sym] = "kept"
		case left == 0:
			states[f.Sym] = "deleted"
		default:
			states[f.Sym] = fmt.Sprintf("damaged: %d of %d items left", left, len(keys))
		}
	}
	for _, k := range d.removed {
		if !inFolder[k] {
			stray = append(stray, "removed "+k)
		}
	}
	for _, k := range d.changed {
		if !inFolder[k] && !trashedCopy(before, after, k) {
			stray = append(stray, "changed "+k)
		}
	}
	for _, k := range d.added {
		if !trashedCopy(before, after, k) {
			stray = append(stray, "added "+k)
		}
	}
	return states, stray
}

// trashedCopy reports whether key is the Trash Can's copy of an item deleted between the two snapshots (or of a
// folder above one): auto-trashcan/<repo>/<path> where <repo>/<path> was in before, and an item that is gone from
// after is copied with the same checksum.
func trashedCopy(before, after *snapshot, key string) bool {
	orig, ok := strings.CutPrefix(key, artifactorytest.TrashRepo+"/")
	if !ok {
		return false
	}
	if !strings.Contains(orig, "/") { // the repository's own folder in the Trash Can
		return true
	}
	b, ok := before.items[orig]
	if !ok {
		return false
	}
	if _, still := after.items[orig]; still {
		return b.Type == "folder" // a folder above the deleted ones
	}
	return after.items[key].SHA256 == b.SHA256
}
