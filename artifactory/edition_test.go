package artifactory_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/artprune/artprune/artifactory"
	"github.com/artprune/artprune/artifactory/artifactorytest"
	"github.com/artprune/artprune/prune"
)

// aqlRecorder is a transport that keeps the body of every AQL query sent, and can hide endpoints (404).
type aqlRecorder struct {
	mu      sync.Mutex
	queries []string
	hide    []string // path suffixes answered 404 without reaching the server
}

func (a *aqlRecorder) RoundTrip(r *http.Request) (*http.Response, error) {
	for _, h := range a.hide {
		if strings.HasSuffix(r.URL.Path, h) {
			return &http.Response{StatusCode: 404, Status: "404 Not Found", Body: io.NopCloser(strings.NewReader(`{"errors":[{"status":404,"message":"Not Found"}]}`)),
				Header: http.Header{"Content-Type": {"application/json"}}, Request: r}, nil
		}
	}
	if strings.HasSuffix(r.URL.Path, "/api/search/aql") && r.GetBody != nil {
		if b, err := r.GetBody(); err == nil {
			q, _ := io.ReadAll(b)
			a.mu.Lock()
			a.queries = append(a.queries, string(q))
			a.mu.Unlock()
		}
	}
	return http.DefaultTransport.RoundTrip(r)
}

// sorted counts the sorted queries other than the edition detection's one-row probe.
func (a *aqlRecorder) sorted() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	n := 0
	for _, q := range a.queries {
		if strings.Contains(q, ".sort(") && !isSortProbe(q) {
			n++
		}
	}
	return n
}

// listing returns the queries other than the edition detection's probe.
func (a *aqlRecorder) listing() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []string
	for _, q := range a.queries {
		if !isSortProbe(q) {
			out = append(out, q)
		}
	}
	return out
}

// probes counts the edition detection's one-row sorted queries.
func (a *aqlRecorder) probes() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	n := 0
	for _, q := range a.queries {
		if isSortProbe(q) {
			n++
		}
	}
	return n
}

func isSortProbe(q string) bool { return strings.Contains(q, `"artprune-sort-probe"`) }

// editionServer is an emulator of edition ed holding a generated repository, plus a reader who sees everything
// and a reader who may not see one tag.
func editionServer(t *testing.T, ed artifactorytest.Edition, opts ...artifactorytest.Option) *artifactorytest.Server {
	t.Helper()
	srv := newServer(t, append([]artifactorytest.Option{artifactorytest.WithEdition(ed),
		artifactorytest.WithUser(artifactorytest.User{Name: "reader", Token: "reader-token", Perms: []artifactorytest.Permission{artifactorytest.PermRead}}),
		artifactorytest.WithUser(artifactorytest.User{Name: "filtered", Token: "filtered-token", Perms: []artifactorytest.Permission{artifactorytest.PermRead},
			Exclude: []string{"docker-local/my-image/latest"}}),
	}, opts...)...)
	if _, err := artifactorytest.SeedStory(srv.Store(), "docker-local", srv.Clock().Now()); err != nil {
		t.Fatal(err)
	}
	spec := artifactorytest.GenerateSpec{Images: 6, Tags: 3, Generations: 3, Platforms: 2, Attestations: 1, Referrers: 0.3}
	if _, err := artifactorytest.Generate(srv.Store(), "docker-local", spec, 7, srv.Clock().Now()); err != nil {
		t.Fatal(err)
	}
	return srv
}

// truth lists every manifest file of docker-local straight from the emulator's store.
func truth(t *testing.T, srv *artifactorytest.Server) []string {
	t.Helper()
	var out []string
	for it := range srv.Store().Items() {
		if it.Repo == "docker-local" && !it.Folder && (it.Name == prune.ManifestName || it.Name == prune.ListManifestName) {
			out = append(out, it.Path+"/"+it.Name)
		}
	}
	slices.Sort(out)
	return out
}

