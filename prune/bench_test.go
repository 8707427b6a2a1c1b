package prune_test

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/artprune/artprune/prune"
)

// synthSource is an in-memory repository for benchmarks: images of tags pushed generations times as multi-arch
// indexes of platforms manifests and as many attestations, like the emulator's generator. Documents are made on
// demand from their folder, so that a million of them cost only their checksums.
type synthSource struct {
	images, tags, gens, platforms int
	now                           time.Time
	sums                          [][32]byte // by document number
	reads                         atomic.Int64
}

func newSynthSource(folders int) *synthSource {
	s := &synthSource{tags: 4, gens: 5, platforms: 2, now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	s.images = max(1, folders/(s.tags*s.gens*s.platforms*2))
	s.sums = make([][32]byte, s.docs())
	for i := range s.sums {
		s.sums[i] = sha256.Sum256(s.doc(i))
	}
	return s
}

func (s *synthSource) perPush() int       { return 2*s.platforms + 1 } // children, then the index
func (s *synthSource) perImage() int      { return s.tags * s.gens * s.perPush() }
func (s *synthSource) docs() int          { return s.images * s.perImage() }
func (s *synthSource) image(i int) string { return fmt.Sprintf("team-%02d/app-%05d", i%10, i) }

// doc returns document number n: the children of a push, then its index.
func (s *synthSource) doc(n int) []byte {
	push, k := n/s.perPush(), n%s.perPush()
	if k < 2*s.platforms {
		var seed [8]byte
		binary.BigEndian.PutUint64(seed[:], uint64(n))
		cfg := sha256.Sum256(seed[:])
		mt := "application/vnd.oci.image.layer.v1.tar+gzip"
		if k >= s.platforms {
			mt = "application/vnd.in-toto+json"
		}
		return []byte(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":` +
			`"application/vnd.oci.image.config.v1+json","digest":"sha256:` + hex.EncodeToString(cfg[:]) + `","size":1234},"layers":[` +
			`{"mediaType":"` + mt + `","digest":"sha256:` + hex.EncodeToString(cfg[:]) + `","size":12345}]}`)
	}
	var b strings.Builder
	b.WriteString(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[`)
	for c := range 2 * s.platforms {
		if c > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:` +
			hex.EncodeToString(s.sums[push*s.perPush()+c][:]) + `","size":400}`)
	}
	b.WriteString(`]}`)
	return []byte(b.String())
}

func (s *synthSource) Now(context.Context) (time.Time, error) { return s.now, nil }

func (s *synthSource) Manifests(ctx context.Context, repo string, fn func(prune.ManifestFile) error) error {
	for img := range s.images {
		name := s.image(img)
		for tag := range s.tags {
			for gen := range s.gens {
				push := (img*s.tags+tag)*s.gens + gen
				at := s.now.Add(-time.Duration(s.gens-gen) * 240 * time.Hour)
				for k := range s.perPush() {
					n := push*s.perPush() + k
					hexsum := hex.EncodeToString(s.sums[n][:])
					f := prune.ManifestFile{Repo: repo, Path: name + "/sha256:" + hexsum, Name: prune.ManifestName,
						Size: 400, SHA256: hexsum, Created: at, Modified: at, Updated: at}
					if k == 2*s.platforms { // the index: in the tag folder, and only for the last generation
						if gen < s.gens-1 {
							continue
						}
						f.Path, f.Name = name+"/v"+strconv.Itoa(tag), prune.ListManifestName
					}
					if err := fn(f); err != nil {
						return err
					}
				}
			}
		}
	}
	return nil
}

func (s *synthSource) ManifestsChangedSince(context.Context, string, time.Time, func(prune.ManifestFile) error) error {
	return nil
}

func (s *synthSource) ReadFile(_ context.Context, repo, path string, limit int64) ([]byte, error) {
	s.reads.Add(1)
	folder, name, _ := strings.Cut(path[strings.LastIndexByte(path[:strings.LastIndexByte(path, '/')], '/')+1:], "/")
	imgEnd := strings.LastIndexByte(path[:strings.LastIndexByte(path, '/')], '/')
	img, _ := strconv.Atoi(path[imgEnd-5 : imgEnd])
	if name == prune.ListManifestName {
		tag, _ := strconv.Atoi(strings.TrimPrefix(folder, "v"))
		push := (img*s.tags+tag)*s.gens + s.gens - 1
		return s.doc(push*s.perPush() + 2*s.platforms), nil
	}
	want, _ := hex.DecodeString(strings.TrimPrefix(folder, "sha256:"))
	base := img * s.perImage()
	for n := base; n < base+s.perImage(); n++ { // the image's documents: a short scan
		if string(s.sums[n][:]) == string(want) {
			return s.doc(n), nil
		}
	}
	return nil, fmt.Errorf("%s/%s: %w", repo, path, prune.ErrNotFound)
}

func (s *synthSource) FolderFiles(context.Context, string, []string, func(prune.File) error) error {
	return nil
}

func (s *synthSource) ChecksumHolders(context.Context, string, []string, func(prune.File) error) error {
	return nil
}

// BenchmarkPlan plans repositories of 10,000, 100,000 and 1,000,000 digest folders from an in-memory source: the
// planner's own cost (inventory, reading and parsing every document, marking), without HTTP. It reports the time
// and allocations per plan, the time per folder and the heap the plan holds.
func BenchmarkPlan(b *testing.B) {
	for _, n := range []int{10_000, 100_000, 1_000_000} {
		b.Run("folders="+strconv.Itoa(n), func(b *testing.B) {
			src := newSynthSource(n)
			var plan *prune.RepoPlan
			b.ReportAllocs()
			for b.Loop() {
				p, err := prune.NewPlanner(src, prune.Options{Concurrency: 2, MeasureLimit: -1})
				if err != nil {
					b.Fatal(err)
				}
				if plan, err = p.Plan(context.Background(), "docker-local"); err != nil {
					b.Fatal(err)
				}
			}
			folders := 0
			for _, img := range plan.Images {
				folders += len(img.Folders)
			}
			if want := src.images * src.tags * src.gens * 2 * src.platforms; folders != want {
				b.Fatalf("%d digest folders, want %d", folders, want)
			}
			if dels := plan.DeletionCount(); dels != folders*(src.gens-1)/src.gens {
				b.Fatalf("%d deletions of %d folders", dels, folders)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(folders), "ns/folder")
			runtime.GC()
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			b.ReportMetric(float64(ms.HeapAlloc)/float64(folders), "heap-B/folder")
			runtime.KeepAlive(plan)
		})
	}
}
