//go:build e2e

package e2e

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/artprune/artprune/prune"
)

// TestRollbackTagDuringDeletes pushes with real clients 34 images (rb/img00 to rb/img33), each a two-platform index
// as latest, overwritten by a new build, so that each holds two old dangling children. artprune prune --delete runs
// through a proxy that, at the first DELETE in rb/img00, has regctl push rb/img33:rollback, an index of img33's two
// old dangling children, before it lets the DELETE through. The first batch of deletions (32 images) was
// re-checked before the push; the second (img32, img33) is re-checked after it, so img33's folders are kept, the
// report says why, and the rollback tag then pulls completely with crane and regctl. Every other old child is
// deleted. (A push landing during its own image's batch is not seen: docs/safety.md.)
func TestRollbackTagDuringDeletes(t *testing.T) {
	dir := suiteTemp(t, "rollback")
	e := startEmulator(t, "rollback", t.Cleanup, "--repo", pruneRepo)
	c := newClients(t, e, filepath.Join(dir, "clients"))
	l := c.newLayout(t, "rb")
	_, oldKids := l.multiArch(t, "old", []string{"amd64", "arm64"}, false)
	l.multiArch(t, "new", []string{"amd64", "arm64"}, false)
	const images = 34
	for i := range images {
		img := fmt.Sprintf("rb/img%02d", i)
		for _, gen := range []string{"old", "new"} {
			c.run(t, "regctl", "image", "copy", l.tag(gen), c.ref(pruneRepo, img, "latest"))
		}
	}
	e.advanceClock(t, "48h")

	target := fmt.Sprintf("rb/img%02d", images-1)
	rollback := c.ref(pruneRepo, target, "rollback")
	var once sync.Once
	var pushErr error
	up, err := url.Parse("http://" + e.host)
	if err != nil {
		t.Fatal(err)
	}
	rp := httputil.NewSingleHostReverseProxy(up)
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodDelete && strings.Contains(r.URL.Path, "/"+pruneRepo+"/rb/img00/") {
			once.Do(func() {
				_, errOut, err := c.try(t, "regctl", "index", "create", rollback,
					"--ref", c.ref(pruneRepo, target, oldKids["amd64"]), "--ref", c.ref(pruneRepo, target, oldKids["arm64"]))
				if err != nil {
					pushErr = fmt.Errorf("regctl index create %s: %v: %s", rollback, err, errOut)
				}
			})
		}
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(proxy.Close)

	reportPath := filepath.Join(dir, "report.json")
	env := append(isolatedEnv(t, filepath.Join(dir, "artprune.home")), "JF_URL="+proxy.URL+"/artifactory", "JF_ACCESS_TOKEN="+e.token)
	out, errOut, err := runCmd(cmdTimeout, env, dir, nil, binary(t, "artprune"),
		"prune", "--repo", pruneRepo, "--delete", "--concurrency", "1", "--output", "json", "--report", reportPath, "--quiet")
	if err != nil {
		t.Fatalf("artprune: %v\nstderr: %s\nstdout: %s", err, errOut, out)
	}
	if pushErr != nil {
		t.Fatal(pushErr)
	}
	b, err := os.ReadFile(reportPath)
	if err != nil {
		t.Fatal(err)
	}
	var rep prune.Report
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatal(err)
	}
	deleted := map[string]string{}
	var changed []string
	for _, rr := range rep.Repositories {
		for _, d := range rr.Deletions {
			deleted[d.Path] = d.Outcome
		}
		for _, img := range rr.Images {
			if len(img.ChangedFiles) > 0 {
				changed = append(changed, img.Image+": "+strings.Join(img.ChangedFiles, ","))
			}
		}
	}
	want := map[string]string{}
	for i := range images - 1 {
		for _, arch := range []string{"amd64", "arm64"} {
			want[fmt.Sprintf("rb/img%02d/%s", i, oldKids[arch])] = "deleted"
		}
	}
	if !maps.Equal(deleted, want) {
		t.Errorf("report deletions %v, want the old children of every image but %s deleted", deleted, target)
	}
	if w := []string{target + ": " + target + "/rollback/list.manifest.json"}; !slices.Equal(changed, w) {
		t.Errorf("report: changed images %v, want %v", changed, w)
	}

	pulls := c.tempDir(t, "rollback")
	if _, errOut, err := c.try(t, "crane", "pull", "--format", "oci", rollback, pulls+"/crane", "--insecure"); err != nil {
		t.Errorf("crane pull %s: %v: %s", rollback, err, lastLine(errOut))
	}
	if _, errOut, err := c.try(t, "regctl", "image", "copy", rollback, "ocidir://"+pulls+"/regctl:rollback"); err != nil {
		t.Errorf("regctl image copy %s: %v: %s", rollback, err, lastLine(errOut))
	}
	for _, arch := range []string{"amd64", "arm64"} {
		ref := c.ref(pruneRepo, target, oldKids[arch])
		if _, errOut, err := c.try(t, "crane", "manifest", ref, "--insecure"); err != nil {
			t.Errorf("crane manifest %s: %v: %s", ref, err, lastLine(errOut))
		}
	}
}