func listWith(t *testing.T, c *artifactory.Client) ([]string, error) {
	t.Helper()
	var got []string
	err := c.Manifests(context.Background(), "docker-local", func(m prune.ManifestFile) error {
		got = append(got, m.Path+"/"+m.Name)
		return nil
	})
	slices.Sort(got)
	return got, err
}

// TestInventoryOnEveryEdition lists the same repository on every edition and page size: an admin gets exactly
// the files the store holds, once each; on jcr and oss no query carries a sort, and the edition is named.
func TestInventoryOnEveryEdition(t *testing.T) {
	tests := []struct {
		edition     artifactorytest.Edition
		wantEdition string
		sorts       bool
	}{
		{artifactorytest.EditionPro, artifactory.EditionPro, true},
		{artifactorytest.EditionSaaS, artifactory.EditionPro, true}, // a loopback host is not under jfrog.io
		{artifactorytest.EditionJCR, artifactory.EditionJCR, false},
		{artifactorytest.EditionOSS, artifactory.EditionOSS, false},
	}
	for _, tt := range tests {
		t.Run(string(tt.edition), func(t *testing.T) {
			srv := editionServer(t, tt.edition)
			want := truth(t, srv)
			if len(want) < 100 {
				t.Fatalf("only %d manifest files: the test needs more than a page of the small sizes", len(want))
			}
			for _, size := range []int{1, 2, 3, 7, 50, len(want) - 1, len(want), 10000} {
				rec := &aqlRecorder{}
				c := newClient(t, srv, artifactory.WithPageSize(size), artifactory.WithTransport(rec))
				got, err := listWith(t, c)
				if err != nil {
					t.Fatalf("page size %d: %v", size, err)
				}
				if !slices.Equal(got, want) {
					t.Errorf("page size %d: listed %d files, want the %d of the store\n  got  %v\n  want %v", size, len(got), len(want), got, want)
				}
				info, err := c.Server(context.Background())
				if err != nil || info.Edition != tt.wantEdition || info.Sorts != tt.sorts || !info.Admin {
					t.Errorf("server %+v (%v): want edition %s, sorts %v, admin", info, err, tt.wantEdition, tt.sorts)
				}
				if n := rec.sorted(); !tt.sorts && n > 0 {
					t.Errorf("page size %d: %d queries with a sort sent to %s", size, n, tt.edition)
				}
				if n := rec.probes(); n != 1 {
					t.Errorf("page size %d: %d one-row sort probes, want exactly 1 per client", size, n)
				}
			}
		})
	}
}

