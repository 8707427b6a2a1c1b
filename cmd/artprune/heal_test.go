package main

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"
	v1 "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/artprune/artprune/artifactory/artifactorytest"
	"github.com/artprune/artprune/prune"
)

// docker sends one Docker Registry API request to the emulator as admin and returns the status and body.
func docker(srv *artifactorytest.Server, method, path, contentType string, body []byte) (int, []byte) {
	req := httptest.NewRequest(method, path, strings.NewReader(string(body)))
	req.Header.Set("Authorization", "Bearer "+testToken)
	req.Header.Set("Accept", "application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json, "+
		"application/vnd.docker.distribution.manifest.list.v2+json, application/vnd.docker.distribution.manifest.v2+json")
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	rec := httptest.NewRecorder()
	srv.ServeHTTP(rec, req)
	return rec.Code, rec.Body.Bytes()
}

// pullsCompletely checks that image:tag resolves, with every child manifest and every blob they name.
func pullsCompletely(t *testing.T, srv *artifactorytest.Server, image, tag string) {
	t.Helper()
	status, body := docker(srv, http.MethodGet, "/v2/docker-local/"+image+"/manifests/"+tag, "", nil)
	if status != http.StatusOK {
		t.Errorf("%s:%s: GET manifest %d %s", image, tag, status, body)
		return
	}
	var idx struct {
		Manifests []struct{ Digest string } `json:"manifests"`
	}
	if err := json.Unmarshal(body, &idx); err != nil {
		t.Fatal(err)
	}
	for _, m := range idx.Manifests {
		status, body := docker(srv, http.MethodGet, "/v2/docker-local/"+image+"/manifests/"+m.Digest, "", nil)
		if status != http.StatusOK {
			t.Errorf("%s:%s: child %s: %d %s", image, tag, m.Digest, status, body)
			continue
		}
		var man struct {
			Config struct{ Digest string }   `json:"config"`
			Layers []struct{ Digest string } `json:"layers"`
		}
		if err := json.Unmarshal(body, &man); err != nil {
			t.Fatal(err)
		}
		for _, d := range append([]string{man.Config.Digest}, func() (out []string) {
			for _, l := range man.Layers {
				out = append(out, l.Digest)
			}
			return out
		}()...) {
			if d == "" {
				continue
			}
			if status, _ := docker(srv, http.MethodGet, "/v2/docker-local/"+image+"/blobs/"+d, "", nil); status != http.StatusOK {
				t.Errorf("%s:%s: child %s: blob %s: %d", image, tag, m.Digest, d, status)
			}
		}
	}
}

