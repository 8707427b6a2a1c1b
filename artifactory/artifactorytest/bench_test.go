package artifactorytest_test

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"os"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/artprune/artprune/artifactory/artifactorytest"
)

// benchServer generates a repository of about folders manifest folders (5 items each with their blobs: 1,000,000
// folders make about 4.5 million items) and returns a server over it.
func benchServer(b *testing.B, folders int) *artifactorytest.Server {
	b.Helper()
	srv, err := artifactorytest.NewServer(artifactorytest.WithAdminToken("bench"),
		artifactorytest.WithRepo(artifactorytest.Repo{Key: "docker-local", Type: "local", PackageType: "docker"}))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(srv.Close)
	// Each image x tag x generation pushes 2 platforms + 2 attestations = 4 folders.
	images := max(1, folders/(10*25*4))
	spec := artifactorytest.GenerateSpec{Images: images, Tags: 10, Generations: 25, Platforms: 2, Attestations: 1}
	began := time.Now()
	if _, err := artifactorytest.Generate(srv.Store(), "docker-local", spec, 1, srv.Clock().Now()); err != nil {
		b.Fatal(err)
	}
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	b.Logf("%d items generated in %v; heap in use %d MiB", srv.Store().Len(), time.Since(began).Round(time.Millisecond), ms.HeapInuse>>20)
	return srv
}

func benchFolders(b *testing.B) int {
	if s := os.Getenv("ARTPRUNE_BENCH_FOLDERS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil {
			b.Fatalf("ARTPRUNE_BENCH_FOLDERS=%q: %v", s, err)
		}
		return n
	}
	return 100_000
}

func aqlPost(b *testing.B, srv *artifactorytest.Server, query string) int {
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/artifactory/api/search/aql", bytes.NewBufferString(query))
	req.Header.Set("Authorization", "Bearer bench")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	n, _ := io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b.Fatalf("AQL answered %d", resp.StatusCode)
	}
	return int(n)
}

// BenchmarkAQL measures AQL over a generated repository: ARTPRUNE_BENCH_FOLDERS=1000000 go test -run=^$
// -bench=AQL -benchtime=5x ./artifactory/artifactorytest/ gives the 4.5-million-item figures in the README.
func BenchmarkAQL(b *testing.B) {
	srv := benchServer(b, benchFolders(b))
	queries := []struct{ name, query string }{
		{"path-name-filter", `items.find({"repo":"docker-local","path":{"$match":"team-03/app-0003/*"},"name":"manifest.json"}).include("repo","path","name","sha256")`},
		{"manifests-first-page", `items.find({"repo":"docker-local","type":"file","$or":[{"name":"manifest.json"},{"name":"list.manifest.json"}]}).include("repo","path","name","type","size","sha256","created","modified","updated").sort({"$asc":["path","name"]}).limit(10000)`},
	}
	for _, q := range queries {
		b.Run(q.name, func(b *testing.B) {
			var bytes int
			for b.Loop() {
				bytes = aqlPost(b, srv, q.query)
			}
			b.ReportMetric(float64(bytes), "B/answer")
		})
	}
}

func ExampleGenerate() {
	store := artifactorytest.NewStore(artifactorytest.NewClock(time.Time{}, nil))
	_ = store.AddRepo(artifactorytest.Repo{Key: "docker-local"})
	spec, _ := artifactorytest.ParseGenerateSpec("images=2,tags=1,generations=3,platforms=2,attestations=1,referrers=0")
	stats, _ := artifactorytest.Generate(store, "docker-local", spec, 1, time.Now())
	fmt.Println(stats.Tags, stats.DigestFolders)
	// Output: 2 24
}