// TestUnprovableListingsFailClosed: a permission-filtered view and a trimmed listing fail with ErrIncomplete on
// every edition (on jcr and oss, where partitions trimmed by the server are split, a listing trimmed past
// splitting); on jcr and oss a user who is not an admin is refused before any query, with what to do.
func TestUnprovableListingsFailClosed(t *testing.T) {
	for _, ed := range artifactorytest.Editions {
		t.Run(string(ed), func(t *testing.T) {
			oss := ed == artifactorytest.EditionJCR || ed == artifactorytest.EditionOSS
			srv := editionServer(t, ed)
			for _, size := range []int{1, 3, 10000} {
				rec := &aqlRecorder{}
				c, err := artifactory.New(srv.ArtifactoryURL(), artifactory.WithAccessToken("filtered-token"), artifactory.WithBackoff(fastBackoff),
					artifactory.WithPageSize(size), artifactory.WithTransport(rec))
				if err != nil {
					t.Fatal(err)
				}
				_, err = listWith(t, c)
				if !errors.Is(err, prune.ErrIncomplete) {
					t.Errorf("filtered view, page size %d: got %v, want ErrIncomplete", size, err)
				}
				if oss && (!errors.Is(err, artifactory.ErrNeedsAdmin) || !strings.Contains(err.Error(), "run artprune as an admin user") || len(rec.listing()) > 0) {
					t.Errorf("filtered view, page size %d: got %v after %d queries, want ErrNeedsAdmin before any", size, err, len(rec.listing()))
				}
			}
			// A reader who happens to see everything is refused too where sort is refused: nothing proves it.
			c, _ := artifactory.New(srv.ArtifactoryURL(), artifactory.WithAccessToken("reader-token"), artifactory.WithBackoff(fastBackoff))
			if _, err := listWith(t, c); oss != errors.Is(err, artifactory.ErrNeedsAdmin) || (!oss && err != nil) {
				t.Errorf("unfiltered reader: got %v (want ErrNeedsAdmin: %v)", err, oss)
			}

			// A server that trims answers at 4 rows: a sorted page of more is trimmed, and fails; an unsorted
			// partition is split until its answers fit, so jcr and oss still list exactly. Trimmed at 1 row, a
			// partition cannot be split: every edition fails.
			trimmed := editionServer(t, ed, artifactorytest.WithAQLMaxResults(4))
			for _, size := range []int{5, 10000} {
				got, err := listWith(t, newClient(t, trimmed, artifactory.WithPageSize(size)))
				switch {
				case oss && (err != nil || !slices.Equal(got, truth(t, trimmed))):
					t.Errorf("trimmed at 4, page size %d: %v, want the exact listing from split partitions (%d of %d files)", size, err, len(got), len(truth(t, trimmed)))
				case !oss && (!errors.Is(err, prune.ErrIncomplete) || !strings.Contains(err.Error(), "trimmed")):
					t.Errorf("trimmed at 4, page size %d: got %v, want a trimmed ErrIncomplete", size, err)
				}
			}
			one := editionServer(t, ed, artifactorytest.WithAQLMaxResults(1))
			if _, err := listWith(t, newClient(t, one)); !errors.Is(err, prune.ErrIncomplete) || !strings.Contains(err.Error(), "trimmed") {
				t.Errorf("trimmed at 1: got %v, want a trimmed ErrIncomplete", err)
			}
		})
	}
}

// TestSortDecidedByAQL: a server that hides its version refuses the detection's one-row sorted query, once; the
// client then searches without sort from the start (sizes work) and refuses a listing it cannot prove for a
// caller who is not an admin (the licenses endpoint answers 403), quoting that answer.
func TestSortDecidedByAQL(t *testing.T) {
	srv := editionServer(t, artifactorytest.EditionJCR)
	rec := &aqlRecorder{hide: []string{"/api/system/version"}}
	c, err := artifactory.New(srv.ArtifactoryURL(), artifactory.WithAccessToken("reader-token"), artifactory.WithBackoff(fastBackoff),
		artifactory.WithTransport(rec), artifactory.WithPageSize(5))
	if err != nil {
		t.Fatal(err)
	}
	var folder string
	for _, f := range truth(t, srv) {
		if strings.Contains(f, "/sha256:") && strings.HasSuffix(f, "/"+prune.ManifestName) {
			folder = strings.TrimSuffix(f, "/"+prune.ManifestName)
			break
		}
	}
	var files []string
	err = c.FolderFiles(context.Background(), "docker-local", []string{folder}, func(f prune.File) error {
		files = append(files, f.Name)
		return nil
	})
	if err != nil || !slices.Contains(files, prune.ManifestName) {
		t.Fatalf("FolderFiles after a refusal: %v %v", files, err)
	}
	_, err = listWith(t, c)
	if !errors.Is(err, artifactory.ErrNeedsAdmin) || !strings.Contains(err.Error(), `refused (403 Forbidden, "You are not authorized to view the license")`) {
		t.Errorf("inventory of a reader without sort: %v, want ErrNeedsAdmin quoting the licenses answer", err)
	}
	if n, p := rec.sorted(), rec.probes(); n != 0 || p != 1 {
		t.Errorf("%d sorted queries and %d probes, want none and the one refused", n, p)
	}
	info, _ := c.Server(context.Background())
	if info.Sorts || info.Edition != artifactory.EditionOSSOrJCR || !strings.Contains(info.How, "refused a sort") {
		t.Errorf("after the refusal: %+v", info)
	}
}

