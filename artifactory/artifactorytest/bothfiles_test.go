package artifactorytest

import (
	"net/http"
	"testing"

	v1 "github.com/opencontainers/image-spec/specs-go/v1"
)

// TestDockerTagHoldingBothFiles pushes a tag as Docker's containerd image store does: the index, then the platform
// manifest to the same tag. Artifactory keeps both files in the tag folder (see keepsList); a pull that accepts an
// index gets the index, one that accepts only manifests gets the manifest, both are found by digest, and pushing
// an index again replaces the folder.
func TestDockerTagHoldingBothFiles(t *testing.T) {
	s := newDockerServer(t)
	const name = "docker-local/app"
	amd := makeImage(t, 1, nil, "")
	amd.pushBlobs(t, s, name)
	expectStatus(t, "child by digest", putManifest(t, s, name, amd.digest(), v1.MediaTypeImageManifest, amd.manifest), http.StatusCreated, "")
	idx := makeIndex(v1.MediaTypeImageIndex, amd)
	expectStatus(t, "index by tag", putManifest(t, s, name, "latest", v1.MediaTypeImageIndex, idx), http.StatusCreated, "")
	expectStatus(t, "manifest by the same tag", putManifest(t, s, name, "latest", v1.MediaTypeImageManifest, amd.manifest), http.StatusCreated, "")

	cfg, l0 := hexOf(amd.config), hexOf(amd.layers[0])
	expectLayout(t, s, "docker-local", "app/latest", []string{
		"app/latest/", "app/latest/list.manifest.json", "app/latest/manifest.json",
		"app/latest/sha256__" + cfg, "app/latest/sha256__" + l0,
	})

	pull := func(accept string) dresp {
		return admin(t, s, http.MethodGet, "/v2/"+name+"/manifests/latest", nil, map[string]string{"Accept": accept})
	}
	tests := []struct {
		accept, wantDigest, wantType string
	}{
		{v1.MediaTypeImageIndex + "," + v1.MediaTypeImageManifest, digestOf(idx), v1.MediaTypeImageIndex},
		{"", digestOf(idx), v1.MediaTypeImageIndex},
		{v1.MediaTypeImageManifest, amd.digest(), v1.MediaTypeImageManifest},
		{"application/vnd.docker.distribution.manifest.v2+json," + v1.MediaTypeImageManifest, amd.digest(), v1.MediaTypeImageManifest},
	}
	for _, tt := range tests {
		r := pull(tt.accept)
		if r.status != http.StatusOK || r.header.Get("Docker-Content-Digest") != tt.wantDigest || r.header.Get("Content-Type") != tt.wantType {
			t.Errorf("Accept %q: %s, digest %s type %s; want %s %s", tt.accept, r, r.header.Get("Docker-Content-Digest"), r.header.Get("Content-Type"), tt.wantDigest, tt.wantType)
		}
	}
	for _, d := range []string{digestOf(idx), amd.digest()} {
		expectStatus(t, "HEAD by digest "+d, admin(t, s, http.MethodHead, "/v2/"+name+"/manifests/"+d, nil, nil), http.StatusOK, "")
	}

	// The manifest pushed again keeps the list; a new index replaces the folder.
	expectStatus(t, "manifest again", putManifest(t, s, name, "latest", v1.MediaTypeImageManifest, amd.manifest), http.StatusCreated, "")
	if got := layout(t, s, "docker-local", "app/latest"); len(got) != 5 {
		t.Errorf("after the manifest again: %q", got)
	}
	arm := makeImage(t, 1, nil, "")
	arm.pushBlobs(t, s, name)
	expectStatus(t, "arm by digest", putManifest(t, s, name, arm.digest(), v1.MediaTypeImageManifest, arm.manifest), http.StatusCreated, "")
	expectStatus(t, "new index by tag", putManifest(t, s, name, "latest", v1.MediaTypeImageIndex, makeIndex(v1.MediaTypeImageIndex, arm)), http.StatusCreated, "")
	expectLayout(t, s, "docker-local", "app/latest", []string{"app/latest/", "app/latest/list.manifest.json"})
}
