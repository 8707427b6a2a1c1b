package planfile

import (
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/artprune/artprune/prune"
)

// approveQuadratic is Approve as it was before issue #12 (one Withdraw and one Folder lookup per entry, each a scan
// of the plan): the reference for TestApproveMatchesTheReference and the baseline of BenchmarkApprove.
func approveQuadratic(plan *prune.RepoPlan, approved *Plan, evidence map[string][]Manifest) {
	entries := approved.Index(plan.Repo)
	minAge := approved.MinAge()
	for _, fo := range plan.Deletions() {
		a, ok := entries[fo.Path]
		if !ok {
			plan.Withdraw(fo.Path, prune.ReasonNotApproved, errors.New("dangling now, but not in the approved plan"))
			continue
		}
		if why := mismatch(a, fo, evidence[fo.Path], minAge); why != "" {
			plan.Withdraw(fo.Path, prune.ReasonNotApproved, fmt.Errorf("changed since the plan was approved: %s", why))
		}
	}
	paths := slices.Sorted(maps.Keys(entries))
	plan.NotApplied = []prune.NotAppliedReport{}
	for _, p := range paths {
		why := ""
		fo, found := plan.Folder(p)
		switch {
		case plan.Err != nil:
			why = "the repository failed, nothing is deleted in it: " + firstLine(plan.Err.Error())
		case !found:
			why = "no longer present (deleted since the plan, or its image is excluded)"
		case fo.Delete:
			continue
		case fo.Reason == prune.ReasonNotApproved && fo.Err != nil:
			why = fo.Err.Error()
		default:
			why = "kept now: " + string(fo.Reason)
			if fo.Err != nil {
				why += ": " + firstLine(fo.Err.Error())
			}
		}
		plan.NotApplied = append(plan.NotApplied, prune.NotAppliedReport{Path: p, Why: why})
	}
}

// approvalCase is a judged plan of planned folders to delete (and a tenth as many kept), an approved plan holding
// about approvedShare of all those folders (some with other evidence, plus entries for folders gone or kept now), and the evidence.
type approvalCase struct {
	plan     *prune.RepoPlan
	approved *Plan
	evidence map[string][]Manifest
}

func newApprovalCase(planned int, approvedShare float64, seed uint64) approvalCase {
	rng := rand.New(rand.NewPCG(seed, 1))
	const perImage = 50
	minAge := 24 * time.Hour
	plan := &prune.RepoPlan{Repo: "docker-local", MinAge: minAge}
	approved := &Plan{SchemaVersion: SchemaVersion, Kind: Kind, URL: "https://a.example/artifactory/", MinAgeSeconds: int64(minAge / time.Second)}
	repo := Repo{Repo: "docker-local"}
	evidence := make(map[string][]Manifest, planned+planned/10)
	mt := "application/vnd.oci.image.manifest.v1+json"
	total := planned + planned/10
	for n := 0; n < total; {
		img := prune.ImagePlan{Name: fmt.Sprintf("team/app-%06d", n/perImage)}
		for k := 0; k < perImage && n < total; k, n = k+1, n+1 {
			hex := fmt.Sprintf("%064x", n)
			fo := prune.Folder{Path: img.Name + "/sha256:" + hex, Image: img.Name, Digest: digest.Digest("sha256:" + hex),
				MediaType: mt, Age: 48 * time.Hour, Delete: n%11 != 0}
			if !fo.Delete {
				fo.Reason = prune.ReasonTagged
			}
			ms := []Manifest{{Name: "manifest.json", SHA256: hex}}
			evidence[fo.Path] = ms
			img.Folders = append(img.Folders, fo)
			if rng.Float64() >= approvedShare {
				continue
			}
			a := Folder{Path: fo.Path, Image: fo.Image, Digest: string(fo.Digest), MediaType: mt, Manifests: ms,
				AgeSeconds: int64(fo.Age / time.Second), Reason: ReasonDangling}
			switch rng.IntN(20) {
			case 0:
				a.MediaType = "application/vnd.docker.distribution.manifest.v2+json"
			case 1:
				a.Manifests = []Manifest{{Name: "list.manifest.json", SHA256: hex}}
			}
			repo.Folders = append(repo.Folders, a)
		}
		plan.Images = append(plan.Images, img)
	}
	for i := range planned / 100 { // approved folders gone since the plan
		hex := fmt.Sprintf("%064x", 1<<40+i)
		repo.Folders = append(repo.Folders, Folder{Path: "gone/sha256:" + hex, Image: "gone", Digest: "sha256:" + hex,
			MediaType: mt, Manifests: []Manifest{{Name: "manifest.json", SHA256: hex}}, AgeSeconds: 1 << 20, Reason: ReasonDangling})
	}
	approved.Repositories = []Repo{repo}
	return approvalCase{plan: plan, approved: approved, evidence: evidence}
}

