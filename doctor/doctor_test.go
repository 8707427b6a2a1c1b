package doctor_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/artprune/artprune/artifactory"
	"github.com/artprune/artprune/artifactory/artifactorytest"
	"github.com/artprune/artprune/doctor"
)

const token = "doctor-test-token"

func emulator(t *testing.T, ed artifactorytest.Edition, opts ...artifactorytest.Option) *artifactorytest.Server {
	t.Helper()
	srv, err := artifactorytest.NewServer(append([]artifactorytest.Option{
		artifactorytest.WithAdminToken(token), artifactorytest.WithEdition(ed),
		artifactorytest.WithRepo(artifactorytest.Repo{Key: "docker-local", Type: "local", PackageType: "docker"}),
		artifactorytest.WithRepo(artifactorytest.Repo{Key: "docker-scratch", Type: "local", PackageType: "docker"}),
		artifactorytest.WithUser(artifactorytest.User{Name: "reader", Token: "reader-token", Perms: []artifactorytest.Permission{artifactorytest.PermRead}}),
	}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	if _, err := artifactorytest.SeedStory(srv.Store(), "docker-local", srv.Clock().Now()); err != nil {
		t.Fatal(err)
	}
	return srv
}

func client(t *testing.T, url, tok string) *artifactory.Client {
	t.Helper()
	c, err := artifactory.New(url, artifactory.WithAccessToken(tok),
		artifactory.WithBackoff(artifactory.Backoff{Attempts: 3, Base: time.Millisecond, Max: time.Millisecond, MaxRetryAfter: time.Millisecond}))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func statuses(rep doctor.Report) map[string]doctor.Status {
	out := map[string]doctor.Status{}
	for _, r := range rep.Results {
		out[r.Name] = r.Status
	}
	return out
}

// TestDoctorOnEveryEdition runs every check, the scratch ones included, against each emulator edition as an
// admin: everything artprune needs holds (exit 0 in the CLI), and the report names what differs.
func TestDoctorOnEveryEdition(t *testing.T) {
	proOnlyTrashAPI := map[string]bool{"trash-can": true, "scratch-trash-restore": true}
	tests := []struct {
		edition  artifactorytest.Edition
		sorts    bool
		sortSays string          // in the aql-sort check's finding
		warn     map[string]bool // checks that warn on this edition: what differs from pro
	}{
		{artifactorytest.EditionPro, true, "AQL sorts", nil},
		{artifactorytest.EditionJCR, false, "Sorting is not supported", proOnlyTrashAPI},
		{artifactorytest.EditionOSS, false, "Sorting is not supported", proOnlyTrashAPI},
		{artifactorytest.EditionSaaS, true, "AQL sorts", map[string]bool{"trash-can": true}}, // no api/system/configuration
	}
	for _, tt := range tests {
		t.Run(string(tt.edition), func(t *testing.T) {
			srv := emulator(t, tt.edition)
			rep, err := doctor.Run(context.Background(), doctor.Env{Client: client(t, srv.ArtifactoryURL(), token), Repo: "docker-local", Scratch: "docker-scratch"},
				doctor.DefaultChecks())
			if err != nil {
				t.Fatal(err)
			}
			var text bytes.Buffer
			_ = rep.WriteText(&text)
			if !rep.OK() || len(rep.Results) != len(doctor.DefaultChecks()) {
				t.Fatalf("doctor fails on %s:\n%s", tt.edition, text.String())
			}
			for name, st := range statuses(rep) {
				want := doctor.StatusOK
				if tt.warn[name] {
					want = doctor.StatusWarn
				}
				if st != want {
					t.Errorf("%s: %s, want %s\n%s", name, st, want, text.String())
				}
			}
			if rep.Server.Sorts != tt.sorts || !rep.Server.Admin {
				t.Errorf("server %+v: want sorts %v, admin", rep.Server, tt.sorts)
			}
			for _, r := range rep.Results {
				if r.Name == "aql-sort" && !strings.Contains(r.Found, tt.sortSays) {
					t.Errorf("aql-sort found %q, want %q", r.Found, tt.sortSays)
				}
				if r.Name == "scratch-push-layout" && !strings.Contains(r.Found, "both list.manifest.json and manifest.json") {
					t.Errorf("scratch layout found %q, want the both-files layout", r.Found)
				}
			}
			// The scratch image is gone again.
			n := 0
			for it := range srv.Store().Items() {
				if it.Repo == "docker-scratch" && strings.HasPrefix(it.FullPath(), "artprune-doctor") {
					n++
				}
			}
			if n != 0 {
				t.Errorf("%d items of the scratch image left behind", n)
			}
		})
	}
}

// TestDoctorFailsWhereArtpruneRefuses: a reader who is not an admin cannot prove listings on jcr and oss, so the
// doctor fails there, naming what to do; on pro the probe proves the reader's (complete) view.
func TestDoctorFailsWhereArtpruneRefuses(t *testing.T) {
	for _, ed := range artifactorytest.Editions {
		t.Run(string(ed), func(t *testing.T) {
			srv := emulator(t, ed)
			rep, err := doctor.Run(context.Background(), doctor.Env{Client: client(t, srv.ArtifactoryURL(), "reader-token"), Repo: "docker-local"}, doctor.DefaultChecks())
			if err != nil {
				t.Fatal(err)
			}
			oss := ed == artifactorytest.EditionJCR || ed == artifactorytest.EditionOSS
			st := statuses(rep)
			if oss != (st["complete-listing"] == doctor.StatusFail) || rep.OK() == oss {
				var text bytes.Buffer
				_ = rep.WriteText(&text)
				t.Errorf("complete-listing %s, ok %v; want a failure only on jcr and oss\n%s", st["complete-listing"], rep.OK(), text.String())
			}
			if want := map[bool]doctor.Status{true: doctor.StatusFail, false: doctor.StatusOK}[oss]; st["edition"] != want {
				t.Errorf("edition check for a reader: %s, want %s", st["edition"], want)
			}
			if st["scratch-push-layout"] != doctor.StatusSkip {
				t.Errorf("scratch check without --scratch-repo: %s, want skip", st["scratch-push-layout"])
			}
		})
	}
}

// TestDoctorAgainstRealServer runs the same checks against a real Artifactory when ARTPRUNE_TEST_URL,
// ARTPRUNE_TEST_TOKEN and ARTPRUNE_TEST_REPO are set (ARTPRUNE_TEST_SCRATCH_REPO adds the scratch checks): the
// idea of distribution's storage driver test suites.
func TestDoctorAgainstRealServer(t *testing.T) {
	url, tok, repo := os.Getenv("ARTPRUNE_TEST_URL"), os.Getenv("ARTPRUNE_TEST_TOKEN"), os.Getenv("ARTPRUNE_TEST_REPO")
	if url == "" || tok == "" || repo == "" {
		t.Skip("set ARTPRUNE_TEST_URL, ARTPRUNE_TEST_TOKEN and ARTPRUNE_TEST_REPO (and ARTPRUNE_TEST_SCRATCH_REPO) to check a real Artifactory")
	}
	rep, err := doctor.Run(context.Background(), doctor.Env{Client: client(t, url, tok), Repo: repo, Scratch: os.Getenv("ARTPRUNE_TEST_SCRATCH_REPO")}, doctor.DefaultChecks())
	if err != nil {
		t.Fatal(err)
	}
	var text bytes.Buffer
	_ = rep.WriteText(&text)
	t.Log("\n" + text.String())
	if !rep.OK() {
		t.Errorf("artprune's assumptions do not all hold on %s", url)
	}
}

// TestDoctorCatchesASilentCap: a server that cuts every AQL answer to 5 rows without range.notification, below
// --page-size (10; the repository holds 19 manifest files), fails the aql-limit check on every edition, naming
// the page size that would fit.
func TestDoctorCatchesASilentCap(t *testing.T) {
	for _, ed := range artifactorytest.Editions {
		t.Run(string(ed), func(t *testing.T) {
			for _, tt := range []struct {
				cap  int
				want doctor.Status
				says string
			}{
				{5, doctor.StatusFail, "cuts answers silently below .limit"},
				{100, doctor.StatusOK, ".offset(19) finds no more"},
			} {
				srv := emulator(t, ed, artifactorytest.WithAQLSilentCap(tt.cap))
				c, err := artifactory.New(srv.ArtifactoryURL(), artifactory.WithAccessToken(token), artifactory.WithPageSize(10),
					artifactory.WithBackoff(artifactory.Backoff{Attempts: 3, Base: time.Millisecond, Max: time.Millisecond, MaxRetryAfter: time.Millisecond}))
				if err != nil {
					t.Fatal(err)
				}
				if tt.cap == 100 { // the cap does not bite: a page size above the repository's rows
					c, _ = artifactory.New(srv.ArtifactoryURL(), artifactory.WithAccessToken(token), artifactory.WithPageSize(50))
				}
				rep, err := doctor.Run(context.Background(), doctor.Env{Client: c, Repo: "docker-local"}, doctor.DefaultChecks())
				if err != nil {
					t.Fatal(err)
				}
				for _, r := range rep.Results {
					if r.Name == "aql-limit" && (r.Status != tt.want || !strings.Contains(r.Found, tt.says)) {
						t.Errorf("cap %d: aql-limit %s %q; want %s saying %q", tt.cap, r.Status, r.Found, tt.want, tt.says)
					}
				}
				if tt.want == doctor.StatusFail && rep.OK() {
					t.Errorf("cap %d: the doctor passes", tt.cap)
				}
			}
		})
	}
}

// TestDoctorWithoutRepoFailsForANonAdminWithoutSort: without --repo the listing checks are skipped, so only the
// edition check can say that a reader who is not an admin is refused everywhere on jcr and oss: the doctor fails
// there (exit 1), saying to run as an admin, and passes where AQL sorts.
func TestDoctorWithoutRepoFailsForANonAdminWithoutSort(t *testing.T) {
	for _, ed := range artifactorytest.Editions {
		t.Run(string(ed), func(t *testing.T) {
			srv := emulator(t, ed)
			rep, err := doctor.Run(context.Background(), doctor.Env{Client: client(t, srv.ArtifactoryURL(), "reader-token")}, doctor.DefaultChecks())
			if err != nil {
				t.Fatal(err)
			}
			oss := ed == artifactorytest.EditionJCR || ed == artifactorytest.EditionOSS
			if rep.OK() == oss {
				var text bytes.Buffer
				_ = rep.WriteText(&text)
				t.Errorf("ok %v, want %v\n%s", rep.OK(), !oss, text.String())
			}
			for _, r := range rep.Results {
				if r.Name == "edition" && oss && (r.Status != doctor.StatusFail || !strings.Contains(r.Artprune, "run artprune (and doctor) as an admin")) {
					t.Errorf("edition check: %s %q; want fail saying to run as an admin", r.Status, r.Artprune)
				}
			}
		})
	}
}

// TestScratchRepoMustBeEmpty: the scratch checks push and delete, so they refuse the --repo itself and a
// repository holding anything but leftover probe images, before pushing anything.
func TestScratchRepoMustBeEmpty(t *testing.T) {
	tests := []struct {
		name, repo, scratch string
		seed                []string // files put in the scratch repository first
		want                doctor.Status
		says                string
	}{
		{"the repo itself", "docker-local", "docker-local", nil, doctor.StatusFail, "--scratch-repo docker-local is the --repo itself"},
		{"the repo itself, other case", "docker-local", "Docker-Local", nil, doctor.StatusFail, "is the --repo itself"},
		{"holding an image", "docker-local", "docker-scratch", []string{"app/latest/manifest.json"}, doctor.StatusFail,
			"--scratch-repo docker-scratch holds app, which the doctor did not push"},
		{"holding a nested file", "docker-local", "docker-scratch", []string{"artprune-doctor-probe-0a/x.txt", "team/readme.txt"}, doctor.StatusFail,
			"holds team, which the doctor did not push"},
		{"empty", "docker-local", "docker-scratch", nil, doctor.StatusOK, "pushed through the Docker API"},
		{"a leftover probe", "docker-local", "docker-scratch", []string{"artprune-doctor-probe-0a/sha256:00/manifest.json"}, doctor.StatusOK, "pushed through the Docker API"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := emulator(t, artifactorytest.EditionPro)
			for _, f := range tt.seed {
				if _, err := srv.Store().PutFile(artifactorytest.FileSpec{Repo: "docker-scratch", Path: f, Data: []byte("x")}); err != nil {
					t.Fatal(err)
				}
			}
			before := srv.Store().Len()
			rep, err := doctor.Run(context.Background(), doctor.Env{Client: client(t, srv.ArtifactoryURL(), token), Repo: tt.repo, Scratch: tt.scratch},
				[]doctor.Check{doctor.DefaultChecks()[len(doctor.DefaultChecks())-1]})
			if err != nil {
				t.Fatal(err)
			}
			r := rep.Results[0]
			if r.Status != tt.want || !strings.Contains(r.Found, tt.says) {
				t.Errorf("%s %q; want %s saying %q", r.Status, r.Found, tt.want, tt.says)
			}
			if tt.want == doctor.StatusFail && srv.Store().Len() != before {
				t.Errorf("the refused scratch check changed the store: %d items, was %d", srv.Store().Len(), before)
			}
		})
	}
}

// refuseProbeDelete answers 403 to the DELETE of the probe image's folder, as for a user without Delete
// permission on it; everything else goes to the server.
type refuseProbeDelete struct{}

func (refuseProbeDelete) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Method == http.MethodDelete && regexp.MustCompile(`/docker-scratch/artprune-doctor-probe-[0-9a-f]{8}/$`).MatchString(r.URL.Path) {
		return &http.Response{StatusCode: 403, Status: "403 Forbidden", Header: http.Header{"Content-Type": {"application/json"}}, Request: r,
			Body: io.NopCloser(strings.NewReader(`{"errors":[{"status":403,"message":"Not enough permissions to delete/overwrite artifact"}]}`))}, nil
	}
	return http.DefaultTransport.RoundTrip(r)
}

// TestScratchCleanupFailureWarns: when the probe image cannot be deleted at the end, the scratch check says so
// (a warning naming the image and the error), instead of passing silently and leaving it behind.
func TestScratchCleanupFailureWarns(t *testing.T) {
	srv := emulator(t, artifactorytest.EditionPro)
	c, err := artifactory.New(srv.ArtifactoryURL(), artifactory.WithAccessToken(token), artifactory.WithTransport(refuseProbeDelete{}),
		artifactory.WithBackoff(artifactory.Backoff{Attempts: 2, Base: time.Millisecond, Max: time.Millisecond, MaxRetryAfter: time.Millisecond}))
	if err != nil {
		t.Fatal(err)
	}
	rep, err := doctor.Run(context.Background(), doctor.Env{Client: c, Repo: "docker-local", Scratch: "docker-scratch"},
		[]doctor.Check{doctor.DefaultChecks()[len(doctor.DefaultChecks())-1]})
	if err != nil {
		t.Fatal(err)
	}
	r := rep.Results[0]
	if r.Status != doctor.StatusWarn || !strings.Contains(r.Found, "cleanup: deleting the probe image docker-scratch/artprune-doctor-probe-") ||
		!strings.Contains(r.Found, "Not enough permissions") || !strings.Contains(r.Found, "delete it by hand") {
		t.Errorf("%s %q; want a warning naming the probe image left behind and why", r.Status, r.Found)
	}
}

// TestDoctorTrashCanStates: the Trash Can checks say when deletions cannot be undone: disabled, or without the
// restore API; both are warnings (artprune still works, permanently), never a pass that promises a restore.
func TestDoctorTrashCanStates(t *testing.T) {
	for _, tc := range []struct {
		name         string
		trash        artifactorytest.TrashConfig
		config, push doctor.Status
		says         string
	}{
		{"enabled", artifactorytest.TrashConfig{Enabled: true, RetentionDays: 3}, doctor.StatusOK, doctor.StatusOK, "kept 3 days"},
		{"disabled", artifactorytest.TrashConfig{Enabled: false}, doctor.StatusWarn, doctor.StatusWarn, "disabled"},
		{"no restore API", artifactorytest.TrashConfig{Enabled: true, RetentionDays: 14, NoAPI: true}, doctor.StatusOK, doctor.StatusWarn, "kept 14 days"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := emulator(t, artifactorytest.EditionPro, artifactorytest.WithTrash(tc.trash))
			rep, err := doctor.Run(context.Background(), doctor.Env{Client: client(t, srv.ArtifactoryURL(), token), Scratch: "docker-scratch"},
				doctor.DefaultChecks())
			if err != nil {
				t.Fatal(err)
			}
			var text bytes.Buffer
			_ = rep.WriteText(&text)
			st := statuses(rep)
			if st["trash-can"] != tc.config || st["scratch-trash-restore"] != tc.push || !strings.Contains(text.String(), tc.says) {
				t.Errorf("trash-can %s (want %s), scratch-trash-restore %s (want %s), want %q in:\n%s",
					st["trash-can"], tc.config, st["scratch-trash-restore"], tc.push, tc.says, text.String())
			}
			for it := range srv.Store().Items() {
				if strings.Contains(it.FullPath(), "artprune-doctor") && it.Repo == "docker-scratch" {
					t.Errorf("doctor left %s/%s behind", it.Repo, it.FullPath())
				}
			}
		})
	}
}