func TestServerInfoString(t *testing.T) {
	for _, tt := range []struct {
		info artifactory.ServerInfo
		want string
	}{
		{artifactory.ServerInfo{Edition: "jcr", Version: "7.1", Admin: true}, "jcr 7.1 (AQL without sort; admin)"},
		{artifactory.ServerInfo{Edition: "pro", Sorts: true}, "pro (AQL sorts; not admin)"},
	} {
		if got := tt.info.String(); got != tt.want {
			t.Errorf("%+v: %q, want %q", tt.info, got, tt.want)
		}
	}
}

// TestAQLInFlightCapped lists from many goroutines of one client against a SaaS emulator whose AQL limiter
// refuses a fourth query in flight at once (no pending time), every query taking 5 ms: the client keeps to
// MaxAQLInFlight, so none is refused and every listing is complete.
func TestAQLInFlightCapped(t *testing.T) {
	srv := editionServer(t, artifactorytest.EditionSaaS, artifactorytest.WithAQLConcurrency(artifactorytest.SaaSAQLConcurrency, 0))
	srv.SetFaults(artifactorytest.FaultConfig{Latency: 5 * time.Millisecond, LatencyClasses: []artifactorytest.Class{artifactorytest.ClassAQL}})
	want := truth(t, srv)
	c := newClient(t, srv, artifactory.WithPageSize(20), artifactory.WithBackoff(artifactory.Backoff{Attempts: 1}))
	var wg sync.WaitGroup
	errs := make([]error, 8)
	for i := range errs {
		wg.Go(func() {
			got, err := listWith(t, c)
			if err == nil && !slices.Equal(got, want) {
				err = fmt.Errorf("listed %d files, want %d", len(got), len(want))
			}
			errs[i] = err
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("listing %d: %v", i, err)
		}
	}
	if n := srv.AQLRejected(); n != 0 {
		t.Errorf("the AQL limiter refused %d queries: more than %d were in flight", n, artifactory.MaxAQLInFlight)
	}
}

// TestKeepQueryAndSizesOnEveryEdition: the keep-property query, the re-check's query and the size measurement
// answer on jcr, oss and saas exactly what they answer on pro.
func TestKeepQueryAndSizesOnEveryEdition(t *testing.T) {
	type answers struct {
		protected, changed, files, holders []string
	}
	ask := func(t *testing.T, ed artifactorytest.Edition) answers {
		t.Helper()
		srv := editionServer(t, ed)
		var digestFolders []string
		for _, f := range truth(t, srv) {
			if strings.Contains(f, "/sha256:") {
				digestFolders = append(digestFolders, f[:strings.LastIndexByte(f, '/')])
			}
		}
		slices.Sort(digestFolders)
		digestFolders = slices.Compact(digestFolders)
		for _, p := range []string{digestFolders[0], digestFolders[len(digestFolders)/2] + "/" + prune.ManifestName} {
			if err := srv.Store().SetProps("docker-local", p, map[string][]string{"artprune.keep": {"true"}}, true); err != nil {
				t.Fatal(err)
			}
		}
		c := newClient(t, srv, artifactory.WithPageSize(7))
		ctx := context.Background()
		var a answers
		prot, err := c.ProtectedPaths(ctx, "docker-local", "artprune.keep=true")
		if err != nil {
			t.Fatalf("%s: ProtectedPaths: %v", ed, err)
		}
		for p := range prot {
			a.protected = append(a.protected, p)
		}
		err = c.ManifestsChangedSince(ctx, "docker-local", srv.Clock().Now().Add(-time.Hour), func(m prune.ManifestFile) error {
			a.changed = append(a.changed, m.Path+"/"+m.Name)
			return nil
		})
		if err != nil {
			t.Fatalf("%s: ManifestsChangedSince: %v", ed, err)
		}
		var sums []string
		err = c.FolderFiles(ctx, "docker-local", digestFolders, func(f prune.File) error {
			a.files = append(a.files, f.Path+"/"+f.Name)
			sums = append(sums, f.SHA256)
			return nil
		})
		if err != nil {
			t.Fatalf("%s: FolderFiles: %v", ed, err)
		}
		slices.Sort(sums)
		err = c.ChecksumHolders(ctx, "docker-local", slices.Compact(sums)[:20], func(f prune.File) error {
			a.holders = append(a.holders, f.Path+"/"+f.Name)
			return nil
		})
		if err != nil {
			t.Fatalf("%s: ChecksumHolders: %v", ed, err)
		}
		for _, l := range []*[]string{&a.protected, &a.changed, &a.files, &a.holders} {
			slices.Sort(*l)
		}
		return a
	}
	want := ask(t, artifactorytest.EditionPro)
	if len(want.protected) != 2 || len(want.changed) == 0 || len(want.files) == 0 || len(want.holders) == 0 {
		t.Fatalf("pro answers are too thin to compare: %d protected, %d changed, %d files, %d holders",
			len(want.protected), len(want.changed), len(want.files), len(want.holders))
	}
	for _, ed := range artifactorytest.Editions[1:] {
		got := ask(t, ed)
		for _, c := range []struct {
			what      string
			got, want []string
		}{{"protected paths", got.protected, want.protected}, {"changed files", got.changed, want.changed},
			{"folder files", got.files, want.files}, {"checksum holders", got.holders, want.holders}} {
			if !slices.Equal(c.got, c.want) {
				t.Errorf("%s: %s differ from pro:\n  got  %v\n  want %v", ed, c.what, c.got, c.want)
			}
		}
	}
}

// TestRequestStaysOnTheServer: Request takes paths under the base URL only, so credentials never go elsewhere.
func TestRequestStaysOnTheServer(t *testing.T) {
	srv := newServer(t)
	c := newClient(t, srv)
	for _, rel := range []string{"http://elsewhere.example/x", "/artifactory/api/system/ping", "//elsewhere.example/x"} {
		if resp, err := c.Request(context.Background(), http.MethodGet, rel, nil, nil); err == nil {
			resp.Body.Close()
			t.Errorf("Request(%q) was sent", rel)
		}
	}
	resp, err := c.Request(context.Background(), http.MethodGet, "api/system/ping", nil, nil)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("Request(api/system/ping): %v", err)
	}
	resp.Body.Close()
}

