package artifactorytest

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/opencontainers/go-digest"
	specs "github.com/opencontainers/image-spec/specs-go"
	v1 "github.com/opencontainers/image-spec/specs-go/v1"
)

// Media types the Pusher writes and the scenarios use.
const (
	MediaTypeDockerManifest = "application/vnd.docker.distribution.manifest.v2+json"
	MediaTypeDockerList     = "application/vnd.docker.distribution.manifest.list.v2+json"
	MediaTypeInToto         = "application/vnd.in-toto+json"
	MediaTypeCosignSig      = "application/vnd.dev.cosign.artifact.sig.v1+json"
	MediaTypeSPDX           = "application/spdx+json"
)

// Pusher writes images straight into a Store in Artifactory's layout, as the Docker API does on a push, at chosen
// times: the way tests, the demo and the generator build scenarios with backdated pushes. Blobs are metadata only
// (random digests of a chosen size), documents are real JSON with real digests.
type Pusher struct {
	store *Store
	repo  string
	rng   *rand.Rand
	// At is the time given to what is pushed next; zero means the store's clock.
	At time.Time
	// By is the user recorded as creator; empty means "admin".
	By string
}

// NewPusher returns a Pusher into repo, whose random blobs are reproducible for a seed.
func NewPusher(s *Store, repo string, seed uint64) *Pusher {
	return &Pusher{store: s, repo: repo, rng: rand.New(rand.NewPCG(seed, 0x5eed))}
}

// Blob returns the descriptor of a new random blob of size bytes. Nothing is stored until a manifest uses it.
func (p *Pusher) Blob(mediaType string, size int64) v1.Descriptor {
	var b [32]byte
	for i := 0; i < 32; i += 8 {
		v := p.rng.Uint64()
		for j := range 8 {
			b[i+j] = byte(v >> (8 * j))
		}
	}
	return v1.Descriptor{MediaType: mediaType, Digest: digest.Digest("sha256:" + hex.EncodeToString(b[:])), Size: size}
}

// NewImage returns an OCI image manifest with a random config and random layers of the given sizes.
func (p *Pusher) NewImage(layerSizes ...int64) v1.Manifest {
	m := v1.Manifest{Versioned: specs.Versioned{SchemaVersion: 2}, MediaType: v1.MediaTypeImageManifest,
		Config: p.Blob(v1.MediaTypeImageConfig, 600+p.rng.Int64N(2000))}
	for _, s := range layerSizes {
		m.Layers = append(m.Layers, p.Blob(v1.MediaTypeImageLayerGzip, s))
	}
	return m
}

// NewAttestation returns a buildx-style attestation manifest (an in-toto layer) for the image manifest subject.
func (p *Pusher) NewAttestation() v1.Manifest {
	m := v1.Manifest{Versioned: specs.Versioned{SchemaVersion: 2}, MediaType: v1.MediaTypeImageManifest,
		Config: p.Blob(v1.MediaTypeImageConfig, 200+p.rng.Int64N(100)),
		Layers: []v1.Descriptor{p.Blob(MediaTypeInToto, 2000+p.rng.Int64N(20000))}}
	m.Layers[0].Annotations = map[string]string{"in-toto.io/predicate-type": "https://spdx.dev/Document"}
	return m
}

// NewReferrer returns an OCI 1.1 artifact manifest of artifactType whose subject is subject.
func (p *Pusher) NewReferrer(artifactType string, subject v1.Descriptor) v1.Manifest {
	subj := v1.Descriptor{MediaType: subject.MediaType, Digest: subject.Digest, Size: subject.Size}
	return v1.Manifest{Versioned: specs.Versioned{SchemaVersion: 2}, MediaType: v1.MediaTypeImageManifest,
		ArtifactType: artifactType, Config: v1.DescriptorEmptyJSON,
		Layers:  []v1.Descriptor{p.Blob(artifactType, 500+p.rng.Int64N(1500))},
		Subject: &subj}
}