func clonePlan(p *prune.RepoPlan) *prune.RepoPlan {
	c := *p
	c.Images = slices.Clone(p.Images)
	for i := range c.Images {
		c.Images[i].Folders = slices.Clone(p.Images[i].Folders)
	}
	return &c
}

type decision struct {
	path, err string
	delete    bool
	reason    prune.Reason
}

func decisions(p *prune.RepoPlan) []decision {
	var out []decision
	for _, img := range p.Images {
		for _, fo := range img.Folders {
			d := decision{path: fo.Path, delete: fo.Delete, reason: fo.Reason}
			if fo.Err != nil {
				d.err = fo.Err.Error()
			}
			out = append(out, d)
		}
	}
	return out
}

// TestApproveMatchesTheReference: the linear Approve decides exactly as the scanning one did, folder by folder,
// and lists the same entries as not applied with the same reasons; deletions are only the approved, matching ones.
func TestApproveMatchesTheReference(t *testing.T) {
	for _, tc := range []struct {
		planned int
		share   float64
	}{{0, 0.5}, {1, 1}, {7, 0.5}, {500, 0.3}, {2000, 0.9}} {
		t.Run(fmt.Sprintf("%d-%v", tc.planned, tc.share), func(t *testing.T) {
			c := newApprovalCase(tc.planned, tc.share, uint64(tc.planned))
			want, got := clonePlan(c.plan), clonePlan(c.plan)
			approveQuadratic(want, c.approved, c.evidence)
			Approve(got, c.approved, c.evidence)
			if !slices.Equal(decisions(got), decisions(want)) {
				t.Errorf("decisions differ from the reference")
			}
			if !slices.Equal(got.NotApplied, want.NotApplied) {
				t.Errorf("not applied differ from the reference:\n got %v\nwant %v", got.NotApplied, want.NotApplied)
			}
			ok := map[string]bool{}
			for _, a := range c.approved.Repositories[0].Folders {
				if a.MediaType == "application/vnd.oci.image.manifest.v1+json" && a.Manifests[0].Name == "manifest.json" {
					ok[a.Path] = true
				}
			}
			var wantDel []string
			for _, img := range c.plan.Images {
				for _, fo := range img.Folders {
					if fo.Delete && ok[fo.Path] {
						wantDel = append(wantDel, fo.Path)
					}
				}
			}
			var gotDel []string
			for _, fo := range got.Deletions() {
				gotDel = append(gotDel, fo.Path)
			}
			if !slices.Equal(gotDel, wantDel) {
				t.Errorf("deletes %d folders, want the %d approved with matching evidence", len(gotDel), len(wantDel))
			}
			for _, na := range got.NotApplied {
				if strings.HasPrefix(na.Path, "gone/") && !strings.HasPrefix(na.Why, "no longer present") {
					t.Errorf("%s: %s", na.Path, na.Why)
				}
			}
		})
	}
}

// BenchmarkApprove measures the approval step of apply: approved entries against planned deletions of one
// repository. The 1M case is the 300,000 approved against 1,000,000 planned; the quadratic reference runs
// only at the small sizes (at 1M it would take hours).
func BenchmarkApprove(b *testing.B) {
	for _, planned := range []int{10_000, 100_000, 1_000_000} {
		c := newApprovalCase(planned, 0.3, 1) // about 0.3 approved entries per planned folder
		b.Run(fmt.Sprintf("planned=%d/linear", planned), func(b *testing.B) {
			for b.Loop() {
				b.StopTimer()
				p := clonePlan(c.plan)
				b.StartTimer()
				Approve(p, c.approved, c.evidence)
			}
		})
		if planned <= 10_000 {
			b.Run(fmt.Sprintf("planned=%d/quadratic", planned), func(b *testing.B) {
				for b.Loop() {
					b.StopTimer()
					p := clonePlan(c.plan)
					b.StartTimer()
					approveQuadratic(p, c.approved, c.evidence)
				}
			})
		}
	}
}
