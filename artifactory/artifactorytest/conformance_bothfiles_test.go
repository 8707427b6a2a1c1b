package artifactorytest

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestConformanceTagHoldingBothFiles leaves, with crane alone, the layout a containerd-store docker push leaves:
// the tag holds the index and the platform manifest (see keepsList). crane and skopeo then read the tag as the
// index, the platform manifest by digest, and skopeo copies the image out through the index.
func TestConformanceTagHoldingBothFiles(t *testing.T) {
	t.Parallel()
	c := newCLI(t, "crane", installCrane)
	s := startConformanceServer(t)
	host := s.Host()
	c.run("auth", "login", host, "-u", "admin", "-p", s.AdminToken(), "--insecure")

	layer := filepath.Join(c.home, "layer.tar")
	writeLayerTar(t, layer, "data/random.bin", randomBytes(t, 2048))
	base := host + "/docker-local/both/app"
	out := strings.TrimSpace(c.run("append", "-f", layer, "-t", base+":amd64", "--insecure"))
	_, platform, ok := strings.Cut(out, "@")
	if !ok {
		t.Fatalf("crane append printed %q", out)
	}
	c.run("index", "append", "-m", base+"@"+platform, "-t", base+":latest", "--insecure")
	index := strings.TrimSpace(c.run("digest", base+":latest", "--insecure"))
	c.run("tag", base+"@"+platform, "latest", "--insecure") // the second push of the tag, as the platform manifest

	for _, f := range []string{"both/app/latest/list.manifest.json", "both/app/latest/manifest.json"} {
		if _, ok := s.Store().Get("docker-local", f); !ok {
			t.Fatalf("docker-local/%s missing: the tag folder should hold both files; layout %q", f, layout(t, s, "docker-local", "both/app/latest"))
		}
	}
	if got := digestOf(storedManifest(t, s, "docker-local", "both/app/latest/list.manifest.json")); got != index {
		t.Errorf("list.manifest.json has digest %s, want the index %s", got, index)
	}
	if got := digestOf(storedManifest(t, s, "docker-local", "both/app/latest/manifest.json")); got != platform {
		t.Errorf("manifest.json has digest %s, want the platform manifest %s", got, platform)
	}
	if got := strings.TrimSpace(c.run("digest", base+":latest", "--insecure")); got != index {
		t.Errorf("crane digest of the tag = %s, want the index %s", got, index)
	}
	if got := strings.TrimSpace(c.run("digest", base+"@"+platform, "--insecure")); got != platform {
		t.Errorf("crane digest by the platform digest = %s, want %s", got, platform)
	}

	if bin := findToolQuiet("skopeo"); bin != "" {
		sk := newCLI(t, "skopeo", installSkopeo)
		creds := "admin:" + s.AdminToken()
		raw := sk.run("inspect", "--raw", "--tls-verify=false", "--creds", creds, "docker://"+base+":latest")
		if digestOf([]byte(raw)) != index {
			t.Errorf("skopeo inspect --raw of the tag is not the index")
		}
		dir := filepath.Join(sk.home, "oci")
		sk.run("--insecure-policy", "copy", "--src-tls-verify=false", "--src-creds", creds, "docker://"+base+":latest", "oci:"+dir+":latest")
	}
}