// PushManifest stores m in image under ref: a tag, or "" to push by digest (folder "sha256:<hex>").
func (p *Pusher) PushManifest(image, ref string, m v1.Manifest) (v1.Descriptor, error) {
	body, err := json.Marshal(m)
	if err != nil {
		return v1.Descriptor{}, err
	}
	blobs := append([]v1.Descriptor{m.Config}, m.Layers...)
	mt := m.MediaType
	if mt == "" {
		mt = v1.MediaTypeImageManifest
	}
	d, err := p.PushDocument(image, ref, "manifest.json", mt, body, blobs)
	d.ArtifactType = m.ArtifactType
	return d, err
}

// PushIndex stores an OCI index (or, with a Docker media type, a manifest list) of children in image under ref.
func (p *Pusher) PushIndex(image, ref, mediaType string, children ...v1.Descriptor) (v1.Descriptor, error) {
	if mediaType == "" {
		mediaType = v1.MediaTypeImageIndex
	}
	idx := v1.Index{Versioned: specs.Versioned{SchemaVersion: 2}, MediaType: mediaType, Manifests: children}
	body, err := json.Marshal(idx)
	if err != nil {
		return v1.Descriptor{}, err
	}
	return p.PushDocument(image, ref, "list.manifest.json", mediaType, body, nil)
}

// PushDocument is the primitive: it writes body as <image>/<folder>/<name> with the properties Artifactory sets,
// and blobs beside it as metadata-only sha256__<hex> files. folder is ref, or "sha256:<hex>" of body when ref is "".
// An existing folder is replaced, as a push to an existing tag replaces it.
func (p *Pusher) PushDocument(image, ref, name, mediaType string, body []byte, blobs []v1.Descriptor) (v1.Descriptor, error) {
	sums := ChecksumsOf(body)
	desc := v1.Descriptor{MediaType: mediaType, Digest: digest.Digest("sha256:" + sums.SHA256), Size: sums.Size}
	folder := ref
	if folder == "" {
		folder = "sha256:" + sums.SHA256
	}
	if strings.Contains(folder, "/") || strings.Contains(image, "..") {
		return desc, fmt.Errorf("push %s:%s: %w", image, ref, ErrBadPath)
	}
	base := image + "/" + folder
	if _, ok := p.store.Get(p.repo, base); ok {
		if _, err := p.store.Delete(p.repo, base); err != nil {
			return desc, err
		}
	}
	manifestRef := ref
	if ref == "" {
		manifestRef = string(desc.Digest)
	}
	props := ManifestProperties(image, manifestRef, sums.SHA256, mediaType)
	if err := p.write(base+"/"+name, FileSpec{Data: body, Props: props}); err != nil {
		return desc, err
	}
	for _, b := range blobs {
		hexd := b.Digest.Encoded()
		if len(hexd) != 64 || b.Digest.Algorithm() != digest.SHA256 {
			return desc, fmt.Errorf("push %s: blob digest %q is not sha256", image, b.Digest)
		}
		spec := FileSpec{Meta: &Checksums{SHA256: hexd, SHA1: hexd[:40], MD5: hexd[:32], Size: b.Size}}
		if p.store.HasBlob(hexd) {
			spec = FileSpec{Blob: hexd}
		}
		if err := p.write(base+"/sha256__"+hexd, spec); err != nil {
			return desc, err
		}
	}
	return desc, nil
}

func (p *Pusher) write(path string, spec FileSpec) error {
	spec.Repo, spec.Path, spec.By = p.repo, path, p.By
	spec.Created, spec.Modified, spec.Updated = p.At, p.At, p.At
	if _, err := p.store.PutFile(spec); err != nil {
		return fmt.Errorf("push %s/%s: %w", p.repo, path, err)
	}
	return nil
}

// ManifestProperties are the properties Artifactory sets on a manifest file: docker.manifest (the tag, or the
// digest for a push by digest), docker.manifest.digest, docker.manifest.type, docker.repoName and sha256.
func ManifestProperties(image, ref, sha, mediaType string) map[string][]string {
	return map[string][]string{
		"docker.manifest":        {ref},
		"docker.manifest.digest": {"sha256:" + sha},
		"docker.manifest.type":   {mediaType},
		"docker.repoName":        {image},
		"sha256":                 {sha},
	}
}