// TestPartitionsSurviveDeletes deletes folders as they are listed, on jcr: a partition's rows are delivered only
// once its answer is complete, and partitions are disjoint, so deletions never hide a row of another partition.
func TestPartitionsSurviveDeletes(t *testing.T) {
	srv := editionServer(t, artifactorytest.EditionJCR)
	want := truth(t, srv)
	c := newClient(t, srv, artifactory.WithPageSize(3))
	var got []string
	err := c.Manifests(context.Background(), "docker-local", func(m prune.ManifestFile) error {
		got = append(got, m.Path+"/"+m.Name)
		if len(got)%2 == 0 { // delete every other listed folder while the listing goes on
			if _, err := srv.Store().Delete("docker-local", m.Path); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Errorf("with deletes during the listing: %d files listed, want %d\n  got  %v\n  want %v", len(got), len(want), got, want)
	}
}

// TestSilentCapCaught: a server (or a proxy) that cuts every AQL answer to a few rows without range.notification,
// below --page-size. Without sort, a short answer is taken as its whole partition only once .offset(k).limit(1)
// finds nothing beyond it: the listing is exact (the cut partitions are split until they fit), or, cut to one row,
// fails closed. Where AQL sorts, the short page followed by more rows already fails it.
func TestSilentCapCaught(t *testing.T) {
	tests := []struct {
		edition  artifactorytest.Edition
		cap      int
		pageSize int
		wantErr  string // "" for the exact listing
	}{
		{artifactorytest.EditionJCR, 40, 1000, ""},
		{artifactorytest.EditionOSS, 40, 1000, ""},
		{artifactorytest.EditionJCR, 7, 10000, ""},
		{artifactorytest.EditionJCR, 40, 30, ""}, // the cap does not bite
		{artifactorytest.EditionJCR, 1, 1000, "cuts answers silently, too short to split"},
		{artifactorytest.EditionOSS, 1, 1000, "cuts answers silently, too short to split"},
		{artifactorytest.EditionPro, 40, 1000, "a short page was followed by more rows"},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s/cap%d/page%d", tt.edition, tt.cap, tt.pageSize), func(t *testing.T) {
			srv := editionServer(t, tt.edition, artifactorytest.WithAQLSilentCap(tt.cap))
			want := truth(t, srv)
			got, err := listWith(t, newClient(t, srv, artifactory.WithPageSize(tt.pageSize)))
			if tt.wantErr == "" {
				if err != nil || !slices.Equal(got, want) {
					t.Errorf("listed %d of %d files, %v; want the exact listing", len(got), len(want), err)
				}
				return
			}
			if !errors.Is(err, prune.ErrIncomplete) || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("listed %d of %d files, %v; want ErrIncomplete saying %q", len(got), len(want), err, tt.wantErr)
			}
		})
	}
}

