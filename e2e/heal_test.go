//go:build e2e

package e2e

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/artprune/artprune/prune"
)

// TestHealRollbackWithRealClients is issue 11's race with real clients: while artprune deletes (one at a time,
// each DELETE slowed down by the emulator), regctl pushes a rollback tag that references two old dangling manifests
// by digest. Over seeds the push comes during a different DELETE. Afterwards the tag pulls completely with crane
// and regctl, and the report says both folders were restored, and why.
func TestHealRollbackWithRealClients(t *testing.T) {
	w := sharedWorld(t)
	for _, seed := range []uint64{1, 2, 3} {
		t.Run(fmt.Sprintf("seed%d", seed), func(t *testing.T) {
			dir := suiteTemp(t, fmt.Sprintf("heal-%d", seed))
			e := startEmulator(t, fmt.Sprintf("heal-%d", seed), t.Cleanup, "--fixture", w.fixturePath,
				"--latency", "250ms", "--latency-classes", "delete")
			c := newClients(t, e, filepath.Join(dir, "clients"))
			dry := runArtprune(t, e, dir, "dry-run", false)
			dels := dry.Repositories[0].Deletions // in the order --concurrency 1 deletes them
			byImage := map[string][]int{}
			for i, d := range dels {
				if d.MediaType == "application/vnd.oci.image.manifest.v1+json" || d.MediaType == "application/vnd.docker.distribution.manifest.v2+json" {
					byImage[d.Image] = append(byImage[d.Image], i)
				}
			}
			var image string
			for _, img := range slices.Sorted(func(yield func(string) bool) {
				for k := range byImage {
					if !yield(k) {
						return
					}
				}
			}) {
				if ix := byImage[img]; len(ix) >= 2 && ix[0] >= 1 && (image == "" || ix[0] > byImage[image][0]) {
					image = img
				}
			}
			if image == "" {
				t.Fatalf("no image with two dangling manifests after the first deletion: %+v", byImage)
			}
			rng := rand.New(rand.NewPCG(seed, 11))
			ix := slices.Clone(byImage[image])
			rng.Shuffle(len(ix), func(i, j int) { ix[i], ix[j] = ix[j], ix[i] })
			a, b := dels[ix[0]], dels[ix[1]]
			first := min(ix[0], ix[1])
			k := rng.IntN(first) // the push starts during DELETE k, before a and b are deleted
			t.Logf("%d deletions; rollback references %d and %d (%s), pushed during delete %d", len(dels), ix[0], ix[1], image, k)

			report := filepath.Join(dir, "delete.report.json")
			env := append(isolatedEnv(t, filepath.Join(dir, "artprune.home")), "JF_URL="+e.artifactoryURL(), "JF_ACCESS_TOKEN="+e.token)
			type result struct {
				out, errOut string
				err         error
			}
			done := make(chan result, 1)
			go func() {
				out, errOut, err := runCmd(cmdTimeout, env, dir, nil, binary(t, "artprune"), "prune", "--repo", pruneRepo,
					"--delete", "--concurrency", "1", "--report", report, "--quiet")
				done <- result{out, errOut, err}
			}()
			deadline := time.Now().Add(2 * time.Minute)
			for deletesStarted(t, e) < k+1 {
				if time.Now().After(deadline) {
					t.Fatalf("artprune did not reach delete %d", k)
				}
				time.Sleep(5 * time.Millisecond)
			}
			tag := c.ref(pruneRepo, image, "rollback")
			if _, errOut, err := c.try(t, "regctl", "index", "create", tag, "--digest", a.Digest, "--digest", b.Digest); err != nil {
				t.Fatalf("regctl index create during delete %d: %v\n%s", k, err, errOut)
			}
			res := <-done
			if res.err != nil {
				t.Fatalf("artprune prune --delete: %v\n%s\n%s", res.err, res.errOut, res.out)
			}

			pull := c.tempDir(t, "rollback")
			if _, errOut, err := c.try(t, "crane", "pull", "--format", "oci", tag, pull+"/crane", "--insecure"); err != nil {
				t.Errorf("crane pull %s: %v\n%s", tag, err, errOut)
			}
			if _, errOut, err := c.try(t, "regctl", "image", "copy", tag, "ocidir://"+pull+"/regctl:rollback"); err != nil {
				t.Errorf("regctl image copy %s: %v\n%s", tag, err, errOut)
			}
			for _, d := range []prune.DeletionReport{a, b} {
				if status, body, err := e.getManifest(pruneRepo, image, d.Digest); err != nil || status != http.StatusOK {
					t.Errorf("%s: GET by digest %d %s %v", d.Path, status, body, err)
				}
			}

			raw, err := os.ReadFile(report)
			if err != nil {
				t.Fatal(err)
			}
			var rep prune.Report
			if err := json.Unmarshal(raw, &rep); err != nil {
				t.Fatal(err)
			}
			var healed []string
			for _, h := range rep.Repositories[0].Healed {
				if h.Outcome != "restored" || !strings.Contains(h.Why, image+"/rollback/") {
					t.Errorf("healed %s: %s (%s) %s", h.Path, h.Outcome, h.Why, h.Error)
				}
				healed = append(healed, h.Path)
			}
			want := []string{a.Path, b.Path}
			slices.Sort(want)
			if !slices.Equal(healed, want) {
				t.Errorf("the report says %q were restored, want %q", healed, want)
			}
		})
	}
}

// deletesStarted returns how many DELETE requests the emulator has received.
func deletesStarted(t *testing.T, e *emulator) int {
	t.Helper()
	var st struct {
		Requests map[string]int `json:"requests"`
	}
	if err := json.Unmarshal(e.admin(t, http.MethodGet, "/_emulator/stats"), &st); err != nil {
		t.Fatal(err)
	}
	return st.Requests["delete"]
}