// TestHealRollbackPushedDuringDeletes is the race of issue 11: while artprune deletes, a rollback tag is pushed
// that references old dangling manifests by digest. Over seeds, the push comes before a different DELETE of the
// run (deletes slowed down by injected latency, one at a time so that the moment is known); afterwards the tag
// pulls completely and the report names every folder the final check restored, and why.
func TestHealRollbackPushedDuringDeletes(t *testing.T) {
	seeds := []uint64{1, 2, 3, 4, 5, 6}
	if testing.Short() {
		seeds = seeds[:2]
	}
	for _, seed := range seeds {
		t.Run(fmt.Sprintf("seed%d", seed), func(t *testing.T) {
			srv, _ := newSeedServer(t, artifactorytest.WithSeed(seed))
			dry := runCLI(t, env(srv), "prune", "--repo", "docker-local", "-o", "json")
			var plan prune.Report
			if err := json.Unmarshal([]byte(dry.stdout), &plan); err != nil {
				t.Fatal(err)
			}
			dels := plan.Repositories[0].Deletions // the order in which --concurrency 1 deletes
			var manifests []int
			for i, d := range dels {
				if strings.Contains(d.MediaType, "manifest") && !strings.Contains(d.MediaType, "list") && !strings.Contains(d.MediaType, "index") &&
					d.Image == dels[0].Image {
					manifests = append(manifests, i)
				}
			}
			if len(manifests) < 2 {
				t.Fatalf("the seed story has %d dangling manifests in %s", len(manifests), dels[0].Image)
			}
			// Two of the later dangling manifests, so that the push can come at many moments before their deletes.
			rng := rand.New(rand.NewPCG(seed, 11))
			late := manifests[len(manifests)/2-1:]
			rng.Shuffle(len(late), func(i, j int) { late[i], late[j] = late[j], late[i] })
			a, b := dels[late[0]], dels[late[1]]
			first := min(late[0], late[1])
			k := rng.IntN(first + 1) // the push comes just before the k-th DELETE (0-based): a and b still exist
			t.Logf("%d deletions; the rollback tag references deletions %d and %d and is pushed before delete %d", len(dels), late[0], late[1], k)
			image := a.Image
			index, _ := json.Marshal(map[string]any{"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
				"manifests": []map[string]any{
					{"mediaType": a.MediaType, "digest": a.Digest, "size": manifestSize(t, srv, a.Path)},
					{"mediaType": b.MediaType, "digest": b.Digest, "size": manifestSize(t, srv, b.Path)},
				}})

			var deletes atomic.Int32
			var pushOnce sync.Once
			pushed := make(chan int, 1)
			hooked := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.Method == http.MethodDelete && strings.HasPrefix(r.URL.Path, "/artifactory/docker-local/") {
					if int(deletes.Add(1)) == k+1 {
						pushOnce.Do(func() {
							status, _ := docker(srv, http.MethodPut, "/v2/docker-local/"+image+"/manifests/rollback",
								"application/vnd.oci.image.index.v1+json", index)
							pushed <- status
						})
					}
				}
				srv.ServeHTTP(w, r)
			}))
			defer hooked.Close()
			srv.SetFaults(artifactorytest.FaultConfig{Latency: 2 * time.Millisecond, LatencyClasses: []artifactorytest.Class{artifactorytest.ClassDelete}})

			report := filepath.Join(t.TempDir(), "report.json")
			res := runCLI(t, map[string]string{"JF_URL": hooked.URL + "/artifactory/", "JF_ACCESS_TOKEN": testToken},
				"prune", "--repo", "docker-local", "--delete", "--concurrency", "1", "--report", report)
			select {
			case status := <-pushed:
				if status != http.StatusCreated {
					t.Fatalf("the rollback push before delete %d answered %d", k, status)
				}
			default:
				t.Fatalf("the rollback push never happened (%d deletes)", deletes.Load())
			}
			if res.code != ExitOK {
				t.Fatalf("prune --delete: exit %d\n%s\n%s", res.code, res.stdout, res.stderr)
			}
			pullsCompletely(t, srv, image, "rollback")

			b2, err := os.ReadFile(report)
			if err != nil {
				t.Fatal(err)
			}
			var got prune.Report
			if err := json.Unmarshal(b2, &got); err != nil {
				t.Fatal(err)
			}
			rr := got.Repositories[0]
			var healed []string
			for _, h := range rr.Healed {
				if h.Outcome != string(prune.HealRestored) || !strings.Contains(h.Why, image+"/rollback/list.manifest.json") {
					t.Errorf("healed %s: %s (%s) %s", h.Path, h.Outcome, h.Why, h.Error)
				}
				healed = append(healed, h.Path)
			}
			want := []string{a.Path, b.Path}
			slices.Sort(want)
			if !slices.Equal(healed, want) {
				t.Errorf("healed %q, want %q (push before delete %d)", healed, want, k)
			}
			for _, d := range rr.Deletions {
				wantOutcome := "deleted"
				if slices.Contains(want, d.Path) {
					wantOutcome = "restored"
				}
				if d.Outcome != wantOutcome {
					t.Errorf("%s: outcome %s, want %s", d.Path, d.Outcome, wantOutcome)
				}
			}
			if rr.Summary.Outcomes.Restored != 2 || rr.Summary.HealFailures != 0 {
				t.Errorf("restored %d, heal failures %d", rr.Summary.Outcomes.Restored, rr.Summary.HealFailures)
			}
			if !strings.Contains(res.stdout, "restored "+a.Path) {
				t.Errorf("the text report does not say %s was restored:\n%s", a.Path, res.stdout)
			}
		})
	}
}

// TestHealImpossibleWithoutTrashCan: the same race with the Trash Can disabled: the report says the folders are
// live again and could not be restored, and the exit code is 1.
func TestHealImpossibleWithoutTrashCan(t *testing.T) {
	srv, _ := newSeedServer(t, artifactorytest.WithTrash(artifactorytest.TrashConfig{RetentionDays: 14}))
	dry := runCLI(t, env(srv), "prune", "--repo", "docker-local", "-o", "json")
	var plan prune.Report
	if err := json.Unmarshal([]byte(dry.stdout), &plan); err != nil {
		t.Fatal(err)
	}
	var target prune.DeletionReport
	for _, d := range plan.Repositories[0].Deletions {
		if strings.Contains(d.MediaType, "image.manifest") || strings.Contains(d.MediaType, "manifest.v2") {
			target = d
			break
		}
	}
	if target.Path == "" {
		t.Fatal("no dangling manifest")
	}
	index, _ := json.Marshal(map[string]any{"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
		"manifests": []map[string]any{{"mediaType": target.MediaType, "digest": target.Digest, "size": manifestSize(t, srv, target.Path)}}})
	var once sync.Once
	hooked := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodDelete {
			once.Do(func() {
				docker(srv, http.MethodPut, "/v2/docker-local/"+target.Image+"/manifests/rollback", "application/vnd.oci.image.index.v1+json", index)
			})
		}
		srv.ServeHTTP(w, r)
	}))
	defer hooked.Close()
	report := filepath.Join(t.TempDir(), "report.json")
	res := runCLI(t, map[string]string{"JF_URL": hooked.URL + "/artifactory/", "JF_ACCESS_TOKEN": testToken},
		"prune", "--repo", "docker-local", "--delete", "--concurrency", "1", "--report", report)
	if res.code != ExitFailure {
		t.Fatalf("exit %d, want 1\n%s", res.code, res.stdout)
	}
	if !strings.Contains(res.stdout, "LIVE AGAIN, NOT RESTORED "+target.Path) || !strings.Contains(res.stdout, "not in the Trash Can") {
		t.Errorf("the report does not say %s could not be restored:\n%s", target.Path, res.stdout)
	}
	b, _ := os.ReadFile(report)
	var got prune.Report
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	if h := got.Repositories[0].Healed; len(h) != 1 || h[0].Path != target.Path || h[0].Outcome != string(prune.HealFailed) {
		t.Errorf("healed %+v", h)
	}
}

