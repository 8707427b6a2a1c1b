package artifactorytest

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/opencontainers/go-digest"
	specs "github.com/opencontainers/image-spec/specs-go"
	v1 "github.com/opencontainers/image-spec/specs-go/v1"
)

// GenerateSpec describes a synthetic Docker repository: Images x Tags, each tag pushed Generations times as a
// multi-arch index with Platforms platform manifests and Attestations attestation manifests per platform, so the
// older generations left dangling digest folders; a fraction Referrers of the pushes also got a signature referrer.
type GenerateSpec struct {
	Images       int
	Tags         int
	Generations  int
	Platforms    int
	Attestations int
	Referrers    float64
}

// DefaultGenerateSpec is the spec of a bare --generate.
var DefaultGenerateSpec = GenerateSpec{Images: 50, Tags: 4, Generations: 4, Platforms: 2, Attestations: 1, Referrers: 0.1}

// ParseGenerateSpec parses "images=50,tags=4,generations=4,platforms=2,attestations=1,referrers=0.1"; omitted
// keys take DefaultGenerateSpec's values.
func ParseGenerateSpec(s string) (GenerateSpec, error) {
	spec := DefaultGenerateSpec
	for kv := range strings.SplitSeq(s, ",") {
		kv = strings.TrimSpace(kv)
		if kv == "" {
			continue
		}
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			return spec, fmt.Errorf("generate: %q is not key=value", kv)
		}
		if k == "referrers" {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil || f < 0 || f > 1 {
				return spec, fmt.Errorf("generate: referrers=%s: want a fraction from 0 to 1", v)
			}
			spec.Referrers = f
			continue
		}
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return spec, fmt.Errorf("generate: %s=%s: want a non-negative whole number", k, v)
		}
		switch k {
		case "images":
			spec.Images = n
		case "tags":
			spec.Tags = n
		case "generations":
			spec.Generations = n
		case "platforms":
			spec.Platforms = n
		case "attestations":
			spec.Attestations = n
		default:
			return spec, fmt.Errorf("generate: unknown key %q (want images, tags, generations, platforms, attestations, referrers)", k)
		}
	}
	if spec.Platforms < 1 || spec.Generations < 1 || spec.Tags < 1 {
		return spec, fmt.Errorf("generate: platforms, generations and tags must be at least 1")
	}
	return spec, nil
}

// ManifestFolders returns how many manifest folders the spec produces, referrers aside.
func (g GenerateSpec) ManifestFolders() int {
	return g.Images * g.Tags * g.Generations * g.Platforms * (1 + g.Attestations)
}

// GenerateStats counts what Generate wrote.
type GenerateStats struct {
	Tags, Indexes, DigestFolders, Referrers, Files int
}

// Generate fills repo with a deterministic (by seed) Docker repository as spec describes. The pushes are spread over
// the 90 days before now; documents are real JSON with real digests, layer and config blobs are metadata only.
func Generate(s *Store, repo string, spec GenerateSpec, seed uint64, now time.Time) (GenerateStats, error) {
	var stats GenerateStats
	if _, ok := s.Repo(repo); !ok {
		return stats, fmt.Errorf("generate: %q: %w", repo, ErrNoRepo)
	}
	p := NewPusher(s, repo, seed)
	p.By = "ci-bot"
	const span = 90 * 24 * time.Hour
	start := now.Add(-span)
	slot := span / time.Duration(spec.Generations)
	for i := range spec.Images {
		image := fmt.Sprintf("team-%02d/app-%04d", i%10, i)
		bases := make([]v1.Descriptor, spec.Platforms) // a base layer shared by every build of an image and platform
		for k := range bases {
			bases[k] = p.Blob(v1.MediaTypeImageLayerGzip, 1<<20+p.rng.Int64N(30<<20))
		}
		for t := range spec.Tags {
			tag := "v" + strconv.Itoa(t)
			if t == 0 {
				tag = "latest"
			}
			for gen := range spec.Generations {
				p.At = start.Add(time.Duration(gen)*slot + time.Duration(p.rng.Int64N(int64(slot/2))))
				last := gen == spec.Generations-1
				if err := generatePush(p, image, tag, bases, spec, last, &stats); err != nil {
					return stats, err
				}
			}
		}
	}
	return stats, nil
}

// generatePush writes one multi-arch push: children by digest, then the index in the tag folder when it is the last
// generation (older generations' indexes were overwritten, which is what leaves their children dangling).
func generatePush(p *Pusher, image, tag string, bases []v1.Descriptor, spec GenerateSpec, last bool, stats *GenerateStats) error {
	var platforms, attestations []v1.Descriptor
	for k := range spec.Platforms {
		m := p.NewImage()
		m.Layers = []v1.Descriptor{bases[k], p.Blob(v1.MediaTypeImageLayerGzip, 1000+p.rng.Int64N(50<<20))}
		desc, err := p.PushManifest(image, "", m)
		if err != nil {
			return err
		}
		stats.DigestFolders++
		stats.Files += 1 + 1 + len(m.Layers)
		desc.Platform = &v1.Platform{Architecture: genArchs[k%len(genArchs)], OS: "linux"}
		platforms = append(platforms, desc)
		for range spec.Attestations {
			a := p.NewAttestation()
			ad, err := p.PushManifest(image, "", a)
			if err != nil {
				return err
			}
			stats.DigestFolders++
			stats.Files += 3
			ad.Platform = &v1.Platform{Architecture: "unknown", OS: "unknown"}
			ad.Annotations = map[string]string{"vnd.docker.reference.digest": string(desc.Digest), "vnd.docker.reference.type": "attestation-manifest"}
			attestations = append(attestations, ad)
		}
	}
	children := append(platforms, attestations...)
	idx := v1.Index{Versioned: specs.Versioned{SchemaVersion: 2}, MediaType: v1.MediaTypeImageIndex, Manifests: children}
	body, err := json.Marshal(idx)
	if err != nil {
		return err
	}
	if p.rng.Float64() < spec.Referrers {
		subject := v1.Descriptor{MediaType: v1.MediaTypeImageIndex, Digest: digest.FromBytes(body), Size: int64(len(body))}
		at := p.At
		p.At = at.Add(time.Minute)
		_, err := p.PushManifest(image, "", p.NewReferrer(MediaTypeCosignSig, subject))
		p.At = at
		if err != nil {
			return err
		}
		stats.Referrers++
		stats.DigestFolders++
		stats.Files += 3
	}
	if !last {
		return nil
	}
	if _, err := p.PushDocument(image, tag, "list.manifest.json", v1.MediaTypeImageIndex, body, nil); err != nil {
		return err
	}
	stats.Tags++
	stats.Indexes++
	stats.Files++
	return nil
}

var genArchs = []string{"amd64", "arm64", "ppc64le", "s390x", "riscv64", "386", "arm"}