// TestLongBatchesFitWithPartitionBounds: FolderFiles batches its clauses to the query length limit with room for
// one keyset bound; without sort a partition adds two bounds as long as the rows' paths. With 40 images of
// 200-character names and small partitions, such a query would pass 6,000 characters: the batch is split instead,
// and every file is listed once, exactly as on pro.
func TestLongBatchesFitWithPartitionBounds(t *testing.T) {
	files := func(t *testing.T, ed artifactorytest.Edition, pageSize int) ([]string, error) {
		t.Helper()
		srv := newServer(t, artifactorytest.WithEdition(ed))
		var folders []string
		for i := range 40 {
			image := "team/" + strings.Repeat("x", 200) + fmt.Sprintf("%02d", i)
			for j := range 3 {
				folder := fmt.Sprintf("%s/sha256:%064x", image, i*10+j)
				folders = append(folders, folder)
				for _, name := range []string{prune.ManifestName, fmt.Sprintf("sha256__%064x", 1000+i*10+j)} {
					if _, err := srv.Store().PutFile(artifactorytest.FileSpec{Repo: "docker-local", Path: folder + "/" + name, Data: []byte(folder + name)}); err != nil {
						t.Fatal(err)
					}
				}
			}
		}
		var got []string
		err := newClient(t, srv, artifactory.WithPageSize(pageSize)).FolderFiles(context.Background(), "docker-local", folders, func(f prune.File) error {
			got = append(got, f.Path+"/"+f.Name)
			return nil
		})
		slices.Sort(got)
		return got, err
	}
	want, err := files(t, artifactorytest.EditionPro, 10000)
	if err != nil || len(want) != 240 {
		t.Fatalf("pro: %d files, %v; want 240", len(want), err)
	}
	for _, ed := range []artifactorytest.Edition{artifactorytest.EditionJCR, artifactorytest.EditionOSS, artifactorytest.EditionPro} {
		for _, size := range []int{3, 50, 10000} {
			got, err := files(t, ed, size)
			if err != nil || !slices.Equal(got, want) {
				t.Errorf("%s, page size %d: %d files, %v; want the %d of pro, once each", ed, size, len(got), err, len(want))
			}
		}
	}
}