// manifestSize returns the size of the manifest.json in folder.
func manifestSize(t *testing.T, srv *artifactorytest.Server, folder string) int64 {
	t.Helper()
	it, ok := srv.Store().Get("docker-local", folder+"/manifest.json")
	if !ok {
		t.Fatalf("%s/manifest.json not found", folder)
	}
	return it.Size()
}

// TestHealSeesATagWithOldTimestamps is finding 2 of review 11: right after a dangling manifest's DELETE, a tag
// arrives with 30-day-old timestamps (a copy, a promotion or a replication keeps the source's times) that
// references it. The per-batch re-check of its image has already run, so only the final check can see it: it
// must list every tag file whatever its times, restore the folder, and say so.
func TestHealSeesATagWithOldTimestamps(t *testing.T) {
	srv, _ := newSeedServer(t)
	dry := runCLI(t, env(srv), "prune", "--repo", "docker-local", "-o", "json")
	var plan prune.Report
	if err := json.Unmarshal([]byte(dry.stdout), &plan); err != nil {
		t.Fatal(err)
	}
	var target prune.DeletionReport
	for _, d := range plan.Repositories[0].Deletions {
		if strings.Contains(d.MediaType, "image.manifest") || strings.Contains(d.MediaType, "manifest.v2") {
			target = d
			break
		}
	}
	if target.Path == "" {
		t.Fatal("no dangling manifest")
	}
	size := manifestSize(t, srv, target.Path)
	p := artifactorytest.NewPusher(srv.Store(), "docker-local", 11)
	p.At = srv.Clock().Now().Add(-30 * 24 * time.Hour)
	var once sync.Once
	pushErr := make(chan error, 1)
	hooked := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		srv.ServeHTTP(w, r)
		if r.Method == http.MethodDelete && strings.HasSuffix(strings.TrimSuffix(r.URL.Path, "/"), "/docker-local/"+target.Path) {
			once.Do(func() {
				_, err := p.PushIndex(target.Image, "rollback", "", v1.Descriptor{MediaType: target.MediaType,
					Digest: digest.Digest(target.Digest), Size: size})
				pushErr <- err
			})
		}
	}))
	defer hooked.Close()
	report := filepath.Join(t.TempDir(), "report.json")
	res := runCLI(t, map[string]string{"JF_URL": hooked.URL + "/artifactory/", "JF_ACCESS_TOKEN": testToken},
		"prune", "--repo", "docker-local", "--delete", "--report", report)
	select {
	case err := <-pushErr:
		if err != nil {
			t.Fatal(err)
		}
	default:
		t.Fatalf("%s was never deleted", target.Path)
	}
	if res.code != ExitOK {
		t.Fatalf("exit %d\n%s\n%s", res.code, res.stdout, res.stderr)
	}
	pullsCompletely(t, srv, target.Image, "rollback")
	b, err := os.ReadFile(report)
	if err != nil {
		t.Fatal(err)
	}
	var got prune.Report
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	rr := got.Repositories[0]
	var healed []string
	for _, h := range rr.Healed {
		healed = append(healed, h.Path+" "+h.Outcome)
		if !strings.Contains(h.Why, target.Image+"/rollback/list.manifest.json") {
			t.Errorf("healed %s: why %q", h.Path, h.Why)
		}
	}
	if want := []string{target.Path + " restored"}; !slices.Equal(healed, want) {
		t.Errorf("healed %q, want %q", healed, want)
	}
	var restored []string
	for _, d := range rr.Deletions {
		if d.Outcome == string(prune.OutcomeRestored) {
			restored = append(restored, d.Path)
		}
	}
	if want := []string{target.Path}; !slices.Equal(restored, want) {
		t.Errorf("deletions restored %q, want %q", restored, want)
	}
	if !strings.Contains(res.stdout, "restored "+target.Path) {
		t.Errorf("the text report does not say %s was restored:\n%s", target.Path, res.stdout)
	}
}
