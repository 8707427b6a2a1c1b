package artifactorytest

import (
	"fmt"
	"sort"
	"time"

	v1 "github.com/opencontainers/image-spec/specs-go/v1"
)

// Scenario is a repository built for a demo or a test, with what a correct pruner must do to it.
type Scenario struct {
	Repo string
	// Dangling lists the digest folders ("<image>/sha256:<hex>") a correct pruner deletes with a 24h grace period.
	Dangling []string
	// Live lists the digest folders it must keep, with why.
	Live map[string]string
}

func (sc *Scenario) dangling(image string, d v1.Descriptor) {
	sc.Dangling = append(sc.Dangling, image+"/sha256:"+d.Digest.Encoded())
}

func (sc *Scenario) live(image string, d v1.Descriptor, why string) {
	sc.Live[image+"/sha256:"+d.Digest.Encoded()] = why
}

// SeedStory builds, in repo, the situation of the user story (skopeo issue 2497) and what the shell script that
// story proposes cannot handle, as of now:
//
//   - my-image:latest was pushed 40 days ago as an OCI index with an amd64 image and its buildx attestation, then
//     overwritten 10 days ago by a new build: the first build's two folders dangle;
//   - the new build of latest has a cosign-style signature referrer (kept while latest lives);
//   - a push-by-digest index, never tagged, 20 days old, with two platforms: all three folders dangle (the script
//     counts every list.manifest.json as a root and never frees them);
//   - a push-by-digest index 2 hours old with its child: too young to judge;
//   - my-image:1.0 is a single-platform tag whose manifest was also pushed by digest (kept: a tag has that digest);
//   - other-image:stable is a nested index: tag -> index pushed by digest -> two images (all kept).
func SeedStory(s *Store, repo string, now time.Time) (*Scenario, error) {
	sc := &Scenario{Repo: repo, Live: map[string]string{}}
	p := NewPusher(s, repo, 2497)
	p.By = "ci-bot"
	const image = "my-image"
	day := 24 * time.Hour

	// latest, first build, 40 days ago; overwritten 10 days ago.
	p.At = now.Add(-40 * day)
	oldAmd, oldAtt, err := pushPlatformWithAttestation(p, image, "amd64")
	if err != nil {
		return nil, err
	}
	if _, err := p.PushIndex(image, "latest", "", oldAmd, oldAtt); err != nil {
		return nil, err
	}
	sc.dangling(image, oldAmd)
	sc.dangling(image, oldAtt)

	p.At = now.Add(-10 * day)
	newAmd, newAtt, err := pushPlatformWithAttestation(p, image, "amd64")
	if err != nil {
		return nil, err
	}
	newArm, newArmAtt, err := pushPlatformWithAttestation(p, image, "arm64")
	if err != nil {
		return nil, err
	}
	latest, err := p.PushIndex(image, "latest", "", newAmd, newArm, newAtt, newArmAtt)
	if err != nil {
		return nil, err
	}
	for _, d := range []v1.Descriptor{newAmd, newAtt, newArm, newArmAtt} {
		sc.live(image, d, "tagged")
	}
	p.At = now.Add(-10*day + time.Minute)
	sig, err := p.PushManifest(image, "", p.NewReferrer(MediaTypeCosignSig, latest))
	if err != nil {
		return nil, err
	}
	sc.live(image, sig, "referrer")

	// A push-by-digest index, never tagged, 20 days old.
	p.At = now.Add(-20 * day)
	ciAmd, err := p.PushManifest(image, "", p.NewImage(3<<20, 40<<20))
	if err != nil {
		return nil, err
	}
	ciArm, err := p.PushManifest(image, "", p.NewImage(3<<20, 38<<20))
	if err != nil {
		return nil, err
	}
	ciIndex, err := p.PushIndex(image, "", "", withPlatform(ciAmd, "amd64"), withPlatform(ciArm, "arm64"))
	if err != nil {
		return nil, err
	}
	sc.dangling(image, ciAmd)
	sc.dangling(image, ciArm)
	sc.dangling(image, ciIndex)

	// A young push-by-digest index: its merge may still be on its way.
	p.At = now.Add(-2 * time.Hour)
	youngAmd, err := p.PushManifest(image, "", p.NewImage(5<<20))
	if err != nil {
		return nil, err
	}
	youngIndex, err := p.PushIndex(image, "", "", withPlatform(youngAmd, "amd64"))
	if err != nil {
		return nil, err
	}
	sc.live(image, youngAmd, "young")
	sc.live(image, youngIndex, "young")

	// A single-platform tag whose manifest was also pushed by digest.
	p.At = now.Add(-30 * day)
	single := p.NewImage(12 << 20)
	one, err := p.PushManifest(image, "", single)
	if err != nil {
		return nil, err
	}
	if _, err := p.PushManifest(image, "1.0", single); err != nil {
		return nil, err
	}
	sc.live(image, one, "tag-digest")

	// other-image:stable, a nested index.
	const other = "other-image"
	p.At = now.Add(-15 * day)
	a, err := p.PushManifest(other, "", p.NewImage(7<<20))
	if err != nil {
		return nil, err
	}
	b, err := p.PushManifest(other, "", p.NewImage(7<<20))
	if err != nil {
		return nil, err
	}
	inner, err := p.PushIndex(other, "", "", withPlatform(a, "amd64"), withPlatform(b, "arm64"))
	if err != nil {
		return nil, err
	}
	if _, err := p.PushIndex(other, "stable", "", inner); err != nil {
		return nil, err
	}
	for _, d := range []v1.Descriptor{a, b, inner} {
		sc.live(other, d, "tagged")
	}
	sort.Strings(sc.Dangling)
	return sc, nil
}

func withPlatform(d v1.Descriptor, arch string) v1.Descriptor {
	d.Platform = &v1.Platform{Architecture: arch, OS: "linux"}
	return d
}

// pushPlatformWithAttestation pushes by digest a platform image and its buildx attestation, and returns their
// index entries.
func pushPlatformWithAttestation(p *Pusher, image, arch string) (img, att v1.Descriptor, err error) {
	img, err = p.PushManifest(image, "", p.NewImage(2<<20, 25<<20, 9<<20))
	if err != nil {
		return img, att, fmt.Errorf("push %s %s: %w", image, arch, err)
	}
	att, err = p.PushManifest(image, "", p.NewAttestation())
	if err != nil {
		return img, att, err
	}
	img.Platform = &v1.Platform{Architecture: arch, OS: "linux"}
	att.Platform = &v1.Platform{Architecture: "unknown", OS: "unknown"}
	att.Annotations = map[string]string{
		"vnd.docker.reference.digest": string(img.Digest),
		"vnd.docker.reference.type":   "attestation-manifest",
	}
	return img, att, nil
}
